"""A lineage ready to draw or export: each node as its reader may see it, with its marking,
status and open notices, placed in a layered drawing (graph.layout); edges with their D-7
case. Plain values, so that a GraphQL field returns a large lineage as one JSON value
instead of resolving ten thousand objects field by field, and the export formats
(service.exports) read the same thing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graph.access import Actor
from graph.change import NoticeStatus
from graph.layout import layered
from graph.model import Direction
from graph.store.base import GraphStore
from service.redaction import WITHHELD, Redactor, SeenCitation, seen_citations, seen_lineage
from service.usecases import get_lineage

OPEN = (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED)


# Named tuples, not frozen dataclasses: a large lineage makes tens of thousands of them, and a
# frozen dataclass sets each field through object.__setattr__.
class ViewNode(NamedTuple):
    id: str
    redacted: bool
    depth: int  # steps from the root: negative upstream
    layer: int
    order: int
    x: float
    y: float
    title: str
    document_number: str
    kind: str | None
    level: str | None
    level_label: str | None
    marking: str | None
    status: str | None
    status_label: str | None
    organisation_id: str | None
    open_notices: int


class ViewEdge(NamedTuple):
    child_id: str
    parent_id: str
    case: str
    case_label: str
    keypoint_ids: tuple[str, ...]


# How a citation is labelled wherever it is drawn: no basis (D-14).
CITATION_LABEL = "引用（非派生依据，D-14）"


# The JSON names of ViewNode's fields, in their order.
_NODE_KEYS = (
    "id",
    "redacted",
    "depth",
    "layer",
    "order",
    "x",
    "y",
    "title",
    "documentNumber",
    "kind",
    "level",
    "levelLabel",
    "marking",
    "status",
    "statusLabel",
    "organisationId",
    "openNotices",
)


@dataclass(frozen=True)
class LineageView:
    root: str
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    redacted: int
    # CITES edges (D-14), drawn dotted: never DERIVED_FROM, in no rule or fan-out.
    citations: list[SeenCitation] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "redacted": self.redacted,
            "nodes": [dict(zip(_NODE_KEYS, n, strict=True)) for n in self.nodes],
            "edges": [
                {
                    "childId": e.child_id,
                    "parentId": e.parent_id,
                    "case": e.case,
                    "caseLabel": e.case_label,
                    "keypointIds": list(e.keypoint_ids),
                }
                for e in self.edges
            ],
            "citations": [
                {
                    "kind": "CITES",
                    "itemId": c.item_id,
                    "citedId": c.cited_id,
                    "label": CITATION_LABEL,
                    "note": c.note,
                }
                for c in self.citations
            ],
        }


def lineage_view(
    store: GraphStore,
    item_id: str,
    direction: Direction,
    depth: int | None,
    actor: Actor,
    redactor: Redactor,
) -> LineageView:
    """The lineage of an item the actor may read, as it may see it, laid out."""
    found = get_lineage(store, item_id, direction, depth, actor)
    seen = seen_lineage(
        redactor, found.root, found.subgraph.depth, found.items, found.subgraph.edges, found.names
    )
    readable = [n.id for n in seen.nodes if not n.redacted]
    notices = store.read(lambda tx: tx.notices_of(readable, OPEN)) if readable else []
    open_notices = Counter(n.item_id for n in notices)
    cited = seen_citations(redactor, found.items, found.citations)
    ids = [n.id for n in seen.nodes]
    derived = [(e.child_id, e.parent_id) for e in seen.edges]
    # A cited item is drawn above the one citing it; where citations and derivations would
    # make a loop between them, the layers follow the derivations alone.
    positions = layered(ids, [*derived, *((c.item_id, c.cited_id) for c in cited)])
    if len(positions) < len(ids):
        positions = layered(ids, derived)
    nodes = []
    for node in seen.nodes:
        at = positions[node.id]
        item = node.item
        classification = item.classification if item else None
        nodes.append(
            ViewNode(
                id=node.id,
                redacted=item is None,
                depth=node.depth,
                layer=at.layer,
                order=at.order,
                x=at.x,
                y=at.y,
                title=item.title if item else WITHHELD,
                document_number=item.document_number if item else "",
                kind=item.kind.value if item else None,
                level=classification.level.value if classification else None,
                level_label=classification.level.label if classification else None,
                marking=item.marking if item else None,
                status=item.status.value if item else None,
                status_label=item.status.label if item else None,
                organisation_id=item.organisation_id if item else None,
                open_notices=open_notices.get(node.id, 0) if item else 0,
            )
        )
    edges = [
        ViewEdge(e.child_id, e.parent_id, e.case.value, e.case.label, e.keypoint_ids)
        for e in seen.edges
    ]
    return LineageView(seen.root, nodes, edges, seen.redacted, cited)
