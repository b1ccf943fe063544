"""Users and tokens through the API (issue 23, point 4), over HTTP as a front end calls it, on
both stores with the demo's users: an administrator (系统管理员) adds a user for a person, who
signs in with the token shown once; tokens are issued, listed (metadata only) and revoked,
and a user deactivated, each taking effect at the next request; anyone else is refused the
same for a user that exists and one that does not; 三员分立 and the two-person rule for a
supervisor's role hold; a refusal writes nothing; the auditor reads every step in the trail,
and no secret anywhere."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import pytest

from graph.access import Role
from service.accounts import NewUser, add_user
from tests.e2e.conftest import Gql
from tests.e2e.test_readme import README

ADD = """
mutation($input: AddUserInput!) {
  addUser(input: $input) {
    __typename
    ... on UserAdded {
      bearer
      token { id label active revokedAt expiresAt }
      user { id name personId roles roleLabels active }
      grant { id kind status requestedBy userId supervisesAll summary }
    }
    ... on Problem { message }
    ... on AccessDenied { requirement articles }
    ... on InvalidInput { field }
    ... on NotFound { kind id }
    ... on AlreadyExists { kind id }
  }
}"""
USER = """
query($id: ID!, $first: Int! = 50, $after: String, $filter: TokenFilter) {
  user(id: $id) {
    id name personId roles active deactivatedAt supervisesAll supervisedOrganisationIds
    tokens(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id userId label createdAt expiresAt revokedAt active } }
    }
  }
}"""
ISSUE = """
mutation($user: ID!, $label: String! = "", $days: Int, $rotate: Boolean! = false) {
  issueToken(userId: $user, label: $label, expiresInDays: $days, revokeOthers: $rotate) {
    __typename
    ... on TokenIssued { bearer token { id label active expiresAt } user { id } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
    ... on InvalidInput { field }
  }
}"""
REVOKE = """
mutation($id: ID!) {
  revokeToken(id: $id) {
    __typename
    ... on TokenRevoked { token { id active revokedAt } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""
DEACTIVATE = """
mutation($id: ID!) {
  deactivateUser(id: $id) {
    __typename
    ... on UserChanged { user { id active deactivatedAt } }
    ... on Problem { message }
    ... on AccessDenied { requirement articles }
  }
}"""
GRANT_ROLE = """
mutation($user: ID!, $role: Role!, $all: Boolean! = false, $orgs: [ID!]) {
  grantRole(userId: $user, role: $role, supervisesAll: $all, supervisedOrganisationIds: $orgs) {
    __typename
    ... on UserChanged { user { id roles supervisesAll }
                         grant { id kind status requestedBy userId widenedOrganisationIds } }
    ... on Problem { message }
    ... on AccessDenied { requirement articles }
    ... on InvalidInput { field }
  }
}"""
REMOVE_ROLE = """
mutation($user: ID!, $role: Role!) {
  removeRole(userId: $user, role: $role) {
    __typename
    ... on UserChanged { user { id roles supervisesAll } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
    ... on InvalidInput { field }
  }
}"""
APPROVE = """
mutation($id: ID!) {
  approveGrant(id: $id) {
    __typename
    ... on GrantDecided { grant { status decidedBy } }
    ... on AccessDenied { requirement message }
  }
}"""
REGISTER = """
mutation($id: ID!, $org: ID!) {
  registerPerson(input: {id: $id, name: "新同事", organisationId: $org}) { __typename }
}"""
TRAIL = """
{ auditTrail(first: 200) { ... on AuditEventConnection {
    edges { node { action outcome userId detail askedIds } } } } }"""
ME = "{ me { userId personId roles } }"


def secret_of(bearer: str) -> str:
    """The secret of `lin_<id>_<secret>` (which may itself hold `_`)."""
    return bearer.removeprefix("lin_").partition("_")[2]


def ask(gql: Gql, query: str, variables: dict[str, Any] | None = None, as_: str = "admin") -> Any:
    """A request signed by `as_`'s token, sent as it is (the conftest's client would enrol a
    user for every `personId` it sees, and addUser names one)."""
    bearer = gql.token(as_)  # type: ignore[attr-defined]
    return signed(gql, bearer, query, variables)


def signed(gql: Gql, bearer: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = gql.client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    if response.status_code == 401:
        return 401
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def person(gql: Gql, id: str, organisation: str = "org-county") -> str:
    answer = ask(gql, REGISTER, {"id": id, "org": organisation})
    assert answer["registerPerson"]["__typename"] == "RegisterPersonSuccess"
    return id


def add(gql: Gql, as_: str = "admin", **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = ask(gql, ADD, {"input": fields}, as_=as_)["addUser"]
    return answer


def user(gql: Gql, id: str, as_: str = "admin", **variables: Any) -> Any:
    return ask(gql, USER, {"id": id, **variables}, as_=as_)["user"]


def test_an_administrator_adds_a_user_whose_token_works_until_revoked(
    demo_gql: Gql, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new = person(demo_gql, "p-new-handler")
    added = add(
        demo_gql, id="u-new", personId=new, roles=["HANDLER", "OFFICIAL"], tokenLabel="办公电脑"
    )
    assert added["__typename"] == "UserAdded", added
    assert added["user"] == {
        "id": "u-new",
        "name": "新同事",
        "personId": new,
        "roles": ["HANDLER", "OFFICIAL"],
        "roleLabels": ["承办人", "定密责任人"],
        "active": True,
    }
    assert added["grant"] is None
    first = added["bearer"]
    assert first.startswith("lin_")
    assert added["token"]["label"] == "办公电脑"
    # The token signs the new user in, as its person, with its roles.
    assert signed(demo_gql, first, ME)["me"] == {
        "userId": "u-new",
        "personId": new,
        "roles": ["HANDLER", "OFFICIAL"],
    }

    # A second token, with an expiry; the first stays (no rotation unless asked).
    second = ask(demo_gql, ISSUE, {"user": "u-new", "label": "手机", "days": 30})["issueToken"]
    assert second["__typename"] == "TokenIssued"
    assert second["token"]["expiresAt"]
    assert signed(demo_gql, second["bearer"], ME)["me"]["userId"] == "u-new"
    assert signed(demo_gql, first, ME)["me"]["userId"] == "u-new"

    # Listed: metadata, oldest first, paged, counted; the secret is never shown again.
    listed = user(demo_gql, "u-new")
    tokens = listed["tokens"]
    assert tokens["totalCount"] == 2
    assert [e["node"]["label"] for e in tokens["edges"]] == ["办公电脑", "手机"]
    assert [e["node"]["id"] for e in tokens["edges"]] == [
        added["token"]["id"],
        second["token"]["id"],
    ]
    assert first not in str(listed)
    assert second["bearer"] not in str(listed)
    one = user(demo_gql, "u-new", first=1)["tokens"]
    assert (one["totalCount"], one["pageInfo"]["hasNextPage"]) == (2, True)
    rest = user(demo_gql, "u-new", first=1, after=one["pageInfo"]["endCursor"])["tokens"]
    assert [e["node"]["label"] for e in rest["edges"]] == ["手机"]
    assert rest["pageInfo"]["hasNextPage"] is False

    # Revoking the first takes effect at the next request; the other still works.
    revoked = ask(demo_gql, REVOKE, {"id": added["token"]["id"]})["revokeToken"]
    assert revoked["__typename"] == "TokenRevoked"
    assert revoked["token"]["active"] is False
    assert signed(demo_gql, first, ME) == 401
    assert signed(demo_gql, second["bearer"], ME)["me"]["userId"] == "u-new"
    active = user(demo_gql, "u-new", filter={"active": True})["tokens"]
    assert [e["node"]["label"] for e in active["edges"]] == ["手机"]
    assert active["totalCount"] == 1
    again = ask(demo_gql, REVOKE, {"id": added["token"]["id"]})["revokeToken"]
    assert again["__typename"] == "InvalidInput"
    assert "已于" in again["message"]

    # Rotation revokes every other token of the user.
    rotated = ask(demo_gql, ISSUE, {"user": "u-new", "rotate": True})["issueToken"]
    assert signed(demo_gql, second["bearer"], ME) == 401
    assert signed(demo_gql, rotated["bearer"], ME)["me"]["userId"] == "u-new"

    # Deactivating the user ends all of its tokens at once, for good.
    gone = ask(demo_gql, DEACTIVATE, {"id": "u-new"})["deactivateUser"]
    assert gone["__typename"] == "UserChanged"
    assert gone["user"]["active"] is False
    assert gone["user"]["deactivatedAt"]
    assert signed(demo_gql, rotated["bearer"], ME) == 401
    after = user(demo_gql, "u-new")
    assert after["active"] is False
    assert not any(e["node"]["active"] for e in after["tokens"]["edges"])
    # And no new token brings it back.
    refused = ask(demo_gql, ISSUE, {"user": "u-new"})["issueToken"]
    assert refused["__typename"] == "InvalidInput"
    assert "已被吊销" in refused["message"]
    assert user(demo_gql, "u-new")["tokens"]["totalCount"] == 3
    # No secret shown once went into the log.
    for shown in (first, second["bearer"], rotated["bearer"]):
        assert secret_of(shown) not in caplog.text


def test_anyone_but_an_administrator_is_refused_alike_for_users_that_exist_or_not(
    demo_gql: Gql,
) -> None:
    new = person(demo_gql, "p-outsider-case")
    for caller in ("p-zhang-wei", "p-li-qiang", "p-sun-hong", "auditor"):
        answers = []
        for target in ("p-huang-tao", "no-such-user"):
            answers.append(
                [
                    ask(demo_gql, ISSUE, {"user": target}, as_=caller)["issueToken"],
                    ask(demo_gql, DEACTIVATE, {"id": target}, as_=caller)["deactivateUser"],
                    ask(demo_gql, GRANT_ROLE, {"user": target, "role": "OFFICIAL"}, as_=caller)[
                        "grantRole"
                    ],
                    ask(demo_gql, REMOVE_ROLE, {"user": target, "role": "HANDLER"}, as_=caller)[
                        "removeRole"
                    ],
                    ask(demo_gql, REVOKE, {"id": target}, as_=caller)["revokeToken"],
                    # A user reads itself; no one else but an administrator reads a user.
                    user(demo_gql, target, as_=caller),
                ]
            )
        existing, missing = answers
        assert existing == missing, caller
        for refused in existing[:5]:
            assert refused["__typename"] == "AccessDenied", refused
            assert refused["requirement"] == "ROLE:ADMINISTRATOR"
            assert "系统管理员" in refused["message"]
        assert existing[5] is None
        added = add(demo_gql, as_=caller, id="u-sneak", personId=new, roles=["HANDLER"])
        assert added["requirement"] == "ROLE:ADMINISTRATOR"
    # Nothing was written: the user was not added, no token issued or revoked.
    assert user(demo_gql, "u-sneak") is None
    assert user(demo_gql, "p-huang-tao")["active"] is True
    # A user reads its own account.
    assert user(demo_gql, "p-zhang-wei", as_="p-zhang-wei")["id"] == "p-zhang-wei"


def test_the_three_officers_stay_three_persons_and_no_administrator_grants_itself(
    demo_gql: Gql,
) -> None:
    new = person(demo_gql, "p-three")
    both = add(demo_gql, id="u-three", personId=new, roles=["ADMINISTRATOR", "SUPERVISOR"])
    assert both["__typename"] == "InvalidInput"
    assert both["field"] == "role"
    assert "三员分立" in both["message"]
    assert user(demo_gql, "u-three") is None  # nothing written
    # An auditor acts for no person, and holds no other role.
    auditor = add(demo_gql, id="u-auditor-2", personId=new, roles=["AUDITOR"])
    assert auditor["__typename"] == "InvalidInput"
    assert "安全审计员" in auditor["message"]
    added = add(demo_gql, id="u-auditor-2", roles=["AUDITOR"], name="第二审计员")
    assert added["__typename"] == "UserAdded"
    assert added["user"]["personId"] is None
    mixed = ask(demo_gql, GRANT_ROLE, {"user": "u-auditor-2", "role": "ADMINISTRATOR"})
    assert mixed["grantRole"]["field"] == "role"
    assert "三员分立" in mixed["grantRole"]["message"]
    last = ask(demo_gql, REMOVE_ROLE, {"user": "u-auditor-2", "role": "AUDITOR"})["removeRole"]
    assert last["__typename"] == "InvalidInput"
    assert "deactivateUser" in last["message"]
    assert user(demo_gql, "u-auditor-2")["roles"] == ["AUDITOR"]
    # The administrator changes no role of its own, and does not deactivate itself.
    for query, variables in (
        (GRANT_ROLE, {"user": "admin", "role": "AUDITOR"}),
        (REMOVE_ROLE, {"user": "admin", "role": "ADMINISTRATOR"}),
        (DEACTIVATE, {"id": "admin"}),
    ):
        (refused,) = ask(demo_gql, query, variables).values()
        assert refused["__typename"] == "AccessDenied", refused
        assert refused["requirement"] == "NOT_SELF"
        assert "三员分立" in refused["message"]
    assert user(demo_gql, "admin")["roles"] == ["ADMINISTRATOR"]
    assert user(demo_gql, "admin")["active"] is True
    # Roles given and taken at once where they widen no one's reading.
    handler = add(demo_gql, id="u-roles", personId=new, roles=["HANDLER"])
    assert handler["__typename"] == "UserAdded"
    granted = ask(demo_gql, GRANT_ROLE, {"user": "u-roles", "role": "OFFICIAL"})["grantRole"]
    assert granted["user"]["roles"] == ["HANDLER", "OFFICIAL"]
    assert granted["grant"] is None
    assert signed(demo_gql, handler["bearer"], ME)["me"]["roles"] == ["HANDLER", "OFFICIAL"]
    twice = ask(demo_gql, GRANT_ROLE, {"user": "u-roles", "role": "OFFICIAL"})["grantRole"]
    assert twice["__typename"] == "InvalidInput"
    assert "已是定密责任人" in twice["message"]
    taken = ask(demo_gql, REMOVE_ROLE, {"user": "u-roles", "role": "HANDLER"})["removeRole"]
    assert taken["user"]["roles"] == ["OFFICIAL"]
    # Bad input is a typed problem, and writes nothing.
    unknown = add(demo_gql, id="u-ghost", personId="p-nobody", roles=["HANDLER"])
    assert (unknown["__typename"], unknown["kind"]) == ("NotFound", "person")
    taken_id = add(demo_gql, id="u-roles", personId=new, roles=["HANDLER"])
    assert taken_id["__typename"] == "AlreadyExists"
    # A connection inside an answer: a bad cursor is an error of the request naming it.
    badly = demo_gql.client.post(
        "/graphql",
        json={"query": USER, "variables": {"id": "u-roles", "after": "not-a-cursor"}},
        headers={"Authorization": f"Bearer {demo_gql.token('admin')}"},  # type: ignore[attr-defined]
    ).json()
    assert badly["errors"][0]["extensions"]["field"] == "after", badly
    assert user(demo_gql, "u-ghost") is None
    assert user(demo_gql, "u-roles")["tokens"]["totalCount"] == 1


def test_a_supervisors_role_waits_for_a_second_supervisor_d10(demo_gql: Gql) -> None:
    new = person(demo_gql, "p-new-supervisor", "org-province")
    added = add(demo_gql, id="u-sup", personId=new, roles=["SUPERVISOR"], supervisesAll=True)
    assert added["__typename"] == "UserAdded", added
    # Added, signed in, and holding no role yet: the request waits (两人规则).
    assert added["user"]["roles"] == []
    grant = added["grant"]
    assert grant["kind"] == "SUPERVISION"
    assert grant["status"] == "PENDING"
    assert (grant["requestedBy"], grant["userId"], grant["supervisesAll"]) == (
        "admin",
        "u-sup",
        True,
    )
    assert "D-10" in grant["summary"]
    assert signed(demo_gql, added["bearer"], ME)["me"]["roles"] == []
    # The administrator does not approve it; nor does the one it concerns.
    assert ask(demo_gql, APPROVE, {"id": grant["id"]})["approveGrant"]["requirement"] == (
        "ROLE:SUPERVISOR"
    )
    # A second request for the same user waits for the first one.
    twin = ask(demo_gql, GRANT_ROLE, {"user": "u-sup", "role": "SUPERVISOR", "all": True})
    assert twin["grantRole"]["__typename"] == "InvalidInput"
    # Nor may another role join the supervisor's meanwhile (三员分立).
    mixed = ask(demo_gql, GRANT_ROLE, {"user": "u-sup", "role": "HANDLER"})["grantRole"]
    assert mixed["__typename"] == "InvalidInput"
    assert "三员分立" in mixed["message"]
    approved = ask(demo_gql, APPROVE, {"id": grant["id"]}, as_="p-sun-hong")["approveGrant"]
    assert approved["grant"] == {"status": "APPROVED", "decidedBy": "p-sun-hong"}
    assert signed(demo_gql, added["bearer"], ME)["me"]["roles"] == ["SUPERVISOR"]
    # Narrowing takes effect at once; so does taking the role away.
    narrowed = ask(
        demo_gql, GRANT_ROLE, {"user": "u-sup", "role": "SUPERVISOR", "orgs": ["org-county"]}
    )["grantRole"]
    assert narrowed["grant"] is None
    assert narrowed["user"]["supervisesAll"] is False
    # Widening it again is a request again, for a supervisor of what it widens.
    widened = ask(
        demo_gql,
        GRANT_ROLE,
        {"user": "u-sup", "role": "SUPERVISOR", "orgs": ["org-county", "org-city"]},
    )["grantRole"]
    assert widened["grant"]["status"] == "PENDING"
    assert widened["grant"]["widenedOrganisationIds"] == ["org-city"]
    taken = ask(demo_gql, REMOVE_ROLE, {"user": "u-sup", "role": "SUPERVISOR"})["removeRole"]
    assert taken["user"] == {"id": "u-sup", "roles": [], "supervisesAll": False}
    # A handler given the supervisor's role is refused (三员分立), writing nothing.
    handler = ask(demo_gql, GRANT_ROLE, {"user": "p-zhang-wei", "role": "SUPERVISOR"})
    assert handler["grantRole"]["__typename"] == "InvalidInput"
    assert user(demo_gql, "p-zhang-wei")["roles"] == ["HANDLER"]


def test_an_administrator_issues_no_token_to_act_as_a_supervisor_or_auditor(
    demo_gql: Gql,
) -> None:
    """Else it would approve what widens reading, or read the trail, in their name."""
    for officer in ("p-sun-hong", "auditor"):
        refused = ask(demo_gql, ISSUE, {"user": officer})["issueToken"]
        assert refused["__typename"] == "AccessDenied", refused
        assert refused["requirement"] == "THREE_OFFICERS"
        assert "三员分立" in refused["message"]
        assert user(demo_gql, officer)["tokens"]["totalCount"] == 1  # the demo's own
    # Nor for a user whose supervision waits for approval: approved, it would be one.
    new = person(demo_gql, "p-waiting", "org-city")
    added = add(demo_gql, id="u-waiting", personId=new, roles=["SUPERVISOR"])
    assert added["grant"]["status"] == "PENDING"
    waiting = ask(demo_gql, ISSUE, {"user": "u-waiting"})["issueToken"]
    assert waiting["requirement"] == "THREE_OFFICERS"
    # The new supervisor rotates the first token the administrator handed it: the
    # administrator's copy stops working.
    approved = ask(demo_gql, APPROVE, {"id": added["grant"]["id"]}, as_="p-sun-hong")
    assert approved["approveGrant"]["grant"]["status"] == "APPROVED"
    own = signed(demo_gql, added["bearer"], ISSUE, {"user": "u-waiting", "rotate": True})
    assert own["issueToken"]["__typename"] == "TokenIssued"
    assert signed(demo_gql, added["bearer"], ME) == 401
    assert signed(demo_gql, own["issueToken"]["bearer"], ME)["me"]["roles"] == ["SUPERVISOR"]
    # Anyone issues its own token; no one else's but an administrator.
    mine = ask(demo_gql, ISSUE, {"user": "p-zhao-min"}, as_="p-zhao-min")["issueToken"]
    assert mine["__typename"] == "TokenIssued"
    theirs = ask(demo_gql, ISSUE, {"user": "p-huang-tao"}, as_="p-zhao-min")["issueToken"]
    assert theirs["requirement"] == "ROLE:ADMINISTRATOR"


def test_the_first_supervisor_is_not_founded_through_the_api(gql: Gql) -> None:
    """With no supervisor yet, no one could approve: only the operator founds the first one
    (`lineage users add --role supervisor`), never an administrator alone."""
    store = gql.store  # type: ignore[attr-defined]
    admin = add_user(store, NewUser("u-admin", frozenset({Role.ADMINISTRATOR}))).bearer
    # The tester of the conftest supervises every organisation: without it, there is none.
    tester = store.read(lambda tx: tx.users(["tester"]))["tester"]
    alone = replace(tester, roles=frozenset({Role.ADMINISTRATOR}), supervises=frozenset())
    store.write(lambda tx: tx.update_user(alone))
    registered = signed(gql, admin, REGISTER, {"id": "p-first-sup", "org": "org-test-bureau"})
    assert registered["registerPerson"]["__typename"] == "RegisterPersonSuccess"
    answer = signed(
        gql,
        admin,
        ADD,
        {"input": {"id": "u-first-sup", "personId": "p-first-sup", "roles": ["SUPERVISOR"]}},
    )["addUser"]
    assert answer["__typename"] == "AccessDenied", answer
    assert answer["requirement"] == "OPERATOR"
    assert answer["articles"] == ["D-10"]
    assert "lineage users add" in answer["message"]
    assert store.read(lambda tx: tx.users(["u-first-sup"])) == {}
    assert store.read(lambda tx: tx.find_grants([])) == []


def test_the_auditor_reads_every_step_and_no_secret(demo_gql: Gql) -> None:
    new = person(demo_gql, "p-audited")
    added = add(demo_gql, id="u-audited", personId=new, roles=["HANDLER"])
    issued = ask(demo_gql, ISSUE, {"user": "u-audited"})["issueToken"]
    ask(demo_gql, REVOKE, {"id": issued["token"]["id"]})
    ask(demo_gql, GRANT_ROLE, {"user": "u-audited", "role": "OFFICIAL"})
    ask(demo_gql, REMOVE_ROLE, {"user": "u-audited", "role": "HANDLER"})
    ask(demo_gql, DEACTIVATE, {"id": "u-audited"})
    add(demo_gql, as_="p-zhang-wei", id="u-sneak", personId=new, roles=["HANDLER"])
    trail = ask(demo_gql, TRAIL, as_="auditor")["auditTrail"]["edges"]
    events = [e["node"] for e in reversed(trail)]
    steps = [
        (e["action"], e["userId"], e["detail"])
        for e in events
        if e["action"].split()[0] in ("user", "token")
    ]
    first, second = added["token"]["id"], issued["token"]["id"]
    assert steps == [
        ("user add", "admin", f"user u-audited roles HANDLER person {new} token {first}"),
        ("token issue", "admin", f"user u-audited token {second}"),
        ("token revoke", "admin", f"user u-audited token {second}"),
        ("user role grant", "admin", "user u-audited +OFFICIAL"),
        ("user role remove", "admin", "user u-audited -HANDLER"),
        ("user deactivate", "admin", "user u-audited and its tokens"),
    ]
    requests = {(e["action"], e["userId"], e["outcome"]) for e in events}
    assert {
        ("mutation addUser", "admin", "OK"),
        ("mutation issueToken", "admin", "OK"),
        ("mutation deactivateUser", "admin", "OK"),
        ("mutation addUser", "p-zhang-wei", "DENIED"),
    } <= requests
    # The secrets shown once are nowhere in the trail.
    assert added["bearer"] not in str(trail)
    assert issued["bearer"] not in str(trail)
    assert secret_of(added["bearer"]) not in str(trail)
    # The administrator does not read the trail (三员分立).
    refused = ask(demo_gql, "{ auditTrail(first: 1) { __typename } }")["auditTrail"]
    assert refused["__typename"] == "AccessDenied"


def test_an_answer_with_a_secret_is_never_kept_for_a_retry(demo_gql: Gql) -> None:
    """An Idempotency-Key would keep the answer, and the secret in it, in the store."""
    response = demo_gql.client.post(
        "/graphql",
        json={"query": ISSUE, "variables": {"user": "p-zhang-wei"}},
        headers={
            "Authorization": f"Bearer {demo_gql.token('admin')}",  # type: ignore[attr-defined]
            "Idempotency-Key": "issue-once",
        },
    )
    answer = response.json()["data"]["issueToken"]
    assert answer["__typename"] == "InvalidInput"
    assert answer["field"] == "Idempotency-Key"
    assert "只显示一次" in answer["message"]
    assert user(demo_gql, "p-zhang-wei")["tokens"]["totalCount"] == 1  # the conftest's


def test_the_readme_example_answers_as_it_says(demo_gql: Gql) -> None:
    text = README.read_text(encoding="utf-8")
    add_block, list_block, deactivate_block = [
        b for b in re.findall(r"```graphql\n(.*?)```", text, re.S) if b.startswith("# 用户与令牌")
    ]
    added = ask(demo_gql, add_block)
    assert added["registerPerson"]["__typename"] == "RegisterPersonSuccess"
    answer = added["addUser"]
    assert answer["__typename"] == "UserAdded", answer
    assert answer["bearer"].startswith("lin_")
    assert answer["grant"] is None
    assert answer["user"] == {"id": "p-xu-li", "roles": ["HANDLER"]}
    assert signed(demo_gql, answer["bearer"], ME)["me"]["personId"] == "p-xu-li"
    listed = ask(demo_gql, list_block)["user"]
    assert (listed["roles"], listed["active"]) == (["HANDLER"], True)
    tokens = listed["tokens"]
    assert tokens["totalCount"] == 1
    assert tokens["edges"][0]["node"]["label"] == "办公电脑"
    gone = ask(demo_gql, deactivate_block)["deactivateUser"]
    assert gone == {"user": {"active": False}}
    assert signed(demo_gql, answer["bearer"], ME) == 401
