"""End-to-end fixtures: the real app on a real store, spoken to over HTTP with real tokens.

Every client is signed in: its requests carry the bearer token of the test's own user,
`tester`, a person of the test bureau with the administrator role (to register
organisations and persons) and the supervisor role over every organisation (to read what a
test looks at). The service refuses such a user (三员分立: the administrator and a supervisor
are two persons; `lineage users add` says so), so the tester is written into the store
directly: a test convenience, declared as such, that stands in for no check of roles. The
two-person rule still holds for it: it never approves a request it filed itself
(tests/e2e/test_grants.py checks the rule with the demo's own users).

A request that names its decider (`officialId`), its acknowledger (`personId`) or its
proposer (`proposerId`) is sent with that person's token instead, since
the service lets no one act in another's name; and each person a request names in one of
these fields or as `handlerId` gets a user with both the handler and the official role the
first time, unless the test gave it one. Tests of who may do what (test_access.py) choose
their users and tokens themselves.

The service gives new items, keypoints and proposals their ids (an id a caller chose could be
one it may not know, D-10). A test may still call what it registers by a name of its own
(`Api.alias`, as tests/e2e/lifecycle.py's helpers do with `id=`): its client then sends the
service's id wherever the test writes that name, and gives the name back wherever an answer
holds the service's id. Nothing else of a request or an answer is touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from starlette.testclient import TestClient

from graph.access import EVERY_ORGANISATION, SYSTEM, Role, User
from graph.errors import DuplicateId
from graph.store.base import GraphStore
from service.accounts import NewUser, add_user, issue_token
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.usecases import NewOrganisation, NewPerson, register_organisation, register_person
from tests.bolt import BoltServer

TESTER = "tester"
TEST_BUREAU = "org-test-bureau"
ACTING = ("officialId", "personId", "proposerId")
NAMED = (*ACTING, "handlerId")


class Gql(Protocol):
    client: TestClient

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]: ...

    def alias(self, name: str, id: str) -> None: ...

    def id_of(self, name: str) -> str: ...


def enrol_tester(store: GraphStore) -> str:
    """The test's own user (see the module's docstring); returns its bearer token."""
    try:
        register_organisation(store, NewOrganisation(TEST_BUREAU, "测试用保密局"), SYSTEM)
        register_person(store, NewPerson(TESTER, "测试员", TEST_BUREAU), SYSTEM)
        roles = frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR})
        tester = User(
            TESTER,
            "测试员",
            TESTER,
            roles,
            datetime.now(UTC),
            supervises=frozenset({EVERY_ORGANISATION}),
        )
        store.write(lambda tx: tx.add_user(tester))
        return issue_token(store, TESTER).bearer
    except DuplicateId:
        return issue_token(store, TESTER, revoke_others=False).bearer


APPROVER = "approver"
APPROVE = """mutation($id: ID!) { approveGrant(id: $id) {
  __typename ... on GrantDecided { grant { id status } } ... on Problem { message }
  ... on AccessDenied { requirement articles } } }"""


def second_supervisor(gql: Gql) -> str:
    """A second supervisor of every organisation, `approver`, for requests the tester files
    (a request is never decided by the one who filed it): added as the operator adds one,
    and approved by the tester, who did not file that one. Returns its user id."""
    store: GraphStore = gql.client.app.state.store  # type: ignore[attr-defined]
    register_person(store, NewPerson(APPROVER, "审批员", TEST_BUREAU), SYSTEM)
    command = NewUser(
        APPROVER,
        frozenset({Role.SUPERVISOR}),
        person_id=APPROVER,
        supervises=frozenset({EVERY_ORGANISATION}),
    )
    grant = add_user(store, command).grant
    assert grant is not None
    decided = gql(APPROVE, {"id": grant.id})["approveGrant"]
    assert decided["grant"]["status"] == "APPROVED", decided
    return APPROVER


def signed_in(client: TestClient) -> TestClient:
    """`client` with the tester's token on every request it sends."""
    client.headers["Authorization"] = f"Bearer {enrol_tester(client.app.state.store)}"  # type: ignore[attr-defined]
    return client


class Api:
    """GraphQL over a signed-in client, as the module's docstring says."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.store: GraphStore = client.app.state.store  # type: ignore[attr-defined]
        self.tokens: dict[str, str] = {}
        self.aliases: dict[str, str] = {}  # a test's name -> the id the service gave

    def alias(self, name: str, id: str) -> None:
        """Calls `id`, which the service gave, `name` in this test's requests and answers."""
        self.aliases[name] = id

    def id_of(self, name: str) -> str:
        """The service's id of what the test calls `name`, for what this client does not
        carry (the command line, another client)."""
        return self.aliases.get(name, name)

    def token(self, user_id: str) -> str:
        if user_id not in self.tokens:
            self.tokens[user_id] = issue_token(self.store, user_id, revoke_others=False).bearer
        return self.tokens[user_id]

    def enrol(self, person_id: str, *roles: Role) -> bool:
        """A user for the person (both deciding roles by default), unless it has one or the
        person does not exist; True if the person can act."""
        if self.store.read(lambda tx: person_id not in tx.persons([person_id])):
            return False
        if any(u.person_id == person_id for u in self.store.read(lambda tx: tx.all_users())):
            return True
        chosen = frozenset(roles or (Role.HANDLER, Role.OFFICIAL))
        self.tokens[person_id] = add_user(
            self.store, NewUser(person_id, chosen, person_id=person_id)
        ).bearer
        return True

    def post(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> Any:
        for name, id in self.aliases.items():
            query = query.replace(f'"{name}"', f'"{id}"')
        variables = _swapped(variables or {}, self.aliases, whole=True)
        named = _named(query, variables)
        for person in dict.fromkeys(named.values()):
            self.enrol(person)
        headers = {}
        if as_ is not None:  # a user chosen by the test: a person's, or one like `admin`
            self.enrol(as_)
            headers["Authorization"] = f"Bearer {self.token(as_)}"
        else:
            acting = next((named[k] for k in ACTING if k in named), None)
            if acting is not None and self.enrol(acting):
                headers["Authorization"] = f"Bearer {self.token(acting)}"
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return _swapped(response.json(), {v: k for k, v in self.aliases.items()}, whole=False)

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]:
        body = self.post(query, variables, as_=as_)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


def _swapped(value: Any, names: dict[str, str], *, whole: bool) -> Any:
    """`value` with each key of `names` replaced by its value: strings equal to one (`whole`)
    or, in answers, anywhere in a string (a message that names an item)."""
    if not names:
        return value
    if isinstance(value, str):
        if whole:
            return names.get(value, value)
        for old, new in names.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _swapped(v, names, whole=whole) for k, v in value.items()}
    if isinstance(value, list):
        return [_swapped(v, names, whole=whole) for v in value]
    return value


def _named(query: str, variables: dict[str, Any]) -> dict[str, str]:
    """The persons a request names in the fields of NAMED, in its text or its variables."""
    found: dict[str, str] = {}
    for key, value in re.findall(r"\b(" + "|".join(NAMED) + r')\s*:\s*"([^"]+)"', query):
        found.setdefault(key, value)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in NAMED and isinstance(inner, str):
                    found.setdefault(key, inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(variables)
    return found


@pytest.fixture(params=["sqlite", "bolt"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store of each kind: a SQLite file, and a database on the session's Bolt server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lineage.db'}"
        return
    server: BoltServer = request.getfixturevalue("bolt_server")
    url = server.new_database()
    yield url
    server.release(url)  # every client of it has closed


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The app opening its own store from the URL, as `lineage serve` does; signed in."""
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as test_client:
        yield signed_in(test_client)


@pytest.fixture
def demo_client(db_url: str) -> Iterator[TestClient]:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as test_client:
        yield signed_in(test_client)


@pytest.fixture
def gql(client: TestClient) -> Gql:
    return Api(client)


@pytest.fixture
def demo_gql(demo_client: TestClient) -> Gql:
    return Api(demo_client)
