"""What a reader sees of what it may not read (D-10, issue 5).

An item outside the reader's knowledge scope is never shown with its title, document number,
keypoints or anything else of its content. In a graph-shaped result it is either left out
(`HIDE`) or shown as an opaque placeholder that keeps the shape of the graph (`PLACEHOLDER`):
an id that names it for this reader only, and nothing more. A reference to it from an item
the reader may read (a basis, a path, a text that names it) is made opaque the same way.
Counts count what the reader may know: placeholders in `PLACEHOLDER` mode, never what is left
out, and never what a placeholder would do.

The redactor also keeps the ids of the items whose content it let through, for the audit
trail (every read of content is recorded).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum

from graph.access import Actor
from graph.model import Derivation, Item

WITHHELD = "（无权知悉）"
OPAQUE_PREFIX = "hidden-"


class Mode(Enum):
    PLACEHOLDER = "placeholder"
    HIDE = "hide"


class Redactor:
    def __init__(self, actor: Actor, mode: Mode, key: bytes) -> None:
        self.actor = actor
        self.mode = mode
        self._key = key
        self.shown: dict[str, None] = {}

    @property
    def placeholders(self) -> bool:
        return self.mode is Mode.PLACEHOLDER

    def readable(self, item: Item | None) -> bool:
        return item is not None and self.actor.can_read(item)

    def show(self, item: Item) -> Item:
        """`item`, which the reader may read, noted as shown."""
        if not self.actor.can_read(item):
            # A guard: every caller checks first, and content must never pass unchecked.
            raise PermissionError("an item outside the reader's knowledge scope reached output")
        self.shown[item.id] = None
        return item

    def wrote(self, item: Item) -> Item:
        """`item` as the actor itself has just written it, noted as shown: what it submitted
        is its own to see, whatever knowledge scope it gave the item."""
        self.shown[item.id] = None
        return item

    def opaque(self, item_id: str) -> str:
        """A stable id for an item this reader may not read: the same item gets the same id
        in every answer to this reader, and it tells nothing of the item."""
        message = f"{self.actor.user_id}\x00{item_id}".encode()
        return OPAQUE_PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:20]

    def ref(self, item_id: str, item: Item | None) -> str:
        """How the reader sees a reference to an item: its id, or an opaque one. An item not
        found (no longer there) reads as not readable."""
        return item_id if self.readable(item) else self.opaque(item_id)

    def scrub(self, text: str, hidden: Iterable[Item]) -> str:
        """`text` with the title, document number and id of each hidden item taken out."""
        replacements: dict[str, str] = {}
        for item in hidden:
            for value in (item.title, item.document_number):
                if value.strip():
                    replacements[value] = WITHHELD
        out = text
        for value in sorted(replacements, key=len, reverse=True):
            out = out.replace(value, replacements[value])
        for item in hidden:
            # A whole id only: S-1 inside S-1.K1 or S-10 is another id.
            out = re.sub(rf"(?<![\w.:-]){re.escape(item.id)}(?![\w.:-])", self.opaque(item.id), out)
        return out

    def hidden_among(self, items: Iterable[Item | None]) -> list[Item]:
        return [i for i in items if i is not None and not self.actor.can_read(i)]


@dataclass(frozen=True)
class SeenNode:
    """A node of a lineage as its reader sees it: `id` is opaque and `item` None for a
    placeholder."""

    id: str
    depth: int
    item: Item | None

    @property
    def redacted(self) -> bool:
        return self.item is None


@dataclass(frozen=True)
class SeenLineage:
    root: str
    nodes: list[SeenNode]  # by depth, then id
    edges: list[Derivation]  # with the ids the reader sees
    redacted: int


def seen_lineage(
    redactor: Redactor,
    root: str,
    depths: Mapping[str, int],
    items: Mapping[str, Item],
    edges: Iterable[Derivation],
) -> SeenLineage:
    """A lineage as the reader may see it: a node outside its knowledge scope is a
    placeholder, or left out with its edges. The keypoints an edge involves are content of
    both ends: they are kept where the reader may read either."""
    readable = {i: redactor.readable(v) for i, v in items.items()}
    shown = {i for i, r in readable.items() if r or redactor.placeholders}

    def ref(id: str) -> str:
        return id if readable.get(id) else redactor.opaque(id)

    nodes = [
        SeenNode(node, depth, redactor.show(items[node]))
        if readable.get(node)
        else SeenNode(ref(node), depth, None)
        for node, depth in sorted(depths.items(), key=lambda pair: (pair[1], pair[0]))
        if node in shown
    ]
    seen_edges = [
        # An edge between two readable items is seen as it is (most of a large lineage).
        edge
        if readable.get(edge.child_id) and readable.get(edge.parent_id)
        else replace(
            edge,
            child_id=ref(edge.child_id),
            parent_id=ref(edge.parent_id),
            keypoint_ids=edge.keypoint_ids
            if readable.get(edge.child_id) or readable.get(edge.parent_id)
            else (),
        )
        for edge in edges
        if edge.child_id in shown and edge.parent_id in shown
    ]
    return SeenLineage(ref(root), nodes, seen_edges, sum(1 for n in nodes if n.redacted))
