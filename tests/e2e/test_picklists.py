"""Pick lists over HTTP (issue 23, point 3), as a front end fills the selects of its forms:
organisations, persons, users, roles, scope rules and the handlers and officials of a
decision, each paged by cursors with its `totalCount`, filtered, and refused or narrowed as
the rules of who may see what say; on both stores. The handlers and officials listed are
exactly those the decision accepts (D-6, D-11, X-17)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis_graphql import from_schema
from starlette.testclient import TestClient

from graph.access import Role
from graph.model import Level, Organisation, Person, ScopeRule
from graph.store.base import GraphStore, GraphWriter
from service.accounts import NewUser, add_user, revoke_user
from tests.e2e.conftest import APPROVE, TEST_BUREAU, TESTER, Gql
from tests.e2e.test_fuzzing import FUZZ, SCALARS, SCHEMA, sent

README = Path(__file__).resolve().parents[2] / "README.md"

# A ministry, a province and a city below it, a county below the city, and an office of the
# province dissolved into it.
ORGANISATIONS = (
    Organisation("org-ministry", "国家某部", Level.TOP_SECRET),
    Organisation("org-province", "某省工业和信息化厅", Level.SECRET, "org-ministry"),
    Organisation("org-city", "某市工业和信息化局", Level.CONFIDENTIAL, "org-province"),
    Organisation("org-county", "某县工业和信息化局", None, "org-city"),
    Organisation("org-office", "某省国防科工办", None, "org-province", "org-province"),
)
# The county's people: an official, two handlers (one also an official), a person with no
# user, an official who is no handler, a handler whose user was revoked; and the city's
# handler and supervisor.
PERSONS = (
    Person("p-alice", "艾丽", "org-county"),
    Person("p-bob", "鲍勃", "org-county"),
    Person("p-carol", "卡罗尔", "org-county"),
    Person("p-dave", "戴夫", "org-county"),
    Person("p-erin", "艾琳", "org-county"),
    Person("p-frank", "弗兰克", "org-county"),
    Person("p-gina", "吉娜", "org-city"),
    Person("p-sup", "苏平", "org-city"),
    Person("p-minister", "闵士", "org-ministry"),
)
ROLES = {
    "p-alice": {Role.OFFICIAL},
    "p-bob": {Role.HANDLER},
    "p-carol": {Role.HANDLER, Role.OFFICIAL},
    "p-erin": {Role.OFFICIAL},
    "p-frank": {Role.HANDLER},
    "p-gina": {Role.HANDLER},
    "p-minister": {Role.HANDLER},
}
RULES = (
    ScopeRule(
        "SR-1",
        "重点工程 关键布局",
        "《某行业国家秘密范围》第三条",
        Level.SECRET,
        15,
        False,
        "国家某部",
    ),
    ScopeRule(
        "SR-2",
        "核心装备 性能参数",
        "《某领域国家秘密范围》第一条",
        Level.TOP_SECRET,
        None,
        True,
        "国家某部",
    ),
    ScopeRule(
        "SR-3",
        "重点工程 投资计划",
        "《某行业国家秘密范围》第五条",
        Level.SECRET,
        10,
        False,
        "国家某部",
    ),
    ScopeRule(
        "SR-4",
        "统计数据 汇总",
        "《统计工作国家秘密范围》第二条",
        Level.CONFIDENTIAL,
        5,
        False,
        "国家统计局",
    ),
    ScopeRule(
        "SR-5", "重点工程 选址", "《某行业国家秘密范围》第六条", Level.SECRET, 10, False, "国家某部"
    ),
)

ORGANISATIONS_Q = """
query($filter: OrganisationFilter, $first: Int! = 50, $after: String) {
  organisations(filter: $filter, first: $first, after: $after) {
    __typename
    ... on OrganisationConnection {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id name authority superiorId successorId } }
    }
    ... on Problem { message }
    ... on InvalidInput { field }
  }
}"""
PERSONS_Q = """
query($filter: PersonFilter, $first: Int! = 50, $after: String) {
  persons(filter: $filter, first: $first, after: $after) {
    __typename
    ... on PersonConnection {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name organisationId } }
    }
    ... on Problem { message }
  }
}"""
MAKERS_Q = """
query($role: DecisionMakerRole!, $filter: PersonFilter, $first: Int! = 50, $after: String) {
  decisionMakers(role: $role, filter: $filter, first: $first, after: $after) {
    __typename
    ... on PersonConnection {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name organisationId } }
    }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
USERS_Q = """
query($filter: UserFilter, $first: Int! = 50, $after: String) {
  users(filter: $filter, first: $first, after: $after) {
    __typename
    ... on UserConnection {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id name personId organisationId roles roleLabels active deactivatedAt
                     supervisesAll supervisedOrganisationIds } }
    }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
ROLES_Q = """
query($first: Int! = 50, $after: String) {
  roles(first: $first, after: $after) {
    __typename
    ... on RoleOptionConnection {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { role label heldAlone needsPerson } }
    }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
RULES_Q = """
query($filter: ScopeRuleFilter, $first: Int! = 50, $after: String) {
  scopeRules(filter: $filter, first: $first, after: $after) {
    __typename
    ... on ScopeRuleConnection {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id title document level years longTerm issuer } }
    }
    ... on Problem { message }
    ... on InvalidInput { field }
  }
}"""
REGISTER = """
mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) {
    __typename
    ... on RegisterSourceSuccess { record { handlerId officialId } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
    ... on RuleViolation { rule articles }
  }
}"""


class Front:
    """A front end: each request with the bearer token of the user it is sent as."""

    def __init__(self, gql: Gql) -> None:
        self.client: TestClient = gql.client
        self.store: GraphStore = gql.client.app.state.store  # type: ignore[attr-defined]
        self.tokens: dict[str, str] = {TESTER: gql.client.headers["Authorization"]}

    def user(self, user_id: str, *roles: Role, person: bool = True) -> None:
        issued = add_user(
            self.store,
            NewUser(user_id, frozenset(roles), person_id=user_id if person else None),
        )
        self.tokens[user_id] = f"Bearer {issued.bearer}"

    def ask(self, as_: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": self.tokens[as_]},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        (answer,) = body["data"].values()
        return answer


@pytest.fixture
def front(gql: Gql) -> Front:
    """The organisations, persons and scope rules above, written into the store as an import
    would write them (the superior and successor links as approved already: the two-person
    rule is tested in test_grants.py); users added as the operator adds them; the city's
    supervisor approved by the tester."""

    def work(tx: GraphWriter) -> None:
        for organisation in ORGANISATIONS:
            tx.add_organisation(organisation)
        for person in PERSONS:
            tx.add_person(person)
        for rule in RULES:
            tx.add_scope_rule(rule)

    shown = Front(gql)
    shown.store.write(work)
    for person, roles in ROLES.items():
        shown.user(person, *roles)
    revoke_user(shown.store, "p-frank")
    shown.user("admin", Role.ADMINISTRATOR, person=False)
    shown.user("auditor", Role.AUDITOR, person=False)
    issued = add_user(
        shown.store, NewUser("p-sup", frozenset({Role.SUPERVISOR}), person_id="p-sup")
    )
    shown.tokens["p-sup"] = f"Bearer {issued.bearer}"
    assert issued.grant is not None
    decided = gql(APPROVE, {"id": issued.grant.id})["approveGrant"]
    assert decided["grant"]["status"] == "APPROVED", decided
    return shown


def _ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


def _walk(front: Front, as_: str, query: str, variables: dict[str, Any], first: int) -> list[str]:
    """Every page, by the cursors each page gives; each page's totalCount is that of all."""
    seen: list[str] = []
    totals: set[int] = set()
    after = None
    while True:
        page = front.ask(as_, query, {**variables, "first": first, "after": after})
        seen += _ids(page)
        assert len(page["edges"]) <= first
        totals.add(page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            assert totals == {len(seen)}
            assert len(seen) > first, "more than one page"
            return seen
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


ALL_ORGANISATIONS = sorted([o.id for o in ORGANISATIONS] + [TEST_BUREAU])


def test_organisations_page_by_cursor_with_their_links(front: Front) -> None:
    assert _walk(front, "p-bob", ORGANISATIONS_Q, {}, 2) == ALL_ORGANISATIONS

    whole = front.ask("p-bob", ORGANISATIONS_Q)
    nodes = {e["node"]["id"]: e["node"] for e in whole["edges"]}
    assert nodes["org-office"] == {
        "id": "org-office",
        "name": "某省国防科工办",
        "authority": None,
        "superiorId": "org-province",
        "successorId": "org-province",
    }
    assert nodes["org-ministry"]["authority"] == "TOP_SECRET"


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"text": "工业和信息化"}, ["org-city", "org-county", "org-province"]),
        ({"text": "某省 厅"}, ["org-province"]),
        ({"text": "ORG-C"}, ["org-city", "org-county"]),  # the id, Latin letters in any case
        ({"authority": "SECRET"}, ["org-province"]),
        ({"superiorId": "org-province"}, ["org-city", "org-office"]),
        ({"dissolved": True}, ["org-office"]),
        ({"dissolved": False, "superiorId": "org-province"}, ["org-city"]),
        ({"text": "不存在的机关"}, []),
    ],
)
def test_organisations_filtered(front: Front, filter: dict[str, Any], expected: list[str]) -> None:
    page = front.ask("p-bob", ORGANISATIONS_Q, {"filter": filter})
    assert (_ids(page), page["totalCount"]) == (expected, len(expected))


def test_a_cursor_of_another_list_or_a_bad_page_size_is_invalid_input(front: Front) -> None:
    persons = front.ask("p-bob", PERSONS_Q, {"first": 1})
    refused = front.ask("p-bob", ORGANISATIONS_Q, {"after": persons["pageInfo"]["endCursor"]})
    assert refused["__typename"] == "InvalidInput"
    assert refused["field"] == "after"
    assert front.ask("p-bob", ORGANISATIONS_Q, {"after": "garbage"})["__typename"] == "InvalidInput"
    for first in (0, 501):
        too_many = front.ask("p-bob", RULES_Q, {"first": first})
        assert (too_many["__typename"], too_many["field"]) == ("InvalidInput", "first")


def test_persons_of_an_organisation_by_name(front: Front) -> None:
    county = [p.id for p in PERSONS if p.organisation_id == "org-county"]
    assert (
        _walk(front, "p-alice", PERSONS_Q, {"filter": {"organisationId": "org-county"}}, 4)
        == county
    )

    page = front.ask("p-alice", PERSONS_Q, {"filter": {"text": "艾"}})
    assert _ids(page) == ["p-alice", "p-erin"]
    page = front.ask("p-alice", PERSONS_Q, {"filter": {"text": "艾", "organisationId": "org-city"}})
    assert (_ids(page), page["totalCount"]) == ([], 0)
    everyone = front.ask("p-alice", PERSONS_Q)
    assert everyone["totalCount"] == len(PERSONS) + 1  # and the tester


def _register(front: Front, official: str, handler: str, as_: str = "p-alice") -> dict[str, Any]:
    answer: dict[str, Any] = front.ask(
        as_,
        REGISTER,
        {
            "input": {
                "title": "县级工程实施方案",
                "documentNumber": f"某县工信〔2024〕{len(handler)}号",
                "organisationId": "org-county",
                "issuedOn": "2024-05-01",
                "level": "SECRET",
                "period": {"kind": "YEARS", "years": 10},
                "scope": {"organisations": ["org-county"]},
                "handlerId": handler,
                "officialId": official,
            }
        },
    )
    return answer


def test_the_handlers_listed_are_exactly_those_a_decision_accepts(front: Front) -> None:
    handlers = front.ask("p-alice", MAKERS_Q, {"role": "HANDLER"})
    # Of the county, with the handler role, an active user, and not the official herself.
    assert (_ids(handlers), handlers["totalCount"]) == (["p-bob", "p-carol"], 2)
    officials = front.ask("p-alice", MAKERS_Q, {"role": "OFFICIAL"})
    assert _ids(officials) == ["p-alice"]  # the caller decides in its own name (D-11)

    for handler in _ids(handlers):
        accepted = _register(front, "p-alice", handler)
        assert accepted["__typename"] == "RegisterSourceSuccess", (handler, accepted)
        assert accepted["record"] == {"handlerId": handler, "officialId": "p-alice"}
    for person in sorted({p.id for p in PERSONS} - set(_ids(handlers))):
        refused = _register(front, "p-alice", person)
        assert refused["__typename"] in {"AccessDenied", "RuleViolation"}, (person, refused)
    other = _register(front, "p-carol", "p-bob")  # another official named by 艾丽
    assert (other["__typename"], other["requirement"]) == ("AccessDenied", "ACT_AS_SELF")

    # Carol decides too: her list has Bob, not herself; Alice is no handler.
    assert _ids(front.ask("p-carol", MAKERS_Q, {"role": "HANDLER"})) == ["p-bob"]
    assert _register(front, "p-carol", "p-bob", as_="p-carol")["__typename"] == (
        "RegisterSourceSuccess"
    )


def test_every_person_is_listed_exactly_when_the_decision_accepts_it(front: Front) -> None:
    """For each official of the county, each person registered, as handler and as official:
    listed if and only if registerSource accepts it (D-6, D-11, X-17)."""
    everyone = [p.id for p in PERSONS] + [TESTER]
    for official in ("p-alice", "p-carol", "p-erin"):
        handlers = set(_ids(front.ask(official, MAKERS_Q, {"role": "HANDLER", "first": 500})))
        officials = set(_ids(front.ask(official, MAKERS_Q, {"role": "OFFICIAL"})))
        assert handlers
        assert officials == {official}
        a_handler = min(handlers)
        for person in everyone:
            named = _register(front, official, person, as_=official)
            accepted = named["__typename"] == "RegisterSourceSuccess"
            assert accepted == (person in handlers), (official, "handler", person, named)
            if person != a_handler:
                named = _register(front, person, a_handler, as_=official)
                accepted = named["__typename"] == "RegisterSourceSuccess"
                assert accepted == (person in officials), (official, "official", person, named)


def test_decision_makers_filter_and_page(front: Front) -> None:
    assert _walk(front, "p-alice", MAKERS_Q, {"role": "HANDLER"}, 1) == ["p-bob", "p-carol"]
    page = front.ask("p-alice", MAKERS_Q, {"role": "HANDLER", "filter": {"text": "卡罗"}})
    assert _ids(page) == ["p-carol"]
    # Only the official's organisation decides (D-6): another names no one.
    page = front.ask(
        "p-alice", MAKERS_Q, {"role": "HANDLER", "filter": {"organisationId": "org-city"}}
    )
    assert (_ids(page), page["totalCount"]) == ([], 0)


@pytest.mark.parametrize("user", ["p-bob", "admin", "auditor", "p-sup", TESTER])
def test_who_may_not_decide_gets_no_decision_makers(front: Front, user: str) -> None:
    for role in ("HANDLER", "OFFICIAL"):
        refused = front.ask(user, MAKERS_Q, {"role": role})
        assert (refused["__typename"], refused["requirement"]) == ("AccessDenied", "ROLE:OFFICIAL")


def test_users_for_the_administrator_with_filters(front: Front) -> None:
    everyone = sorted([*ROLES, "admin", "auditor", "p-sup", TESTER])
    assert _walk(front, "admin", USERS_Q, {}, 3) == everyone

    page = front.ask("admin", USERS_Q, {"filter": {"role": "HANDLER", "active": True}})
    assert _ids(page) == ["p-bob", "p-carol", "p-gina", "p-minister"]
    page = front.ask("admin", USERS_Q, {"filter": {"active": False}})
    (frank,) = page["edges"]
    assert frank["node"]["id"] == "p-frank"
    assert frank["node"]["deactivatedAt"] is not None
    page = front.ask("admin", USERS_Q, {"filter": {"organisationId": "org-city"}})
    nodes = {e["node"]["id"]: e["node"] for e in page["edges"]}
    assert sorted(nodes) == ["p-gina", "p-sup"]
    assert nodes["p-sup"]["roles"] == ["SUPERVISOR"]
    assert nodes["p-sup"]["roleLabels"] == ["监督检查人员"]
    assert nodes["p-sup"]["supervisesAll"] is False
    auditor = front.ask("admin", USERS_Q, {"filter": {"text": "audit"}})["edges"][0]["node"]
    assert (auditor["personId"], auditor["organisationId"]) == (None, None)


def test_a_supervisor_sees_the_users_of_what_it_supervises(front: Front) -> None:
    # The city's supervisor supervises the city and the county below it.
    city_and_county = ["p-alice", "p-bob", "p-carol", "p-erin", "p-frank", "p-gina", "p-sup"]
    assert _walk(front, "p-sup", USERS_Q, {}, 2) == city_and_county
    assert front.ask("p-sup", USERS_Q, {"filter": {"text": "minister"}})["totalCount"] == 0
    # A supervisor of all, as the administrator.
    assert front.ask(TESTER, USERS_Q)["totalCount"] == len(ROLES) + 4


@pytest.mark.parametrize("user", ["auditor", "p-alice", "p-bob"])
def test_users_and_roles_refused_to_others(front: Front, user: str) -> None:
    for query in (USERS_Q, ROLES_Q):
        refused = front.ask(user, query)
        assert refused["__typename"] == "AccessDenied"
        assert refused["requirement"] == "ROLE:ADMINISTRATOR|SUPERVISOR"


def test_lists_are_recorded_in_the_audit_trail_as_other_reads(front: Front) -> None:
    """A refusal is recorded, and a list whose filter names an id, as any read that asks for
    ids; a list that names none and shows no item's content is not, as `me` is not."""
    front.ask("p-bob", USERS_Q)
    front.ask("admin", USERS_Q, {"filter": {"organisationId": "org-city"}})
    front.ask("admin", USERS_Q, {"filter": {"text": "鲍勃"}})
    trail = """query($user: ID) { auditTrail(filter: {userId: $user}) {
      ... on AuditEventConnection { edges { node { action outcome detail itemIds askedIds } } }
    } }"""
    events = {
        user: [e["node"] for e in front.ask("auditor", trail, {"user": user})["edges"]]
        for user in ("p-bob", "admin")
    }
    assert events["p-bob"] == [
        {
            "action": "query users",
            "outcome": "DENIED",
            "detail": "ROLE:ADMINISTRATOR|SUPERVISOR",
            "itemIds": [],
            "askedIds": [],
        }
    ]
    # The auditor reads the ids a request named as placeholders (it reads no item).
    (asked,) = events["admin"]
    assert (asked["action"], asked["outcome"], asked["detail"]) == (
        "query users",
        "OK",
        "NOTHING_SHOWN",
    )
    assert (asked["itemIds"], len(asked["askedIds"])) == ([], 1)


def test_roles_with_their_chinese_names(front: Front) -> None:
    seen, after = [], None
    while True:  # pages of two, by their cursors
        part = front.ask("admin", ROLES_Q, {"first": 2, "after": after})
        seen += [e["node"]["role"] for e in part["edges"]]
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert seen == ["ADMINISTRATOR", "AUDITOR", "HANDLER", "OFFICIAL", "SUPERVISOR"]
    page = front.ask("p-sup", ROLES_Q)
    nodes = [e["node"] for e in page["edges"]]
    assert page["totalCount"] == 5
    assert {n["role"]: n["label"] for n in nodes} == {
        "ADMINISTRATOR": "系统管理员",
        "AUDITOR": "安全审计员",
        "HANDLER": "承办人",
        "OFFICIAL": "定密责任人",
        "SUPERVISOR": "监督检查人员",
    }
    alone = {n["role"] for n in nodes if n["heldAlone"]}
    assert alone == {"ADMINISTRATOR", "AUDITOR", "SUPERVISOR"}  # 三员分立
    assert {n["role"] for n in nodes if not n["needsPerson"]} == {"ADMINISTRATOR", "AUDITOR"}


def test_scope_rules_by_issuer_level_and_words(front: Front) -> None:
    assert _walk(front, "p-bob", RULES_Q, {}, 2) == [r.id for r in RULES]
    cases = [
        ({"issuer": "国家某部"}, ["SR-1", "SR-2", "SR-3", "SR-5"]),
        ({"issuer": "国家某部", "level": "SECRET"}, ["SR-1", "SR-3", "SR-5"]),
        ({"text": "重点工程"}, ["SR-1", "SR-3", "SR-5"]),
        ({"text": "重点工程 第五条"}, ["SR-3"]),  # words of the title and the document
        ({"text": "sr-4"}, ["SR-4"]),
        ({"level": "TOP_SECRET"}, ["SR-2"]),
    ]
    for filter, expected in cases:
        page = front.ask("auditor", RULES_Q, {"filter": filter})
        assert (_ids(page), page["totalCount"]) == (expected, len(expected)), filter
    pages = _walk(front, "p-bob", RULES_Q, {"filter": {"text": "重点工程"}}, 2)
    assert pages == ["SR-1", "SR-3", "SR-5"]
    rule = front.ask("p-bob", RULES_Q, {"filter": {"text": "SR-2"}})["edges"][0]["node"]
    assert rule == {
        "id": "SR-2",
        "title": "核心装备 性能参数",
        "document": "《某领域国家秘密范围》第一条",
        "level": "TOP_SECRET",
        "years": None,
        "longTerm": True,
        "issuer": "国家某部",
    }


def _readme_example() -> tuple[str, str]:
    form, users = re.findall(
        r"```graphql pick-lists\n(.*?)```", README.read_text(encoding="utf-8"), re.S
    )
    return form, users


def test_readme_pick_lists_answer_as_it_says(demo_gql: Gql) -> None:
    form, users = _readme_example()
    answer = demo_gql(form, as_="p-huang-tao")
    assert [e["node"]["id"] for e in answer["organisations"]["edges"]] == ["org-county"]
    assert [e["node"]["name"] for e in answer["handlers"]["edges"]] == ["赵敏"]
    assert [e["node"]["id"] for e in answer["officials"]["edges"]] == ["p-huang-tao"]
    assert [e["node"]["id"] for e in answer["scopeRules"]["edges"]] == ["SR-ENG-3"]
    persons = answer["persons"]
    assert (persons["totalCount"], persons["pageInfo"]["hasNextPage"]) == (2, True)

    listed = demo_gql(users, as_="admin")["users"]
    assert [e["node"]["id"] for e in listed["edges"]] == ["p-zhao-min"]
    refused = demo_gql(users, as_="auditor")["users"]
    assert refused["__typename"] == "AccessDenied"


def test_nothing_is_listed_to_an_anonymous_request(front: Front) -> None:
    response = front.client.post(
        "/graphql", json={"query": "{ persons { __typename } }"}, headers={"Authorization": ""}
    )
    assert response.status_code == 401


PICK_LISTS = ["organisations", "persons", "decisionMakers", "users", "roles", "scopeRules"]


@FUZZ
@given(query=from_schema(SCHEMA, fields=PICK_LISTS, custom_scalars=SCALARS))
def test_any_pick_list_request_gets_an_answer(demo_client: TestClient, query: str) -> None:
    """Requests of the pick lists generated from the schema (any filter, any page size, any
    cursor): an answer or a clear refusal, never a crash (tests/e2e/test_fuzzing.py)."""
    sent(demo_client, query)
