"""Registering and deriving over HTTP: the rules decide, refusals are typed and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Gql

SETUP = """
mutation {
  a: registerOrganisation(input: {id: "org-a", name: "甲部", authority: TOP_SECRET}) {
    __typename
  }
  b: registerOrganisation(input: {id: "org-b", name: "乙局"}) { __typename }
  h1: registerPerson(input: {id: "h-a", name: "承办甲", organisationId: "org-a"}) { __typename }
  o1: registerPerson(input: {id: "o-a", name: "责任甲", organisationId: "org-a"}) { __typename }
  h2: registerPerson(input: {id: "h-b", name: "承办乙", organisationId: "org-b"}) { __typename }
  o2: registerPerson(input: {id: "o-b", name: "责任乙", organisationId: "org-b"}) { __typename }
  r: registerScopeRule(input: {id: "SR-1", title: "储备布局", document: "《某范围》第三条",
                                level: SECRET, years: 15}) { __typename }
}
"""

REGISTER_SOURCE = """
mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) {
    __typename
    ... on RegisterSourceSuccess {
      item { id marking expiry status kind keypoints { id classification { marking } } }
      record { kind handlerId officialId articles }
    }
    ... on Problem { message }
    ... on RuleViolation { rule articles }
    ... on NotFound { kind id }
    ... on AlreadyExists { kind id }
    ... on InvalidInput { field }
  }
}
"""

DERIVE = """
mutation($input: DeriveItemInput!) {
  deriveItem(input: $input) {
    __typename
    ... on DeriveItemSuccess {
      item { id marking expiry status kind classification { period { kind years start } } }
      record { kind bases { kind refId title documentNumber marking } articles summary }
      explanation { summary articles notes
        contributions { ground refId governsLevel governsPeriod } }
    }
    ... on Problem { message }
    ... on RuleViolation { rule articles }
    ... on NotFound { kind id }
    ... on AlreadyExists { kind id }
    ... on InvalidInput { field }
  }
}
"""

ITEM = "query($id: ID!) { item(id: $id) { id marking } }"


def source_input(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": "S-1",
        "title": "关于某工程的通知",
        "documentNumber": "甲发〔2024〕1号",
        "organisationId": "org-a",
        "issuedOn": "2024-03-01",
        "level": "SECRET",
        "period": {"kind": "YEARS", "years": 20},
        "scope": {"organisations": ["org-a", "org-b"]},
        "scopeLimit": {"organisations": ["org-a", "org-b"]},
        "handlerId": "h-a",
        "officialId": "o-a",
        "keypoints": [
            {
                "id": "S-1.K1",
                "title": "选址",
                "level": "SECRET",
                "period": {"kind": "YEARS", "years": 20},
            },
            {
                "id": "S-1.K2",
                "title": "投资",
                "level": "CONFIDENTIAL",
                "period": {"kind": "YEARS", "years": 5},
            },
        ],
    }
    value.update(overrides)
    return value


def derive_input(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": "D-1",
        "title": "乙局实施方案",
        "documentNumber": "乙发〔2024〕9号",
        "organisationId": "org-b",
        "issuedOn": "2024-05-01",
        "bases": [{"parentId": "S-1", "case": "INVOLVES_KEYPOINT", "keypointIds": ["S-1.K2"]}],
        "scope": {"persons": ["h-b", "o-b"]},
        "handlerId": "h-b",
        "officialId": "o-b",
    }
    value.update(overrides)
    return value


@pytest.fixture
def world(gql: Gql) -> Gql:
    data = gql(SETUP)
    assert {v["__typename"] for v in data.values()} == {
        "RegisterOrganisationSuccess",
        "RegisterPersonSuccess",
        "RegisterScopeRuleSuccess",
    }
    result = gql(REGISTER_SOURCE, {"input": source_input()})["registerSource"]
    assert result["__typename"] == "RegisterSourceSuccess", result
    return gql


def test_register_source_writes_item_keypoints_and_record(world: Gql) -> None:
    item = world(
        '{ item(id: "S-1") { marking expiry kind status keypoints { id } '
        "records { kind handlerId officialId } } }"
    )["item"]
    assert item == {
        "marking": "机密★20年",
        "expiry": "2044-03-01",
        "kind": "SOURCE",
        "status": "CLASSIFIED",
        "keypoints": [{"id": "S-1.K1"}, {"id": "S-1.K2"}],
        "records": [{"kind": "ORIGINAL", "handlerId": "h-a", "officialId": "o-a"}],
    }


def test_derive_computes_classification_from_the_keypoint_d8_d9(world: Gql) -> None:
    result = world(DERIVE, {"input": derive_input()})["deriveItem"]
    assert result["__typename"] == "DeriveItemSuccess", result
    item = result["item"]
    # D-8: the keypoint's level, not the source's; D-9: the keypoint's term from its own start.
    assert item["marking"] == "秘密★5年"
    assert item["expiry"] == "2029-03-01"
    assert item["classification"]["period"] == {"kind": "YEARS", "years": 5, "start": "2024-03-01"}
    assert {"D-7(2)", "D-8", "D-9", "D-10"} <= set(result["explanation"]["articles"])
    # D-11: the record names the basis document with number, level and period.
    assert result["record"]["kind"] == "DERIVED"
    assert {
        "kind": "ITEM",
        "refId": "S-1",
        "title": "关于某工程的通知",
        "documentNumber": "甲发〔2024〕1号",
        "marking": "机密★20年",
    } in result["record"]["bases"]
    assert "D-11" in result["record"]["articles"]
    # D-5: org-b has no classification authority and still derives.
    assert "D-5" in result["explanation"]["articles"]


def test_derive_mixed_with_scope_rule_takes_highest_and_longest_d15(world: Gql) -> None:
    result = world(DERIVE, {"input": derive_input(scopeRuleIds=["SR-1"])})["deriveItem"]
    assert result["__typename"] == "DeriveItemSuccess", result
    # Keypoint 秘密★5年 from 2024-03-01; scope rule 机密 15 years from the item's own date.
    assert result["item"]["marking"] == "机密★15年"
    assert result["item"]["expiry"] == "2039-05-01"
    assert "D-15" in result["explanation"]["articles"]


@pytest.mark.parametrize(
    ("overrides", "rule", "article"),
    [
        (
            {"level": "CONFIDENTIAL", "bases": [{"parentId": "S-1", "case": "IDENTICAL"}]},
            "DERIVED_LEVEL",
            "D-8",
        ),
        ({"level": "SECRET"}, "DERIVED_LEVEL", "D-8"),
        ({"period": {"kind": "YEARS", "years": 5, "start": "2024-05-01"}}, "DERIVED_PERIOD", "D-9"),
        (
            {
                "scope": {"organisations": ["org-a", "org-b"], "persons": []},
                "scopeRuleIds": [],
                "bases": [{"parentId": "S-1", "case": "SUMMARY"}],
                "level": None,
            },
            None,
            None,
        ),
        ({"scope": {"persons": []}}, "KNOWLEDGE_SCOPE", "D-10"),
        ({"bases": []}, "NOT_DERIVED", "D-14"),
        ({"handlerId": "o-b"}, "SEPARATE_DECIDER", "D-11"),
        ({"handlerId": "h-a"}, "DECIDER_ORGANISATION", "D-6"),
        ({"bases": [{"parentId": "S-1", "case": "INVOLVES_KEYPOINT"}]}, "KEYPOINT_REQUIRED", "D-7"),
    ],
)
def test_derive_refuses_what_breaks_a_rule_and_writes_nothing(
    world: Gql, overrides: dict[str, Any], rule: str | None, article: str | None
) -> None:
    result = world(DERIVE, {"input": derive_input(**overrides)})["deriveItem"]
    if rule is None:  # the control case: a valid variant is accepted
        assert result["__typename"] == "DeriveItemSuccess", result
        return
    assert result["__typename"] == "RuleViolation", result
    assert result["rule"] == rule
    assert article in result["articles"]
    assert article in result["message"]
    assert world(ITEM, {"id": "D-1"})["item"] is None


def test_scope_wider_than_the_originator_allows_is_refused_d10(world: Gql) -> None:
    world('mutation { registerOrganisation(input: {id: "org-c", name: "丙厅"}) { __typename } }')
    result = world(DERIVE, {"input": derive_input(scope={"organisations": ["org-b", "org-c"]})})
    refused = result["deriveItem"]
    assert refused["__typename"] == "RuleViolation"
    assert refused["rule"] == "KNOWLEDGE_SCOPE"
    assert "org-c" in refused["message"]
    assert world(ITEM, {"id": "D-1"})["item"] is None


def test_unknown_and_duplicate_ids_and_bad_values(world: Gql) -> None:
    unknown = world(
        DERIVE, {"input": derive_input(bases=[{"parentId": "S-404", "case": "SUMMARY"}])}
    )["deriveItem"]
    assert unknown == {**unknown, "__typename": "NotFound", "kind": "item", "id": "S-404"}

    duplicate = world(REGISTER_SOURCE, {"input": source_input()})["registerSource"]
    assert duplicate["__typename"] == "AlreadyExists"
    assert duplicate["id"] == "S-1"

    bad_id = world(REGISTER_SOURCE, {"input": source_input(id="S 1; DROP")})["registerSource"]
    assert bad_id["__typename"] == "InvalidInput"
    assert bad_id["field"] == "id"

    too_long = world(
        REGISTER_SOURCE, {"input": source_input(id="S-2", period={"kind": "YEARS", "years": 25})}
    )["registerSource"]
    assert too_long["__typename"] == "RuleViolation"
    assert too_long["articles"] == ["X-11"]

    no_years = world(REGISTER_SOURCE, {"input": source_input(id="S-2", period={"kind": "YEARS"})})[
        "registerSource"
    ]
    assert no_years["__typename"] == "InvalidInput"
    assert world(ITEM, {"id": "S-2"})["item"] is None

    before_its_basis = world(DERIVE, {"input": derive_input(issuedOn="2024-02-01")})["deriveItem"]
    assert before_its_basis["__typename"] == "InvalidInput"
    assert before_its_basis["field"] == "issuedOn"
    assert world(ITEM, {"id": "D-1"})["item"] is None


def test_a_failure_late_in_a_registration_leaves_nothing_behind(world: Gql) -> None:
    """The second keypoint's id exists already: neither the item nor its first keypoint stay."""
    result = world(
        REGISTER_SOURCE,
        {
            "input": source_input(
                id="S-3",
                keypoints=[
                    {
                        "id": "S-3.K1",
                        "title": "新",
                        "level": "SECRET",
                        "period": {"kind": "YEARS", "years": 20},
                    },
                    {
                        "id": "S-1.K1",
                        "title": "重",
                        "level": "SECRET",
                        "period": {"kind": "YEARS", "years": 20},
                    },
                ],
            )
        },
    )["registerSource"]
    assert result["__typename"] == "AlreadyExists"
    assert result["kind"] == "keypoint"
    assert world(ITEM, {"id": "S-3"})["item"] is None
    assert world('{ keypoint(id: "S-3.K1") { id } }')["keypoint"] is None


def test_unmarked_source_gives_statutory_maximum_and_consultation_may_differ_d9_d17(
    world: Gql,
) -> None:
    world(
        REGISTER_SOURCE,
        {
            "input": source_input(
                id="S-U", period={"kind": "UNMARKED"}, keypoints=[], level="CONFIDENTIAL"
            )
        },
    )
    base = [{"parentId": "S-U", "case": "SUMMARY"}]
    plain = world(DERIVE, {"input": derive_input(id="D-U1", bases=base)})["deriveItem"]
    assert plain["item"]["marking"] == "秘密★10年"
    assert plain["item"]["expiry"] == "2034-03-01"
    assert "X-11" in plain["explanation"]["articles"]

    shorter = {"kind": "YEARS", "years": 3}
    refused = world(DERIVE, {"input": derive_input(id="D-U2", bases=base, period=shorter)})[
        "deriveItem"
    ]
    assert refused["__typename"] == "RuleViolation"
    assert "D-17" in refused["message"]

    consulted = world(
        DERIVE,
        {
            "input": derive_input(
                id="D-U3",
                bases=base,
                period=shorter,
                originatorConsultation="甲部复函〔2024〕3号：保密期限3年",
            )
        },
    )["deriveItem"]
    assert consulted["__typename"] == "DeriveItemSuccess", consulted
    assert consulted["item"]["marking"] == "秘密★3年"
    assert "甲部复函" in consulted["record"]["summary"]
