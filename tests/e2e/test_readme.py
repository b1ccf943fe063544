"""The README's tour runs as written against the demo data, each step with the token of the
person the README names."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Gql

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_tour_answers_as_it_says(demo_gql: Gql) -> None:
    why, downstream, derive, impact, declassify, pending, apply, review = tour_blocks()[:8]

    item = demo_gql(why, as_="p-zhao-min")["item"]
    assert item["marking"] == "机密★20年"
    assert item["expiry"] == "2044-03-01"

    nodes = demo_gql(downstream, as_="p-liu-yang")["lineage"]["nodes"]
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids))
    shown = [n["item"]["id"] for n in nodes if not n["redacted"]]
    assert shown == ["D-PROV-001"]
    assert sum(n["redacted"] for n in nodes) == 7
    assert all(n["item"] is None for n in nodes if n["redacted"])
    everything = demo_gql(downstream, as_="p-sun-hong")["lineage"]["nodes"]
    assert "D-INST-002" in {n["item"]["id"] for n in everything}
    assert not any(n["redacted"] for n in everything)

    refused = demo_gql(derive)["deriveItem"]  # as 杨磊, the officialId it names
    assert refused["__typename"] == "RuleViolation"
    assert "D-8" in refused["articles"]

    accepted = demo_gql(derive.replace("level: CONFIDENTIAL", ""))["deriveItem"]
    assert accepted["__typename"] == "DeriveItemSuccess"
    assert accepted["item"]["marking"] == "机密★20年"

    report = demo_gql(impact, as_="p-sun-hong")["impactAnalysis"]
    # The county's chain of six, and the item the tour derived from D-CITY-001 just above.
    assert (report["toDeclassify"], report["toChange"], report["toReview"]) == (7, 0, 1)
    assert (report["total"], report["redacted"]) == (8, 0)
    impacted = {i["item"]["id"] for i in report["impacts"]}
    assert "D-INST-001" not in impacted
    ministry = demo_gql(impact, as_="p-li-qiang")["impactAnalysis"]
    assert (ministry["total"], ministry["redacted"], ministry["toDeclassify"]) == (8, 8, 0)
    assert all(i["item"] is None and i["redacted"] for i in ministry["impacts"])

    committed = demo_gql(declassify)["declassify"]  # as 李强
    assert committed["__typename"] == "ChangeCommitted", committed
    assert committed["noticeCount"] == len(impacted), "the notices are what the dry run listed"
    assert committed["notices"] == []  # none of them to an item the ministry may read

    page = demo_gql(pending, as_="p-zhao-min")["notices"]
    assert page["pageInfo"]["hasNextPage"] is True  # the county holds four items
    first = page["edges"][0]["node"]
    assert first["statusAfter"] == "DECLASSIFIED_WORK_SECRET"
    assert first["path"][0].startswith("hidden-")  # the ministry's source
    assert "关于某重点工程建设总体方案的通知" not in first["text"]

    applied = demo_gql(apply, {"id": first["id"]})["applyNotice"]  # as 黄涛
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    assert applied["item"]["id"] == first["itemId"]
    assert applied["item"]["status"] == "DECLASSIFIED_WORK_SECRET"
    assert applied["record"]["kind"] == "DECLASSIFICATION"

    reviewed = demo_gql(review)["recordReview"]  # as 李强
    assert [r["kind"] for r in reviewed["records"]] == ["REVIEW", "REVIEW"]
    ids = [r["id"] for r in reviewed["records"]]
    form = demo_gql(
        "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { ... on PrintedForm { title } } }",
        {"ids": ids},
    )["reviewForm"]
    assert form["title"] == "国家秘密审核表（二）"
