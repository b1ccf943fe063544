"""The README's tour runs as written against the demo data, each step with the token of the
person the README names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.conftest import Gql

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(section: str) -> list[str]:
    """The GraphQL examples of one section (`## A tour`, `### API conventions ...`)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{section}\n")
    level = section.split(" ")[0]
    ends = [text.find(f"\n{h} ", start + 1) for h in ("#" * n for n in range(2, len(level) + 1))]
    end = min([e for e in ends if e != -1] or [len(text)])
    return re.findall(r"```graphql\n(.*?)```", text[start:end], re.S)


def tour_blocks() -> list[str]:
    return blocks("## A tour")


def section(title: str) -> str:
    """The README's text from the paragraph that starts with `title` to the next one that
    starts in bold, or the next section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(title)
    ends = (text.find(mark, start + len(title)) for mark in ("\n**", "\n## ", "\n### "))
    return text[start : min(end for end in ends if end >= 0)]


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
    impacted = {e["node"]["item"]["id"] for e in report["entries"]["edges"]}
    assert "D-INST-001" not in impacted
    ministry = demo_gql(impact, as_="p-li-qiang")["impactAnalysis"]
    assert (ministry["total"], ministry["redacted"], ministry["toDeclassify"]) == (8, 8, 0)
    assert all(
        e["node"]["item"] is None and e["node"]["redacted"] for e in ministry["entries"]["edges"]
    )

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


def test_readme_api_conventions_page_as_they_say(demo_gql: Gql) -> None:
    (items,) = blocks("### API conventions (接口约定)")
    first = demo_gql(items, as_="p-zhao-min")["items"]
    assert first["__typename"] == "ItemConnection"
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    cursor = first["pageInfo"]["endCursor"]
    assert cursor == first["edges"][-1]["cursor"]
    rest = demo_gql(items.replace("first: 2)", f'first: 2, after: "{cursor}")'), as_="p-zhao-min")
    assert rest["items"]["totalCount"] == 4
    assert rest["items"]["pageInfo"]["hasNextPage"] is False
    ids = [e["node"]["id"] for page in (first, rest["items"]) for e in page["edges"]]
    assert len(set(ids)) == 4
    bad = demo_gql(items.replace("first: 2)", 'first: 2, after: "x")'), as_="p-zhao-min")
    assert bad["items"]["__typename"] == "InvalidInput"
    assert bad["items"]["field"] == "after"


def block_with(word: str) -> str:
    """The README's example in the API section that uses `word`."""
    (found,) = [b for b in blocks("## The API") if word in b]
    return found


def test_readme_counts_what_a_decision_makes_others_do(demo_gql: Gql) -> None:
    report = demo_gql(block_with("byOrganisation"), as_="p-li-qiang")["impactAnalysis"]
    assert (report["total"], report["redacted"], report["toDeclassify"]) == (7, 7, 0)
    assert (report["allToDeclassify"], report["allToChange"], report["allToReview"]) == (6, 0, 1)
    by = {t["organisationName"]: t for t in report["byOrganisation"]}
    assert {
        n: (t["total"], t["hidden"], t["toDeclassify"], t["toReview"]) for n, t in by.items()
    } == {
        "某市发展和改革局": (1, 1, 1, 0),
        "某县工业和信息化局": (4, 4, 4, 0),
        "某省发展和改革委员会": (2, 2, 1, 1),
    }


def test_readme_asks_what_expires_on_a_date_to_come(demo_gql: Gql) -> None:
    preview = demo_gql(block_with("expiryPreview"), as_="p-li-qiang")["expiryPreview"]
    expirations = [e["node"] for e in preview["expirations"]["edges"]]
    assert preview["expirations"]["totalCount"] == 3
    shown = {e["id"]: e["endedOn"] for e in expirations if not e["redacted"]}
    assert shown == {"S-2025-003": "2030-12-31", "S-2022-015": "2032-06-15"}
    (hidden,) = [e for e in expirations if e["redacted"]]
    assert hidden["id"].startswith("hidden-")
    assert hidden["summary"] is None
    (notice,) = [e["node"] for e in preview["notices"]["edges"]]
    assert (notice["id"], notice["sourceId"]) == (hidden["id"], "S-2022-015")
    assert notice["supersededInRun"]


def test_readme_previews_a_keypoint_change_then_commits_it_as_previewed(demo_gql: Gql) -> None:
    text = section("**Previewing a decision.**")
    (variables,) = re.findall(r"```json\n(.*?)```", text, re.S)
    preview, commit = re.findall(r"```graphql\n(.*?)```", text, re.S)
    sent = json.loads(variables)

    report = demo_gql(preview, sent)["changeImpact"]  # as 李强, the officialId it names
    assert report["__typename"] == "ImpactAnalysis", report
    assert report["item"] == {"version": 1, "marking": "机密★20年"}
    assert report["itemAfter"] == {"version": 2, "marking": "机密★20年"}
    assert report["keypointsAfter"] == [
        {"id": "S-2024-012.K1", "classification": {"marking": "秘密★10年"}}
    ]
    # The provincial chain of seven involves the keypoint; the ministry may read none of it.
    assert (report["total"], report["redacted"], report["toChange"]) == (7, 7, 0)
    assert all(
        e["node"]["redacted"] and e["node"]["actionLabels"] == []
        for e in report["entries"]["edges"]
    )

    committed = demo_gql(commit, sent)["changeClassification"]
    assert committed["__typename"] == "ChangeCommitted", committed
    assert committed["change"]["kind"] == "KEYPOINT_CHANGE"
    assert committed["noticeCount"] == report["total"]
    again = demo_gql(preview, sent)["changeImpact"]  # the version has moved on
    assert again["__typename"] == "Conflict", again


def test_readme_correction_answers_as_it_says(demo_gql: Gql) -> None:
    (correction,) = [b for b in blocks("## The API") if "addBasis" in b]
    answer = demo_gql(correction)  # as 黄涛, the officialId it names
    corrected = answer["corrected"]
    assert corrected["__typename"] == "BasisCorrected", corrected
    assert corrected["classificationChanged"] is False
    assert corrected["change"] is None
    assert corrected["record"]["kind"] == "CHANGE"
    assert corrected["item"]["version"] == 2
    cycle = answer["cycle"]
    assert cycle["__typename"] == "LineageCycle", cycle
    assert cycle["path"] == [
        "D-COUNTY-001",
        "D-COUNTY-004",
        "D-COUNTY-003",
        "D-COUNTY-002",
        "D-COUNTY-001",
    ]
