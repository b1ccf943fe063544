"""Change notices over HTTP on both stores, as their holders handle them: acknowledged,
applied (the item changes and its record is written, D-13) or answered with a proposal to the
originator (D-12); a later change of the same source supersedes the notices still open."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Gql
from tests.e2e.lifecycle import (
    ACKNOWLEDGE,
    APPLY,
    PROPOSALS,
    PROPOSE,
    by_item,
    change,
    committed,
    deciders,
    declassify,
    item,
    notice,
    refused,
    state,
)

CHAIN = {"D-PROV-001", "D-CITY-001", "D-COUNTY-001", "D-COUNTY-002", "D-COUNTY-003", "D-COUNTY-004"}


def acknowledge(gql: Gql, notice_id: str, person_id: str) -> dict[str, Any]:
    variables = {"notice": notice_id, "person": person_id}
    result: dict[str, Any] = gql(ACKNOWLEDGE, variables, as_=person_id)["acknowledgeNotice"]
    return result


def apply(gql: Gql, notice_id: str, organisation: str, **overrides: Any) -> dict[str, Any]:
    value = {"noticeId": notice_id, **deciders(organisation), **overrides}
    result: dict[str, Any] = gql(APPLY, {"input": value})["applyNotice"]
    return result


def propose(gql: Gql, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(PROPOSE, {"input": fields})["proposeChange"]
    return result


def proposals(gql: Gql, organisation: str | None = None, item_id: str | None = None) -> list[Any]:
    """Every proposal filed with `organisation` or about `item_id`, one a page."""
    found: list[Any] = []
    after: str | None = None
    while True:
        page = gql(
            PROPOSALS, {"organisation": organisation, "item": item_id, "first": 1, "after": after}
        )["proposals"]
        assert page["__typename"] == "ProposalConnection", page
        found.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        assert len(found) < 50
        after = page["pageInfo"]["endCursor"]


def test_the_holder_acknowledges_applies_or_proposes_d12_d13(demo_gql: Gql) -> None:
    sent = by_item(committed(declassify(demo_gql, "S-2024-012"))["notices"])
    county = sent["D-COUNTY-001"]
    assert county["organisationId"] == "org-county"

    # Received (X-17(三)): by a person of the holder, as often as it comes.
    first = acknowledge(demo_gql, county["id"], "p-zhao-min")
    assert first["__typename"] == "NoticeSuccess", first
    assert first["notice"]["status"] == "ACKNOWLEDGED"
    assert first["notice"]["actedBy"] == "p-zhao-min"
    before = state(demo_gql)
    again = acknowledge(demo_gql, county["id"], "p-huang-tao")
    assert again["__typename"] == "NoticeSuccess", again
    assert again["notice"]["status"] == "ACKNOWLEDGED"
    assert state(demo_gql) == before

    # Nobody else acts on the county's notice: the city may not even read the county's items
    # (D-10), so to it the notice is not there.
    for outside in (
        acknowledge(demo_gql, sent["D-COUNTY-002"]["id"], "p-chen-jing"),
        apply(demo_gql, county["id"], "org-city"),
    ):
        assert outside["__typename"] == "NotFound", outside
        assert "不在您的知悉范围内" in outside["message"]
    refused(
        apply(demo_gql, county["id"], "org-county", handlerId="p-huang-tao"),
        "SEPARATE_DECIDER",
        "D-11",
    )
    missing = acknowledge(demo_gql, "N-nothing", "p-zhao-min")
    assert missing["__typename"] == "NotFound"
    assert notice(demo_gql, sent["D-COUNTY-002"]["id"])["status"] == "PENDING"
    assert state(demo_gql) == before

    # Applied: the item is declassified as the notice says and its record is written (D-13).
    applied = apply(demo_gql, county["id"], "org-county")
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    record = applied["record"]
    assert applied["item"] == {
        "id": "D-COUNTY-001",
        "status": "DECLASSIFIED_WORK_SECRET",
        "marking": "机密★20年",
    }
    assert (record["kind"], record["status"]) == ("DECLASSIFICATION", "DECLASSIFIED_WORK_SECRET")
    assert (record["handlerId"], record["officialId"]) == ("p-zhao-min", "p-huang-tao")
    assert record["articles"] == county["articles"]
    assert county["id"] in record["summary"]
    assert applied["notice"]["status"] == "APPLIED"
    assert applied["notice"]["recordId"] == record["id"]
    assert applied["notice"]["actedBy"] == "p-huang-tao"
    now = item(demo_gql, "D-COUNTY-001")
    assert now["status"] == "DECLASSIFIED_WORK_SECRET"
    assert now["records"][-1]["id"] == record["id"]
    # The county reads the notice as it read it when applying: the ministry's source, which it
    # may not read, is opaque in it (D-10).
    assert notice(demo_gql, county["id"], as_="p-huang-tao") == applied["notice"]
    assert applied["notice"]["sourceId"].startswith("hidden-")
    assert "关于某重点工程建设总体方案的通知" not in applied["notice"]["text"]
    # Its own descendants are untouched until their notices are applied in turn.
    assert item(demo_gql, "D-COUNTY-002")["status"] == "CLASSIFIED"
    before = state(demo_gql)
    refused(apply(demo_gql, county["id"], "org-county"), "NOTICE_CLOSED", "D-13")
    assert state(demo_gql) == before

    # Answered with a proposal to the originator of the source (D-12, X-7 ¶1).
    city = sent["D-CITY-001"]
    refused(
        propose(
            demo_gql, itemId="D-CITY-001", proposerId="p-zhao-min", text="建议", noticeId=city["id"]
        ),
        "NOTICE_HOLDER",
        "D-12",
    )
    wrong_item = propose(
        demo_gql, itemId="D-PROV-001", proposerId="p-chen-jing", text="建议", noticeId=city["id"]
    )
    assert wrong_item["__typename"] == "InvalidInput", wrong_item
    assert state(demo_gql) == before
    text = "本市细则另含地方储备布局内容，建议原定密机关审核是否继续保密。"
    answer = propose(
        demo_gql, itemId="D-CITY-001", proposerId="p-chen-jing", text=text, noticeId=city["id"]
    )
    assert answer["__typename"] == "ProposeChangeSuccess", answer
    proposal = answer["proposal"]
    assert proposal["organisationId"] == "org-ministry"
    assert proposal["noticeId"] == city["id"]
    assert proposal["text"] == text
    marked = notice(demo_gql, city["id"])
    assert marked["status"] == "PROPOSED"
    assert marked["proposalId"] == proposal["id"]
    assert marked["actedBy"] == "p-chen-jing"
    assert item(demo_gql, "D-CITY-001")["status"] == "CLASSIFIED"  # proposing changes nothing

    # A proposal on its own, filed where the holder says (X-9 ¶1); both listed, page by page.
    own = propose(
        demo_gql,
        itemId="D-INST-003",
        proposerId="p-zhou-jie",
        text="试验项目已通过国家验收，建议解密。",
        organisationId="org-ministry",
    )
    assert own["__typename"] == "ProposeChangeSuccess", own
    listed = proposals(demo_gql, organisation="org-ministry")
    assert sorted(p["id"] for p in listed) == sorted([proposal["id"], own["proposal"]["id"]])
    assert proposal in listed
    assert proposals(demo_gql, organisation="org-city") == []
    assert proposals(demo_gql, item_id="D-INST-003") == [own["proposal"]]
    to_itself = propose(
        demo_gql,
        itemId="D-INST-003",
        proposerId="p-zhou-jie",
        text="x",
        organisationId="org-institute",
    )
    assert to_itself["__typename"] == "InvalidInput", to_itself


def test_a_later_change_supersedes_the_open_notices_of_the_same_source(demo_gql: Gql) -> None:
    first = committed(
        change(
            demo_gql,
            "S-2024-012",
            keypoints=[
                {
                    "keypointId": "S-2024-012.K1",
                    "level": "CONFIDENTIAL",
                    "period": {"kind": "YEARS", "years": 10},
                }
            ],
        )
    )
    early = by_item(first["notices"])
    assert set(early) >= CHAIN
    acknowledged = acknowledge(demo_gql, early["D-COUNTY-001"]["id"], "p-zhao-min")
    assert acknowledged["notice"]["status"] == "ACKNOWLEDGED"
    applied = apply(demo_gql, early["D-COUNTY-004"]["id"], "org-county")
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    assert item(demo_gql, "D-COUNTY-004")["marking"] == "秘密★10年"

    second = committed(declassify(demo_gql, "S-2024-012"))
    later = second["change"]["id"]
    still_open = {n["id"] for n in first["notices"]} - {early["D-COUNTY-004"]["id"]}
    assert set(second["superseded"]) == still_open
    for notice_id in still_open:
        closed = notice(demo_gql, notice_id)
        assert closed["status"] == "SUPERSEDED", closed
        assert closed["supersededBy"] == later
    kept = notice(demo_gql, early["D-COUNTY-004"]["id"])
    assert (kept["status"], kept["supersededBy"]) == ("APPLIED", None)
    # The new notices start from each item as it stands: D-COUNTY-004 has followed the first.
    fresh = by_item(second["notices"])
    assert set(fresh) >= CHAIN
    assert fresh["D-COUNTY-004"]["markingBefore"] == "秘密★10年"
    assert fresh["D-COUNTY-001"]["markingBefore"] == "机密★20年"
    assert all(n["status"] == "PENDING" for n in second["notices"])

    # A superseded notice is closed: applying or acknowledging it is refused, writing nothing.
    before = state(demo_gql)
    stale = early["D-COUNTY-001"]["id"]
    closed_apply = apply(demo_gql, stale, "org-county")
    refused(closed_apply, "NOTICE_CLOSED", "D-13")
    assert later in closed_apply["message"]
    refused(
        acknowledge(demo_gql, early["D-COUNTY-002"]["id"], "p-zhao-min"), "NOTICE_CLOSED", "D-12"
    )
    refused(
        propose(
            demo_gql,
            itemId="D-COUNTY-002",
            proposerId="p-zhao-min",
            text="建议",
            noticeId=early["D-COUNTY-002"]["id"],
        ),
        "NOTICE_CLOSED",
        "D-12",
    )
    assert state(demo_gql) == before
    assert item(demo_gql, "D-COUNTY-001")["marking"] == "机密★20年"

    # The notice that replaced it is applied as usual.
    done = apply(demo_gql, fresh["D-COUNTY-001"]["id"], "org-county")
    assert done["__typename"] == "ApplyNoticeSuccess", done
    assert done["item"]["status"] == "DECLASSIFIED_WORK_SECRET"
