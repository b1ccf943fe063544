"""Live notices: a front end subscribed over WebSocket (graphql-transport-ws) receives the
notices of its organisation when a source is declassified, and none of other organisations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo

SUBSCRIBE = """
subscription($org: ID!, $since: DateTime) {
  noticesIssued(organisationId: $org, since: $since) { itemId organisationId actions text }
}"""
DECLASSIFY = """
mutation {
  declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei", officialId: "p-li-qiang",
                     reason: CIRCUMSTANCES_CHANGED, basis: "形势变化，公开后不损害国家安全。"}) {
    __typename ... on ChangeCommitted { notices { itemId organisationId } }
  }
}"""


@pytest.fixture
def live(db_url: str) -> Iterator[TestClient]:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    settings = Settings(store=db_url, daily_expiry=False, notice_poll_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        yield client


def _subscribe(ws: Any, organisation: str, since: datetime | None = None) -> None:
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json()["type"] == "connection_ack"
    variables = {"org": organisation, "since": since.isoformat() if since else None}
    ws.send_json(
        {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}
    )


def test_a_subscriber_receives_its_organisations_notices(live: TestClient) -> None:
    # From a moment before the change: the mutation may commit before the subscription starts.
    since = datetime.now(UTC) - timedelta(seconds=1)
    with live.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "org-county", since)
        committed = live.post("/graphql", json={"query": DECLASSIFY}).json()
        notices = committed["data"]["declassify"]["notices"]
        expected = sorted(n["itemId"] for n in notices if n["organisationId"] == "org-county")
        assert expected, "the demo chain reaches the county"
        received = []
        for _ in expected:
            message = ws.receive_json()
            assert message["type"] == "next", message
            received.append(message["payload"]["data"]["noticesIssued"])
        assert sorted(n["itemId"] for n in received) == expected
        assert {n["organisationId"] for n in received} == {"org-county"}
        assert all(n["actions"] == ["DECLASSIFY"] for n in received)
        assert all("S-2024-012" in n["text"] for n in received)
        ws.send_json({"id": "1", "type": "complete"})


def test_an_unknown_organisation_is_an_error_not_a_silent_stream(live: TestClient) -> None:
    with live.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "org-nowhere")
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
