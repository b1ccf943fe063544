"""Sessions end when credentials end: over a real WebSocket (websocket-client) to a real
uvicorn server on the demo, a notice subscription is closed with 4401 and a reason in Chinese
within a few seconds of its token being revoked or expiring, of its user being revoked, or of
its user's roles changing, even while no notice flows; no notice goes out after a revocation;
and each closing is in the audit trail. Users and tokens change through the same functions
`lineage users` calls, on a second handle on the server's SQLite file, as the command does."""

from __future__ import annotations

import json
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
import websocket

from graph.access import SYSTEM, Role
from graph.store.base import GraphStore
from graph.trail import AuditEvent, AuditQuery, Outcome
from service.accounts import Issued, NewUser, add_user, issue_token, revoke_token, revoke_user
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.session import AUDITED_ACTION, CHANGED, UNAUTHORISED
from service.usecases import NewPerson, register_person
from tests.e2e.test_server import free_port, wait_until_up

# Short, so that the tests stay fast; long enough that a subscription's first poll comes well
# before the connection's first check (see the test of pending notices).
POLL = 0.5
# "Within a few seconds": a close that has not come by then fails the test.
WITHIN = 10.0

SUBSCRIBE = """
subscription($org: ID!, $since: DateTime) {
  noticesIssued(organisationId: $org, since: $since) { itemId text }
}"""
DECLASSIFY = """
mutation {
  declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei", officialId: "p-li-qiang",
                     reason: CIRCUMSTANCES_CHANGED, basis: "形势变化，公开后不损害国家安全。"}) {
    __typename
  }
}"""


@dataclass
class Live:
    base: str
    store: GraphStore  # a second handle on the server's file, as `lineage users` opens

    @property
    def url(self) -> str:
        return self.base.replace("http://", "ws://") + "/graphql"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder: Path = tmp_path_factory.mktemp("sessions")
    url = f"sqlite:///{folder / 'lineage.db'}"
    store = open_store(url)
    load_demo(store)
    settings = Settings(store=url, daily_expiry=False, notice_poll_seconds=POLL)
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    try:
        yield Live(base, store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()


def county_user(live: Live, expires_in: timedelta | None = None) -> Issued:
    """A person of the county with a user of its own, so that each test revokes only its own."""
    person = f"p-watcher-{uuid.uuid4().hex[:8]}"
    register_person(live.store, NewPerson(person, "值班员", "org-county"), SYSTEM)
    command = NewUser(person, frozenset({Role.HANDLER}), person_id=person, expires_in=expires_in)
    return add_user(live.store, command)


def connected(live: Live, bearer: str) -> websocket.WebSocket:
    ws = websocket.create_connection(
        live.url, subprotocols=["graphql-transport-ws"], timeout=WITHIN
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {bearer}"}}
    ws.send(json.dumps(init))
    assert json.loads(ws.recv())["type"] == "connection_ack"
    return ws


def subscribe(ws: websocket.WebSocket, since: datetime | None = None) -> None:
    variables = {"org": "org-county", "since": since.isoformat() if since else None}
    payload = {"query": SUBSCRIBE, "variables": variables}
    ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))


def idle(ws: websocket.WebSocket) -> None:
    """The subscription runs and sends nothing for a few polls."""
    ws.settimeout(4 * POLL)
    with pytest.raises(websocket.WebSocketTimeoutException):
        ws.recv()
    ws.settimeout(WITHIN)


@dataclass
class Closed:
    code: int
    reason: str
    before: list[dict[str, Any]]  # the messages that came before the close


def closing(ws: websocket.WebSocket) -> Closed:
    """Reads until the server closes; a close that does not come in time fails the test."""
    before: list[dict[str, Any]] = []
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            (code,) = struct.unpack("!H", frame.data[:2])
            ws.close()
            return Closed(code, frame.data[2:].decode(), before)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            before.append(json.loads(frame.data))


def closings(live: Live, user_id: str) -> list[AuditEvent]:
    query = AuditQuery(user_id=user_id, outcome=Outcome.UNAUTHENTICATED)
    return [e for e in live.store.audit_events(query) if e.action == AUDITED_ACTION]


def test_an_idle_subscription_is_closed_when_its_token_is_revoked(live: Live) -> None:
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    subscribe(ws)
    quiet = connected(live, issued.bearer)  # signed in, subscribed to nothing
    idle(ws)
    revoke_token(live.store, issued.token.id)
    for each in (ws, quiet):
        closed = closing(each)
        assert closed.code == UNAUTHORISED == 4401
        assert closed.reason == "会话已结束：令牌已吊销或已过期。"
        assert closed.before == []
    events = closings(live, issued.token.user_id)
    assert len(events) == 2
    assert {e.detail for e in events} == {"令牌已吊销或已过期。"}
    assert all(e.person_id == issued.token.user_id and e.address for e in events)
    assert issued.bearer not in repr(events)


def test_an_idle_subscription_is_closed_when_its_user_is_revoked(live: Live) -> None:
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    subscribe(ws)
    idle(ws)
    revoke_user(live.store, issued.token.user_id)
    closed = closing(ws)
    assert closed.code == 4401
    assert "吊销" in closed.reason
    (event,) = closings(live, issued.token.user_id)
    assert event.detail in {"令牌已吊销或已过期。", "用户不存在或已被吊销。"}


def test_a_subscription_is_closed_when_an_administrator_deactivates_its_user_in_the_api(
    live: Live,
) -> None:
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    subscribe(ws)
    idle(ws)
    admin = issue_token(live.store, "admin", revoke_others=False).bearer
    answer = httpx2.post(
        live.base + "/graphql",
        json={
            "query": "mutation($id: ID!) { deactivateUser(id: $id) { __typename } }",
            "variables": {"id": issued.token.user_id},
        },
        headers={"Authorization": f"Bearer {admin}"},
        timeout=30,
    )
    assert answer.json()["data"]["deactivateUser"]["__typename"] == "UserChanged"
    closed = closing(ws)
    assert closed.code == UNAUTHORISED
    assert "吊销" in closed.reason
    (event,) = closings(live, issued.token.user_id)
    assert event.detail in {"令牌已吊销或已过期。", "用户不存在或已被吊销。"}


def test_a_subscription_is_closed_when_its_token_expires(live: Live) -> None:
    issued = county_user(live, expires_in=timedelta(seconds=3))
    ws = connected(live, issued.bearer)
    subscribe(ws)
    idle(ws)
    ws.settimeout(3 + WITHIN)  # the expiry, then a few seconds
    closed = closing(ws)
    assert closed.code == 4401
    assert closed.reason == "会话已结束：令牌已吊销或已过期。"
    assert datetime.now(UTC) >= issued.token.expires_at  # type: ignore[operator]
    assert [e.detail for e in closings(live, issued.token.user_id)] == ["令牌已吊销或已过期。"]


def test_a_subscription_is_closed_when_its_users_roles_change(live: Live) -> None:
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    subscribe(ws)
    idle(ws)
    user = live.store.read(lambda tx: tx.users([issued.token.user_id]))[issued.token.user_id]
    wider = replace(user, roles=frozenset({Role.HANDLER, Role.OFFICIAL}))
    live.store.write(lambda tx: tx.update_user(wider))
    closed = closing(ws)
    assert closed.code == 4401
    assert closed.reason == f"会话已结束：{CHANGED}"
    # The token itself still stands: the client connects again, with what it now may do.
    assert [e.detail for e in closings(live, user.id)] == [CHANGED]
    again = connected(live, issued.bearer)
    again.close()


def test_no_notice_goes_out_after_the_token_is_revoked(live: Live) -> None:
    official = issue_token(live.store, "p-li-qiang", revoke_others=False).bearer
    since = datetime.now(UTC) - timedelta(seconds=1)
    answer = httpx2.post(
        live.base + "/graphql",
        json={"query": DECLASSIFY},
        headers={"Authorization": f"Bearer {official}"},
        timeout=30,
    )
    assert answer.json()["data"]["declassify"]["__typename"] == "ChangeCommitted"
    # A subscriber signed in before the revocation subscribes after it, from before the
    # change: its first poll finds the county's notices at once, well before the connection's
    # own first check, so only the check before each message keeps them back.
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    revoke_token(live.store, issued.token.id)
    subscribe(ws, since)
    closed = closing(ws)
    assert closed.code == 4401
    assert closed.before == []
    reads = live.store.audit_events(AuditQuery(user_id=issued.token.user_id, outcome=Outcome.OK))
    assert reads == []  # nothing was read, so nothing is recorded as read
    # A subscriber whose token stands receives them, from the same moment: 赵敏 of the county.
    county = issue_token(live.store, "p-zhao-min", revoke_others=False).bearer
    standing = connected(live, county)
    subscribe(standing, since)
    message = json.loads(standing.recv())
    assert message["type"] == "next", message
    assert message["payload"]["data"]["noticesIssued"]["itemId"].startswith("D-COUNTY")
    standing.close()


def test_nothing_at_all_goes_out_after_the_token_is_revoked(live: Live) -> None:
    issued = county_user(live)
    ws = connected(live, issued.bearer)
    revoke_token(live.store, issued.token.id)
    ws.send(json.dumps({"type": "ping"}))  # answered at once, before the connection's check
    closed = closing(ws)
    assert closed.code == 4401
    assert closed.before == []  # no pong
