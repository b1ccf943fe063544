"""CSV for people's spreadsheets: UTF-8 with a byte-order mark (so that the Chinese reads
right), CRLF line ends, and no cell a spreadsheet would run as a formula (a text that starts
with =, +, -, @ is kept as text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return "\ufeff" + sink.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
