"""The written forms (issue 7 points 2 and 3) on both stores: a review that keeps the decision
(维持原定密决定, X-16, X-17) and its refusals; 国家秘密审核表(一)(二) from review records with
every field of the forms (X-17, X-20..X-22); the written records of derivation (D-11) and of
a derived item's change (D-13); each as HTML, as CSV and as a PDF whose text is read back;
what a reader outside the knowledge scope gets (D-10), and hostile text escaped."""

from __future__ import annotations

import base64
import csv
import io
import re
from typing import Any

from pdfminer.high_level import extract_text

from tests.e2e import lifecycle
from tests.e2e.conftest import Gql

REVIEW = """mutation($input: RecordReviewInput!) { recordReview(input: $input) {
  __typename
  ... on ReviewRecorded { records { id kind reasoning consultation classification { marking } } }
  ... on RuleViolation { rule articles message }
  ... on Problem { message } } }"""
FORM = """query($ids: [ID!]!) { reviewForm(recordIds: $ids) {
  __typename
  ... on PrintedForm { title reference organisation itemIds html csv pdf }
  ... on RuleViolation { rule articles message }
  ... on Problem { message } } }"""
RECORD_FORM = """query($id: ID!) { recordForm(recordId: $id) {
  __typename
  ... on PrintedForm { title reference organisation itemIds html csv pdf }
  ... on Problem { message } } }"""
RECORDS = """query($id: ID!) { item(id: $id) { records { id kind } } }"""
APPLY = """mutation($notice: ID!) { applyNotice(input: {noticeId: $notice,
  handlerId: "p-chen-jing", officialId: "p-yang-lei"}) {
  __typename ... on ApplyNoticeSuccess { record { id kind } } ... on Problem { message } } }"""

TRAIL = """query($filter: AuditFilter) { auditTrail(filter: $filter, first: 50) {
  ... on AuditEventConnection { edges { node { action userId } } } } }"""
MINISTRY = {"handlerId": "p-zhang-wei", "officialId": "p-li-qiang"}
KEEP = "保密期限尚未届满，仍需保密。"


def _review(gql: Gql, *items: str, **fields: Any) -> dict[str, Any]:
    value = {"itemIds": list(items), **MINISTRY, "reasoning": KEEP, **fields}
    result: dict[str, Any] = gql(REVIEW, {"input": value})["recordReview"]
    return result


def _form(gql: Gql, *ids: str, as_: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = gql(FORM, {"ids": list(ids)}, as_=as_)["reviewForm"]
    return result


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with its BOM
    return list(csv.reader(io.StringIO(text[1:])))


def _pdf_text(form: dict[str, Any]) -> str:
    data = base64.b64decode(form["pdf"])
    assert data.startswith(b"%PDF-")
    return "".join(extract_text(io.BytesIO(data)).split())


def _records(gql: Gql, item: str, kind: str) -> list[str]:
    records = gql(RECORDS, {"id": item})["item"]["records"]
    return [r["id"] for r in records if r["kind"] == kind]


def test_a_review_that_keeps_the_decision_prints_as_form_one(demo_gql: Gql) -> None:
    result = _review(demo_gql, "S-2024-012", consultation="经本机关保密委员会论证，同意继续保密。")
    assert result["__typename"] == "ReviewRecorded", result
    (record,) = result["records"]
    assert record["kind"] == "REVIEW"
    assert record["reasoning"] == KEEP
    assert record["classification"]["marking"] == "机密★20年"  # unchanged
    assert _records(demo_gql, "S-2024-012", "REVIEW") == [record["id"]]

    form = _form(demo_gql, record["id"])
    assert form["__typename"] == "PrintedForm", form
    assert form["title"] == "国家秘密审核表（一）"
    assert form["organisation"] == "国家某部"
    assert form["itemIds"] == ["S-2024-012"]
    page = form["html"]
    for text in (
        "国家秘密审核表（一）",
        "事项名称",
        "关于某重点工程建设总体方案的通知",
        "文号",
        "某部发〔2024〕12号",
        "密级",
        "机密",
        "保密期限",
        "20年",
        "制发日期",
        "2024年3月1日",
        "√维持原定密决定\n□变更\n□解密",
        "依据和理由",
        KEEP,
        "论证或征求意见情况",
        "经本机关保密委员会论证，同意继续保密。",
        "承办人",
        "张伟",
        "定密责任人",
        "李强",
        record["id"],
    ):
        assert text in page, text

    (header, row) = _rows(form["csv"])
    line = dict(zip(header, row, strict=True))
    assert line["事项名称"] == "关于某重点工程建设总体方案的通知"
    assert line["密级"] == "机密"
    assert line["保密期限"] == "20年"
    assert line["审核意见"].startswith("√维持原定密决定")
    assert line["依据和理由"] == KEEP
    assert line["承办人"] == "张伟"
    assert line["定密责任人"] == "李强"
    assert line["记录编号"] == record["id"]

    text = _pdf_text(form)
    for words in ("国家秘密审核表（一）", "某部发〔2024〕12号", "√维持原定密决定", "李强", KEEP):
        assert words in text, words


def test_several_items_with_one_outcome_print_as_form_two(demo_gql: Gql) -> None:
    result = _review(demo_gql, "S-2024-012", "S-2025-003")
    records = [r["id"] for r in result["records"]]
    assert len(records) == 2
    form = _form(demo_gql, *records)
    assert form["title"] == "国家秘密审核表（二）"
    assert form["itemIds"] == ["S-2024-012", "S-2025-003"]
    assert form["reference"] == "、".join(records)
    for text in ("国家秘密事项", "序号", "某部发〔2025〕3号", "2030年12月31日", "√维持原定密决定"):
        assert text in form["html"], text
    rows = _rows(form["csv"])
    titles = ["关于某重点工程建设总体方案的通知", "关于某地区应急物资储备布局的通知"]
    assert [r[0] for r in rows[1:]] == titles
    assert all(r[-2] == "、".join(records) for r in rows[1:])
    text = _pdf_text(form)
    assert "国家秘密审核表（二）" in text
    assert "关于某地区应急物资储备布局的通知" in text

    # A different outcome, reasoning or decider does not share a form (二) (its note 2).
    other = _review(demo_gql, "S-2023-007", reasoning="长期保密事项，仍需保密。")
    mixed = _form(demo_gql, records[0], other["records"][0]["id"])
    lifecycle.refused(mixed, "REVIEW_FORM_TWO", "X-17")
    assert "审核表(二)填表说明2" in mixed["message"]


def test_a_review_that_cannot_keep_the_decision_is_refused_and_writes_nothing(
    demo_gql: Gql,
) -> None:
    before = lifecycle.state(demo_gql)
    # Level only, no period: the review must set one, as a change (note 4 of form (一), X-19).
    lifecycle.refused(_review(demo_gql, "S-2025-003", "S-2022-015"), "PERIOD_UNMARKED", "X-19")
    ended = _review(demo_gql, "S-2024-012", decidedOn="2024-02-01")
    assert ended["__typename"] == "InvalidInput", ended  # before the item was issued
    same = _review(demo_gql, "S-2024-012", handlerId="p-li-qiang")
    lifecycle.refused(same, "SEPARATE_DECIDER", "D-11")
    blank = _review(demo_gql, "S-2024-012", reasoning="  ")
    assert blank["__typename"] == "InvalidInput", blank
    province = _review(demo_gql, "S-2024-012", handlerId="p-wang-fang", officialId="p-liu-yang")
    assert province["__typename"] == "RuleViolation", province  # not the originator
    assert lifecycle.state(demo_gql) == before
    # An item no longer a state secret has no decision to keep.
    lifecycle.committed(lifecycle.declassify(demo_gql, "S-2024-020"))
    lifecycle.refused(_review(demo_gql, "S-2024-020"), "NOT_CLASSIFIED", "X-16")
    # A period that has ended declassifies by itself; keeping it is a change.
    lifecycle.register_source(
        demo_gql,
        id="S-ENDED",
        issuedOn="2015-01-05",
        level="CONFIDENTIAL",
        period={"kind": "YEARS", "years": 5},
    )
    lifecycle.refused(_review(demo_gql, "S-ENDED"), "PERIOD_ENDED", "X-11")
    assert _records(demo_gql, "S-2025-003", "REVIEW") == []


def test_a_declassification_prints_its_choices_reason_and_consultation(demo_gql: Gql) -> None:
    lifecycle.committed(
        lifecycle.declassify(
            demo_gql,
            "S-2022-015",
            reason="PUBLICATION_REQUIRED",
            afterwards="PUBLIC",
            effectiveOn="2026-03-01",
            basis="根据有关规定应予公开。",
            consultation="已征求市保密局意见，无异议。",
        )
    )
    (record,) = _records(demo_gql, "S-2022-015", "DECLASSIFICATION")
    form = _form(demo_gql, record)
    assert form["title"] == "国家秘密审核表（一）"
    (header, row) = _rows(form["csv"])
    line = dict(zip(header, row, strict=True))
    assert line["保密期限"] == "未确定"  # as it was: a level without a period
    assert line["审核意见"] == (
        "□维持原定密决定\n□变更\n√解密：√全部解密 □部分解密；√公开 □作为工作秘密；"
        "建议解密时间2026年3月1日"
    )
    assert line["依据和理由"].startswith("根据有关规定应予公开。解密理由：")
    assert "X-12" in line["依据和理由"]
    assert line["论证或征求意见情况"] == "已征求市保密局意见，无异议。"

    # The derived item follows (D-13): its record prints as a review and as a written record.
    notices = lifecycle.notice_pages(demo_gql, {"itemId": "D-CITY-002"}, 10)[0][0]
    (notice,) = [n for n in notices if n["status"] == "PENDING"]
    applied = demo_gql(APPLY, {"notice": notice["id"]})["applyNotice"]
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    derived = applied["record"]["id"]
    review = _form(demo_gql, derived)
    assert review["organisation"] == "某市发展和改革局"
    assert "√解密" in review["html"]
    assert "某专项工作会议纪要" in review["html"]  # the notice names its source (note 6)
    written = demo_gql(RECORD_FORM, {"id": derived})["recordForm"]
    assert written["title"] == "国家秘密解密书面记录"
    for text in ("已定密事项或者密点的变更或者解除情况", "陈静", "杨磊", "解密后"):
        assert text in written["html"], text


def test_a_derivation_prints_its_written_record_with_its_bases(demo_gql: Gql) -> None:
    (record,) = _records(demo_gql, "D-PROV-001", "DERIVED")
    form = demo_gql(RECORD_FORM, {"id": record})["recordForm"]
    assert form["__typename"] == "PrintedForm", form
    assert form["title"] == "派生国家秘密定密书面记录"
    (header, row) = _rows(form["csv"])
    line = dict(zip(header, row, strict=True))
    # Each basis with its document name, number, level and period (D-11).
    assert line["定密依据"] == (
        "1. 已定密事项《关于某重点工程建设总体方案的通知》，某部发〔2024〕12号，机密★20年\n"
        "2. 密点《工程选址坐标》，某部发〔2024〕12号，机密★20年"
    )
    assert line["承办人"] == "王芳"
    assert line["定密责任人"] == "刘洋"
    assert "第十一条" in form["html"]
    assert "派生国家秘密定密书面记录" in _pdf_text(form)
    # A derivation is no review.
    refused = _form(demo_gql, record)
    assert refused["__typename"] == "InvalidInput", refused


def test_forms_show_nothing_outside_the_readers_knowledge_scope(demo_gql: Gql) -> None:
    (record,) = _review(demo_gql, "S-2024-012")["records"]
    outside = _form(demo_gql, record["id"], as_="p-zhao-min")  # the county is not in its scope
    assert outside["__typename"] == "NotFound", outside
    assert "知悉范围" in outside["message"]
    missing = _form(demo_gql, "R-NO-SUCH", as_="p-zhao-min")
    assert missing["message"].replace("R-NO-SUCH", record["id"]) == outside["message"]
    # 吴霞 may read D-INST-002, not its basis D-INST-001, known to 周杰 alone.
    (derived,) = _records(demo_gql, "D-INST-002", "DERIVED")
    form = demo_gql(RECORD_FORM, {"id": derived}, as_="p-wu-xia")["recordForm"]
    assert form["__typename"] == "PrintedForm", form
    # The basis keeps its marking, under the placeholder the reader sees for it everywhere.
    withheld = r"1\. 已定密事项 hidden-[0-9a-f]{20}（无权知悉），绝密★长期"
    assert re.search(withheld, form["html"]), form["html"]
    for hidden in ("重点工程配套装备技术论证报告", "某研院〔2024〕5号", "D-INST-001"):
        assert hidden not in form["html"] + form["csv"] + _pdf_text(form), hidden
    # Printing a form is a read that showed the item, and is recorded as one; the refused
    # ones showed nothing.
    trail = demo_gql(TRAIL, {"filter": {"itemId": "D-INST-002"}}, as_="p-sun-hong")
    actions = [(e["node"]["action"], e["node"]["userId"]) for e in trail["auditTrail"]["edges"]]
    assert ("query recordForm", "p-wu-xia") in actions
    ministry = demo_gql(TRAIL, {"filter": {"itemId": "S-2024-012"}}, as_="p-sun-hong")
    assert all(e["node"]["userId"] != "p-zhao-min" for e in ministry["auditTrail"]["edges"])


def test_hostile_text_is_escaped_in_every_format(demo_gql: Gql) -> None:
    hostile = '=HYPERLINK("http://x")<script>alert(1)</script>'
    lifecycle.register_source(demo_gql, id="S-HOSTILE", title=hostile, documentNumber="@SUM(A1)")
    (record,) = _review(demo_gql, "S-HOSTILE", reasoning=f"{hostile}。")["records"]
    form = _form(demo_gql, record["id"])
    assert "<script>" not in form["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form["html"]
    line = dict(zip(*_rows(form["csv"]), strict=True))
    assert line["事项名称"].startswith("'")  # no formula in a spreadsheet
    assert line["文号"] == "'@SUM(A1)"
    assert "<script>alert(1)</script>" in _pdf_text(form)  # as text, not markup


def test_a_review_names_the_drafts_reviewed_with_the_item_and_prints_the_notes(
    demo_gql: Gql,
) -> None:
    province = {"handlerId": "p-wang-fang", "officialId": "p-liu-yang"}
    (record,) = _review(demo_gql, "D-PROV-001", **province)["records"]
    form = _form(demo_gql, record["id"])
    line = dict(zip(*_rows(form["csv"]), strict=True))
    # Process items are reviewed with their item and named in 依据和理由 (X-22, note 7).
    assert line["依据和理由"] == (
        f"{KEEP}过程稿「某省贯彻落实某重点工程建设总体方案的实施意见（征求意见稿）」"
        "（D-PROV-001-DRAFT）与本事项一并审核（X-22）。"
    )
    assert "填表说明" in form["html"]
    assert "“维持原定密决定”适用于原定密时同时明确密级和保密期限的情形" in form["html"]
    assert "填表说明" in _pdf_text(form)
    assert "填表说明" not in form["csv"]  # a sheet of values, not the printed page
