"""The 定密台账 in the API: the register of what the caller may read, as XLSX and CSV, in the
columns of the template (service.register), so that it imports again."""

from __future__ import annotations

import base64
from datetime import date

import strawberry
from strawberry.types import Info

from service import register, workbook
from service.api.context import Context
from service.sheets import csv_text

Ctx = Info[Context, None]


@strawberry.type(description="定密台账: the items the caller may read, one row each.")
class RegisterSheet:
    rows: int = strawberry.field(description="How many items it lists.")
    table: strawberry.Private[workbook.Table]

    @strawberry.field(description="As an XLSX workbook, base64-encoded.")
    def xlsx(self) -> str:
        return base64.b64encode(workbook.write([self.table])).decode("ascii")

    @strawberry.field(description="As CSV, UTF-8 with BOM (opens in Excel).")
    def csv(self) -> str:
        lines = (
            [v.isoformat() if isinstance(v, date) else v for v in row] for row in self.table.rows
        )
        return csv_text(self.table.header, lines)


@strawberry.type
class RegisterQuery:
    @strawberry.field(
        description="The 定密台账 of the items the caller may read (of one organisation, or "
        "all), parents before what was derived from them; a basis or keypoint it may not read "
        "shows its placeholder id and （无权知悉） (D-10)."
    )
    async def register_sheet(
        self, info: Ctx, organisation_id: strawberry.ID | None = None
    ) -> RegisterSheet:
        context = info.context
        table = await context.call(
            register.register_table,
            context.redactor,
            str(organisation_id) if organisation_id else None,
        )
        listed = list(table.rows)
        return RegisterSheet(
            rows=len(listed),
            table=workbook.Table(table.name, table.header, listed, table.widths),
        )
