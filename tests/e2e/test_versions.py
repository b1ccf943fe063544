"""Optimistic concurrency (issue 9, item 2) over HTTP on both stores: every item has a version,
one more with each decision on it, and a decision sent with the version it was made on
(`expectedVersion`) is refused with a typed Conflict, writing nothing, once someone else has
decided on the item meanwhile: a change or declassification of a source (X-17), a notice
applied (D-13), a review that keeps the decision (X-16, X-17)."""

from __future__ import annotations

from typing import Any

from service.demo import DECIDERS
from tests.e2e.conftest import Gql
from tests.e2e.lifecycle import (
    APPLY,
    PROBLEM,
    change,
    committed,
    deciders,
    declassify,
    state,
)

SOURCE = "S-2024-012"
VERSION = "query($id: ID!) { item(id: $id) { version } }"
IMPACT = """query($change: ProposedChangeInput!) { impactAnalysis(change: $change) {
  __typename ... on ImpactAnalysis { item { id version } total } ... on Problem { message } } }"""
REVIEW = f"""mutation($input: RecordReviewInput!) {{ recordReview(input: $input) {{
  __typename ... on ReviewRecorded {{ records {{ id kind }} }} {PROBLEM} }} }}"""
RAISED = {"level": "TOP_SECRET"}


def version(gql: Gql, item_id: str) -> int:
    found: int = gql(VERSION, {"id": item_id})["item"]["version"]
    return found


def conflict(result: dict[str, Any], item_id: str, expected: int, current: int) -> None:
    assert result["__typename"] == "Conflict", result
    assert (result["kind"], result["id"]) == ("item", item_id), result
    assert (result["expectedVersion"], result["currentVersion"]) == (expected, current), result
    assert f"第 {expected} 版" in result["message"]
    assert f"第 {current} 版" in result["message"]


def test_a_registered_item_is_at_version_one_and_each_decision_moves_it_on(
    demo_gql: Gql,
) -> None:
    assert version(demo_gql, SOURCE) == 1
    impact = demo_gql(IMPACT, {"change": {"itemId": SOURCE, **RAISED}})["impactAnalysis"]
    assert impact["item"] == {"id": SOURCE, "version": 1}

    committed(change(demo_gql, SOURCE, expectedVersion=1, **RAISED))
    assert version(demo_gql, SOURCE) == 2
    # A decision that leaves the item as it is (a review) is a decision on it too.
    reviewed = demo_gql(REVIEW, {"input": _review(SOURCE, version=2)})["recordReview"]
    assert reviewed["__typename"] == "ReviewRecorded", reviewed
    assert version(demo_gql, SOURCE) == 3
    # Without an expected version the source is decided on as it stands.
    committed(declassify(demo_gql, SOURCE))
    assert version(demo_gql, SOURCE) == 4


def test_a_change_made_on_an_older_version_is_refused_and_writes_nothing(
    demo_gql: Gql,
) -> None:
    # Two officials read version 1; the first commits, the second's decision is refused.
    committed(change(demo_gql, SOURCE, expectedVersion=1, **RAISED))
    before = state(demo_gql)

    late = change(demo_gql, SOURCE, expectedVersion=1, level="CONFIDENTIAL")
    conflict(late, SOURCE, expected=1, current=2)
    ahead = declassify(demo_gql, SOURCE, expectedVersion=3)
    conflict(ahead, SOURCE, expected=3, current=2)

    assert state(demo_gql) == before
    committed(declassify(demo_gql, SOURCE, expectedVersion=2))


def test_a_notice_applied_on_an_older_version_of_its_item_is_refused(demo_gql: Gql) -> None:
    notice = committed(declassify(demo_gql, SOURCE))["notices"][0]
    held = version(demo_gql, notice["itemId"])
    sent = {"noticeId": notice["id"], **deciders(notice["organisationId"])}
    before = state(demo_gql)

    stale = demo_gql(APPLY, {"input": {**sent, "expectedVersion": held - 1}})
    conflict(stale["applyNotice"], notice["itemId"], expected=held - 1, current=held)
    assert state(demo_gql) == before

    applied = demo_gql(APPLY, {"input": {**sent, "expectedVersion": held}})
    assert applied["applyNotice"]["__typename"] == "ApplyNoticeSuccess", applied
    assert version(demo_gql, notice["itemId"]) == held + 1


def test_a_review_made_on_an_older_version_is_refused_and_writes_nothing(
    demo_gql: Gql,
) -> None:
    committed(change(demo_gql, SOURCE, **RAISED))
    before = state(demo_gql)

    result = demo_gql(REVIEW, {"input": _review(SOURCE, version=1)})["recordReview"]
    conflict(result, SOURCE, expected=1, current=2)
    stray = {**_review(SOURCE, version=2), "expectedVersions": [{"itemId": "S-X", "version": 1}]}
    unlisted = demo_gql(REVIEW, {"input": stray})["recordReview"]
    assert unlisted["__typename"] == "InvalidInput", unlisted
    assert unlisted["field"] == "expectedVersions"
    twice = {**_review(SOURCE, version=2)}
    twice["expectedVersions"] = twice["expectedVersions"] * 2
    repeated = demo_gql(REVIEW, {"input": twice})["recordReview"]
    assert repeated["__typename"] == "InvalidInput", repeated

    assert state(demo_gql) == before


def test_the_version_of_an_item_the_caller_may_not_read_is_not_told(demo_gql: Gql) -> None:
    # A stale version of an item outside the caller's knowledge scope gets the same answer as
    # any id it may not know of (D-10), not a Conflict that would confirm it and its version.
    handler, official = DECIDERS["org-county"]  # outside the source's knowledge scope
    value = {
        "itemId": SOURCE,
        "handlerId": handler,
        "officialId": official,
        "basis": "经审核，变更保密期限（D-13）。",
        "expectedVersion": 99,
        **RAISED,
    }
    query = f"""mutation($input: ChangeClassificationInput!) {{
      changeClassification(input: $input) {{ __typename {PROBLEM} }} }}"""
    result = demo_gql(query, {"input": value}, as_=official)["changeClassification"]
    assert result["__typename"] == "NotFound", result
    assert "99" not in result["message"]


def _review(item_id: str, *, version: int) -> dict[str, Any]:
    return {
        "itemIds": [item_id],
        **deciders("org-ministry"),
        "reasoning": "保密期限尚未届满，仍需保密。",
        "expectedVersions": [{"itemId": item_id, "version": version}],
    }
