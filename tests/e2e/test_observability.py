"""What an operator sees of the running service: /readyz over a real read of the store, the
metrics at /metrics, the JSON log lines with request ids, and the request id in the audit
trail; none of it holds an item's content."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.chain import GENESIS, Head, Link
from graph.errors import InvalidValue
from graph.store.base import GraphStore, ItemQuery
from graph.store.codec import audit_fields
from graph.store.sqlite import _TRAIL_MIGRATIONS, trail_path
from graph.trail import AuditQuery, Outcome
from service.app import create_app
from service.auditing import event
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.demo import demo_tokens, load_demo
from tests.bolt import BoltServer
from tests.e2e.test_server import LINEAGE_SCRIPT, demo_token, free_port, wait_until_up
from tests.relay import Relay

TOKEN = "metrics-token-for-the-tests"
ITEM = '{ item(id: "D-COUNTY-004") { id title marking } }'
ALL_ITEMS = "{ items(first: 100) { ... on ItemConnection { edges { node { id title } } } } }"
NOTICES = "{ notices(first: 100) { ... on NoticeConnection { edges { node { id text } } } } }"
DECLASSIFY = """mutation { declassify(input: {
  itemId: "S-2024-012", reason: CIRCUMSTANCES_CHANGED,
  basis: "工程已建成并公开报道，公开后不会损害国家安全和利益。",
  handlerId: "p-zhang-wei", officialId: "p-li-qiang"
}) { __typename ... on ChangeCommitted { noticeCount notices { id text } } } }"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def demo_app(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on the demo, /metrics open to TOKEN; with a token for each demo user."""
    store = open_store(db_url)
    try:
        load_demo(store)
        tokens = {user.id: bearer for user, bearer in demo_tokens(store)}
    finally:
        store.close()
    settings = Settings(store=db_url, daily_expiry=False, metrics_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        yield client, tokens


def ask(client: TestClient, bearer: str, query: str, **headers: str) -> httpx2.Response:
    return client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {bearer}", **headers}
    )


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return response.text


def test_ready_reads_the_store_and_health_only_answers(
    demo_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, _ = demo_app
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ready_fails_clearly_while_the_bolt_server_is_unreachable_and_recovers(
    bolt_server: BoltServer,
) -> None:
    """The store reached through a relay to the real Bolt server; cut, /readyz answers 503
    with a reason that names no URL and no password, while /healthz still answers; restored,
    ready again; the store closed, 503."""
    url = bolt_server.new_database()
    parts = urlsplit(url)
    assert parts.port is not None
    assert parts.password
    relay = Relay(parts.port)
    relay.start()
    through = urlunsplit(
        parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{relay.port}"))
    )
    store = open_store(through)
    try:
        with TestClient(create_app(Settings(daily_expiry=False), store=store)) as client:
            assert client.get("/readyz").status_code == 200
            relay.cut()
            started = time.monotonic()
            unready = client.get("/readyz")
            assert unready.status_code == 503, unready.text
            assert time.monotonic() - started < 10  # within the probe's time, not the driver's
            body = unready.json()
            assert body["status"] == "unavailable"
            assert body["reason"].startswith("存储")
            for secret in (parts.password, str(relay.port), str(parts.port), "bolt://", "root"):
                assert secret not in unready.text
            assert unready.headers["retry-after"]
            assert client.get("/healthz").status_code == 200
            relay.start()
            deadline = time.monotonic() + 60
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "not ready again after the relay came back"
                time.sleep(0.5)
            store.close()
            closed = client.get("/readyz")
            assert closed.status_code == 503
            assert closed.json()["error"] == "StoreUnavailable"
    finally:
        store.close()
        relay.cut()
        bolt_server.release(url)


def test_metrics_count_requests_by_operation_and_outcome(
    demo_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = demo_app
    before = scrape(client)
    ok = ask(client, tokens["p-zhao-min"], ITEM)
    assert ok.json()["data"]["item"]["id"] == "D-COUNTY-004"
    hidden = ask(client, tokens["p-zhao-min"], '{ item(id: "S-2024-001") { id } }')
    assert hidden.json()["data"] == {"item": None}
    several = ask(client, tokens["p-zhao-min"], '{ item(id: "D-COUNTY-004") { id } me { userId } }')
    assert "errors" not in several.json(), several.text
    # A field the schema lacks, named by the client: counted, but not by its name.
    invented = ask(client, tokens["p-zhao-min"], "{ secretTitleOfSomething }")
    assert invented.status_code == 200
    assert invented.json()["errors"]
    anonymous = client.post("/graphql", json={"query": ITEM})
    assert anonymous.status_code == 401
    declassified = ask(client, tokens["p-li-qiang"], DECLASSIFY)
    notices = declassified.json()["data"]["declassify"]["noticeCount"]
    assert notices > 0
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("lineage_requests_total", operation="query item", outcome="OK") == 2
    assert grew("lineage_requests_total", operation="query several", outcome="OK") == 1
    assert grew("lineage_requests_total", operation="invalid", outcome="REFUSED") == 1
    assert grew("lineage_requests_total", operation="unknown", outcome="UNAUTHENTICATED") == 1
    assert grew("lineage_requests_total", operation="mutation declassify", outcome="OK") == 1
    assert grew("lineage_request_seconds_count", operation="query item") == 2
    assert grew("lineage_notices_issued_total", by="decision") == notices
    assert grew("lineage_store_seconds_count") > 0
    assert grew("lineage_audit_append_seconds_count") > 0
    assert grew("lineage_audit_events_total") >= 5  # each but the `me` ... `item` read named ids
    assert "secretTitleOfSomething" not in after
    # The store's generations, read by the scrape: the declassification moved the items'.
    assert grew("lineage_store_generation", table="items") > 0
    assert "lineage_subscriptions_open" in after


def test_metrics_need_the_token_or_the_loopback(
    demo_app: tuple[TestClient, dict[str, str]], tmp_path: Path
) -> None:
    client, _ = demo_app
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401
    assert "lineage_" not in wrong.text
    # Without a token: only the loopback, which the test client is not (the console script's
    # test below reads them from 127.0.0.1).
    settings = Settings(store=f"sqlite:///{tmp_path / 'other.db'}", daily_expiry=False)
    with TestClient(create_app(settings)) as tokenless:
        refused = tokenless.get("/metrics")
        assert refused.status_code == 403
        assert "LINEAGE_METRICS_TOKEN" in refused.json()["error"]


def test_a_request_id_is_echoed_and_recorded_in_the_audit_event(
    demo_app: tuple[TestClient, dict[str, str]], db_url: str
) -> None:
    client, tokens = demo_app
    given = ask(client, tokens["p-zhao-min"], ITEM, **{"X-Request-Id": "trace-42.a:b_c"})
    assert given.headers["x-request-id"] == "trace-42.a:b_c"
    # Ill-formed or too long: replaced by one of the service's own, echoed and recorded.
    for bad in ("a b", "x" * 65, "id;drop", "id/../x"):
        made = ask(client, tokens["p-zhao-min"], ITEM, **{"X-Request-Id": bad})
        assert made.headers["x-request-id"] != bad
        assert len(made.headers["x-request-id"]) == 32
    made_id = made.headers["x-request-id"]
    unsent = ask(client, tokens["p-zhao-min"], ITEM).headers["x-request-id"]
    assert unsent not in (made_id, "trace-42.a:b_c")
    anonymous = client.post("/graphql", json={"query": ITEM}, headers={"X-Request-Id": "anon-1"})
    assert anonymous.status_code == 401
    assert anonymous.headers["x-request-id"] == "anon-1"
    store: GraphStore = client.app.state.store  # type: ignore[attr-defined]
    recent = store.audit_events(AuditQuery(limit=20))
    by_request = {e.request_id: e for e in recent}
    assert by_request["trace-42.a:b_c"].action == "query item"
    assert by_request[made_id].items == ("D-COUNTY-004",)
    assert by_request[unsent].action == "query item"
    assert by_request["anon-1"].action == "authenticate"
    # The auditor reads it in the API too.
    trail = ask(
        client,
        tokens["auditor"],
        "{ auditTrail(first: 30) { ... on AuditEventConnection { edges { node {"
        " action requestId } } } } }",
    ).json()["data"]["auditTrail"]["edges"]
    assert {"action": "query item", "requestId": "trace-42.a:b_c"} in [e["node"] for e in trail]
    # Hashed into the chain, whose check still passes over events with and without one.
    verified = CliRunner().invoke(cli, ["trail", "verify", "--store", db_url])
    assert verified.exit_code == 0, verified.output


def test_the_served_log_is_json_with_request_ids_and_no_item_content(tmp_path: Path) -> None:
    """`lineage serve` as an operator runs it: every line it logs is JSON; a request's lines
    carry its id; after reads of every item and a declassification that sends notices, neither
    the log nor /metrics (read from the loopback, no token set) holds a title or a notice's
    text."""
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINEAGE_", "OTEL_"))}
    env["LINEAGE_STORE"] = url
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [str(LINEAGE_SCRIPT), "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz", deadline=60)
        printed = out.read_text()

        def post(user: str, query: str, request_id: str) -> dict[str, Any]:
            response = httpx2.post(
                base + "/graphql",
                json={"query": query},
                headers={
                    "Authorization": f"Bearer {demo_token(printed, user)}",
                    "X-Request-Id": request_id,
                },
                timeout=30,
            )
            assert response.status_code == 200, response.text
            assert response.headers["x-request-id"] == request_id
            body: dict[str, Any] = response.json()
            return body

        listed = post("p-sun-hong", ALL_ITEMS, "read-all-1")["data"]["items"]["edges"]
        assert len(listed) > 20
        assert post("p-li-qiang", DECLASSIFY, "declassify-1")["data"]["declassify"]["noticeCount"]
        notices = post("p-sun-hong", NOTICES, "notices-1")["data"]["notices"]["edges"]
        assert notices
        failed = httpx2.post(base + "/graphql", json={"query": ITEM}, timeout=30)
        assert failed.status_code == 401
        metrics = httpx2.get(base + "/metrics", timeout=30)
        assert metrics.status_code == 200, metrics.text
        assert (
            sample(metrics.text, "lineage_requests_total", operation="query items", outcome="OK")
            == 1
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    logged = err.read_text()
    lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    mine = [line for line in lines if line.get("request_id") == "declassify-1"]
    assert {line["logger"] for line in mine} >= {"service.metrics", "uvicorn.access"}, mine
    assert any(line.get("operation") == "mutation declassify" for line in mine)
    # What must not be there: the titles of every item, the notices' texts.
    store = open_store(url)
    try:
        items = store.read(lambda tx: tx.find_items(ItemQuery(limit=1000)))
    finally:
        store.close()
    secrets = {i.title for i in items} | {n["node"]["text"] for n in notices}
    assert len(secrets) > 20
    for secret in secrets:
        assert secret not in logged, secret
        assert secret not in metrics.text, secret


class Collector:
    """An OTLP/HTTP trace collector served by the test: it keeps the spans posted to
    /v1/traces, decoded with OpenTelemetry's own protobuf messages."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.requests: list[Any] = []
        self.paths: list[str] = []
        kept = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                kept.requests.append(request)
                kept.paths.append(self.path)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


DERIVE = """mutation { deriveItem(input: {
  title: "观测测试：某市征地工作督查通报", documentNumber: "某市发改〔2024〕91号",
  organisationId: "org-city", issuedOn: "2024-08-01",
  bases: [{parentId: "D-CITY-001", case: INVOLVES_KEYPOINT, keypointIds: ["S-2024-012.K1"]}],
  scope: {persons: ["p-chen-jing", "p-yang-lei"]}, handlerId: "p-chen-jing"
}) { __typename ... on DeriveItemSuccess { item { id title } } } }"""


def test_traces_go_to_the_configured_collector_without_any_client_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = open_store(url)
    try:
        load_demo(store)
        tokens = {user.id: bearer for user, bearer in demo_tokens(store)}
        titles = {i.title for i in store.read(lambda tx: tx.find_items(ItemQuery(limit=1000)))}
    finally:
        store.close()
    collector = Collector()
    try:
        settings = Settings(store=url, daily_expiry=False, otel_endpoint=collector.url)
        with TestClient(create_app(settings)) as client:
            shown = ask(client, tokens["p-zhao-min"], ITEM, **{"X-Request-Id": "traced-1"})
            assert shown.json()["data"]["item"]["title"] in titles
            derived = ask(client, tokens["p-yang-lei"], DERIVE, **{"X-Request-Id": "traced-2"})
            body = derived.json()["data"]["deriveItem"]
            assert body["__typename"] == "DeriveItemSuccess", derived.text
        # The app's shutdown sent the spans it still held.
        spans = collector.spans()
    finally:
        collector.stop()
    assert set(collector.paths) == {"/v1/traces"}
    names = {span.name for span in spans}
    assert {"GraphQL query item", "GraphQL mutation deriveItem"} <= names, names
    assert "GraphQL Resolving: deriveItem" in names
    operations = {
        span.name: {a.key: a.value.string_value for a in span.attributes}
        for span in spans
        if span.name.startswith("GraphQL ")
        and not span.name.startswith("GraphQL Resolving")
        and span.name not in ("GraphQL Parsing", "GraphQL Validation")
    }
    assert operations["GraphQL query item"]["lineage.request_id"] == "traced-1"
    assert operations["GraphQL mutation deriveItem"]["lineage.request_id"] == "traced-2"
    # Nothing a client wrote: not the query's text, not a resolver's arguments, no title.
    written = [str(span) for span in spans]
    for span in spans:
        keys = {a.key for a in span.attributes}
        assert "query" not in keys
        assert not any(k.startswith("graphql.param") for k in keys), keys
    for secret in {
        *titles,
        "观测测试：某市征地工作督查通报",
        "某市发改〔2024〕91号",
        "D-COUNTY-004",
    }:
        assert not any(secret in text for text in written), secret


def test_tracing_configured_without_its_packages_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The otel extra's absence, made by hiding its exporter from the import system (a fake of
    a missing package, declared as such): the app does not start and says what to install,
    for our setting and for OpenTelemetry's own."""
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    with pytest.raises(InvalidValue) as ours:
        create_app(Settings(store=url, otel_endpoint="http://127.0.0.1:4318"))
    assert "LINEAGE_OTEL_ENDPOINT" in ours.value.message
    assert "lineage[otel]" in ours.value.message
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    with pytest.raises(InvalidValue) as standard:
        create_app(Settings(store=url))
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in standard.value.message


def test_a_trail_written_before_request_ids_is_upgraded_and_still_verifies(
    tmp_path: Path,
) -> None:
    """A trail file of version 2 (chained, no request id), written here as that version's code
    wrote it: opened now, it gains the column, its events keep their digests, and events with
    request ids follow them in the same chain; `lineage trail verify` finds it whole."""
    database = tmp_path / "lineage.db"
    url = f"sqlite:///{database}"
    open_store(url).close()
    path = trail_path(database)
    path.unlink(missing_ok=True)
    old = [event(None, "cli import", Outcome.OK, items=[f"D-{n}"], request_id="") for n in range(3)]
    # Linked by version 2's own digest (graph.chain's documented encoding, computed here as
    # that version did, not by the code under test).
    links, previous = [], GENESIS
    for seq, one in enumerate(old, start=1):
        fields = {
            "v": 1,
            "seq": seq,
            "previous": previous,
            "id": one.id,
            "at": one.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "action": one.action,
            "outcome": one.outcome.value,
            "user_id": None,
            "person_id": None,
            "organisation_id": None,
            "address": "",
            "items": list(one.items),
            "asked": [],
            "detail": "",
        }
        text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        own = hashlib.sha256(text.encode()).hexdigest()
        links.append(Link(seq, previous, own))
        previous = own
    head = Head(seq=len(old), digest=previous)
    with sqlite3.connect(path, isolation_level=None) as connection:
        for statements in _TRAIL_MIGRATIONS[:2]:
            for statement in statements:
                connection.execute(statement)
        connection.execute("PRAGMA user_version = 2")
        for one, link in zip(old, links, strict=True):
            row = {k: v for k, v in audit_fields(one).items() if k != "request_id"}
            row.update(seq=link.seq, previous=link.previous, digest=link.digest)
            columns = ", ".join(row)
            names = ", ".join(f":{k}" for k in row)
            # The codec's own column names; every value a parameter.
            insert = f"INSERT INTO audit_events ({columns}) VALUES ({names})"  # noqa: S608
            connection.execute(insert, row)
        connection.execute("UPDATE trail_head SET seq = ?, digest = ?", (head.seq, head.digest))
    store = open_store(url)
    try:
        store.append_audit([event(None, "query item", Outcome.OK, request_id="after-upgrade")])
        (newest, *_) = store.audit_events(AuditQuery(limit=10))
        assert newest.request_id == "after-upgrade"
        assert {e.request_id for e in store.audit_events(AuditQuery(limit=10))} == {
            "",
            "after-upgrade",
        }
    finally:
        store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
    verified = CliRunner().invoke(cli, ["trail", "verify", "--store", url])
    assert verified.exit_code == 0, verified.output


SUBSCRIBE = "subscription($org: ID!) { noticesIssued(organisationId: $org) { id } }"


def test_a_subscription_is_counted_while_open_and_its_connection_has_a_request_id(
    demo_app: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = demo_app
    store: GraphStore = client.app.state.store  # type: ignore[attr-defined]
    opened = sample(scrape(client), "lineage_subscriptions_open")
    headers = {"X-Request-Id": "socket-1"}
    with client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers=headers
    ) as ws:
        assert (b"x-request-id", b"socket-1") in (ws.extra_headers or [])
        bearer = f"Bearer {tokens['p-zhao-min']}"
        ws.send_json({"type": "connection_init", "payload": {"authorization": bearer}})
        assert ws.receive_json()["type"] == "connection_ack"
        # Another organisation's notices: refused, and recorded with the connection's id.
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"org": "org-city"}},
            }
        )
        assert ws.receive_json()["payload"]["errors"]
        (refused,) = [
            e
            for e in store.audit_events(AuditQuery(limit=20))
            if e.action == "subscription noticesIssued"
        ]
        assert refused.request_id == "socket-1"
        ws.send_json(
            {
                "id": "2",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"org": "org-county"}},
            }
        )
        deadline = time.monotonic() + 10
        while sample(scrape(client), "lineage_subscriptions_open") != opened + 1:
            assert time.monotonic() < deadline, "the subscription was not counted"
            time.sleep(0.05)
        ws.send_json({"id": "2", "type": "complete"})
        deadline = time.monotonic() + 10
        while sample(scrape(client), "lineage_subscriptions_open") != opened:
            assert time.monotonic() < deadline, "the ended subscription is still counted"
            time.sleep(0.05)
