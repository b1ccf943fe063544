"""Registering and deriving over HTTP: the rules decide, refusals are typed and write nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from graph.access import SYSTEM
from graph.errors import DuplicateId
from graph.model import KnowledgeScope, Level, PeriodKind
from graph.store.base import GraphStore
from service.usecases import NewKeypoint, PeriodSpec, RegisterSource, register_source
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
KEYPOINT = "query($id: ID!) { keypoint(id: $id) { title } }"


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


def register(gql: Gql, value: dict[str, Any]) -> dict[str, Any]:
    """registerSource with `value`, whose `id`s name the item and keypoints for the test
    (conftest.Api.alias): the service gives them their ids."""
    value = {**value, "keypoints": [dict(k) for k in value.get("keypoints", [])]}
    name = value.pop("id", None)
    keypoints = {k["title"]: k.pop("id") for k in value["keypoints"] if "id" in k}
    result: dict[str, Any] = gql(REGISTER_SOURCE, {"input": value})["registerSource"]
    if result["__typename"] == "RegisterSourceSuccess":
        item = result["item"]
        for keypoint in item["keypoints"]:
            title = gql(KEYPOINT, {"id": keypoint["id"]})["keypoint"]["title"]
            if title in keypoints:
                gql.alias(keypoints[title], keypoint["id"])
                keypoint["id"] = keypoints[title]
        if name is not None:
            gql.alias(name, item["id"])
            item["id"] = name
    return result


def derived(gql: Gql, value: dict[str, Any]) -> dict[str, Any]:
    """deriveItem with `value`, whose `id` names the item for the test."""
    value = dict(value)
    name = value.pop("id", None)
    result: dict[str, Any] = gql(DERIVE, {"input": value})["deriveItem"]
    if result["__typename"] == "DeriveItemSuccess" and name is not None:
        gql.alias(name, result["item"]["id"])
        result["item"]["id"] = name
    return result


@pytest.fixture
def world(gql: Gql) -> Gql:
    data = gql(SETUP)
    assert {v["__typename"] for v in data.values()} == {
        "RegisterOrganisationSuccess",
        "RegisterPersonSuccess",
        "RegisterScopeRuleSuccess",
    }
    result = register(gql, source_input())
    assert result["__typename"] == "RegisterSourceSuccess", result
    return gql


def test_register_source_writes_item_keypoints_and_record(world: Gql) -> None:
    item = world(
        '{ item(id: "S-1") { marking expiry kind status keypoints { id } '
        "records { kind handlerId officialId } } }"
    )["item"]
    # The service gives keypoints opaque ids of its own: they come in the order of those.
    item["keypoints"].sort(key=lambda k: k["id"])
    assert item == {
        "marking": "机密★20年",
        "expiry": "2044-03-01",
        "kind": "SOURCE",
        "status": "CLASSIFIED",
        "keypoints": [{"id": "S-1.K1"}, {"id": "S-1.K2"}],
        "records": [{"kind": "ORIGINAL", "handlerId": "h-a", "officialId": "o-a"}],
    }


def test_derive_computes_classification_from_the_keypoint_d8_d9(world: Gql) -> None:
    result = derived(world, derive_input())
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
    result = derived(world, derive_input(scopeRuleIds=["SR-1"]))
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
    result = derived(world, derive_input(**overrides))
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
    refused = derived(world, derive_input(scope={"organisations": ["org-b", "org-c"]}))
    assert refused["__typename"] == "RuleViolation"
    assert refused["rule"] == "KNOWLEDGE_SCOPE"
    assert "org-c" in refused["message"]
    assert world(ITEM, {"id": "D-1"})["item"] is None


def test_unknown_ids_and_bad_values(world: Gql) -> None:
    unknown = derived(world, derive_input(bases=[{"parentId": "S-404", "case": "SUMMARY"}]))
    assert unknown == {**unknown, "__typename": "NotFound", "kind": "item", "id": "S-404"}

    too_long = register(world, source_input(id="S-2", period={"kind": "YEARS", "years": 25}))
    assert too_long["__typename"] == "RuleViolation"
    assert too_long["articles"] == ["X-11"]

    no_years = register(world, source_input(id="S-2", period={"kind": "YEARS"}))
    assert no_years["__typename"] == "InvalidInput"

    before_its_basis = derived(world, derive_input(issuedOn="2024-02-01"))
    assert before_its_basis["__typename"] == "InvalidInput"
    assert before_its_basis["field"] == "issuedOn"
    assert world(ITEM, {"id": "D-1"})["item"] is None


def test_the_service_gives_ids_a_caller_cannot_choose_one_d10(world: Gql) -> None:
    """An id chosen by the caller could be one of an item it may not know, and its refusal
    would tell it so (D-10): the schema has no such field, and the same document registered
    twice is two items with ids of their own."""
    chosen = world.post(REGISTER_SOURCE, {"input": {**source_input(), "id": "S-MINE"}})  # type: ignore[attr-defined]
    assert chosen["data"] is None
    assert "id" in chosen["errors"][0]["message"]
    keypoint = source_input()
    keypoint["keypoints"][0]["id"] = "S-MINE.K1"
    assert world.post(REGISTER_SOURCE, {"input": keypoint})["data"] is None  # type: ignore[attr-defined]
    # S-1 again, named nothing by the test: two items, each with the ids the service gave.
    same = {k: v for k, v in source_input().items() if k != "id"}
    same["keypoints"] = [{k: v for k, v in p.items() if k != "id"} for p in same["keypoints"]]
    again = register(world, same)
    assert again["__typename"] == "RegisterSourceSuccess", again
    assert again["item"]["id"] != "S-1"
    assert {k["id"] for k in again["item"]["keypoints"]}.isdisjoint({"S-1.K1", "S-1.K2"})


def test_a_failure_late_in_a_registration_leaves_nothing_behind(world: Gql) -> None:
    """The second keypoint's id exists already: neither the item nor its first keypoint stay.
    Only the operator brings ids of its own (an import), so the operator registers here."""
    store: GraphStore = world.store  # type: ignore[attr-defined]
    taken = world.aliases["S-1.K1"]  # type: ignore[attr-defined]
    period = PeriodSpec(PeriodKind.YEARS, years=20)
    command = RegisterSource(
        id="S-3",
        title="关于另一工程的通知",
        document_number="甲发〔2024〕3号",
        organisation_id="org-a",
        issued_on=date(2024, 3, 1),
        level=Level.SECRET,
        period=period,
        scope=KnowledgeScope(organisations=frozenset({"org-a"})),
        handler_id="h-a",
        official_id="o-a",
        keypoints=(
            NewKeypoint("新", Level.SECRET, period, id="S-3.K1"),
            NewKeypoint("重", Level.SECRET, period, id=taken),
        ),
    )
    with pytest.raises(DuplicateId) as refused:
        register_source(store, command, SYSTEM)
    assert refused.value.kind == "keypoint"
    assert world(ITEM, {"id": "S-3"})["item"] is None
    assert world('{ keypoint(id: "S-3.K1") { id } }')["keypoint"] is None


def test_unmarked_source_gives_statutory_maximum_and_consultation_may_differ_d9_d17(
    world: Gql,
) -> None:
    register(
        world,
        source_input(id="S-U", period={"kind": "UNMARKED"}, keypoints=[], level="CONFIDENTIAL"),
    )
    base = [{"parentId": "S-U", "case": "SUMMARY"}]
    plain = derived(world, derive_input(id="D-U1", bases=base))
    assert plain["item"]["marking"] == "秘密★10年"
    assert plain["item"]["expiry"] == "2034-03-01"
    assert "X-11" in plain["explanation"]["articles"]

    shorter = {"kind": "YEARS", "years": 3}
    refused = derived(world, derive_input(id="D-U2", bases=base, period=shorter))
    assert refused["__typename"] == "RuleViolation"
    assert "D-17" in refused["message"]

    consulted = derived(
        world,
        derive_input(
            id="D-U3",
            bases=base,
            period=shorter,
            originatorConsultation="甲部复函〔2024〕3号：保密期限3年",
        ),
    )
    assert consulted["__typename"] == "DeriveItemSuccess", consulted
    assert consulted["item"]["marking"] == "秘密★3年"
    assert "甲部复函" in consulted["record"]["summary"]
