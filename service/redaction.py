"""What a reader sees of what it may not read (D-10): the one door content leaves by.

An item outside the reader's knowledge scope is never shown with its title, document number,
keypoints or anything else of its content. In a graph-shaped result it is either left out
(`HIDE`) or shown as an opaque placeholder that keeps the shape of the graph (`PLACEHOLDER`):
an id that names it for this reader only, and nothing more. A keypoint is content of the item
that defines it: a reader of a derived item that involves a keypoint of a source it may not
read sees the keypoint's classification (it explains the item's own), under a placeholder id
and with its title withheld. A reference to either from what the reader may read (a basis, a
path, an edge, a citation) is made opaque the same way, and every text for people is a phrase
(graph.phrase) rendered here, for this reader: the same placeholder id and （无权知悉）
everywhere, in the API, the forms, the exports and the viewer. Nothing is scrubbed out of a
text after the fact: no stored text names another item.

Counts count what the reader may know: placeholders in `PLACEHOLDER` mode, never what is left
out. A placeholder itself never says what it would do; an analysis counts, per holding
organisation, how many would act and how, placeholders included (issue 23: an official who
decides sees what the decision makes others do), which names no item. Placeholders are
ordered by their own ids, which say nothing, never by the ids they stand for.

The redactor also keeps the ids of the items whose content it let through, for the audit
trail (every read of content is recorded).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from graph.access import Actor
from graph.model import BasisCitation, Citation, Derivation, Item, Keypoint
from graph.phrase import Kind, Mention, Names, Phrase, Show, mentioned
from graph.store.base import GraphReader

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
        return self._opaque(f"{self.actor.user_id}\x00{item_id}")

    def opaque_keypoint(self, keypoint_id: str) -> str:
        """The same for a keypoint of an item this reader may not read; never equal to an
        item's placeholder."""
        return self._opaque(f"{self.actor.user_id}\x00keypoint\x00{keypoint_id}")

    def _opaque(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
        return OPAQUE_PREFIX + digest[:20]

    def ref(self, item_id: str, item: Item | None) -> str:
        """How the reader sees a reference to an item: its id, or an opaque one. An item not
        found (no longer there) reads as not readable."""
        return item_id if self.readable(item) else self.opaque(item_id)

    def keypoint_ref(self, keypoint_id: str, names: Names) -> str:
        """How the reader sees a reference to a keypoint: its id where it may read the item
        that defines it (in `names`), or an opaque one."""
        if self.readable(names.owner(keypoint_id)):
            return keypoint_id
        return self.opaque_keypoint(keypoint_id)

    def keypoint(self, keypoint: Keypoint, owner: Item | None) -> tuple[Keypoint, bool]:
        """A keypoint as the reader sees it, and whether it is a placeholder: its id, its
        item's id and its title withheld unless the reader may read `owner`, the item that
        defines it; its classification kept."""
        if self.readable(owner) and owner is not None:
            self.shown[owner.id] = None
            return keypoint, False
        seen = replace(
            keypoint,
            id=self.opaque_keypoint(keypoint.id),
            item_id=self.opaque(keypoint.item_id),
            title=WITHHELD,
        )
        return seen, True

    def name(self, mention: Mention, names: Names) -> str:
        """What the reader reads where a text mentions an item or a keypoint."""
        if mention.kind is Kind.ITEM:
            item = names.items.get(mention.id)
            if not self.readable(item) or item is None:
                return self.opaque(mention.id) if mention.show is Show.ID else WITHHELD
            if mention.show is Show.ID:
                return item.id
            self.shown[item.id] = None  # a title or number is content: its read is recorded
            return item.title if mention.show is Show.TITLE else item.document_number
        owner = names.owner(mention.id)
        keypoint = names.keypoints.get(mention.id)
        if keypoint is None or owner is None or not self.readable(owner):
            return self.opaque_keypoint(mention.id) if mention.show is Show.ID else WITHHELD
        if mention.show is Show.ID:
            return keypoint.id
        self.shown[owner.id] = None
        return keypoint.title

    def render(self, phrase: Phrase, names: Names) -> str:
        """A text for this reader; `names` must hold what it mentions (`names_for`)."""
        return phrase.render(lambda mention: self.name(mention, names))

    def citations(
        self, cited: Sequence[BasisCitation], names: Names
    ) -> list[tuple[BasisCitation, bool]]:
        """The bases a written record cites (D-11), as the reader sees them, each with whether
        it is withheld: a basis document or keypoint whose item it may not read keeps only its
        marking, and a hidden basis's number is withheld wherever else it is cited."""
        hidden = {
            c.ref_id
            for c in cited
            if (c.kind == "ITEM" and not self.readable(names.items.get(c.ref_id)))
            or (c.kind == "KEYPOINT" and not self.readable(names.owner(c.ref_id)))
        }
        numbers = {
            c.document_number
            for c in cited
            if c.kind == "ITEM" and c.ref_id in hidden and c.document_number
        }
        out = []
        for c in cited:
            withheld = c.ref_id in hidden and c.kind != "SCOPE_RULE"
            if c.kind == "ITEM" and not withheld:
                self.shown[c.ref_id] = None
            ref = c.ref_id
            if withheld:
                ref = self.opaque(ref) if c.kind == "ITEM" else self.opaque_keypoint(ref)
            out.append(
                (
                    BasisCitation(
                        kind=c.kind,
                        ref_id=ref,
                        title=WITHHELD if withheld else c.title,
                        document_number=WITHHELD
                        if withheld or c.document_number in numbers
                        else c.document_number,
                        marking=c.marking,
                    ),
                    withheld,
                )
            )
        return out


def wanted(
    phrases: Iterable[Phrase] = (),
    items: Iterable[str] = (),
    keypoints: Iterable[str] = (),
    citations: Iterable[BasisCitation] = (),
) -> tuple[set[str], set[str]]:
    """The item and keypoint ids a rendering of these must look up."""
    item_ids, keypoint_ids = mentioned(phrases)
    item_ids.update(items)
    keypoint_ids.update(keypoints)
    for c in citations:
        if c.kind == "ITEM":
            item_ids.add(c.ref_id)
        elif c.kind == "KEYPOINT":
            keypoint_ids.add(c.ref_id)
    return item_ids, keypoint_ids


def names_in(
    tx: GraphReader,
    phrases: Iterable[Phrase] = (),
    items: Iterable[str] = (),
    keypoints: Iterable[str] = (),
    citations: Iterable[BasisCitation] = (),
) -> Names:
    """What a rendering of these needs, read in `tx`: the items and keypoints they name and
    the items that define those keypoints."""
    item_ids, keypoint_ids = wanted(phrases, items, keypoints, citations)
    found_keypoints = tx.keypoints(keypoint_ids) if keypoint_ids else {}
    item_ids.update(k.item_id for k in found_keypoints.values())
    return Names(tx.items(item_ids) if item_ids else {}, found_keypoints)


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
    names: Names,
) -> SeenLineage:
    """A lineage as the reader may see it: a node outside its knowledge scope is a
    placeholder, or left out with its edges; the keypoints an edge involves are shown by
    their ids where the reader may read the item that defines them (`names`), by opaque ids
    elsewhere. Nodes are ordered by depth and by the ids the reader sees."""
    readable = {i: redactor.readable(v) for i, v in items.items()}
    shown = {i for i, r in readable.items() if r or redactor.placeholders}
    # A lineage of ten thousand nodes involves a few keypoints, on many edges: each one's
    # reader is decided once.
    known_keypoint = {k: redactor.readable(names.owner(k)) for k in names.keypoints}

    def ref(id: str) -> str:
        return id if readable.get(id) else redactor.opaque(id)

    nodes = sorted(
        (
            SeenNode(node, depth, redactor.show(items[node]))
            if readable.get(node)
            else SeenNode(ref(node), depth, None)
            for node, depth in depths.items()
            if node in shown
        ),
        key=lambda n: (n.depth, n.id),
    )
    seen_edges = [
        # An edge between two readable items with keypoints of readable items is seen as it is
        # (most of a large lineage).
        edge
        if readable.get(edge.child_id)
        and readable.get(edge.parent_id)
        and all(known_keypoint.get(k, False) for k in edge.keypoint_ids)
        else replace(
            edge,
            child_id=ref(edge.child_id),
            parent_id=ref(edge.parent_id),
            # Between two placeholders, not even how many keypoints it involves.
            keypoint_ids=tuple(redactor.keypoint_ref(k, names) for k in edge.keypoint_ids)
            if readable.get(edge.child_id) or readable.get(edge.parent_id)
            else (),
        )
        for edge in edges
        if edge.child_id in shown and edge.parent_id in shown
    ]
    redacted = sum(1 for n in nodes if n.redacted)
    if redacted:  # in the order of what the reader sees, so that a placeholder's says nothing
        seen_edges.sort(key=lambda e: (e.child_id, e.parent_id))
    return SeenLineage(ref(root), nodes, seen_edges, redacted)


@dataclass(frozen=True)
class SeenCitation:
    """A CITES edge as its reader sees it (D-14): ids opaque where it may not read the item,
    the note only where it may read both ends (the citing holder's words may say what was
    taken from the cited item)."""

    item_id: str
    cited_id: str
    note: str | None


def seen_citations(
    redactor: Redactor, items: Mapping[str, Item], citations: Iterable[Citation]
) -> list[SeenCitation]:
    """Citations redacted as lineage edges are (seen_lineage): left out with a node left out,
    placeholders otherwise, ordered by the ids the reader sees."""
    out = []
    for citation in citations:
        item_known = redactor.readable(items.get(citation.item_id))
        cited_known = redactor.readable(items.get(citation.cited_id))
        if not (item_known and cited_known) and not redactor.placeholders:
            continue
        out.append(
            SeenCitation(
                citation.item_id if item_known else redactor.opaque(citation.item_id),
                citation.cited_id if cited_known else redactor.opaque(citation.cited_id),
                citation.note if item_known and cited_known else None,
            )
        )
    return sorted(out, key=lambda c: (c.item_id, c.cited_id))
