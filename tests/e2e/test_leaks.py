"""The leak scanner (tests/e2e/leaks.py) over the demo after a season of work, and over graphs
made at random with random knowledge scopes: every reader walks every readable field of the
schema, mutations' answers and a live subscription included, and nothing of an item it may
not read reaches it (D-10). And the scanner is no formality: a redaction broken anywhere
fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from graphql import get_named_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from graph.access import SYSTEM, Role
from graph.change import DeclassificationReason
from graph.model import BasisCase, KnowledgeScope, Level, PeriodKind
from graph.store.base import GraphStore, ItemQuery, NoticeQuery
from service import redaction
from service.accounts import NewUser, actor_of_person, add_user, authenticate, issue_token
from service.app import create_app
from service.change import Decision, commit_change
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.impact import ProposedChange
from service.usecases import (
    BasisSpec,
    DeriveItem,
    NewKeypoint,
    NewOrganisation,
    NewPerson,
    PeriodSpec,
    RegisterSource,
    derive_item,
    register_organisation,
    register_person,
    register_source,
)
from tests.e2e.leaks import (
    SDL,
    Leaks,
    documents,
    dumps,
    secrets_for,
    selection,
    strings,
    world_of,
)
from tests.e2e.lifecycle import APPLY, COMMITTED, PROPOSE

# A scan asks for everything at once: the limits that guard the service from one request are
# not what is tested here.
WIDE: dict[str, Any] = {
    "daily_expiry": False,
    "max_query_depth": 100,
    "max_query_aliases": 1000,
    "max_query_tokens": 1_000_000,
    "max_query_length": 1 << 24,
    "max_query_cost": 1 << 40,
    "requests_per_second": 0,
    "max_body_bytes": 16 * 1024 * 1024,
}
INTERNAL = "服务内部错误"
PROTOCOL = "graphql-transport-ws"
assert SDL.subscription_type is not None
SUBSCRIBED = SDL.subscription_type.fields["noticesIssued"]


class Scanner:
    """Asks the app what every reader may see and checks each answer."""

    def __init__(self, client: TestClient, store: GraphStore, store_url: str = "") -> None:
        self.client = client
        self.store = store
        self.store_url = store_url
        self.leaks = Leaks()
        self.tokens: dict[str, str] = {}

    def bearer(self, user_id: str) -> str:
        if user_id not in self.tokens:
            self.tokens[user_id] = issue_token(self.store, user_id, revoke_others=False).bearer
        return self.tokens[user_id]

    def post(self, user_id: str, query: str, variables: dict[str, Any]) -> Any:
        response = self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.bearer(user_id)}"},
        )
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert INTERNAL not in dumps(body), (query[:200], dumps(body)[:2000])
        return body

    def ask(self, user_id: str, query: str, variables: dict[str, Any], where: str) -> Any:
        """`query` as `user_id`, its answer checked against what it may not read."""
        body = self.post(user_id, query, variables)
        self.leaks.check(user_id, self.secrets(user_id), body, where, set(strings(variables)))
        return body

    def secrets(self, user_id: str) -> set[str]:
        actor = authenticate(self.store, self.bearer(user_id))
        return secrets_for(self.store, actor)

    def walk(self, readers: list[str]) -> None:
        """Every reader, every root field, every id."""
        world = world_of(self.store)
        asked = list(documents(world))
        for reader in readers:
            secrets = self.secrets(reader)
            for query, variables, given_by in asked:
                body = self.post(reader, query, variables)
                # A request refused whole (an error with no field's path) would scan nothing.
                whole = [e for e in body.get("errors", ()) if not e.get("path")]
                assert not whole, (query[:200], whole)
                self.leaks.check_aliased(reader, secrets, body, "", given_by)


@pytest.fixture
def demo_scanner(tmp_path: Path) -> Iterator[Scanner]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    store = open_store(url)
    load_demo(store)
    with TestClient(create_app(Settings(store=url, notice_poll_seconds=0.05, **WIDE))) as client:
        yield Scanner(client, client.app.state.store, url)  # type: ignore[attr-defined]
    store.close()


def _season(scanner: Scanner) -> None:
    """What a season of work leaves: a partial declassification and its notices, one applied,
    one answered with a proposal, each answer scanned for the one who asked."""
    ministry = "p-li-qiang"
    declassify = (
        f"mutation($input: DeclassifyInput!) {{ declassify(input: $input) {{ {COMMITTED} }} }}"
    )
    done = scanner.ask(
        ministry,
        declassify,
        {
            "input": {
                "itemId": "S-2024-012",
                "keypointIds": ["S-2024-012.K1"],
                "handlerId": "p-zhang-wei",
                "officialId": ministry,
                "reason": "CIRCUMSTANCES_CHANGED",
                "basis": "部分内容已公开（X-12(二)）。",
            }
        },
        "declassify",
    )["data"]["declassify"]
    assert done["__typename"] == "ChangeCommitted", done
    notices = scanner.store.read(
        lambda tx: {n.item_id: n.id for n in tx.notices_of(["D-COUNTY-001", "D-CITY-001"])}
    )
    applied = scanner.ask(
        "p-huang-tao",
        APPLY,
        {"input": {"noticeId": notices["D-COUNTY-001"], "handlerId": "p-zhao-min"}},
        "applyNotice",
    )["data"]["applyNotice"]
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    proposed = scanner.ask(
        "p-chen-jing",
        PROPOSE,
        {
            "input": {
                "itemId": "D-CITY-001",
                "text": "建议维持。",
                "noticeId": notices["D-CITY-001"],
            }
        },
        "proposeChange",
    )["data"]["proposeChange"]
    assert proposed["__typename"] == "ProposeChangeSuccess", proposed


SUBSCRIBE = (
    "subscription($org: ID!, $since: DateTime) { noticesIssued(organisationId: $org, "
    f"since: $since) {{ {selection(get_named_type(SUBSCRIBED.type))} }} }}"
)


def test_no_reader_of_the_demo_is_shown_what_it_may_not_read(demo_scanner: Scanner) -> None:
    """Every user of the demo, after a season of work, in both redaction modes; and the
    county's and the city's live notices of that season."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    listeners = {"p-zhao-min": "org-county", "p-chen-jing": "org-city"}
    with ExitStack() as open_sockets:
        sockets = {}
        for reader, organisation in listeners.items():
            ws = open_sockets.enter_context(
                demo_scanner.client.websocket_connect("/graphql", subprotocols=[PROTOCOL])
            )
            bearer = demo_scanner.bearer(reader)
            ws.send_json(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {bearer}"}}
            )
            assert ws.receive_json()["type"] == "connection_ack"
            variables = {"org": organisation, "since": since.isoformat()}
            payload = {"query": SUBSCRIBE, "variables": variables}
            ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            sockets[reader] = ws
        _season(demo_scanner)
        sent = demo_scanner.store.read(lambda tx: tx.find_notices(NoticeQuery(limit=None)))
        for reader, ws in sockets.items():
            due = sum(1 for n in sent if n.organisation_id == listeners[reader])
            assert due, reader
            for _ in range(due):
                message = ws.receive_json()
                assert message["type"] == "next", message
                demo_scanner.leaks.check(
                    reader, demo_scanner.secrets(reader), message, "noticesIssued", set()
                )
            ws.send_json({"id": "1", "type": "complete"})
    readers = [u.id for u in demo_scanner.store.read(lambda tx: tx.all_users())]
    demo_scanner.walk(readers)
    assert demo_scanner.leaks.answers > len(readers) * 10
    url = demo_scanner.store_url
    with TestClient(create_app(Settings(store=url, redaction="hide", **WIDE))) as hiding:
        leaving_out = Scanner(hiding, hiding.app.state.store)  # type: ignore[attr-defined]
        leaving_out.walk(["p-zhao-min", "p-wu-xia", "p-li-qiang"])
        demo_scanner.leaks.found += leaving_out.leaks.found
    assert demo_scanner.leaks.found == [], "\n".join(map(str, demo_scanner.leaks.found[:20]))


BREAKS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    # Texts name what they mention in full, for every reader.
    "texts": lambda m: m.setattr(redaction.Redactor, "name", lambda self, x, names: names.full(x)),
    # References to items keep their ids.
    "references": lambda m: m.setattr(redaction.Redactor, "ref", lambda self, id, item: id),
    # Keypoints of hidden sources shown as they are.
    "keypoints": lambda m: m.setattr(
        redaction.Redactor, "keypoint", lambda self, keypoint, owner: (keypoint, False)
    ),
    # Written records cite hidden bases by name.
    "citations": lambda m: m.setattr(
        redaction.Redactor, "citations", lambda self, cited, names: [(c, False) for c in cited]
    ),
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_a_redaction_broken_anywhere_is_found(
    demo_scanner: Scanner, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Declared fakes: each breaks one part of the redaction boundary on purpose, and the
    scanner must find what then reaches the county."""
    _season(demo_scanner)
    BREAKS[broken](monkeypatch)
    demo_scanner.walk(["p-zhao-min"])
    assert demo_scanner.leaks.found, f"the scanner missed a broken redaction ({broken})"


# Graphs made at random: organisations, their deciders, sources with keypoints and items
# derived from them, each known to a random part of the world; then a declassification.
ORGANISATIONS = ("org-0", "org-1", "org-2")
START = date(2024, 1, 1)


def _scope(draw: st.DrawFn) -> KnowledgeScope:
    organisations = draw(st.sets(st.sampled_from(ORGANISATIONS), max_size=2))
    persons = draw(st.sets(st.sampled_from([f"h-{o}" for o in ORGANISATIONS]), max_size=2))
    if not organisations and not persons:
        organisations = {draw(st.sampled_from(ORGANISATIONS))}
    return KnowledgeScope(frozenset(persons), frozenset(organisations))


Step = Callable[[GraphStore], object]


@st.composite
def worlds(draw: st.DrawFn) -> list[Step]:
    """The steps that write one world, as the operator would (graph.access.SYSTEM). Titles,
    numbers and ids are tokens found nowhere else, so that any of them in an answer is a leak."""

    def token() -> str:
        return draw(st.uuids()).hex[:12]

    steps: list[Step] = []
    made: list[str] = []
    period = PeriodSpec(PeriodKind.YEARS, years=10)
    for _ in range(draw(st.integers(1, 3))):
        organisation = draw(st.sampled_from(ORGANISATIONS))
        source = RegisterSource(
            id=f"S-{token()}",
            title=f"源{token()}",
            document_number=f"文{token()}",
            organisation_id=organisation,
            issued_on=START,
            level=Level.SECRET,
            period=period,
            scope=_scope(draw),
            handler_id=f"h-{organisation}",
            official_id=f"o-{organisation}",
            keypoints=tuple(
                NewKeypoint(f"密{token()}", Level.SECRET, period, id=f"K-{token()}")
                for _ in range(draw(st.integers(0, 2)))
            ),
        )
        steps.append(partial(register_source, command=source, actor=SYSTEM))
        made.append(str(source.id))
    sources = list(made)
    for n in range(draw(st.integers(1, 4))):
        organisation = draw(st.sampled_from(ORGANISATIONS))
        parents = draw(st.lists(st.sampled_from(made), min_size=1, max_size=2, unique=True))
        derived = DeriveItem(
            id=f"D-{token()}",
            title=f"派{token()}",
            document_number=f"文{token()}",
            organisation_id=organisation,
            issued_on=START + timedelta(days=n + 1),
            bases=tuple(BasisSpec(p, BasisCase.SUMMARY) for p in parents),
            scope=_scope(draw),
            handler_id=f"h-{organisation}",
            official_id=f"o-{organisation}",
        )
        steps.append(partial(derive_item, command=derived, actor=SYSTEM))
        made.append(str(derived.id))
    steps.append(partial(_declassify, source=draw(st.sampled_from(sources))))
    return steps


def _declassify(store: GraphStore, source: str) -> None:
    organisation = store.read(lambda tx: tx.items([source])[source].organisation_id)
    commit_change(
        store,
        ProposedChange(source, declassify=True),
        Decision(
            f"h-{organisation}",
            f"o-{organisation}",
            "随机生成的解密决定。",
            DeclassificationReason.CIRCUMSTANCES_CHANGED,
        ),
        SYSTEM,
    )


def _people(store: GraphStore) -> list[str]:
    users = []
    for organisation in ORGANISATIONS:
        register_organisation(store, NewOrganisation(organisation, f"机关{organisation}"), SYSTEM)
        for role, prefix in ((Role.HANDLER, "h"), (Role.OFFICIAL, "o")):
            person = f"{prefix}-{organisation}"
            register_person(store, NewPerson(person, f"人员{person}", organisation), SYSTEM)
            add_user(store, NewUser(person, frozenset({role}), person_id=person))
            users.append(person)
    return users


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=worlds())
def test_no_reader_of_a_random_world_is_shown_what_it_may_not_read(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Step]
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('world') / 'world.db'}"
    store = open_store(url)
    readers = _people(store)
    for step in steps:
        step(store)
    hidden_somewhere = any(
        not actor_of_person(store, r).can_read(i)
        for r in readers
        for i in store.read(lambda tx: tx.find_items(ItemQuery(limit=100)))
    )
    store.close()
    with TestClient(create_app(Settings(store=url, **WIDE))) as client:
        scanner = Scanner(client, client.app.state.store, url)  # type: ignore[attr-defined]
        scanner.walk(readers)
    assert scanner.leaks.found == [], "\n".join(map(str, scanner.leaks.found[:20]))
    if hidden_somewhere:
        assert scanner.leaks.answers > 0
