"""The GraphQL side of the viewer (issue 6): a lineage laid out for drawing, returned as one
JSON value (the fast path for large lineages), and its exports. Query of schema.py inherits
these."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph import model
from service.api import types
from service.api.context import Context
from service.api.inputs import attempt
from service.api.problems import AnyProblem
from service.exports import ExportFormat as ExportFormatValue
from service.exports import render
from service.views import LineageView, lineage_view

Ctx = Info[Context, None]


@strawberry.enum(description="Formats a lineage is exported in.")
class ExportFormat(enum.Enum):
    GRAPHML = "GRAPHML"
    DOT = "DOT"
    MERMAID = "MERMAID"
    JSON = "JSON"


@strawberry.type(
    description="A lineage laid out in layers (sources on top) as the caller may see it: "
    "`data` holds `nodes` (id, redacted, depth, layer, order, x, y, title, documentNumber, "
    "kind, level, levelLabel, marking, status, statusLabel, organisationId, openNotices) and "
    "`edges` (childId, parentId, case, caseLabel, keypointIds), in one JSON value."
)
class LineageGraph:
    root: strawberry.ID
    node_count: int
    redacted: int = strawberry.field(description="How many nodes are placeholders (D-10).")
    data: JSON


@strawberry.type(description="A lineage written in a format for other tools.")
class LineageExport:
    format: ExportFormat
    media_type: str
    filename: str
    content: str


LineageGraphResult = Annotated[LineageGraph | AnyProblem, strawberry.union("LineageGraphResult")]
LineageExportResult = Annotated[LineageExport | AnyProblem, strawberry.union("LineageExportResult")]


async def _view(
    info: Ctx, id: strawberry.ID, direction: types.Direction, depth: int | None
) -> LineageView:
    context = info.context
    return await context.call(
        lambda store: lineage_view(
            store, str(id), model.Direction(direction.value), depth, context.actor, context.redactor
        )
    )


@strawberry.type
class ViewQuery:
    @strawberry.field(
        description="The lineage of an item laid out for drawing, in one JSON value: fast for "
        "ten thousand nodes, where `lineage` resolves each node's fields one by one."
    )
    async def lineage_graph(
        self,
        info: Ctx,
        id: strawberry.ID,
        direction: types.Direction = types.Direction.BOTH,
        depth: int | None = None,
    ) -> LineageGraphResult:
        async def work() -> LineageGraph:
            view = await _view(info, id, direction, depth)
            return LineageGraph(
                root=strawberry.ID(view.root),
                node_count=len(view.nodes),
                redacted=view.redacted,
                data=JSON(view.as_json()),
            )

        return await attempt(work)

    @strawberry.field(description="The lineage of an item as GraphML, DOT, Mermaid or JSON.")
    async def lineage_export(
        self,
        info: Ctx,
        id: strawberry.ID,
        format: ExportFormat,
        direction: types.Direction = types.Direction.BOTH,
        depth: int | None = None,
    ) -> LineageExportResult:
        async def work() -> LineageExport:
            view = await _view(info, id, direction, depth)
            chosen = ExportFormatValue(format.value)
            return LineageExport(
                format=format,
                media_type=chosen.media_type,
                filename=f"lineage-{view.root}{chosen.suffix}",
                content=render(view, chosen),
            )

        return await attempt(work)
