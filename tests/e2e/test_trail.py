"""The audit trail a supervisor can trust (issue 21, point 6), end to end on both stores: a read
that names ids and gets nothing (null, NotFound, an empty list, a refusal) is recorded with
the ids asked, and found by them; the daily run notes an anchor, and `lineage trail verify`
passes on the trail as written and fails, naming the first break, once a tail is cut off
behind the service's back; and through a real uvicorn server, as `lineage serve` runs it, a
client is recorded by its own address unless its peer is a trusted proxy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.trail import AuditQuery
from service import anchors
from service.app import create_app
from service.cli import app as cli
from service.cli import server_options
from service.composition import open_store
from service.config import Settings
from tests.e2e.conftest import Api, Gql
from tests.e2e.test_server import demo_token, free_port, wait_until_up
from tests.tampering import Attacker

TRAIL = """
query($filter: AuditFilter) {
  auditTrail(filter: $filter, first: 100) {
    ... on AuditEventConnection {
      edges { node { action outcome userId itemIds askedIds detail } }
    }
    ... on Problem { message }
  }
}"""

# Probes by the county's handler for what it may not read or what is not there, each with
# the id (or ids) a supervisor will look for: (query, variables, ids asked).
HIDDEN_SOURCE, HIDDEN_OPINION = "S-2024-012", "D-PROV-001"
PROBES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ('{ item(id: "D-PROV-001") { id title } }', {}, (HIDDEN_OPINION,)),
    ("query($id: ID!) { item(id: $id) { id } }", {"id": "D-NEVER-WAS"}, ("D-NEVER-WAS",)),
    ('{ keypoint(id: "K-NEVER-WAS") { id title } }', {}, ("K-NEVER-WAS",)),
    (
        '{ lineage(id: "S-2024-012") { __typename ... on Problem { message } } }',
        {},
        (HIDDEN_SOURCE,),
    ),
    ('{ notice(id: "N-NEVER-WAS") { id } }', {}, ("N-NEVER-WAS",)),
    ('{ change(id: "C-NEVER-WAS") { id } }', {}, ("C-NEVER-WAS",)),
    (
        "query($c: ProposedChangeInput!) { impactAnalysis(change: $c) { __typename } }",
        {"c": {"itemId": HIDDEN_SOURCE, "declassify": True}},
        (HIDDEN_SOURCE,),
    ),
    ('{ recordForm(recordId: "R-NEVER-WAS") { __typename } }', {}, ("R-NEVER-WAS",)),
    (
        "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { __typename } }",
        {"ids": ["R-NEVER-1", "R-NEVER-2"]},
        ("R-NEVER-1", "R-NEVER-2"),
    ),
    (
        '{ notices(filter: {itemId: "D-PROV-001"}) { ... on NoticeConnection '
        "{ edges { node { id } } } } }",
        {},
        (HIDDEN_OPINION,),
    ),
    (
        '{ lineageExport(id: "S-2024-012", format: DOT) { __typename } }',
        {},
        (HIDDEN_SOURCE,),
    ),
    # However the document is put together: through a fragment, an alias.
    (
        'query { ...probe } fragment probe on Query { secret: item(id: "S-2023-007") { id } }',
        {},
        ("S-2023-007",),
    ),
]


def trail(gql: Gql, item_id: str) -> list[dict[str, Any]]:
    found = gql(TRAIL, {"filter": {"itemId": item_id}}, as_="p-sun-hong")["auditTrail"]
    return [e["node"] for e in found["edges"]]


def test_reads_that_name_ids_and_get_nothing_are_recorded_with_the_ids_asked(
    demo_gql: Api,
) -> None:
    for query, variables, _ in PROBES:
        body = demo_gql.post(query, variables, as_="p-zhao-min")
        assert "errors" not in body, body
    for query, _, ids in PROBES:
        for asked in ids:
            events = [e for e in trail(demo_gql, asked) if e["userId"] == "p-zhao-min"]
            assert events, (query, asked)
            probe = events[0]
            assert set(ids) <= set(probe["askedIds"]), (query, probe)
            assert asked not in probe["itemIds"], (query, probe)
            assert probe["outcome"] in {"OK", "REFUSED", "DENIED"}, probe
            if probe["outcome"] == "OK":
                assert probe["detail"] == "NOTHING_SHOWN", probe
    # A read that showed what it asked for names it both ways.
    demo_gql('{ item(id: "D-COUNTY-004") { id } }', as_="p-zhao-min")
    (read,) = [e for e in trail(demo_gql, "D-COUNTY-004") if e["userId"] == "p-zhao-min"]
    assert (read["itemIds"], read["askedIds"], read["detail"]) == (
        ["D-COUNTY-004"],
        ["D-COUNTY-004"],
        "",
    )
    # A refused write names what it asked for too.
    refused = demo_gql.post(
        'mutation { acknowledgeNotice(noticeId: "N-NEVER-WAS") { __typename } }',
        as_="p-zhao-min",
    )
    assert "errors" not in refused, refused
    written = [e for e in trail(demo_gql, "N-NEVER-WAS") if e["action"].startswith("mutation")]
    assert written[0]["askedIds"] == ["N-NEVER-WAS"]
    assert written[0]["outcome"] in {"REFUSED", "DENIED"}


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_the_daily_run_anchors_the_chain_and_verify_finds_a_cut_tail(db_url: str) -> None:
    code, said = _cli("demo", "--store", db_url)  # recorded: the chain has its first event
    assert code == 0, said
    with TestClient(create_app(Settings(store=db_url, daily_expiry=True))) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        deadline = time.monotonic() + 30
        while not anchors.stored(store) and time.monotonic() < deadline:
            time.sleep(0.05)
        (anchor,) = anchors.stored(store)
    code, said = _cli("trail", "verify", "--store", db_url)
    assert code == 0, said
    assert "审计链完好" in said
    assert "锚点 1 个" in said
    anchored = CliRunner().invoke(cli, ["trail", "anchor", "--store", db_url])
    assert anchored.exit_code == 0, anchored.output
    # `lineage trail verify --anchor` takes it as printed on standard output (a log line of
    # the command, if logging is on, goes to standard error)
    shipped = anchored.stdout.strip()
    store = open_store(db_url)
    try:
        head, _ = store.trail_head()
        assert shipped == f"{head.seq}:{head.digest}"
        assert head.seq > anchor.seq
        # Behind the service's back: the events after the daily anchor removed, the head
        # set back to agree.
        Attacker(store).cut_tail(anchor.seq - 1, head_too=True)
    finally:
        store.close()
    code, said = _cli("trail", "verify", "--store", db_url, "--anchor", shipped)
    assert code == 1, said
    assert "第一处断裂（末尾事件被删除）" in said
    assert f"第 {anchor.seq} 位" in said
    # The check is recorded in the trail, with what it found.
    store = open_store(db_url)
    try:
        (checked, *_) = [
            e for e in store.audit_events(AuditQuery(limit=10)) if e.action == "cli trail verify"
        ]
        assert "断裂" in checked.detail
    finally:
        store.close()


@contextmanager
def serving(url: str, **settings: Any) -> Iterator[str]:
    """The app on `url` under uvicorn with `lineage serve`'s options, on a free port."""
    chosen = Settings(store=url, daily_expiry=False, port=free_port(), **settings)
    options = server_options(chosen)
    options["log_level"] = "warning"
    server = uvicorn.Server(uvicorn.Config(create_app(chosen), **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{chosen.port}"
    try:
        wait_until_up(base + "/healthz")
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_client_is_recorded_by_its_own_address_unless_its_peer_is_a_trusted_proxy(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    code, said = _cli("demo", "--store", url)
    assert code == 0, said
    token = demo_token(said, "p-zhao-min")

    def probe(base: str, marker: str, forwarded: str) -> str:
        response = httpx2.post(
            base + "/graphql",
            json={"query": f'{{ item(id: "{marker}") {{ id }} }}'},
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": forwarded},
        )
        assert response.status_code == 200, response.text
        store = open_store(url)
        try:
            (found,) = store.audit_events(AuditQuery(item_id=marker))
        finally:
            store.close()
        return found.address

    with serving(url) as base:  # no trusted proxy: the header is anyone's word
        address = probe(base, "P-UNTRUSTED", "203.0.113.9")
        assert address.startswith("127.0.0.1:"), address
        assert "203.0.113.9" not in address
    with serving(url, trusted_proxies=["127.0.0.1"]) as base:
        assert probe(base, "P-TRUSTED", "203.0.113.9").startswith("203.0.113.9（经 127.0.0.1:")
        # What the client wrote itself, left of what the proxy appended, is not believed.
        spoofed = probe(base, "P-SPOOFED", "198.51.100.66, 203.0.113.9")
        assert spoofed.startswith("203.0.113.9（经"), spoofed
