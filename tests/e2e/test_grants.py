"""The two-person rule over the API, on both stores with the demo's users (issue 21, item 7):
what widens who may read (a succession, a superior, a supervision) is a request that takes
effect only when a supervisor of what it opens, who did not file it, approves it; both steps
are in the audit trail; the auditor reads the trail and no item (三员分立)."""

from __future__ import annotations

from typing import Any

from graph.access import Role
from service.accounts import NewUser, add_user
from tests.e2e.conftest import Gql

SUCCESSION = """
mutation($from: ID!, $to: ID!) {
  recordSuccession(organisationId: $from, successorId: $to) {
    __typename
    ... on GrantRequested { grant { id kind status requestedBy organisationId targetId
                                    widenedOrganisationIds widensAll summary articles } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
APPROVE = """
mutation($id: ID!) {
  approveGrant(id: $id) {
    __typename
    ... on GrantDecided { grant { id status decidedBy decidedAt } }
    ... on Problem { message }
    ... on AccessDenied { requirement articles }
    ... on InvalidInput { field }
  }
}"""
REJECT = """
mutation($id: ID!, $reason: String!) {
  rejectGrant(id: $id, reason: $reason) {
    __typename
    ... on GrantDecided { grant { id status decidedBy reason } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
PENDING = """{ pendingGrants { __typename ... on GrantList { grants { id kind } }
  ... on AccessDenied { requirement } } }"""
ONE = "query($id: ID!) { grant(id: $id) { id status } }"
ITEM = "query($id: ID!) { item(id: $id) { id title } }"
TRAIL = """
query($first: Int!) {
  auditTrail(first: $first) {
    __typename
    ... on AuditEventConnection { edges { node { action outcome userId detail itemIds } } }
    ... on AccessDenied { requirement }
  }
}"""
ME = "{ me { roles supervisedOrganisationIds supervisesAll } }"
# An item of the institute, whose knowledge scope is the institute (D-10).
INSTITUTE_ITEM = "D-INST-003"
INSTITUTE_TITLE = "某试验项目测试大纲"


def request(gql: Gql, organisation: str, successor: str, as_: str = "admin") -> dict[str, Any]:
    answer: dict[str, Any] = gql(SUCCESSION, {"from": organisation, "to": successor}, as_=as_)[
        "recordSuccession"
    ]
    return answer


def approve(gql: Gql, grant_id: str, as_: str) -> dict[str, Any]:
    answer: dict[str, Any] = gql(APPROVE, {"id": grant_id}, as_=as_)["approveGrant"]
    return answer


def county_supervisor(gql: Gql) -> str:
    """A supervisor of the county (its own organisation), approved by the bureau's officer."""
    registered = gql(
        'mutation { registerPerson(input: {id: "p-county-sup", name: "县保密办", '
        'organisationId: "org-county"}) { __typename } }',
        as_="admin",
    )
    assert registered["registerPerson"]["__typename"] == "RegisterPersonSuccess"
    store = gql.client.app.state.store  # type: ignore[attr-defined]
    command = NewUser("p-county-sup", frozenset({Role.SUPERVISOR}), person_id="p-county-sup")
    grant = add_user(store, command).grant
    assert grant is not None
    assert approve(gql, grant.id, as_="p-sun-hong")["grant"]["status"] == "APPROVED"
    return "p-county-sup"


def test_an_administrator_alone_no_longer_widens_reading_x7(demo_gql: Gql) -> None:
    # The province may not read the institute's reports (D-10).
    assert demo_gql(ITEM, {"id": INSTITUTE_ITEM}, as_="p-liu-yang")["item"] is None
    filed = request(demo_gql, "org-institute", "org-province")
    assert filed["__typename"] == "GrantRequested", filed
    grant = filed["grant"]
    assert (grant["kind"], grant["status"], grant["requestedBy"]) == (
        "SUCCESSION",
        "PENDING",
        "admin",
    )
    assert (grant["widenedOrganisationIds"], grant["widensAll"]) == (["org-institute"], False)
    assert grant["articles"] == ["X-7", "D-10"]
    assert "某研究院" in grant["summary"]
    assert "X-7" in grant["summary"]
    # Filed, not in force: the province reads nothing more, and the institute is not merged.
    assert demo_gql(ITEM, {"id": INSTITUTE_ITEM}, as_="p-liu-yang")["item"] is None
    organisation = '{ organisation(id: "org-institute") { successorId } }'
    assert demo_gql(organisation)["organisation"] == {"successorId": None}

    # Neither the administrator nor an official may approve it: only a supervisor.
    for user in ("admin", "p-li-qiang"):
        refused = approve(demo_gql, grant["id"], as_=user)
        assert (refused["__typename"], refused["requirement"]) == (
            "AccessDenied",
            "ROLE:SUPERVISOR",
        ), user
    # A supervisor of other organisations may not either: it names what it does not supervise.
    county = county_supervisor(demo_gql)
    outside = approve(demo_gql, grant["id"], as_=county)
    assert (outside["__typename"], outside["requirement"]) == ("AccessDenied", "SUPERVISES")
    assert "org-institute" in outside["message"]
    assert "X-7" in outside["articles"]
    assert "D-10" in outside["articles"]
    assert demo_gql(PENDING, as_=county)["pendingGrants"]["grants"] == []
    assert demo_gql(ITEM, {"id": INSTITUTE_ITEM}, as_="p-liu-yang")["item"] is None

    # The bureau's officer, who supervises every organisation, may; and then it is in force.
    listed = demo_gql(PENDING, as_="p-sun-hong")["pendingGrants"]["grants"]
    assert {"id": grant["id"], "kind": "SUCCESSION"} in listed
    approved = approve(demo_gql, grant["id"], as_="p-sun-hong")
    assert approved["__typename"] == "GrantDecided", approved
    assert (approved["grant"]["status"], approved["grant"]["decidedBy"]) == (
        "APPROVED",
        "p-sun-hong",
    )
    assert demo_gql(organisation)["organisation"] == {"successorId": "org-province"}
    assert demo_gql(ITEM, {"id": INSTITUTE_ITEM}, as_="p-liu-yang")["item"]["id"] == INSTITUTE_ITEM
    # Decided once is decided.
    again = approve(demo_gql, grant["id"], as_="p-sun-hong")
    assert again["__typename"] == "InvalidInput"
    assert "已批准" in again["message"]
    assert demo_gql(PENDING, as_="p-sun-hong")["pendingGrants"]["grants"] == []


def test_the_requester_does_not_decide_its_own_request(demo_gql: Gql) -> None:
    # A supervisor may file a succession too; then another supervisor decides it.
    filed = request(demo_gql, "org-county", "org-city", as_="p-sun-hong")
    grant_id = filed["grant"]["id"]
    own = approve(demo_gql, grant_id, as_="p-sun-hong")
    assert (own["__typename"], own["requirement"]) == ("AccessDenied", "SECOND_PERSON")
    assert "两人规则" in own["message"]
    rejected = demo_gql(REJECT, {"id": grant_id, "reason": "自行驳回。"}, as_="p-sun-hong")
    assert rejected["rejectGrant"]["requirement"] == "SECOND_PERSON"
    assert grant_id not in str(demo_gql(PENDING, as_="p-sun-hong"))
    # The county's own supervisor decides on the county (and only on it): it rejects it.
    county = county_supervisor(demo_gql)
    assert demo_gql(PENDING, as_=county)["pendingGrants"]["grants"] == [
        {"id": grant_id, "kind": "SUCCESSION"}
    ]
    empty = demo_gql(REJECT, {"id": grant_id, "reason": " "}, as_=county)["rejectGrant"]
    assert empty["__typename"] == "InvalidInput"
    done = demo_gql(REJECT, {"id": grant_id, "reason": "未见撤并文件。"}, as_=county)
    assert done["rejectGrant"]["grant"] == {
        "id": grant_id,
        "status": "REJECTED",
        "decidedBy": county,
        "reason": "未见撤并文件。",
    }
    organisation = '{ organisation(id: "org-county") { successorId } }'
    assert demo_gql(organisation)["organisation"] == {"successorId": None}
    late = approve(demo_gql, grant_id, as_="p-sun-hong")
    assert late["__typename"] == "InvalidInput"
    assert "已驳回" in late["message"]
    # The one who filed it follows it; someone with no part in it does not see it.
    assert demo_gql(ONE, {"id": grant_id}, as_="p-sun-hong")["grant"]["status"] == "REJECTED"
    assert demo_gql(ONE, {"id": grant_id}, as_="p-zhao-min")["grant"] is None
    assert demo_gql(PENDING, as_="admin")["pendingGrants"]["requirement"] == "ROLE:SUPERVISOR"


def test_a_superior_is_linked_only_once_approved_x9(demo_gql: Gql) -> None:
    county = county_supervisor(demo_gql)
    registered = demo_gql(
        'mutation { registerOrganisation(input: {id: "org-town", name: "某镇", '
        'superiorId: "org-county"}) { __typename ... on RegisterOrganisationSuccess { '
        "organisation { id superiorId } grant { id kind status widenedOrganisationIds } } } }",
        as_="admin",
    )["registerOrganisation"]
    assert registered["organisation"] == {"id": "org-town", "superiorId": None}
    grant = registered["grant"]
    assert (grant["kind"], grant["status"], grant["widenedOrganisationIds"]) == (
        "SUPERIOR",
        "PENDING",
        ["org-town"],
    )
    # The county's supervisor would gain the town: not its to approve.
    assert "org-town" not in demo_gql(ME, as_=county)["me"]["supervisedOrganisationIds"]
    refused = approve(demo_gql, grant["id"], as_=county)
    assert (refused["requirement"], refused["articles"]) == ("SUPERVISES", ["X-9", "D-10"])
    assert approve(demo_gql, grant["id"], as_="p-sun-hong")["grant"]["status"] == "APPROVED"
    assert "org-town" in demo_gql(ME, as_=county)["me"]["supervisedOrganisationIds"]
    superior = '{ organisation(id: "org-town") { superiorId } }'
    assert demo_gql(superior)["organisation"] == {"superiorId": "org-county"}


def test_an_approval_checks_the_world_as_it_is_then(demo_gql: Gql) -> None:
    """Two requests each valid when filed; once the first is in force, the second would close
    a loop of successors, and is refused at approval, writing nothing."""
    first = request(demo_gql, "org-city", "org-county")["grant"]["id"]
    second = request(demo_gql, "org-county", "org-city")["grant"]["id"]
    assert approve(demo_gql, first, as_="p-sun-hong")["grant"]["status"] == "APPROVED"
    looped = approve(demo_gql, second, as_="p-sun-hong")
    assert looped["__typename"] == "InvalidInput"
    assert "成环" in looped["message"]
    assert demo_gql(ONE, {"id": second}, as_="p-sun-hong")["grant"]["status"] == "PENDING"
    organisation = '{ organisation(id: "org-county") { successorId } }'
    assert demo_gql(organisation)["organisation"] == {"successorId": None}
    # And a second request for the same organisation while one waits is refused when filed.
    twin = request(demo_gql, "org-county", "org-ministry")
    assert twin["__typename"] == "InvalidInput"
    assert second in twin["message"]


def test_both_steps_are_in_the_trail_and_the_auditor_reads_it_and_no_item(
    demo_gql: Gql,
) -> None:
    grant_id = request(demo_gql, "org-institute", "org-province")["grant"]["id"]
    approve(demo_gql, grant_id, as_="p-sun-hong")
    events = demo_gql(TRAIL, {"first": 100}, as_="auditor")["auditTrail"]
    assert events["__typename"] == "AuditEventConnection"
    nodes = [e["node"] for e in events["edges"]]
    steps = [(e["action"], e["userId"]) for e in nodes if grant_id in e["detail"]]
    assert steps == [("grant approve", "p-sun-hong"), ("grant request", "admin")]
    assert "APPROVED" in next(e["detail"] for e in nodes if e["action"] == "grant approve")
    actions = {(e["action"], e["userId"]) for e in nodes}
    assert {("mutation recordSuccession", "admin"), ("mutation approveGrant", "p-sun-hong")} <= (
        actions
    )
    # The administrator does not read the trail (三员分立).
    assert demo_gql(TRAIL, {"first": 10}, as_="admin")["auditTrail"]["requirement"] == (
        "ROLE:AUDITOR|SUPERVISOR"
    )
    # The auditor reads no item: not by id, not in lists, not in a lineage.
    assert demo_gql(ITEM, {"id": INSTITUTE_ITEM}, as_="auditor")["item"] is None
    listed = demo_gql(
        "{ items(first: 50) { ... on ItemConnection { edges { node { id } } } } }", as_="auditor"
    )
    assert listed["items"]["edges"] == []
    lineage = demo_gql('{ lineage(id: "S-2024-012") { __typename } }', as_="auditor")["lineage"]
    assert lineage["__typename"] == "NotFound"
    me = demo_gql("{ me { roles roleLabels } }", as_="auditor")["me"]
    assert me == {"roles": ["AUDITOR"], "roleLabels": ["安全审计员"]}
    # Nor may it decide what widens reading.
    refused = approve(demo_gql, grant_id, as_="auditor")
    assert refused["requirement"] == "ROLE:SUPERVISOR"
    # Its own reading of the trail shows no item's content either: ids only.
    assert INSTITUTE_TITLE not in str(nodes)
