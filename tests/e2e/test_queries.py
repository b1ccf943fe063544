"""Reading the demo graph over HTTP: items, pages, lineage, explanations."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Gql

LINEAGE = """
query($id: ID!, $direction: Direction!, $depth: Int) {
  lineage(id: $id, direction: $direction, depth: $depth) {
    __typename
    ... on Lineage { root nodes { depth item { id marking } } edges { childId parentId case } }
    ... on Problem { message }
  }
}
"""


def depths(lineage: dict[str, Any]) -> dict[str, int]:
    return {n["item"]["id"]: n["depth"] for n in lineage["nodes"]}


def test_item_shows_classification_marking_expiry_status_explanation_and_record(
    demo_gql: Gql,
) -> None:
    item = demo_gql(
        """{ item(id: "D-COUNTY-004") { id kind title documentNumber organisationId issuedOn
             status statusLabel marking expiry
             classification { level levelLabel period { kind years start } }
             explanation { required { marking } matchesCurrent articles }
             records { kind handlerId officialId bases { refId marking } } } }"""
    )["item"]
    # Six steps below the source, the end still follows S-2024-012's keypoint K1 (D-9).
    assert item["marking"] == "机密★20年"
    assert item["expiry"] == "2044-03-01"
    assert item["classification"] == {
        "level": "SECRET",
        "levelLabel": "机密",
        "period": {"kind": "YEARS", "years": 20, "start": "2024-03-01"},
    }
    assert item["status"] == "CLASSIFIED"
    assert item["statusLabel"] == "国家秘密"
    assert item["explanation"]["required"] == {"marking": "机密★20年"}
    assert item["explanation"]["matchesCurrent"] is True
    assert "D-7(1)" in item["explanation"]["articles"]
    assert item["records"] == [
        {
            "kind": "DERIVED",
            "handlerId": "p-zhao-min",
            "officialId": "p-huang-tao",
            "bases": [{"refId": "D-COUNTY-003", "marking": "机密★20年"}],
        }
    ]


def test_demo_markings_cover_every_period_form(demo_gql: Gql) -> None:
    ids = [
        "S-2023-007",
        "S-2025-003",
        "S-2024-020",
        "S-2022-015",
        "D-CITY-002",
        "D-PROV-002",
        "D-INST-001",
        "D-INST-003",
    ]
    query = (
        "{ " + " ".join(f'i{n}: item(id: "{i}") {{ marking }}' for n, i in enumerate(ids)) + " }"
    )
    markings = [v["marking"] for v in demo_gql(query).values()]
    assert markings == [
        "绝密★长期",
        "秘密★2030年12月31日",
        "机密★项目通过国家验收后解密",
        "秘密",
        "秘密★10年",  # unmarked source: statutory 10 years from 2022-06-15 (D-9, X-11)
        "机密★15年",  # scope rule SR-ENG-3 beats the 秘密 source (D-15)
        "绝密★长期",  # 绝密 keypoint of the long-term source, derived without authority (D-5)
        "机密★项目通过国家验收后解密",
    ]


def test_items_filter_and_cursor_pagination(demo_gql: Gql) -> None:
    query = """
    query($after: String, $filter: ItemFilter) {
      items(first: 2, after: $after, filter: $filter) {
        __typename
        ... on ItemConnection { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
        ... on InvalidInput { field message }
      }
    }"""
    seen: list[str] = []
    after = None
    while True:
        page = demo_gql(query, {"after": after, "filter": {"organisationId": "org-county"}})
        connection = page["items"]
        seen += [e["node"]["id"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert seen == ["D-COUNTY-001", "D-COUNTY-002", "D-COUNTY-003", "D-COUNTY-004"]

    top = demo_gql(query, {"filter": {"level": "TOP_SECRET"}})["items"]
    assert [e["node"]["id"] for e in top["edges"]] == ["D-INST-001", "D-INST-002"]

    sources = demo_gql(
        "{ items(first: 50, filter: {kind: SOURCE, status: CLASSIFIED}) "
        "{ ... on ItemConnection { edges { node { id } } } } }"
    )["items"]
    assert len(sources["edges"]) == 7  # five, and two of the bureau's (demo_inspection)

    bad = demo_gql(query, {"after": "not-a-cursor"})["items"]
    assert bad["__typename"] == "InvalidInput"
    assert bad["field"] == "after"
    too_many = demo_gql("{ items(first: 501) { __typename ... on InvalidInput { field } } }")
    assert too_many["items"] == {"__typename": "InvalidInput", "field": "first"}
    none = demo_gql("{ items(first: 0) { __typename ... on InvalidInput { field } } }")
    assert none["items"] == {"__typename": "InvalidInput", "field": "first"}
    largest = demo_gql(
        "{ items(first: 500) { ... on ItemConnection { edges { cursor } "
        "pageInfo { hasNextPage } } } }"
    )["items"]
    assert len(largest["edges"]) == 29  # 17, and the bureau's 12 (demo_inspection)
    assert largest["pageInfo"]["hasNextPage"] is False


def test_lineage_upstream_of_the_deepest_item(demo_gql: Gql) -> None:
    lineage = demo_gql(LINEAGE, {"id": "D-COUNTY-004", "direction": "UPSTREAM"})["lineage"]
    assert depths(lineage) == {
        "D-COUNTY-004": 0,
        "D-COUNTY-003": -1,
        "D-COUNTY-002": -2,
        "D-COUNTY-001": -3,
        "D-CITY-001": -4,
        "D-PROV-001": -5,
        "S-2024-012": -6,
    }
    assert len(lineage["edges"]) == 6
    limited = demo_gql(LINEAGE, {"id": "D-COUNTY-004", "direction": "UPSTREAM", "depth": 2})
    assert set(depths(limited["lineage"])) == {"D-COUNTY-004", "D-COUNTY-003", "D-COUNTY-002"}


def test_lineage_downstream_through_a_diamond_lists_each_node_once(demo_gql: Gql) -> None:
    lineage = demo_gql(LINEAGE, {"id": "D-PROV-001", "direction": "DOWNSTREAM"})["lineage"]
    found = depths(lineage)
    # D-INST-002 is reached through D-CITY-001 and through D-INST-001: once, at depth 2.
    assert found["D-INST-002"] == 2
    assert [n["item"]["id"] for n in lineage["nodes"]].count("D-INST-002") == 1
    edges = {(e["childId"], e["parentId"]) for e in lineage["edges"]}
    assert {("D-INST-002", "D-CITY-001"), ("D-INST-002", "D-INST-001")} <= edges
    assert found["D-COUNTY-004"] == 5


def test_lineage_both_ways_and_problems(demo_gql: Gql) -> None:
    lineage = demo_gql(LINEAGE, {"id": "D-INST-001", "direction": "BOTH"})["lineage"]
    assert depths(lineage) == {
        "D-INST-001": 0,
        "D-PROV-001": -1,
        "S-2023-007": -1,
        "S-2024-012": -2,
        "D-INST-002": 1,
    }
    missing = demo_gql(LINEAGE, {"id": "NOPE", "direction": "BOTH"})["lineage"]
    assert missing["__typename"] == "NotFound"
    bad_depth = demo_gql(LINEAGE, {"id": "D-INST-001", "direction": "BOTH", "depth": 0})
    assert bad_depth["lineage"]["__typename"] == "InvalidInput"


def test_keypoints_scope_rules_and_process_items(demo_gql: Gql) -> None:
    data = demo_gql(
        """{ keypoint(id: "S-2024-012.K1") { itemId title classification { marking } }
             scopeRule(id: "SR-ENG-3") { level years longTerm document }
             mixed: item(id: "D-PROV-002") { scopeRules { id } }
             main: item(id: "D-PROV-001") { processItems }
             draft: item(id: "D-PROV-001-DRAFT") { processItemOf }
             organisation(id: "org-institute") { name authority } }"""
    )
    assert data["keypoint"] == {
        "itemId": "S-2024-012",
        "title": "工程选址坐标",
        "classification": {"marking": "机密★20年"},
    }
    assert data["scopeRule"] == {
        "level": "SECRET",
        "years": 15,
        "longTerm": False,
        "document": "《某行业国家秘密及其密级具体范围》第三条",
    }
    assert data["mixed"] == {"scopeRules": [{"id": "SR-ENG-3"}]}
    assert data["main"] == {"processItems": ["D-PROV-001-DRAFT"]}
    assert data["draft"] == {"processItemOf": "D-PROV-001"}
    assert data["organisation"] == {"name": "某研究院", "authority": None}
