"""XLSX for people's spreadsheets (openpyxl): tables written with a header row, frozen and
filtered, and read back as rows of text and dates.

No cell a spreadsheet would run is written: every text is stored as a text cell, so a title
that starts with = stays a title (as service.sheets does for CSV). Reading takes the values
a spreadsheet last computed, never a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell as SheetCell
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from graph.errors import InvalidValue

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Cell = str | int | float | date | None

_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")


@dataclass(frozen=True)
class Table:
    """One sheet: its name, header and rows, and the widths of its columns (in characters)."""

    name: str
    header: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    widths: Sequence[int] = ()


def write(tables: Sequence[Table]) -> bytes:
    """A workbook of these tables, in order, each with its header frozen and filtered."""
    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(table.name[:31])
        _columns(sheet, table)
        sheet.freeze_panes = "A2"
        sheet.append([_head(sheet, h) for h in table.header])
        count = 0
        for row in table.rows:
            sheet.append([_cell(sheet, v) for v in row])
            count += 1
        last = get_column_letter(max(1, len(table.header)))
        sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


def _columns(sheet: Any, table: Table) -> None:
    # A Worksheet or a WriteOnlyWorksheet: both have column_dimensions, the stubs only one.
    for index, heading in enumerate(table.header, start=1):
        width = table.widths[index - 1] if index <= len(table.widths) else 2 * len(heading) + 4
        sheet.column_dimensions[get_column_letter(index)].width = width


def _head(sheet: WriteOnlyWorksheet, text: str) -> SheetCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.font = _HEAD_FONT
    cell.fill = _HEAD_FILL
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: Cell) -> SheetCell | Cell:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # a text, never a formula
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell
    if isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
        cell = WriteOnlyCell(sheet, value=moment)
        cell.number_format = "yyyy-mm-dd"
        return cell
    return value


def template(table: Table, notes: Sequence[str], choices: dict[str, Sequence[str]]) -> bytes:
    """An empty table to fill in: its header, lists to choose from for the columns in
    `choices`, and a second sheet of notes on filling it in."""
    book = Workbook()
    sheet = book.active
    if not isinstance(sheet, Worksheet):  # a new workbook has one
        raise TypeError("openpyxl made a workbook without a sheet")
    sheet.title = table.name[:31]
    _columns(sheet, table)
    sheet.freeze_panes = "A2"
    for index, heading in enumerate(table.header, start=1):
        cell = sheet.cell(row=1, column=index, value=heading)
        cell.font = _HEAD_FONT
        cell.fill = _HEAD_FILL
    for heading, values in choices.items():
        column = get_column_letter(list(table.header).index(heading) + 1)
        listed = DataValidation(
            type="list", formula1='"' + ",".join(values) + '"', allow_blank=True
        )
        listed.add(f"{column}2:{column}5000")
        sheet.add_data_validation(listed)
    guide = book.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 120
    for number, note in enumerate(notes, start=1):
        guide.cell(row=number, column=1, value=note).alignment = Alignment(wrap_text=True)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


MAX_ROWS = 100_000


def read(data: bytes, prefer: str) -> Iterator[tuple[int, list[str | date]]]:
    """The rows of a workbook's sheet named `prefer` (else its first), as (row number, values):
    texts stripped, dates as dates, numbers as their text, empty cells as ''. Rows with
    nothing in them are left out."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is no workbook
        raise InvalidValue("file", f"无法读取 XLSX 文件：{type(error).__name__}。") from error
    try:
        sheet = book[prefer] if prefer in book.sheetnames else book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS:
                raise InvalidValue("file", f"台账过大：最多 {MAX_ROWS} 行，请分批导入。")
            values = [_value(v) for v in row]
            if any(v != "" for v in values):
                yield number, values
    finally:
        book.close()


def _value(value: object) -> str | date:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
