"""Limits on what a request may ask (issue 5, point 6; issue 21, point 5): depth, aliases,
tokens, length and cost of the query, size of the body, how often a user asks, introspection
and GraphiQL in production, CORS origins. Each refused request is refused before anything
runs: nothing is written, and the refusal is in the audit trail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from graph.store.base import GraphReader, GraphWriter
from graph.store.sqlite import SqliteStore
from graph.trail import AuditEvent, AuditQuery, Outcome
from service.api.context import Context
from service.app import create_app
from service.config import Settings
from tests.e2e.conftest import signed_in

REGISTER = 'mutation { registerOrganisation(input: {id: "org-x", name: "某单位"}) { __typename } }'
COUNT = '{ organisation(id: "org-x") { id } }'
T = TypeVar("T")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(store=f"sqlite:///{tmp_path / 'hardening.db'}", daily_expiry=False)


def client_of(settings: Settings, **changes: Any) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update=changes))) as client:
        yield signed_in(client)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    yield from client_of(settings)


def post(client: TestClient, query: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", json={"query": query}).json()
    return body


def nothing_written(client: TestClient) -> bool:
    return post(client, COUNT) == {"data": {"organisation": None}}


def last_event(client: TestClient) -> AuditEvent:
    store = client.app.state.store  # type: ignore[attr-defined]
    found: list[AuditEvent] = store.audit_events(AuditQuery(user_id="tester", limit=1))
    return found[0]


def test_a_query_nested_deeper_than_the_limit_is_refused(settings: Settings) -> None:
    for client in client_of(settings, max_query_depth=4):
        shallow = post(client, '{ item(id: "x") { classification { period { text } } } }')
        deep = post(
            client,
            '{ item(id: "x") { explanation { contributions { classification { period '
            "{ text } } } } } }",
        )
        assert shallow == {"data": {"item": None}}
        assert deep["errors"][0]["message"] == (
            "该操作的嵌套深度为 5，超过上限 4（LINEAGE_MAX_QUERY_DEPTH），未予执行。"
        )
        assert deep["errors"][0]["extensions"] == {"code": "QUERY_TOO_DEEP", "depth": 5, "limit": 4}
        assert "data" not in deep or deep["data"] is None


def test_too_many_aliases_are_refused_and_nothing_is_written(settings: Settings) -> None:
    aliased = (
        "mutation { "
        + " ".join(
            f'o{i}: registerOrganisation(input: {{id: "org-x", name: "单位{i}"}}) {{ __typename }}'
            for i in range(4)
        )
        + " }"
    )
    for client in client_of(settings, max_query_aliases=3):
        refused = post(client, aliased)
        assert refused["errors"][0]["message"] == (
            "请求使用了 4 个别名，超过上限 3（LINEAGE_MAX_QUERY_ALIASES），未予执行。"
        )
        assert refused["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
        assert nothing_written(client)


def test_a_query_of_too_many_tokens_is_refused(settings: Settings) -> None:
    long = "{ " + " ".join(f'i{i}: item(id: "x") {{ id }}' for i in range(50)) + " }"
    for client in client_of(settings, max_query_tokens=200, max_query_aliases=100):
        refused = post(client, long)["errors"][0]
        assert refused["message"] == (
            "请求的查询文本超过 200 个记号（LINEAGE_MAX_QUERY_TOKENS），未予解析。"
        )
        assert refused["extensions"] == {"code": "TOO_MANY_TOKENS", "limit": 200}
        assert post(client, '{ item(id: "x") { id } }') == {"data": {"item": None}}


def test_a_query_text_longer_than_the_limit_is_refused_unparsed(settings: Settings) -> None:
    for client in client_of(settings, max_query_length=1_024):
        refused = post(client, '{ item(id: "' + "x" * 2_000 + '") { id } }')
        assert refused["errors"][0]["message"] == (
            "请求的查询文本有 2023 个字符，超过上限 1024（LINEAGE_MAX_QUERY_LENGTH），未予解析："
            "较长的值请放在 variables 中。"
        )
        assert refused["errors"][0]["extensions"] == {"code": "QUERY_TOO_LONG", "limit": 1_024}
        long_value = {
            "query": "query($id: ID!) { item(id: $id) { id } }",
            "variables": {"id": "x" * 2_000},
        }
        assert client.post("/graphql", json=long_value).json() == {"data": {"item": None}}


def test_a_request_over_the_cost_budget_is_refused_writes_nothing_and_is_audited(
    settings: Settings,
) -> None:
    two = (
        'mutation { a: registerOrganisation(input: {id: "org-x", name: "某单位"}) { __typename } '
        'b: registerOrganisation(input: {id: "org-y", name: "另一单位"}) { __typename } }'
    )
    for client in client_of(settings, max_query_cost=150):
        refused = post(client, two)
        # Two writes (100 each) and the object each answers (1).
        assert refused == {
            "data": None,
            "errors": [
                {
                    "message": "请求的估计代价为 202，超过每个请求 150 的上限"
                    "（LINEAGE_MAX_QUERY_COST），未予执行：请减小 depth 或 first、少选字段，"
                    "或分为几个请求。",
                    "extensions": {"code": "QUERY_TOO_COSTLY", "cost": 202, "budget": 150},
                }
            ],
        }
        recorded = last_event(client)
        assert (recorded.action, recorded.outcome, recorded.detail) == (
            "mutation registerOrganisation",
            Outcome.REFUSED,
            "QUERY_TOO_COSTLY",
        )
        assert nothing_written(client)
        assert post(client, REGISTER) == {
            "data": {"registerOrganisation": {"__typename": "RegisterOrganisationSuccess"}}
        }


def test_thirty_graphml_exports_are_refused_and_one_whole_lineage_is_not(
    client: TestClient,
) -> None:
    """The request of issue 21: thirty exports of a lineage as GraphML, with the default budget."""
    exports = " ".join(
        f'e{i}: lineageExport(id: "x", format: GRAPHML) {{ __typename }}' for i in range(30)
    )
    refused = post(client, "{ " + exports + " }")["errors"][0]
    assert refused["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert refused["extensions"]["budget"] == 100_000
    assert last_event(client).detail == "QUERY_TOO_COSTLY"
    whole = post(client, '{ lineageExport(id: "x", format: GRAPHML) { __typename } }')
    assert whole == {"data": {"lineageExport": {"__typename": "NotFound"}}}


def test_the_fragment_bomb_is_answered_or_refused_at_once(client: TestClient) -> None:
    """Twenty-one levels of fragments, each spreading the next twice (issue 21): measured once
    each (tests/unit/test_cost.py counts the work), answered; with an alias in each, refused
    for its two million aliases."""

    def bomb(field: str) -> str:
        parts = ['query { item(id: "x") { ...F0 } }']
        parts += [f"fragment F{i} on Item {{ {field} ...F{i + 1} ...F{i + 1} }}" for i in range(21)]
        return "\n".join([*parts, "fragment F21 on Item { id }"])

    assert post(client, bomb("id")) == {"data": {"item": None}}
    refused = post(client, bomb("a: id"))["errors"][0]
    assert refused["extensions"] == {"code": "TOO_MANY_ALIASES", "aliases": 2**21 - 1, "limit": 30}


def test_a_user_asking_too_often_gets_429_with_retry_after_and_then_is_answered(
    settings: Settings,
) -> None:
    for client in client_of(settings, requests_per_second=1, request_burst=2):
        assert [client.post("/graphql", json={"query": COUNT}).status_code for _ in range(2)] == [
            200,
            200,
        ]
        refused = client.post("/graphql", json={"query": REGISTER})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "errors": [
                {
                    "message": "请求过于频繁：每位用户每秒至多 1 个请求，一次至多 2 个"
                    "（LINEAGE_REQUESTS_PER_SECOND、LINEAGE_REQUEST_BURST）。请 1 秒后再试。",
                    "extensions": {"code": "RATE_LIMITED"},
                }
            ]
        }
        recorded = last_event(client)
        assert (recorded.action, recorded.outcome, recorded.detail) == (
            "rate-limit",
            Outcome.REFUSED,
            "RATE_LIMITED",
        )
        time.sleep(int(refused.headers["retry-after"]))
        assert post(client, COUNT) == {"data": {"organisation": None}}  # nothing was written


def test_a_subscription_past_the_rate_is_turned_away_and_audited(settings: Settings) -> None:
    for client in client_of(settings, requests_per_second=0.01, request_burst=1):
        assert post(client, COUNT) == {"data": {"organisation": None}}  # the one request
        token = client.headers["authorization"]
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"authorization": token}})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403
        recorded = last_event(client)
        assert (recorded.action, recorded.detail) == ("rate-limit", "RATE_LIMITED")


def test_a_heavy_request_runs_on_its_users_executor_and_a_light_one_where_it_arrived(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where resolvers run: Context.call is wrapped to note the thread that calls it (a spy;
    the call itself is the real one)."""
    seen: list[str] = []
    call = Context.call

    async def noted(self: Context, function: Callable[..., T], *args: object) -> T:
        seen.append(threading.current_thread().name)
        return await call(self, function, *args)

    monkeypatch.setattr(Context, "call", noted)
    assert post(client, '{ item(id: "x") { id } }') == {"data": {"item": None}}
    light = list(seen)
    seen.clear()
    heavy = post(client, '{ lineageGraph(id: "x") { __typename } }')  # a whole lineage
    assert heavy == {"data": {"lineageGraph": {"__typename": "NotFound"}}}
    executors = client.app.state.executors  # type: ignore[attr-defined]
    assert light
    assert not any(name.startswith("graphql-") for name in light)
    assert seen == [executors.of("tester").name]


def test_a_body_over_the_limit_is_refused_unread(settings: Settings) -> None:
    padding = " " * 2_000
    for client in client_of(settings, max_body_bytes=1_024):
        declared = client.post("/graphql", json={"query": REGISTER + padding})

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"query": "' + REGISTER.replace('"', '\\"').encode()
            yield padding.encode()
            yield b'"}'

        streamed = client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        for response in (declared, streamed):
            assert response.status_code == 413
            assert response.json()["errors"][0]["message"] == (
                "请求体超过 1024 字节的上限，未予处理。"
            )
        assert nothing_written(client)
        assert post(client, REGISTER) == {
            "data": {"registerOrganisation": {"__typename": "RegisterOrganisationSuccess"}}
        }


def test_production_hides_the_schema_and_graphiql(settings: Settings, client: TestClient) -> None:
    introspection = "{ __schema { queryType { name } } }"
    page = {"accept": "text/html"}
    assert post(client, introspection) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert "graphiql" in client.get("/graphql", headers=page).text.lower()
    for production in client_of(settings, production=True):
        refused = post(production, introspection)
        assert "introspection" in refused["errors"][0]["message"].lower()
        assert production.get("/graphql", headers=page).status_code == 404
        assert post(production, '{ item(id: "x") { id } }') == {"data": {"item": None}}


def test_only_the_configured_origins_may_call_from_a_browser(
    settings: Settings, client: TestClient
) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    allowed = "https://viewer.example"
    assert (
        "access-control-allow-origin"
        not in client.options("/graphql", headers={"origin": allowed, **preflight}).headers
    )
    for cors in client_of(settings, cors_origins=[allowed]):
        granted = cors.options("/graphql", headers={"origin": allowed, **preflight})
        denied = cors.options("/graphql", headers={"origin": "https://evil.example", **preflight})
        assert granted.headers["access-control-allow-origin"] == allowed
        assert "access-control-allow-origin" not in denied.headers
        answered = cors.post("/graphql", json={"query": COUNT}, headers={"origin": allowed})
        assert answered.headers["access-control-allow-origin"] == allowed
        # A page may retry safely (an Idempotency-Key) and see that an answer is a replay.
        keyed = {**preflight, "access-control-request-headers": "content-type,idempotency-key"}
        assert cors.options("/graphql", headers={"origin": allowed, **keyed}).status_code == 200
        exposed = answered.headers["access-control-expose-headers"].lower()
        assert "idempotent-replayed" in exposed


def test_a_request_past_its_time_gets_an_error_and_writes_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is made slow on purpose (a sleep inside the write transaction, after the
    work): what is checked is that the client hears of the timeout and nothing is written."""
    original = SqliteStore.write

    def slow_write(self: SqliteStore, work: Callable[[GraphWriter], T]) -> T:
        def slower(tx: GraphWriter) -> T:
            result = work(tx)
            time.sleep(0.6)
            return result

        return original(self, slower)

    for client in client_of(settings, mutation_timeout_seconds=0.2):
        monkeypatch.setattr(SqliteStore, "write", slow_write)
        started = time.monotonic()
        answer = post(client, REGISTER)
        waited = time.monotonic() - started
        assert answer["errors"][0]["message"] == "请求超过 0.2 秒的时限，已中止，未写入任何内容。"
        assert waited < 0.6  # the client did not wait for the store
        time.sleep(0.8)  # the worker thread ends its transaction: rolled back
        monkeypatch.setattr(SqliteStore, "write", original)
        assert nothing_written(client)


def test_a_query_has_its_own_shorter_time(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query gets LINEAGE_QUERY_TIMEOUT_SECONDS, a mutation the longer mutation limit; the
    store is made slow on purpose, as above, for reads and writes alike."""
    read, write = SqliteStore.read, SqliteStore.write

    def slow_read(self: SqliteStore, work: Callable[[GraphReader], T]) -> T:
        time.sleep(0.4)
        return read(self, work)

    def slow_write(self: SqliteStore, work: Callable[[GraphWriter], T]) -> T:
        time.sleep(0.4)
        return write(self, work)

    for client in client_of(settings, query_timeout_seconds=0.2, mutation_timeout_seconds=5):
        monkeypatch.setattr(SqliteStore, "read", slow_read)
        monkeypatch.setattr(SqliteStore, "write", slow_write)
        refused = post(client, COUNT)
        assert refused["errors"][0]["message"] == "请求超过 0.2 秒的时限，已中止，未写入任何内容。"
        assert post(client, REGISTER) == {
            "data": {"registerOrganisation": {"__typename": "RegisterOrganisationSuccess"}}
        }
        monkeypatch.setattr(SqliteStore, "read", read)
        monkeypatch.setattr(SqliteStore, "write", write)
        assert post(client, COUNT) == {"data": {"organisation": {"id": "org-x"}}}


def test_a_body_that_is_not_json_is_a_clear_refusal_and_writes_nothing(client: TestClient) -> None:
    for body in (b'{"query": "mutation {', b"\xff\xfe", b'{"query": NaN}'):
        refused = client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 400
        assert "Unable to parse request body as JSON" in refused.text
    assert nothing_written(client)


def test_answers_carry_chinese_as_utf8(client: TestClient) -> None:
    post(client, REGISTER)
    answer = client.post("/graphql", json={"query": '{ organisation(id: "org-x") { name } }'})
    assert "某单位".encode() in answer.content
    assert answer.json() == {"data": {"organisation": {"name": "某单位"}}}
