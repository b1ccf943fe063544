"""A deterministic generator of diamond-heavy lineage DAGs.

One source at the top, then `depth` layers; every item below the second layer has three
parents drawn from the layer above, so nearly every pair of items is joined by many paths:
with 20 layers the root reaches each item of the last layer along up to 3^19 paths. All items
descend from the root.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from graph.model import (
    BasisCase,
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    Organisation,
    Years,
)

ORGANISATION = Organisation("bench-org", "基准测试单位", Level.TOP_SECRET)
START = date(2024, 1, 1)
PARENTS = 3


@dataclass(frozen=True)
class Dag:
    items: list[Item]
    edges: list[Derivation]

    @property
    def root(self) -> str:
        return self.items[0].id


def layers(size: int, depth: int) -> list[int]:
    """How many items each layer holds: 1 root, then as even as the size allows."""
    rest = size - 1
    below = [rest // depth + (1 if k < rest % depth else 0) for k in range(depth)]
    return [1, *below]


def generate(size: int, depth: int = 20, seed: int = 7) -> Dag:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    scope = KnowledgeScope(organisations=frozenset({ORGANISATION.id}))
    classification = Classification(Level.SECRET, Years(20, START))
    items: list[Item] = []
    edges: list[Derivation] = []
    previous: list[str] = []
    for layer, count in enumerate(layers(size, depth)):
        current = [f"B{layer:02d}-{n:07d}" for n in range(count)]
        for id in current:
            items.append(
                Item(
                    id=id,
                    kind=ItemKind.SOURCE if layer == 0 else ItemKind.DERIVED,
                    title=f"基准事项 {id}",
                    document_number="",
                    organisation_id=ORGANISATION.id,
                    issued_on=START,
                    status=ItemStatus.CLASSIFIED,
                    classification=classification,
                    scope=scope,
                )
            )
            if previous:
                for parent in sorted(rng.sample(previous, min(PARENTS, len(previous)))):
                    edges.append(Derivation(id, parent, BasisCase.SUMMARY))
        previous = current
    return Dag(items, edges)


def batches(values: list[object], size: int) -> Iterator[list[object]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
