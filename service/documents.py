"""A form (service.forms.Sheet) as a document: a printable HTML page, a PDF, a CSV sheet and
an XLSX workbook.

Every text is escaped for where it goes: HTML entities, ReportLab's paragraph markup, and
spreadsheet formulas (service.sheets). The PDF uses the Adobe-GB1 font STSong-Light, which
every PDF reader supplies for Chinese, so no font file ships with the service.
"""

from __future__ import annotations

import html
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from service import workbook
from service.forms import Sheet
from service.sheets import csv_text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "SimSun", "Songti SC", "WenQuanYi Zen Hei", serif; font-size: 11pt;
       color: #000; max-width: 180mm; margin: 1em auto; }
h1 { font-size: 18pt; text-align: center; letter-spacing: 0.2em; margin: 0 0 0.3em; }
.meta { display: flex; justify-content: space-between; font-size: 10pt; margin-bottom: 0.6em; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
th, td { border: 1px solid #000; padding: 4px 6px; vertical-align: top; text-align: left; }
th { width: 9em; font-weight: normal; background: #f2f2f2; }
thead th { width: auto; text-align: center; }
.items td:nth-child(1), .items td:nth-child(4) { white-space: nowrap; }
tr { page-break-inside: avoid; }
td.text { white-space: pre-wrap; min-height: 3em; }
.sign td { height: 3.2em; }
.regulation { font-size: 9pt; margin-top: 0.8em; }
.notes { font-size: 9pt; } .notes p { margin: 0.6em 0 0.2em; } .notes ol { margin: 0; }
@media print { body { margin: 0; max-width: none; } th { background: none; } }
"""


def as_html(sheet: Sheet) -> str:
    """A page that prints as the form: one table of the items, then its fields and the
    signature lines, to be signed by hand."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(sheet.title)} {e(sheet.reference)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{e(sheet.title)}</h1>",
        f'<div class="meta"><span>填表机关、单位：{e(sheet.organisation)}</span>'
        f"<span>记录编号：{e(sheet.reference)}</span></div>",
        "<table>",
    ]
    if len(sheet.rows) == 1:
        for column, value in zip(sheet.columns, sheet.rows[0], strict=True):
            parts.append(f"<tr><th>{e(column)}</th><td>{e(value)}</td></tr>")
    else:
        head = "".join(f"<th>{e(c)}</th>" for c in ("序号", *sheet.columns))
        parts.append(
            f'<tr><th colspan="2">国家秘密事项</th><td><table class="items"><thead><tr>{head}</tr>'
        )
        parts.append("</thead><tbody>")
        for number, row in enumerate(sheet.rows, start=1):
            cells = "".join(f"<td>{e(v)}</td>" for v in (str(number), *row))
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</tbody></table></td></tr>")
    for label, value in sheet.fields:
        span = ' colspan="2"' if len(sheet.rows) > 1 else ""
        parts.append(f'<tr><th{span}>{e(label)}</th><td class="text">{e(value)}</td></tr>')
    for role, name, on in sheet.signatures:
        span = ' colspan="2"' if len(sheet.rows) > 1 else ""
        parts.append(
            f'<tr class="sign"><th{span}>{e(role)}</th>'
            f"<td>{e(name)}　　签名：＿＿＿＿＿＿　　日期：{e(on)}</td></tr>"
        )
    parts += [
        "</table>",
        f'<p class="regulation">依据：{e(sheet.regulation)}</p>',
        *(
            ['<div class="notes"><p>填表说明：</p><ol>']
            + [f"<li>{e(note)}</li>" for note in sheet.notes]
            + ["</ol></div>"]
            if sheet.notes
            else []
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def as_csv(sheet: Sheet) -> str:
    """One line per item, with the form's fields and signatures repeated on each."""
    return csv_text(*_lines(sheet))


def as_xlsx(sheet: Sheet) -> bytes:
    """The CSV's lines as a workbook of one sheet."""
    header, rows = _lines(sheet)
    return workbook.write([workbook.Table(sheet.title, header, rows)])


def _lines(sheet: Sheet) -> tuple[list[str], list[list[str]]]:
    header = [
        *sheet.columns,
        *(label for label, _ in sheet.fields),
        *(part for role, _, _ in sheet.signatures for part in (role, f"{role}日期")),
        "记录编号",
        "填表机关、单位",
    ]
    shared = [
        *(value for _, value in sheet.fields),
        *(part for _, name, on in sheet.signatures for part in (name, on)),
        sheet.reference,
        sheet.organisation,
    ]
    return header, [[*row, *shared] for row in sheet.rows]


def as_pdf(sheet: Sheet) -> bytes:
    """The form as an A4 PDF, laid out as the HTML page is."""
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=15, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1)
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=12)

    def p(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    width = A4[0] - 32 * mm
    label = 30 * mm
    before: list[Flowable] = []
    rows: list[list[object]] = []
    if len(sheet.rows) == 1:
        rows += [[p(c), p(v)] for c, v in zip(sheet.columns, sheet.rows[0], strict=True)]
    else:
        # The items as a table of their own, which runs on over pages with its header.
        header = [p(c, small) for c in ("序号", *sheet.columns)]
        items = [[p(v, small) for v in (str(n), *row)] for n, row in enumerate(sheet.rows, 1)]
        # 序号 narrow, names and numbers wide, the level a word.
        weights = [0.7, 4.0, 3.0, 1.2, 2.5, 2.5][: len(sheet.columns) + 1]
        listed = Table(
            [header, *items],
            colWidths=[width * w / sum(weights) for w in weights],
            repeatRows=1,
            splitInRow=1,
        )
        listed.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2f2f2")),
                ]
            )
        )
        before = [p("国家秘密事项"), Spacer(1, 1 * mm), listed, Spacer(1, 3 * mm)]
    rows += [[p(k), p(v)] for k, v in sheet.fields]
    rows += [[p(r), p(f"{n}　　签名：＿＿＿＿＿＿　　日期：{on}")] for r, n, on in sheet.signatures]
    # A long text runs on to the next page within its row.
    table = Table(rows, colWidths=[label, width - label], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
            ]
        )
    )
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{sheet.title} {sheet.reference}",
        author=sheet.organisation,
    )
    document.build(
        [
            p(sheet.title, title),
            p(f"填表机关、单位：{sheet.organisation}　　记录编号：{sheet.reference}", small),
            Spacer(1, 3 * mm),
            *before,
            table,
            Spacer(1, 3 * mm),
            p(f"依据：{sheet.regulation}", small),
            *([p("填表说明：", small)] if sheet.notes else []),
            *(p(f"{n}. {note}", small) for n, note in enumerate(sheet.notes, start=1)),
        ]
    )
    return buffer.getvalue()
