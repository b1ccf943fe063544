"""The renderers of forms (service.documents), over sheets made here: a form (二) of many items
and a reasoning longer than a page run on over pages in the PDF, with nothing lost; every
text is escaped for HTML, for ReportLab's markup and for spreadsheets."""

from __future__ import annotations

import csv
import io

from pdfminer.high_level import extract_pages, extract_text

from service.documents import as_csv, as_html, as_pdf
from service.forms import ITEM_COLUMNS, Sheet

LONG = "保密期限尚未届满，仍需保密；" * 150  # 2,100 characters: more than a page of A4


def _sheet(rows: int, reasoning: str = "保密期限尚未届满，仍需保密。") -> Sheet:
    return Sheet(
        title="国家秘密审核表（二）" if rows > 1 else "国家秘密审核表（一）",
        regulation="《国家秘密解密暂行办法》第十七条",
        organisation="国家某部",
        reference="R-1",
        columns=ITEM_COLUMNS,
        rows=tuple(
            (f"第{n}号事项的名称", f"某部发〔2024〕{n}号", "机密", "20年", "2024年3月1日")
            for n in range(1, rows + 1)
        ),
        fields=(("审核意见", "√维持原定密决定\n□变更\n□解密"), ("依据和理由", reasoning)),
        signatures=(("承办人", "张伟", "2026年12月1日"), ("定密责任人", "李强", "2026年12月1日")),
        notes=("多个国家秘密事项审核结果、依据和理由、承办人和定密责任人均相同的，可使用此表。",),
    )


def _text(pdf: bytes) -> str:
    return "".join(extract_text(io.BytesIO(pdf)).split())


def test_a_form_of_many_items_runs_on_over_pages_with_every_item() -> None:
    pdf = as_pdf(_sheet(120))
    pages = list(extract_pages(io.BytesIO(pdf)))
    assert len(pages) > 2
    text = _text(pdf)
    for n in (1, 60, 120):
        assert f"某部发〔2024〕{n}号" in text
    assert text.count("事项名称") >= 2  # the items' header again on the next page
    assert "李强" in text
    assert "填表说明" in text


def test_a_reasoning_longer_than_a_page_runs_on_to_the_next() -> None:
    pdf = as_pdf(_sheet(1, LONG))
    assert len(list(extract_pages(io.BytesIO(pdf)))) >= 2
    assert _text(pdf).count("仍需保密；") == 150


def test_every_text_is_escaped_for_where_it_goes() -> None:
    hostile = '=cmd|"/c calc"!A1 <b>&amp;</b>'
    sheet = _sheet(1, hostile)
    page = as_html(sheet)
    assert "<b>" not in page
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page
    assert hostile.replace(" ", "") in _text(as_pdf(sheet))  # as text, not as markup
    text = as_csv(sheet)
    header, row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert dict(zip(header, row, strict=True))["依据和理由"] == "'" + hostile
