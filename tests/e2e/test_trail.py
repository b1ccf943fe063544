"""The audit trail a supervisor can trust (issue 21, point 6), end to end on both stores: the
daily run notes an anchor, and `lineage trail verify` passes on the trail as written and
fails, naming the first break, once a tail is cut off behind the service's back."""

from __future__ import annotations

import time

from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.trail import AuditQuery
from service import anchors
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from tests.tampering import Attacker


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
