"""Outbound events (issue 22, point 7) end to end, on both stores: an administrator registers
an organisation's endpoint with `lineage webhooks add`; a decision in the API sends its
record and its notices there, signed; a receiver that fails gets the same message again until
it takes it; one that always fails leaves it in the dead-letter list, and `lineage webhooks
replay` sends it again.

The receiver is a real HTTP server on loopback, run by the test (`Receiver`): it answers as
the test scripts it and keeps every request. It checks signatures with `verified`, written
here from the Standard Webhooks specification and not from service.signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.access import SYSTEM, Actor
from graph.model import Item
from graph.store.base import GraphStore, ItemQuery, NoticeQuery
from graph.store.outbound import DeliveryQuery
from graph.trail import AuditQuery
from graph.webhook import DeliveryStatus
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.findings import audit
from service.outbox import Outbox, daily
from service.webhooks import purge
from tests.e2e.conftest import Api, signed_in
from tests.e2e.lifecycle import APPLY, deciders, declassify

SECRET = re.compile(r"^whsec_\S+$", re.MULTILINE)
WEBHOOK = re.compile(r"webhook (wh_[0-9a-f]+)")
TOLERANCE = 5 * 60  # seconds, as the specification's reference libraries allow


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier(secret: str) -> Callable[[dict[str, str], bytes], Any]:
    """The receiver's `verify` of the README's section on webhooks, as printed there."""
    section = README.read_text(encoding="utf-8").split("## Outbound events", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    namespace: dict[str, Any] = {}
    exec(code.replace('SECRET = "whsec_…"', f"SECRET = {secret!r}"), namespace)  # noqa: S102
    verify: Callable[[dict[str, str], bytes], Any] = namespace["verify"]
    return verify


def verified(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """The specification's check: HMAC-SHA256, keyed by the base64 after `whsec_`, over
    `{webhook-id}.{webhook-timestamp}.{body}`, equal to one of the space-separated `v1,`
    signatures, and a timestamp within the tolerance of now."""
    try:
        key = base64.b64decode(secret.split("_", 1)[1])
        message_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        given = headers["webhook-signature"].split(" ")
    except (KeyError, IndexError, ValueError):
        return False
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return any(
        version == "v1" and hmac.compare_digest(signature, expected)
        for version, _, signature in (g.partition(",") for g in given)
    )


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int


@dataclass
class Receiver:
    """The test's receiver: answers 500 to the first `failures[path]` requests on a path, and
    to every one on a path in `down`; 204 otherwise."""

    url: str = ""
    failures: dict[str, int] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            if path in self.down:
                status = 500
            elif self.failures.get(path, 0) > 0:
                self.failures[path] -= 1
                status = 500
            else:
                status = 204
            self.requests.append(Request(path, headers, body, time.time(), status))
            return status

    def taken(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path and r.status == 204]

    def on(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    script = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_response(script.answer(self.path, headers, body))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield script
    server.shutdown()
    server.server_close()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def register(db_url: str, organisation: str, url: str, *events: str) -> tuple[str, str]:
    """`lineage webhooks add`: the endpoint's id and its secret, shown once."""
    chosen = [a for e in events for a in ("--event", e)]
    output = run("webhooks", "add", organisation, url, *chosen, "--store", db_url)
    secret, hook = SECRET.search(output), WEBHOOK.search(output)
    assert secret is not None, output
    assert hook is not None, output
    return hook.group(1), secret.group(0)


def settings(db_url: str, **overrides: Any) -> Settings:
    chosen: dict[str, Any] = {
        "store": db_url,
        "daily_expiry": False,
        "webhook_poll_seconds": 0.05,
        "webhook_backoff_seconds": 0.05,
        "webhook_attempts": 4,
        **overrides,
    }
    return Settings(**chosen)


def wait_for(done: Callable[[], bool], seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < end, "not within the time allowed"
        time.sleep(0.05)


def demo(db_url: str) -> None:
    store = open_store(db_url)
    try:
        load_demo(store)
    finally:
        store.close()


COUNTY = Actor(
    user_id="reader", name="县", organisation_id="org-county", member_of=frozenset({"org-county"})
)


def test_a_decision_reaches_the_organisations_endpoints_signed_and_retried(
    db_url: str, receiver: Receiver
) -> None:
    demo(db_url)
    county, county_secret = register(db_url, "org-county", receiver.url + "/county")
    ministry, ministry_secret = register(
        db_url, "org-ministry", receiver.url + "/ministry", "decision.recorded"
    )
    receiver.failures["/county"] = 2  # its first two answers: 500
    listed = run("webhooks", "list", "--store", db_url)
    assert county in listed
    assert ministry in listed
    assert "whsec_" not in listed  # the secret is shown once, when it is made

    with TestClient(create_app(settings(db_url))) as client:
        api = Api(signed_in(client))
        committed = declassify(api, "S-2024-012")
        assert committed["__typename"] == "ChangeCommitted", committed
        store: GraphStore = client.app.state.store  # type: ignore[attr-defined]
        change_id = committed["change"]["id"]
        record_id = committed["record"]["id"]
        notices = store.read(
            lambda tx: tx.find_notices(NoticeQuery(change_id=change_id, limit=None))
        )
        items = store.read(lambda tx: tx.items({n.item_id for n in notices}))
        # The county's endpoint reads as the county: the notices to it about what it may read.
        expected = sorted(
            n.id
            for n in notices
            if n.organisation_id == "org-county" and COUNTY.can_read(items[n.item_id])
        )
        assert expected  # the demo's county chain
        wait_for(lambda: len(receiver.taken("/county")) == len(expected))
        wait_for(lambda: len(receiver.taken("/ministry")) == 1)
        # The county's official applies one: its record goes to the county (D-13).
        applied = api(
            APPLY,
            {"input": {"noticeId": expected[0], **deciders("org-county")}},
            as_=deciders("org-county")["officialId"],
        )["applyNotice"]
        assert applied["__typename"] == "ApplyNoticeSuccess", applied
        wait_for(lambda: len(receiver.taken("/county")) == len(expected) + 1)
        titles = store.read(lambda tx: tx.find_items(ItemQuery(limit=1000)))
        trail = store.audit_events(AuditQuery(user_id=f"webhook:{county}", limit=10))

    for path, secret in (("/county", county_secret), ("/ministry", ministry_secret)):
        for request in receiver.on(path):
            assert verified(secret, request.headers, request.body, request.at), request
            assert not verified(secret, request.headers, request.body + b" ", request.at)
    readme = readme_verifier(county_secret)
    for request in receiver.on("/county"):
        assert readme(request.headers, request.body) == json.loads(request.body)
        with pytest.raises(ValueError, match="bad signature"):
            readme(request.headers, request.body.replace(b"org-county", b"org-city"))
    other = ministry_secret
    assert not any(verified(other, r.headers, r.body, r.at) for r in receiver.on("/county"))

    received = [json.loads(r.body) for r in receiver.taken("/county")]
    (record,) = [b for b in received if b["type"] == "decision.recorded"]
    assert record["data"]["recordId"] == applied["record"]["id"]
    assert record["data"]["itemId"] == applied["item"]["id"]
    assert record["data"]["organisationId"] == "org-county"
    assert record["data"]["marking"] == applied["item"]["marking"]
    bodies = [b for b in received if b["type"] == "notice.issued"]
    assert sorted(b["data"]["noticeId"] for b in bodies) == expected
    # Each message was taken once; the two refused were sent again with the same id.
    ids = [r.headers["webhook-id"] for r in receiver.taken("/county")]
    assert len(set(ids)) == len(ids) == len(expected) + 1
    refused = [r for r in receiver.on("/county") if r.status == 500]
    assert len(refused) == 2
    assert {r.headers["webhook-id"] for r in refused} <= set(ids)
    for body in bodies:
        assert body["data"]["organisationId"] == "org-county"
        assert body["data"]["sourceId"].startswith("hidden-")  # the ministry's source
        assert body["data"]["changeId"] == change_id

    (decision,) = [json.loads(r.body) for r in receiver.taken("/ministry")]
    assert decision["type"] == "decision.recorded"
    assert decision["data"]["recordId"] == record_id
    assert decision["data"]["itemId"] == "S-2024-012"
    assert decision["data"]["kind"] == "DECLASSIFICATION"

    # References only: no title or document number of any item of the lineage, anywhere.
    sent = b"".join(r.body for r in receiver.requests).decode()
    for item in titles:
        assert item.title not in sent
        assert not item.document_number or item.document_number not in sent
    hidden: list[Item] = [i for i in titles if not COUNTY.can_read(i)]
    county_sent = b"".join(r.body for r in receiver.on("/county")).decode()
    for item in hidden:
        assert f'"{item.id}"' not in county_sent
    assert trail
    assert {e.action for e in trail} == {"webhook deliver"}


def test_what_every_attempt_fails_to_deliver_is_dead_until_replayed(
    db_url: str, receiver: Receiver
) -> None:
    demo(db_url)
    hook, _ = register(db_url, "org-ministry", receiver.url + "/down", "decision.recorded")
    receiver.down.add("/down")
    with TestClient(create_app(settings(db_url, webhook_attempts=3))) as client:
        api = Api(signed_in(client))
        assert declassify(api, "S-2024-012")["__typename"] == "ChangeCommitted"
        store: GraphStore = client.app.state.store  # type: ignore[attr-defined]

        def dead() -> list[Any]:
            query = DeliveryQuery(statuses=(DeliveryStatus.DEAD,))
            return store.read(lambda tx: tx.find_deliveries(query))

        wait_for(lambda: len(dead()) == 1)
        (letter,) = dead()
        assert letter.attempts == 3
        assert letter.last_error == "HTTP 500"
        attempts = receiver.on("/down")
        assert len(attempts) == 3  # and no more once dead
        assert {r.headers["webhook-id"] for r in attempts} == {letter.message_id}
        listed = run("webhooks", "dead", "--store", db_url)
        assert letter.id in listed
        assert "HTTP 500" in listed

        receiver.down.clear()
        replayed = run("webhooks", "replay", "--webhook", hook, "--store", db_url)
        assert "1 条" in replayed
        wait_for(lambda: len(receiver.taken("/down")) == 1)
        (taken,) = receiver.taken("/down")
        assert taken.headers["webhook-id"] == letter.message_id
        assert taken.body.decode() == letter.payload
        wait_for(lambda: not dead())
        assert "死信列表为空" in run("webhooks", "dead", "--store", db_url)


def test_the_daily_run_queues_each_new_finding_once_to_the_organisation_that_corrects_it(
    db_url: str,
) -> None:
    """The demo's bureau holds one file of each D-21 case (service.demo_inspection): the
    daily run queues each finding about an item the bureau may read to its endpoint, and the
    next day's run queues none of them again; deliveries delivered long enough ago are
    removed."""
    demo(db_url)
    bureau, _ = register(db_url, "org-bureau", "http://127.0.0.1:9/bureau", "finding.detected")
    register(db_url, "org-county", "http://127.0.0.1:9/county", "finding.detected")
    store = Outbox(open_store(db_url), b"k" * 32)
    try:
        reader = Actor(
            user_id="reader",
            name="局",
            organisation_id="org-bureau",
            member_of=frozenset({"org-bureau"}),
        )
        found = audit(store, SYSTEM).findings
        items = store.read(lambda tx: tx.items({f.item_id for f in found}))
        expected = sorted(
            (f.item_id, f.case.value)
            for f in found
            if f.organisation_id == "org-bureau" and reader.can_read(items[f.item_id])
        )
        assert expected  # the bureau's files
        assert {f.organisation_id for f in found} == {"org-bureau"}  # none elsewhere

        assert daily(store, timedelta(days=30)) == (len(expected), 0)
        queued = store.read(lambda tx: tx.find_deliveries(DeliveryQuery(limit=100)))
        assert {d.webhook_id for d in queued} == {bureau}
        bodies = [json.loads(d.payload)["data"] for d in queued]
        assert sorted((b["itemId"], b["case"]) for b in bodies) == expected
        assert {b["organisationId"] for b in bodies} == {"org-bureau"}
        assert daily(store, timedelta(days=30)) == (len(expected), 0)  # offered, kept once
        assert len(store.read(lambda tx: tx.find_deliveries(DeliveryQuery(limit=100)))) == len(
            expected
        )

        moment = datetime.now(UTC)
        delivered = [
            replace(d, status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=moment)
            for d in queued
        ]
        store.write(lambda tx: tx.update_deliveries(delivered))
        assert purge(store, timedelta(days=30), moment + timedelta(days=29)) == 0
        assert purge(store, timedelta(days=30), moment + timedelta(days=30)) == len(expected)
        assert store.read(lambda tx: tx.find_deliveries(DeliveryQuery(limit=100))) == []
    finally:
        store.close()


def test_the_command_line_refuses_what_it_cannot_register_and_writes_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    demo(url)
    for args, said in (
        (("org-none", "http://127.0.0.1:9/x"), "org-none"),
        (("org-county", "ftp://127.0.0.1/x"), "http://"),
        (("org-county", "http://127.0.0.1:9/x", "--event", "item.read"), "item.read"),
    ):
        result = CliRunner().invoke(cli, ["webhooks", "add", *args, "--store", url])
        assert result.exit_code == 2, result.output
        assert said in result.output
        assert "whsec_" not in result.output
    assert "没有登记的 webhook" in run("webhooks", "list", "--store", url)
    result = CliRunner().invoke(cli, ["webhooks", "replay", "dlv_none", "--store", url])
    assert result.exit_code == 2, result.output
