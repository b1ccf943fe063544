"""The audit trail a supervisor can trust (issue 21, point 6), end to end on both stores: a read
that names ids and gets nothing (null, NotFound, an empty list, a refusal) is recorded with
the ids asked, and found by them; the daily run notes an anchor, and `lineage trail verify`
passes on the trail as written and fails, naming the first break, once a tail is cut off
behind the service's back."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.trail import AuditQuery
from service import anchors
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from tests.e2e.conftest import Api, Gql
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
    code, said = _cli("trail", "anchor", "--store", db_url)
    assert code == 0, said
    shipped = said.strip()  # `lineage trail verify --anchor` takes it as printed
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
