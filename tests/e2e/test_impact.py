"""impactAnalysis over HTTP on both stores: the dry run of a change on the demo graph."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.e2e.conftest import Gql

IMPACT = """
query($change: ProposedChangeInput!) {
  impactAnalysis(change: $change) {
    __typename
    ... on ImpactAnalysis {
      statusAfter proposed { marking } declassifiedKeypoints toDeclassify toChange toReview
      impacts { item { id } actions statusAfter markingAfter path articles keptBases }
    }
    ... on Problem { message }
    ... on RuleViolation { rule articles }
  }
}"""

CHAIN = {"D-PROV-001", "D-CITY-001", "D-COUNTY-001", "D-COUNTY-002", "D-COUNTY-003", "D-COUNTY-004"}


def impacts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {i["item"]["id"]: i for i in result["impacts"]}
    assert len(found) == len(result["impacts"]), "one entry per item"
    return found


def test_declassifying_a_source_reaches_the_chain_and_spares_other_bases(
    demo_gql: Gql, demo_client: TestClient
) -> None:
    before = demo_client.post(
        "/graphql",
        json={
            "query": "{ items(first: 100) { ... on "
            "ItemConnection { edges { node { id status marking } } } } }"
        },
    ).json()
    result = demo_gql(IMPACT, {"change": {"itemId": "S-2024-012", "declassify": True}})
    report = result["impactAnalysis"]
    assert report["statusAfter"] == "DECLASSIFIED_WORK_SECRET"
    found = impacts(report)
    assert set(found) == {*CHAIN, "D-PROV-001-DRAFT"}
    for item_id in CHAIN:
        assert found[item_id]["actions"] == ["DECLASSIFY"]
        assert found[item_id]["statusAfter"] == "DECLASSIFIED_WORK_SECRET"
        assert found[item_id]["path"][0] == "S-2024-012"
        assert found[item_id]["path"][-1] == item_id
        assert {"D-12", "X-13"} <= set(found[item_id]["articles"])
    assert found["D-COUNTY-004"]["path"] == [
        "S-2024-012",
        "D-PROV-001",
        "D-CITY-001",
        "D-COUNTY-001",
        "D-COUNTY-002",
        "D-COUNTY-003",
        "D-COUNTY-004",
    ]
    # The draft of the provincial opinion is reviewed, not declassified.
    assert found["D-PROV-001-DRAFT"]["actions"] == ["REVIEW"]
    assert found["D-PROV-001-DRAFT"]["statusAfter"] == "CLASSIFIED"
    # The institute's reports keep the 绝密 keypoint of S-2023-007: untouched.
    assert "D-INST-001" not in found
    assert "D-INST-002" not in found
    assert (report["toDeclassify"], report["toChange"], report["toReview"]) == (6, 0, 1)
    after = demo_client.post(
        "/graphql",
        json={
            "query": "{ items(first: 100) { ... on "
            "ItemConnection { edges { node { id status marking } } } } }"
        },
    ).json()
    assert after == before, "a dry run writes nothing"


def test_partial_declassification_of_a_keypoint_x14(demo_gql: Gql) -> None:
    change = {"itemId": "S-2024-012", "declassify": True, "keypointIds": ["S-2024-012.K2"]}
    report = demo_gql(IMPACT, {"change": change})["impactAnalysis"]
    assert report["statusAfter"] == "CLASSIFIED"
    assert report["declassifiedKeypoints"] == ["S-2024-012.K2"]
    assert report["impacts"] == []  # nobody in the demo involves K2 alone

    change["keypointIds"] = ["S-2024-012.K1"]
    found = impacts(demo_gql(IMPACT, {"change": change})["impactAnalysis"])
    assert found["D-PROV-001"]["actions"] == ["DECLASSIFY"]
    assert "X-14" in found["D-PROV-001"]["articles"]


def test_a_scope_rule_keeps_a_descendant_classified_d15(demo_gql: Gql) -> None:
    report = demo_gql(IMPACT, {"change": {"itemId": "S-2025-003", "declassify": True}})
    assert report["impactAnalysis"]["impacts"] == []


def test_an_unmarked_source_declassified_takes_its_descendant_along(demo_gql: Gql) -> None:
    report = demo_gql(
        IMPACT, {"change": {"itemId": "S-2022-015", "declassify": True, "afterwards": "PUBLIC"}}
    )["impactAnalysis"]
    assert report["statusAfter"] == "DECLASSIFIED_PUBLIC"
    found = impacts(report)
    # Derived items become work secrets unless the originator agrees to publish them.
    assert found["D-CITY-002"]["statusAfter"] == "DECLASSIFIED_WORK_SECRET"


def test_refusals_cite_their_articles(demo_gql: Gql) -> None:
    derived = demo_gql(IMPACT, {"change": {"itemId": "D-PROV-001", "declassify": True}})
    assert derived["impactAnalysis"]["rule"] == "DERIVED_FOLLOWS_SOURCE"
    assert derived["impactAnalysis"]["articles"] == ["D-12"]

    shorter = {"itemId": "S-2024-012", "period": {"kind": "YEARS", "years": 10}}
    refused = demo_gql(IMPACT, {"change": shorter})["impactAnalysis"]
    assert refused["rule"] == "KEYPOINT_PERIOD"  # K1 runs 20 years: change it first

    lower = {"itemId": "S-2023-007", "level": "SECRET"}
    refused = demo_gql(IMPACT, {"change": lower})["impactAnalysis"]
    assert refused["rule"] == "KEYPOINT_LEVEL"

    unknown = demo_gql(IMPACT, {"change": {"itemId": "NOPE", "declassify": True}})
    assert unknown["impactAnalysis"]["__typename"] == "NotFound"
    nothing = demo_gql(IMPACT, {"change": {"itemId": "S-2024-012"}})
    assert nothing["impactAnalysis"]["__typename"] == "InvalidInput"


PAGE = """
query($first: Int!, $offset: Int!) {
  impactAnalysis(change: {itemId: "S-2024-012", declassify: true}) {
    ... on ImpactAnalysis { total impacts(first: $first, offset: $offset) { item { id } path } }
  }
}"""


def test_a_large_analysis_is_read_a_page_at_a_time(demo_gql: Gql) -> None:
    """`impacts(first, offset)`: the same order every time, so pages add up to the whole."""
    whole = demo_gql(PAGE, {"first": 100, "offset": 0})["impactAnalysis"]
    assert whole["total"] == len(whole["impacts"]) == 7
    pages = [
        demo_gql(PAGE, {"first": 3, "offset": offset})["impactAnalysis"]
        for offset in range(0, 9, 3)
    ]
    assert [len(p["impacts"]) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p["impacts"]] == whole["impacts"]
    assert all(p["total"] == 7 for p in pages)


def test_a_page_out_of_bounds_is_a_clear_error(demo_client: TestClient) -> None:
    for first, offset in ((0, 0), (501, 0), (10, -1)):
        response = demo_client.post(
            "/graphql", json={"query": PAGE, "variables": {"first": first, "offset": offset}}
        ).json()
        assert response["errors"][0]["message"] == (
            "每页条数（first）应在 1 到 500 之间，offset 不能为负数。"
        )
