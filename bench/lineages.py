"""Realistic lineage graphs for the benchmarks of issue 8, deterministic by seed, written in
the export format (graph.store.exchange) so that any store loads them through the public
import path (`lineage import`, service.transfer.import_graph).

The shape, at any size:
- a ministry, provinces below it and cities below those (上级 links), two persons each, and a
  dozen scope-of-secrets rules;
- 30 layers. The first holds one national source, from which every item descends, and the
  other sources; each later layer holds derived items and a few new sources;
- a derived item has 1 to 5 bases, mostly from the layer just above and near its own place in
  it, some from further up: neighbours share parents and grandparents, so lineages are full of
  diamonds;
- some sources have keypoints; a basis that contains keypoints is taken by keypoint most of
  the time (D-7 (2)), else as a whole; the items contain the keypoints they take (D-16);
- some sources are classified under a scope rule;
- every derived item is classified as the rules require of its bases (graph.rules, run once
  per distinct set of basis values), so the audit finds nothing in it but case 3: no written
  records are generated, since the benchmarks time the lineage and records would double the
  import.

The worst case (`--shape diamond`, issue 24): one 机密 source (10 years), then every later
item derived, as a summary (D-7 (3)), from 3 distinct bases drawn among the 2,000 items just
before it (among all before it when fewer), all of one organisation, each classified as the
rules require (机密, the source's period): declassifying the source makes every descendant act.
Its `Generated.layers` are the topological layers (1 + the deepest base's), as the
benchmarks flatten them into node numbers.

    python -m bench.lineages --size 100000 --seed 7 -o /tmp/lineage-100k.jsonl
    python -m bench.lineages --shape diamond --size 100000 -o /tmp/diamond-100k.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from graph import rules
from graph.model import (
    BasisCase,
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Organisation,
    Person,
    ScopeRule,
    Years,
)
from graph.store import exchange

DEPTH = 30
ROOT = "S-0000000"
START = date(2022, 1, 1)
PARENTS = (1, 2, 3, 4, 5)
PARENT_WEIGHTS = (10, 25, 30, 20, 15)  # three on average
LEVELS = (Level.CONFIDENTIAL, Level.SECRET, Level.TOP_SECRET)
LEVEL_WEIGHTS = (50, 40, 10)
NEW_SOURCES = 0.02  # of each later layer
FIRST_LAYER = 0.02  # of all items
KEYPOINTED = 0.02  # of sources
BY_KEYPOINT = 0.9  # of bases that contain keypoints
RULED = 0.1  # of sources
WINDOW = 0.01  # how far, as a share of a layer, an item looks for its parents
SHAPES = ("realistic", "diamond")
DIAMOND_BASES = 3
DIAMOND_WINDOW = 2_000  # a diamond item's bases are among the items just before it
DIAMOND_START = date(2024, 1, 1)


@dataclass
class Generated:
    """What was generated, for the benchmarks to pick roots and check answers."""

    items: int = 0
    sources: int = 0
    edges: int = 0
    keypoints: int = 0
    contained: int = 0
    layers: list[list[str]] = field(default_factory=list)
    parents: dict[str, list[str]] = field(default_factory=dict)


def organisations(size: int) -> list[Organisation]:
    provinces = max(2, min(30, size // 20_000))
    cities = max(2, min(10, size // 50_000))
    out = [Organisation("org-0", "国家某部", Level.TOP_SECRET)]
    for p in range(provinces):
        out.append(Organisation(f"org-{p + 1}", f"某省第{p + 1}厅", Level.SECRET, "org-0"))
        for c in range(cities):
            out.append(
                Organisation(
                    f"org-{p + 1}-{c + 1}", f"某省第{p + 1}厅第{c + 1}市局", None, f"org-{p + 1}"
                )
            )
    return out


def scope_rules() -> list[ScopeRule]:
    return [
        ScopeRule(
            f"SR-{n:02d}",
            f"基准保密事项范围条目 {n}",
            f"《某领域国家秘密及其密级具体范围》第{n}条",
            LEVELS[n % 3],
            years=(10, 20, 30)[n % 3],
            issuer="国家某部",
        )
        for n in range(1, 13)
    ]


def lines(size: int, seed: int = 7, out: Generated | None = None) -> Iterator[dict[str, Any]]:
    """The export lines of a graph of `size` items: header, organisations, persons, rules,
    then layer by layer each item with its keypoints, links and edges."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    found = out if out is not None else Generated()
    yield exchange.header(datetime(2026, 1, 1, tzinfo=UTC))
    orgs = organisations(size)
    superiors = [(o.id, o.superior_id) for o in orgs if o.superior_id]
    for org in orgs:
        yield exchange.encode(Organisation(org.id, org.name, org.authority))
    for org_id, superior in superiors:
        yield exchange.link("superior", org_id, superior or "")
    for org in orgs:
        for role in ("h", "o"):
            yield exchange.encode(Person(f"p-{org.id}-{role}", f"{org.name}人员{role}", org.id))
    rule_list = scope_rules()
    for rule in rule_list:
        yield exchange.encode(rule)

    sizes = _layer_sizes(size)
    items: dict[str, Item] = {}
    keypoints: dict[str, Keypoint] = {}
    contained: dict[str, tuple[str, ...]] = {}
    required: dict[frozenset[Classification], Classification | None] = {}
    number = 0
    derived_layers: list[list[str]] = []
    for layer, count in enumerate(sizes):
        ids: list[str] = []
        derived_ids: list[str] = []
        new_sources = count if layer == 0 else max(1 if count > 50 else 0, int(count * 0.02))
        for position in range(count):
            is_source = position < new_sources
            org = orgs[rng.randrange(len(orgs))]
            issued = date(START.year + layer // 6, 1 + layer % 6 * 2, 1)
            id = ROOT if number == 0 else f"{'S' if is_source else 'D'}-{number:07d}"
            number += 1
            scope = KnowledgeScope(organisations=frozenset({org.id}))
            if is_source:
                item, points, ruled = _source(rng, id, org, issued, scope, rule_list, number == 1)
                items[id] = item
                for k in points:
                    keypoints[k.id] = k
                contained[id] = tuple(k.id for k in points)
                yield from _source_lines(item, points, ruled)
                found.sources += 1
                found.keypoints += len(points)
                found.contained += len(points)
            else:
                bases = _bases(rng, layer, position, count, found.layers, derived_layers)
                edges = []
                taken: dict[str, None] = {}
                values: set[Classification] = set()
                for parent_id in bases:
                    parent = items[parent_id]
                    held = contained[parent_id]
                    if held and rng.random() < BY_KEYPOINT:
                        chosen = tuple(sorted(rng.sample(held, min(len(held), rng.randint(1, 2)))))
                        edges.append(Derivation(id, parent_id, BasisCase.INVOLVES_KEYPOINT, chosen))
                        taken.update(dict.fromkeys(chosen))
                        values.update(keypoints[k].classification for k in chosen)
                    else:
                        edges.append(Derivation(id, parent_id, BasisCase.SUMMARY))
                        taken.update(dict.fromkeys(held))
                        if parent.classification is not None:
                            values.add(parent.classification)
                key = frozenset(values)
                if key not in required:
                    required[key] = _required(key, issued)
                classification = required[key]
                item = Item(
                    id=id,
                    kind=ItemKind.DERIVED,
                    title=f"派生事项 {id}",
                    document_number=f"{org.id}〔{issued.year}〕{number}号",
                    organisation_id=org.id,
                    issued_on=issued,
                    status=ItemStatus.CLASSIFIED if classification else ItemStatus.NOT_CLASSIFIED,
                    classification=classification,
                    scope=scope,
                )
                items[id] = item
                contained[id] = tuple(taken)
                found.parents[id] = list(bases)
                yield exchange.encode(item)
                for keypoint_id in taken:
                    yield exchange.link("contains_keypoint", id, keypoint_id)
                for edge in edges:
                    yield exchange.encode(edge)
                found.edges += len(edges)
                found.contained += len(taken)
            ids.append(id)
            if not is_source:
                derived_ids.append(id)
        found.layers.append(ids)
        derived_layers.append(derived_ids)
        found.items += count


def diamond_lines(
    size: int, seed: int = 7, out: Generated | None = None
) -> Iterator[dict[str, Any]]:
    """The export lines of the worst-case diamond lineage of `size` items (see the module)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    found = out if out is not None else Generated()
    yield exchange.header(datetime(2026, 1, 1, tzinfo=UTC))
    org = Organisation("org-0", "国家某部", Level.TOP_SECRET)
    yield exchange.encode(org)
    for role in ("h", "o"):
        yield exchange.encode(Person(f"p-{org.id}-{role}", f"{org.name}人员{role}", org.id))
    scope = KnowledgeScope(organisations=frozenset({org.id}))
    classification = Classification(Level.CONFIDENTIAL, Years(10, DIAMOND_START))
    # A summary of 机密 bases of one period requires the same (D-8, D-9): checked, not assumed.
    if _required(frozenset({classification}), DIAMOND_START) != classification:
        raise AssertionError("the rules no longer require the bases' classification")
    root = Item(
        id=ROOT,
        kind=ItemKind.SOURCE,
        title="全国性基础方案",
        document_number=f"{org.id}密〔{DIAMOND_START.year}〕0000000号",
        organisation_id=org.id,
        issued_on=DIAMOND_START,
        status=ItemStatus.CLASSIFIED,
        classification=classification,
        scope=scope,
    )
    yield from _source_lines(root, [], [])
    ids = [ROOT]
    depth = [0]
    found.layers.append([ROOT])
    found.sources += 1
    for number in range(1, size):
        id = f"D-{number:07d}"
        first = max(0, number - DIAMOND_WINDOW)
        drawn = sorted(rng.sample(range(first, number), min(DIAMOND_BASES, number - first)))
        yield exchange.encode(
            Item(
                id=id,
                kind=ItemKind.DERIVED,
                title=f"派生事项 {id}",
                document_number=f"{org.id}〔{DIAMOND_START.year}〕{number}号",
                organisation_id=org.id,
                issued_on=DIAMOND_START,
                status=ItemStatus.CLASSIFIED,
                classification=classification,
                scope=scope,
            )
        )
        for parent in drawn:
            yield exchange.encode(Derivation(id, ids[parent], BasisCase.SUMMARY))
        layer = 1 + max(depth[parent] for parent in drawn)
        if layer == len(found.layers):
            found.layers.append([])
        found.layers[layer].append(id)
        found.parents[id] = [ids[parent] for parent in drawn]
        found.edges += len(drawn)
        ids.append(id)
        depth.append(layer)
    found.items = size


def shaped_lines(
    shape: str, size: int, seed: int = 7, out: Generated | None = None
) -> Iterator[dict[str, Any]]:
    """The lines of the lineage of this shape (SHAPES)."""
    if shape == "diamond":
        return diamond_lines(size, seed, out)
    if shape == "realistic":
        return lines(size, seed, out)
    raise ValueError(f"no shape {shape!r}: {', '.join(SHAPES)}")


def _layer_sizes(size: int) -> list[int]:
    first = max(1, int(size * FIRST_LAYER))
    rest = size - first
    depth = DEPTH - 1
    return [first, *(rest // depth + (1 if k < rest % depth else 0) for k in range(depth))]


def _source(
    rng: random.Random,
    id: str,
    org: Organisation,
    issued: date,
    scope: KnowledgeScope,
    rule_list: Sequence[ScopeRule],
    national: bool,
) -> tuple[Item, list[Keypoint], list[str]]:
    level = Level.CONFIDENTIAL if national else rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
    # Nothing ends before 2031: the service's expiry run would declassify it at start.
    shortest = min(level.statutory_years, 2031 - issued.year)
    years = rng.randint(shortest, level.statutory_years) if not national else 10
    classification = Classification(level, Years(years, issued))
    item = Item(
        id=id,
        kind=ItemKind.SOURCE,
        title="全国性基础方案" if national else f"原定密事项 {id}",
        document_number=f"{org.id}密〔{issued.year}〕{id[2:]}号",
        organisation_id=org.id,
        issued_on=issued,
        status=ItemStatus.CLASSIFIED,
        classification=classification,
        scope=scope,
    )
    points = []
    if not national and rng.random() < KEYPOINTED:
        for n in range(rng.randint(1, 3)):
            k_level = LEVELS[rng.randint(0, LEVELS.index(level))]
            longest = min(years, k_level.statutory_years)
            k_years = rng.randint(min(shortest, longest), longest)
            points.append(
                Keypoint(
                    f"{id}.K{n + 1}",
                    id,
                    f"密点 {n + 1}",
                    Classification(k_level, Years(k_years, issued)),
                )
            )
    ruled = [rng.choice(rule_list).id] if not national and rng.random() < RULED else []
    return item, points, ruled


def _source_lines(item: Item, points: list[Keypoint], ruled: list[str]) -> Iterator[dict[str, Any]]:
    yield exchange.encode(item)
    for keypoint in points:
        yield exchange.encode(keypoint)
    for keypoint in points:
        yield exchange.link("contains_keypoint", item.id, keypoint.id)
    for rule_id in ruled:
        yield exchange.link("classified_under", item.id, rule_id)


def _bases(
    rng: random.Random,
    layer: int,
    position: int,
    count: int,
    layers: list[list[str]],
    derived_layers: list[list[str]],
) -> list[str]:
    """1 to 5 parents: mostly near the item's place in the layer above, some further up. The
    first layer below the top takes the national source, and below it each item takes one
    derived item of the layer above first, so that everything derived descends from the
    national source."""
    wanted = rng.choices(PARENTS, PARENT_WEIGHTS)[0]
    chosen: dict[str, None] = {}
    place = position / count
    if layer == 1:
        chosen[ROOT] = None
    else:
        derived = derived_layers[layer - 1]
        near = place + rng.uniform(-WINDOW, WINDOW)
        chosen[derived[min(len(derived) - 1, max(0, int(near * len(derived))))]] = None
    for _ in range(wanted * 3):
        if len(chosen) >= wanted:
            break
        roll = rng.random()
        back = (
            1
            if roll < 0.7 or layer == 1
            else 2
            if roll < 0.9 or layer == 2
            else rng.randint(3, layer)
        )
        above = layers[layer - back]
        near = place + rng.uniform(-WINDOW, WINDOW)
        index = min(len(above) - 1, max(0, int(near * len(above))))
        chosen[above[index]] = None
    return sorted(chosen)


def _required(values: frozenset[Classification], issued: date) -> Classification | None:
    """What the rules require of bases with these values (D-8, D-9): run once per set."""
    bases = [
        rules.Basis(
            Item(
                id=f"V-{n}",
                kind=ItemKind.SOURCE,
                title="",
                document_number="",
                organisation_id="",
                issued_on=issued,
                status=ItemStatus.CLASSIFIED,
                classification=value,
                scope=KnowledgeScope(),
            ),
            BasisCase.SUMMARY,
        )
        for n, value in enumerate(sorted(values, key=lambda c: (c.level.rank, str(c.period))))
    ]
    return rules.required_classification(bases, [], issued_on=issued).classification


def write(path: Path, size: int, seed: int, shape: str = "realistic") -> Generated:
    found = Generated()
    with path.open("w", encoding="utf-8") as out:
        for line in shaped_lines(shape, size, seed, found):
            out.write(exchange.dumps(line))
            out.write("\n")
    return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shape", choices=SHAPES, default="realistic")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    found = write(args.output, args.size, args.seed, args.shape)
    json.dump(
        {
            "items": found.items,
            "sources": found.sources,
            "edges": found.edges,
            "keypoints": found.keypoints,
            "contains_keypoint": found.contained,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
