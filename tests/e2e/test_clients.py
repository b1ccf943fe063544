"""Clients of the API (issue 23, point 7): persisted queries over HTTP, automatic and
registered; the Python client (service/client.py) against a running service; `lineage remote`
and the example script, as a deployment's own scripts run them. A real uvicorn on a free port
serves the demo on a SQLite file: what is tested here lies in the HTTP layer, above the store
(the stores' own behaviour is tested on both elsewhere)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
import websocket
from typer.testing import CliRunner

from graph.trail import AuditQuery, Outcome
from service import client as lineage_client
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from tests.e2e.test_server import demo_token, free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LINEAGE_SCRIPT = Path(sys.executable).with_name("lineage")
ITEM = '{ item(id: "D-COUNTY-004") { id marking } }'
REFUSALS = """query($user: ID!) { auditTrail(filter: {userId: $user, outcome: REFUSED}) {
  ... on AuditEventConnection { edges { node { action detail } } } } }"""
TRAIL = """query($user: ID!) { auditTrail(filter: {userId: $user, itemId: "D-COUNTY-004"}) {
  ... on AuditEventConnection { edges { node { action outcome detail } } } } }"""


class Demo:
    """The demo's store and the tokens `lineage demo` printed."""

    def __init__(self, url: str, output: str) -> None:
        self.url = url
        self.output = output

    def token(self, user: str) -> str:
        return demo_token(self.output, user)


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    result = CliRunner().invoke(cli, ["demo", "--store", url])
    assert result.exit_code == 0, result.output
    return Demo(url, result.output)


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """uvicorn serving the app on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def service(demo: Demo) -> Iterator[str]:
    with serving(Settings(store=demo.url, daily_expiry=False, max_query_aliases=1)) as base:
        yield base


def post(base: str, token: str, body: dict[str, Any]) -> httpx2.Response:
    return httpx2.post(
        base + "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def hashed(document: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}}


def trail(base: str, demo: Demo, user: str) -> list[dict[str, Any]]:
    answer = post(base, demo.token("p-sun-hong"), {"query": TRAIL, "variables": {"user": user}})
    edges = answer.json()["data"]["auditTrail"]["edges"]
    return [edge["node"] for edge in edges]


def test_an_unknown_hash_is_not_found_then_sent_with_its_document_then_known(
    service: str, demo: Demo
) -> None:
    token = demo.token("p-zhao-min")
    missed = post(service, token, {"extensions": hashed(ITEM)})
    assert missed.status_code == 200
    assert missed.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {
                    "code": "PERSISTED_QUERY_NOT_FOUND",
                    "detail": missed.json()["errors"][0]["extensions"]["detail"],
                },
            }
        ]
    }
    assert "data" not in missed.json()
    expected = {"data": {"item": {"id": "D-COUNTY-004", "marking": "机密★20年"}}}
    stored = post(service, token, {"query": ITEM, "extensions": hashed(ITEM)})
    assert stored.json() == expected
    hit = post(service, token, {"extensions": hashed(ITEM)})
    assert hit.json() == expected
    # Each run was recorded as a document sent in full is: two reads of the item, the miss none.
    reads = [e for e in trail(service, demo, "p-zhao-min") if e["action"] == "query item"]
    assert len(reads) == 2, reads
    # The hash names the document, not the reader's right to it: another user's read of it is
    # decided for that user (the province may not read the county's copy, D-10).
    other = post(service, demo.token("p-liu-yang"), {"extensions": hashed(ITEM)})
    assert other.json() == {"data": {"item": None}}
    metrics = httpx2.get(service + "/metrics", timeout=10).text
    assert 'lineage_persisted_queries_total{outcome="hit"} 2.0' in metrics
    assert 'lineage_persisted_queries_total{outcome="PERSISTED_QUERY_NOT_FOUND"} 1.0' in metrics


def test_a_hash_that_is_not_the_documents_is_refused_and_nothing_runs(
    service: str, demo: Demo
) -> None:
    token = demo.token("p-zhao-min")
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha(ITEM + " ")}}
    refused = post(service, token, {"query": ITEM, "extensions": wrong})
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"] == {"code": "PERSISTED_QUERY_HASH_MISMATCH"}
    assert "SHA-256" in error["message"]
    assert "data" not in refused.json()
    # Not stored: the hash is still unknown.
    again = post(service, token, {"extensions": wrong})
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    version = {"persistedQuery": {"version": 2, "sha256Hash": sha(ITEM)}}
    unsupported = post(service, token, {"query": ITEM, "extensions": version})
    assert unsupported.status_code == 400
    assert unsupported.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_VERSION_UNSUPPORTED"
    )
    details = [e["detail"] for e in trail(service, demo, "p-zhao-min")]
    assert details == []  # refused before anything was asked: no item named in the trail


def test_a_persisted_document_meets_the_same_limits_as_one_sent_in_full(
    service: str, demo: Demo
) -> None:
    """The service allows one alias here (max_query_aliases=1): a document with two is
    refused by its hash as when sent in full."""
    token = demo.token("p-zhao-min")
    two = '{ a: item(id: "D-COUNTY-004") { id } b: item(id: "D-COUNTY-004") { id } }'
    first = post(service, token, {"query": two, "extensions": hashed(two)})
    by_hash = post(service, token, {"extensions": hashed(two)})
    for answer in (first, by_hash):
        assert answer.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
        assert answer.json().get("data") is None


def test_a_retry_by_hash_with_its_idempotency_key_is_the_same_request(
    service: str, demo: Demo
) -> None:
    """A mutation sent in full with a key, retried by its hash with the same key, gets the
    first answer and writes nothing again."""
    token = demo.token("p-li-qiang")
    mutation = """mutation($id: ID!) { declassify(input: {itemId: $id,
      reason: CIRCUMSTANCES_CHANGED, basis: "工程已建成并公开报道。", handlerId: "p-zhang-wei",
      officialId: "p-li-qiang"}) { __typename ... on ChangeCommitted { change { id } } } }"""
    body = {"query": mutation, "variables": {"id": "S-2024-012"}, "extensions": hashed(mutation)}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "retry-by-hash-1"}
    first = httpx2.post(service + "/graphql", json=body, headers=headers, timeout=30)
    assert first.json()["data"]["declassify"]["__typename"] == "ChangeCommitted", first.text
    del body["query"]
    retried = httpx2.post(service + "/graphql", json=body, headers=headers, timeout=30)
    assert retried.headers.get("idempotent-replayed") == "true"
    assert retried.json() == first.json()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """The manifest of the client's operations, as a deployment builds it."""
    path = tmp_path / "persisted.json"
    result = subprocess.run(
        [str(LINEAGE_SCRIPT), "persisted-queries", "build", "--client", "-o", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def registered_only(demo: Demo, manifest: Path) -> Iterator[str]:
    settings = Settings(
        store=demo.url, daily_expiry=False, persisted_queries=manifest, persisted_only=True
    )
    with serving(settings) as base:
        yield base


def test_a_deployment_that_requires_registered_queries_runs_those_alone(
    registered_only: str, demo: Demo, manifest: Path
) -> None:
    token = demo.token("p-zhao-min")
    free = post(registered_only, token, {"query": ITEM})
    assert free.status_code == 400
    error = free.json()["errors"][0]
    assert error["extensions"] == {"code": "PERSISTED_QUERY_REQUIRED"}
    assert "LINEAGE_PERSISTED_ONLY" in error["message"]
    unknown = post(registered_only, token, {"query": ITEM, "extensions": hashed(ITEM)})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["extensions"] == {"code": "PERSISTED_QUERY_NOT_REGISTERED"}
    by_hash_alone = post(registered_only, token, {"extensions": hashed(ITEM)})
    assert by_hash_alone.json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_REGISTERED"
    )
    entries = json.loads(manifest.read_text())["operations"]
    item = next(e for e in entries if e["name"] == "Item")
    body = {
        "variables": {"id": "D-COUNTY-004"},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": item["id"]}},
    }
    answer = post(registered_only, token, body)
    assert answer.json()["data"]["item"]["marking"] == "机密★20年"
    with_document = post(registered_only, token, {**body, "query": item["body"]})
    assert with_document.json() == answer.json()
    verbatim = post(registered_only, token, {"query": item["body"], "variables": body["variables"]})
    assert verbatim.json() == answer.json()  # a registered document word for word, no hash
    # Each refusal is recorded, with its code, as every refusal is.
    refusals = post(
        registered_only,
        demo.token("p-sun-hong"),
        {"query": REFUSALS, "variables": {"user": "p-zhao-min"}},
    )
    assert refusals.status_code == 400  # the supervisor's own free document is refused too
    # ... so the trail is read through the store itself, as an auditor's export would.
    store = open_store(demo.url)
    try:
        events = store.audit_events(AuditQuery(user_id="p-zhao-min", outcome=Outcome.REFUSED))
    finally:
        store.close()
    mine = [(e.action, e.detail) for e in events]
    assert ("persisted-query", "PERSISTED_QUERY_REQUIRED") in mine
    assert mine.count(("persisted-query", "PERSISTED_QUERY_NOT_REGISTERED")) == 2
    # GraphiQL would run documents typed by hand: not served here.
    page = httpx2.get(registered_only + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert "graphiql" not in page.text.lower()
    assert httpx2.get(registered_only + "/graphiql/", timeout=10).status_code == 404
    # The client's own operations are registered: it works there as anywhere.
    with lineage_client.Client(registered_only, token) as lineage:
        found = lineage.item("D-COUNTY-004")
        assert found is not None
        assert found.marking == "机密★20年"


def test_a_service_does_not_start_on_a_manifest_it_cannot_use(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({sha("{ me { id } }"): "{ me { userId } }"}))
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    for manifest, only in ((broken, False), (tmp_path / "missing.json", False), (empty, True)):
        env = {
            **os.environ,
            "LINEAGE_STORE": f"sqlite:///{tmp_path / 'lineage.db'}",
            "LINEAGE_PERSISTED_QUERIES": str(manifest),
            "LINEAGE_PERSISTED_ONLY": str(only).lower(),
        }
        result = subprocess.run(
            [str(LINEAGE_SCRIPT), "serve", "--port", str(free_port())],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "持久化查询清单" in result.stderr


def test_the_client_reads_analyses_and_decides_through_the_api(service: str, demo: Demo) -> None:
    with lineage_client.Client(service, demo.token("p-sun-hong")) as supervisor:
        item = supervisor.item("D-COUNTY-004")
        assert item is not None
        assert (item.id, item.marking, item.version) == ("D-COUNTY-004", "机密★20年", 1)
        assert supervisor.item("NO-SUCH-ITEM") is None
        graph = supervisor.lineage_graph("D-PROV-001", direction="DOWNSTREAM")
        nodes = supervisor.lineage("D-PROV-001", direction="DOWNSTREAM").nodes
        assert len(nodes) == graph.node_count
        assert all(n.item is not None and n.item.id == n.id for n in nodes)
        assert graph.root == "D-PROV-001"
        assert graph.node_count > 1
        analysis = supervisor.impact_analysis("S-2024-012", declassify=True)
        assert analysis.item.id == "S-2024-012"
        assert analysis.total == len(analysis.impacts) > 0
        assert analysis.status_after == "DECLASSIFIED_WORK_SECRET"
        with pytest.raises(lineage_client.NotFound) as missing:
            supervisor.impact_analysis("NO-SUCH-ITEM", declassify=True)
        assert missing.value.message
    with lineage_client.Client(service, demo.token("p-liu-yang")) as province:
        seen = province.lineage("D-PROV-001", direction="DOWNSTREAM")
        hidden = [n for n in seen.nodes if n.redacted]
        assert len(hidden) == 7  # placeholders, in their places (D-10)
        assert all(n.item is None for n in hidden)
        assert {e.parent_id for e in seen.edges} >= {"D-PROV-001"}
    with lineage_client.Client(service, demo.token("p-li-qiang")) as official:
        with pytest.raises(lineage_client.AccessDenied) as denied:
            official.declassify(
                "S-2024-012",
                handler_id="p-zhang-wei",
                official_id="p-sun-hong",  # another person: refused
                reason="CIRCUMSTANCES_CHANGED",
                basis="工程已建成并公开报道。",
            )
        assert denied.value.requirement
        assert "。" in denied.value.message or denied.value.message
        decided = official.declassify(
            "S-2024-012",
            handler_id="p-zhang-wei",
            official_id="p-li-qiang",
            reason="CIRCUMSTANCES_CHANGED",
            basis="工程已建成并公开报道，公开后不会损害国家安全和利益。",
            expected_version=analysis.item.version,
        )
        assert decided.notice_count == analysis.total
        assert decided.record.articles
        with pytest.raises(lineage_client.Conflict):
            official.declassify(
                "S-2024-012",
                handler_id="p-zhang-wei",
                official_id="p-li-qiang",
                reason="CIRCUMSTANCES_CHANGED",
                basis="再次解密。",
                expected_version=analysis.item.version,
            )
    with lineage_client.Client(service, demo.token("p-zhao-min")) as county:
        page = county.notices(organisation_id="org-county", statuses=["PENDING"], first=2)
        assert len(page.notices) == 2
        assert page.has_next_page
        following = county.notices(
            organisation_id="org-county", statuses=["PENDING"], first=2, after=page.end_cursor
        )
        assert {n.id for n in following.notices}.isdisjoint({n.id for n in page.notices})
        notice = page.notices[0]
    with lineage_client.Client(service, demo.token("p-huang-tao")) as county_official:
        applied = county_official.apply_notice(
            notice.id, handler_id="p-zhao-min", official_id="p-huang-tao"
        )
        assert applied.item.id == notice.item_id
        assert applied.notice.status == "APPLIED"
    with lineage_client.Client(service, "lin_not-a-token") as stranger:
        with pytest.raises(lineage_client.Refused) as refused:
            stranger.item("D-COUNTY-004")
        assert (refused.value.code, refused.value.status) == ("UNAUTHENTICATED", 401)
    with (
        lineage_client.Client(f"http://127.0.0.1:{free_port()}", "lin_x", timeout=2) as nowhere,
        pytest.raises(lineage_client.Unreachable),
    ):
        nowhere.item("D-COUNTY-004")


def test_the_client_sends_documents_in_full_where_the_service_keeps_none(demo: Demo) -> None:
    settings = Settings(store=demo.url, daily_expiry=False, persisted_cache_size=0)
    with serving(settings) as base, lineage_client.Client(base, demo.token("p-zhao-min")) as c:
        assert c.item("D-COUNTY-004") is not None
        assert not c.persisted  # told PersistedQueryNotSupported once, it stops sending hashes
        assert c.item("D-COUNTY-004") is not None


def lineage(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINEAGE_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def test_lineage_remote_talks_to_a_running_service(service: str, demo: Demo) -> None:
    supervisor = demo.token("p-sun-hong")
    impact = lineage(
        "remote", "impact", "S-2024-012", "--declassify", "--url", service, "--token", supervisor
    )
    assert impact.returncode == 0, impact.stderr
    assert "影响" in impact.stdout
    assert "S-2024-012" in impact.stdout
    as_json = lineage(
        "remote",
        "impact",
        "S-2024-012",
        "--declassify",
        "--json",
        env={"LINEAGE_URL": service, "LINEAGE_TOKEN": supervisor},
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["total"] > 0
    item = lineage("remote", "item", "D-COUNTY-004", "--url", service, "--token", supervisor)
    assert item.returncode == 0, item.stderr
    assert "机密★20年" in item.stdout
    missing = lineage("remote", "item", "NO-SUCH", "--url", service, "--token", supervisor)
    assert missing.returncode == 1
    assert "D-10" in missing.stderr
    unknown = lineage(
        "remote", "impact", "NO-SUCH", "--declassify", "--url", service, "--token", supervisor
    )
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("lineage：")
    malformed = lineage(
        "remote", "impact", "S-2024-012", "--level", "HUSH", "--url", service, "--token", supervisor
    )
    assert malformed.returncode == 2
    assert "--level" in malformed.stderr
    stranger = lineage("remote", "notices", "--url", service, "--token", "lin_wrong")
    assert stranger.returncode == 2
    assert "令牌" in stranger.stderr
    nowhere = lineage(
        "remote", "notices", "--url", f"http://127.0.0.1:{free_port()}", "--token", supervisor
    )
    assert nowhere.returncode == 2
    assert "无法连接" in nowhere.stderr
    # Declassified, then the county's notices and one applied, all over the API.
    official = lineage_client.Client(service, demo.token("p-li-qiang"))
    with official:
        official.declassify(
            "S-2024-012",
            handler_id="p-zhang-wei",
            official_id="p-li-qiang",
            reason="CIRCUMSTANCES_CHANGED",
            basis="工程已建成并公开报道。",
        )
    notices = lineage(
        "remote",
        "notices",
        "--organisation",
        "org-county",
        "--status",
        "pending",
        "--first",
        "1",
        "--json",
        "--url",
        service,
        "--token",
        demo.token("p-zhao-min"),
    )
    assert notices.returncode == 0, notices.stderr
    page = json.loads(notices.stdout)
    assert page["has_next_page"]
    notice_id = page["notices"][0]["id"]
    applied = lineage(
        "remote",
        "apply",
        notice_id,
        "--handler",
        "p-zhao-min",
        "--official",
        "p-huang-tao",
        "--url",
        service,
        "--token",
        demo.token("p-huang-tao"),
    )
    assert applied.returncode == 0, applied.stderr
    assert f"已执行通知 {notice_id}" in applied.stdout
    again = lineage(
        "remote",
        "apply",
        notice_id,
        "--handler",
        "p-zhao-min",
        "--official",
        "p-huang-tao",
        "--url",
        service,
        "--token",
        demo.token("p-huang-tao"),
    )
    assert again.returncode == 1, again.stdout


def test_the_example_script_reports_an_impact(service: str, demo: Demo) -> None:
    script = ROOT / "examples" / "impact_report.py"
    env = {**os.environ, "LINEAGE_URL": service, "LINEAGE_TOKEN": demo.token("p-sun-hong")}
    ran = subprocess.run(
        [sys.executable, str(script), "S-2024-012", "--organisation", "org-county"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "解密将影响" in ran.stdout
    assert "org-county 待办通知" in ran.stdout
    refused = subprocess.run(
        [sys.executable, str(script), "NO-SUCH-ITEM"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip()


def test_over_the_websocket_only_registered_documents_run_there_too(
    registered_only: str, demo: Demo, manifest: Path
) -> None:
    entries = json.loads(manifest.read_text())["operations"]
    registered = next(e for e in entries if e["name"] == "NoticesIssued")["body"]
    free = 'subscription { noticesIssued(organisationId: "org-county") { id } }'
    ws = websocket.create_connection(
        registered_only.replace("http", "ws") + "/graphql",
        subprotocols=["graphql-transport-ws"],
        timeout=10,
    )
    try:
        init = {
            "type": "connection_init",
            "payload": {"authorization": f"Bearer {demo.token('p-zhao-min')}"},
        }
        ws.send(json.dumps(init))
        assert json.loads(ws.recv())["type"] == "connection_ack"
        ws.send(json.dumps({"id": "free", "type": "subscribe", "payload": {"query": free}}))
        refused = json.loads(ws.recv())
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        variables = {"organisationId": "org-county"}
        payload = {"query": registered, "variables": variables}
        ws.send(json.dumps({"id": "registered", "type": "subscribe", "payload": payload}))
        with lineage_client.Client(registered_only, demo.token("p-li-qiang")) as official:
            official.declassify(
                "S-2024-012",
                handler_id="p-zhang-wei",
                official_id="p-li-qiang",
                reason="CIRCUMSTANCES_CHANGED",
                basis="工程已建成并公开报道。",
            )
        issued = json.loads(ws.recv())
        assert issued["type"] == "next", issued
        assert issued["id"] == "registered"
        assert issued["payload"]["data"]["noticesIssued"]["organisationId"] == "org-county"
    finally:
        ws.close()


def test_the_readmes_client_example_runs_as_written(
    service: str, demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    section = README.read_text(encoding="utf-8").split("### Clients: persisted queries", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    code = code.replace('"http://127.0.0.1:8000"', repr(service))
    code = code.replace('token="lin_…"', f"token={demo.token('p-sun-hong')!r}")
    exec(code, {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("机密★20年：影响 "), printed
    assert printed[-1].startswith("拒绝： ROLE:OFFICIAL "), printed
    assert "定密责任人" in printed[-1], printed


def test_a_manifest_is_built_from_graphql_files_checked_against_the_schema(
    tmp_path: Path,
) -> None:
    front_end = tmp_path / "front-end"
    (front_end / "pages").mkdir(parents=True)
    (front_end / "pages" / "item.graphql").write_text(
        "fragment F on Item { id marking }\nquery Page($id: ID!) { item(id: $id) { ...F } }\n"
    )
    output = tmp_path / "persisted.json"
    built = CliRunner().invoke(
        cli, ["persisted-queries", "build", str(front_end), "-o", str(output)]
    )
    assert built.exit_code == 0, built.output
    (entry,) = json.loads(output.read_text())["operations"]
    assert (entry["name"], entry["type"]) == ("Page", "query")
    assert entry["id"] == sha(entry["body"])
    assert "fragment F on Item" in entry["body"]
    wrong = tmp_path / "wrong.graphql"
    wrong.write_text('query Wrong { item(id: "A") { secretField } }')
    refused = CliRunner().invoke(cli, ["persisted-queries", "build", str(wrong)])
    assert refused.exit_code == 1
    assert "Wrong" in refused.output
    assert "secretField" in refused.output
    nothing = CliRunner().invoke(cli, ["persisted-queries", "build"])
    assert nothing.exit_code == 2


def test_the_client_asks_for_no_deprecated_field() -> None:
    """The operations it sends are valid against the served schema and use no field that is
    announced for removal (README, API conventions): a client we ship must not break when a
    deprecation ends."""
    from graphql import parse, validate
    from graphql.validation import NoDeprecatedCustomRule

    from service.api.schema import schema as served

    text = (Path(lineage_client.__file__).parent / "client.graphql").read_text(encoding="utf-8")
    errors = validate(served._schema, parse(text))
    assert errors == []
    deprecated = validate(served._schema, parse(text), [NoDeprecatedCustomRule])
    assert [e.message for e in deprecated] == []
