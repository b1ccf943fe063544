"""Live notices: a front end subscribed over WebSocket (graphql-transport-ws) receives the
notices of its organisation when a source is declassified, and none of other organisations;
it signs in with its token in connection_init, and sees no more than it may read (D-10)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from graph.trail import AuditQuery, Outcome
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.e2e.conftest import Api, signed_in

SUBSCRIBE = """
subscription($org: ID!, $since: DateTime) {
  noticesIssued(organisationId: $org, since: $since) { itemId organisationId actions text }
}"""
DECLASSIFY = """
mutation {
  declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei", officialId: "p-li-qiang",
                     reason: CIRCUMSTANCES_CHANGED, basis: "形势变化，公开后不损害国家安全。"}) {
    __typename ... on ChangeCommitted { change { id } }
  }
}"""
SENT = """
query($change: ID!) {
  notices(filter: {changeId: $change}, first: 100) {
    ... on NoticeConnection { edges { node { itemId organisationId } } }
  }
}"""


@pytest.fixture
def live(db_url: str) -> Iterator[TestClient]:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    settings = Settings(store=db_url, daily_expiry=False, notice_poll_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        yield signed_in(client)


def _token(client: TestClient, user: str) -> str:
    return Api(client).token(user)


def _subscribe(
    ws: Any, organisation: str, since: datetime | None = None, *, token: str | None = None
) -> None:
    ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert ws.receive_json()["type"] == "connection_ack"
    variables = {"org": organisation, "since": since.isoformat() if since else None}
    ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}
    )


def test_a_subscriber_receives_its_organisations_notices(live: TestClient) -> None:
    # From a moment before the change: the mutation may commit before the subscription starts.
    since = datetime.now(UTC) - timedelta(seconds=1)
    api = Api(live)
    with live.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "org-county", since, token=_token(live, "p-zhao-min"))
        committed = api(DECLASSIFY)["declassify"]
        change = committed["change"]["id"]
        notices = api(SENT, {"change": change})["notices"]["edges"]
        expected = sorted(
            n["node"]["itemId"] for n in notices if n["node"]["organisationId"] == "org-county"
        )
        assert expected, "the demo chain reaches the county"
        received = []
        for _ in expected:
            message = ws.receive_json()
            assert message["type"] == "next", message
            received.append(message["payload"]["data"]["noticesIssued"])
        assert sorted(n["itemId"] for n in received) == expected
        assert {n["organisationId"] for n in received} == {"org-county"}
        assert all(n["actions"] == ["DECLASSIFY"] for n in received)
        # The ministry's source lies outside the county's knowledge scope: opaque in the text.
        assert all("S-2024-012" not in n["text"] for n in received)
        assert all("关于某重点工程建设总体方案的通知" not in n["text"] for n in received)
        assert all("hidden-" in n["text"] for n in received)
        ws.send_json({"id": "1", "type": "complete"})


def test_a_subscriber_without_a_valid_token_is_turned_away(live: TestClient) -> None:
    anonymous = TestClient(live.app)  # the same app, without the tester's header
    for payload in ({}, {"authorization": "Bearer lin_nothing_atall"}):
        with anonymous.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": payload})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403


def test_a_subscriber_hears_only_its_own_organisation(live: TestClient) -> None:
    with live.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "org-city", token=_token(live, "p-zhao-min"))
        message = ws.receive_json()
        assert message["type"] == "next"
        assert message["payload"]["data"] is None
        assert "只能订阅本机关" in message["payload"]["errors"][0]["message"]


def test_an_unknown_organisation_is_an_error_not_a_silent_stream(live: TestClient) -> None:
    with live.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "org-nowhere", token=_token(live, "p-zhao-min"))
        message = ws.receive_json()
        assert message["type"] == "next"
        assert "data" not in message["payload"] or message["payload"]["data"] is None
        assert "org-nowhere" in message["payload"]["errors"][0]["message"]


def test_a_plain_websocket_without_the_protocol_is_refused(live: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        live.websocket_connect("/graphql", subprotocols=["nonsense"]) as ws,
    ):
        ws.receive_json()


def test_a_subscription_sent_over_http_is_told_to_use_the_websocket(live: TestClient) -> None:
    named = SUBSCRIBE.replace("subscription(", "subscription S(")
    both = f"query Me {{ me {{ userId }} }}\n{named}"
    variables = {"org": "org-county"}
    for answer in (
        live.post("/graphql", json={"query": SUBSCRIBE, "variables": variables}),
        live.post("/graphql", json={"query": both, "operationName": "S", "variables": variables}),
        live.get("/graphql", params={"query": SUBSCRIBE, "variables": '{"org": "org-county"}'}),
    ):
        assert answer.status_code == 400, answer.text
        (error,) = answer.json()["errors"]
        assert error["extensions"]["code"] == "SUBSCRIPTION_OVER_HTTP"
        for hint in ("WebSocket", "/graphql", "graphql-transport-ws", "connection_init"):
            assert hint in error["message"]
    # The query of the same document runs as ever.
    me = live.post("/graphql", json={"query": both, "operationName": "Me"})
    assert me.json() == {"data": {"me": {"userId": "tester"}}}
    store = live.app.state.store  # type: ignore[attr-defined]
    refused = store.audit_events(AuditQuery(outcome=Outcome.REFUSED, limit=10))
    assert [(e.action, e.detail) for e in refused][:3] == [
        ("subscription", "SUBSCRIPTION_OVER_HTTP")
    ] * 3
    # The GET is authenticated by no one (GET answers nothing but GraphiQL's page).
    assert [e.user_id for e in refused][:3] == [None, "tester", "tester"]
