"""`lineage backup` and `lineage restore` of the embedded store (issue 9, item 7): a backup
taken while a real server writes is one consistent state of the graph and its trail; a
restore gives back what the backup holds, and never rolls back the audit trail or a
revocation. Real SQLite files and a real uvicorn server on loopback; nothing is faked."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.grant import GrantStatus
from graph.store.sqlite import SqliteStore, trail_path
from graph.trail import Outcome
from service import anchors
from service.accounts import (
    Unauthenticated,
    actor_of_person,
    authenticate,
    issue_token,
    revoke_user,
)
from service.app import create_app
from service.auditing import event
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.grants import reject_grant
from service.transfer import export_graph
from service.usecases import NewOrganisation, NewPerson, register_organisation, register_person
from tests.e2e.conftest import TEST_BUREAU, enrol_tester
from tests.e2e.test_server import free_port, wait_until_up

REGISTER = """mutation($id: ID!) { registerPerson(input: {id: $id, name: "备份测试员",
  organisationId: "org-test-bureau"}) { __typename } }"""


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def refused(*args: str, code: int = 2) -> str:
    """The message of a command refused: 2 when it cannot run as given (a file missing, data
    in the store without --replace), 1 when the backup itself is refused."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return " ".join(result.output.replace("│", " ").split())


def body(url: str) -> list[str]:
    """Everything the store holds, as `lineage export` writes it, without the header's time."""
    store = open_store(url)
    try:
        lines: list[str] = []
        export_graph(store, lines.append)
    finally:
        store.close()
    return "".join(lines).splitlines()[1:]


def persons(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT id FROM persons WHERE id LIKE 'bk-%'")}


def actions(path: Path) -> list[str]:
    assert trail_path(path).exists()
    with sqlite3.connect(trail_path(path)) as db:
        return [row[0] for row in db.execute("SELECT action FROM audit_events ORDER BY seq")]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A store with the demo data and the tester, served by uvicorn on a free port: its URL
    the tester's token and the server's address."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    store = open_store(url)
    load_demo(store)
    token = enrol_tester(store)
    store.close()
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(store=url)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    yield url, token, base
    server.should_exit = True
    thread.join(timeout=10)


def test_a_backup_taken_while_the_service_writes_is_one_consistent_state(
    live: tuple[str, str, str], tmp_path: Path
) -> None:
    """Persons are registered one after another over HTTP while the backup runs: the backup
    holds exactly the first k of them, for some k, and its trail the event of each."""
    url, token, base = live
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        with httpx2.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                person = f"bk-{len(written):05d}"
                answer = http.post(
                    "/graphql",
                    json={"query": REGISTER, "variables": {"id": person}},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.json()["data"]["registerPerson"]["__typename"] == (
                    "RegisterPersonSuccess"
                )
                written.append(person)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        output = run("backup", str(tmp_path / "b" / "during.db"), "--store", url)
        after = len(written)
        while len(written) < after + 5:
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert "已备份" in output
    backup = tmp_path / "b" / "during.db"
    held = persons(backup)
    assert 20 <= len(held) < len(written), "the writes went on after the backup"
    assert held == {f"bk-{n:05d}" for n in range(len(held))}
    registered = [a for a in actions(backup) if "registerPerson" in a]
    assert len(registered) >= len(held)
    assert "cli backup" in actions(backup)  # the backup says who took it
    with sqlite3.connect(backup) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list((tmp_path / "b").glob("*.part"))


def test_a_restored_store_holds_what_the_backup_holds_and_serves_it(
    live: tuple[str, str, str], tmp_path: Path
) -> None:
    url, token, _ = live
    backup = tmp_path / "b.db"
    run("backup", str(backup), "--store", url)
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    output = run("restore", str(backup), "--store", restored)
    assert "已从" in output
    assert body(restored) == body(url)
    store = open_store(restored)
    try:
        assert authenticate(store, token).user_id == "tester"
    finally:
        store.close()
    assert actions(tmp_path / "restored.db")[-2:] == ["cli backup", "cli restore"]


def test_a_store_with_data_is_replaced_only_when_told_and_keeps_its_trail_and_revocations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "live.db"
    url = f"sqlite:///{path}"
    store = open_store(url)
    load_demo(store)
    token = enrol_tester(store)
    other = issue_token(store, "tester", revoke_others=False).bearer
    placed = NewOrganisation("org-bk", "备份测试单位", superior_id="org-ministry")
    filed = register_organisation(store, placed, SYSTEM).grant
    assert filed is not None
    store.close()
    backup = tmp_path / "b.db"
    run("backup", str(backup), "--store", url)
    at_backup = body(url)

    store = open_store(url)
    register_person(store, NewPerson("bk-after", "备份后登记", TEST_BUREAU), SYSTEM)
    revoke_user(store, "tester")
    # A request to widen reading rejected after the backup is not pending again after it.
    reject_grant(store, filed.grant.id, "不予批准。", actor_of_person(store, "p-sun-hong"))
    store.close()
    trail_before = actions(path)

    message = refused("restore", str(backup), "--store", url)
    assert "已有数据" in message
    assert "--replace" in message
    assert persons(path) == {"bk-after"}, "a refused restore changes nothing"

    run("restore", str(backup), "--store", url, "--replace")
    assert body(url) == at_backup
    trail_after = actions(path)
    assert trail_after[: len(trail_before)] == trail_before, "the trail is never rolled back"
    assert trail_after[-1] == "cli restore"
    store = open_store(url)
    try:
        for bearer in (token, other):
            with pytest.raises(Unauthenticated):
                authenticate(store, bearer)
        kept = store.read(lambda tx: tx.grants([filed.grant.id]))[filed.grant.id]
        assert (kept.status, kept.decided_by, kept.reason) == (
            GrantStatus.REJECTED,
            "p-sun-hong",
            "不予批准。",
        )
    finally:
        store.close()


def test_the_backups_events_the_stores_trail_lacks_are_added_to_it(tmp_path: Path) -> None:
    """A backup of another store (or of this one from before its trail was lost): the trail
    keeps its own events and gains the backup's, each once, at the end of its hash chain,
    linked anew; the chain stays whole, and the store's anchors stay its own."""
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    for path in (first, second):
        store = SqliteStore(path)
        load_demo(store)
        store.append_audit([event(SYSTEM, f"load {path.stem}", Outcome.OK)])
        assert anchors.record(store) is not None
        store.close()
    run("backup", str(tmp_path / "first-b.db"), "--store", f"sqlite:///{first}")
    own = actions(second)
    theirs = actions(tmp_path / "first-b.db")
    said = run(
        "restore", str(tmp_path / "first-b.db"), "--store", f"sqlite:///{second}", "--replace"
    )
    assert f"其中本存储没有的 {len(theirs)} 条已并入其审计日志" in said
    assert actions(second) == [*own, *theirs, "cli restore"]
    store = SqliteStore(second)
    try:
        verdict = anchors.verify(store)
        assert verdict.intact, verdict.breaks
        assert verdict.checked == len(own) + len(theirs) + 1
        # The store's anchor before the restore, and the restore's own; not the backup's.
        assert [a.seq for a in anchors.stored(store)] == [len(own), verdict.head.seq]
    finally:
        store.close()
    # Restored again, nothing is added twice, and the chain is still whole.
    run("restore", str(tmp_path / "first-b.db"), "--store", f"sqlite:///{second}", "--replace")
    assert actions(second) == [*own, *theirs, "cli restore", "cli restore"]
    assert "审计链完好" in run("trail", "verify", "--store", f"sqlite:///{second}")


def test_a_process_that_had_the_store_open_does_not_answer_from_memory(tmp_path: Path) -> None:
    """A backup whose generations happen to equal the store's, as two files' counters do when
    they were written as often (set by hand here): the restore moves them past both, so the
    store's cache, kept for the store's generation, is not taken for the restored file's."""
    empty = tmp_path / "empty.db"
    SqliteStore(empty).close()
    backup = tmp_path / "b.db"
    run("backup", str(backup), "--store", f"sqlite:///{empty}")
    path = tmp_path / "live.db"
    store = SqliteStore(path)
    load_demo(store)
    with sqlite3.connect(path) as db:
        counters = db.execute("SELECT name, value FROM generations").fetchall()
    with sqlite3.connect(backup) as db:
        db.executemany(
            "UPDATE generations SET value = ? WHERE name = ?", [(v, n) for n, v in counters]
        )
    assert store.read(lambda tx: tx.items(["D-INST-002"])) != {}  # now kept in memory
    run("restore", str(backup), "--store", f"sqlite:///{path}", "--replace")
    try:
        assert store.read(lambda tx: tx.items(["D-INST-002"])) == {}
    finally:
        store.close()


def test_what_is_not_a_whole_backup_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    target = tmp_path / "target.db"
    url = f"sqlite:///{target}"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, " * 512)
    trail_path(garbage).write_bytes(b"nor this")
    assert "不是完好的血缘服务备份" in refused("restore", str(garbage), "--store", url, code=1)
    assert "不存在" in refused("restore", str(tmp_path / "missing.db"), "--store", url)

    source = tmp_path / "source.db"
    SqliteStore(source).close()
    run("backup", str(tmp_path / "whole.db"), "--store", f"sqlite:///{source}")
    trail_path(tmp_path / "whole.db").unlink()
    assert "不存在" in refused("restore", str(tmp_path / "whole.db"), "--store", url, code=1)

    run("backup", str(tmp_path / "newer.db"), "--store", f"sqlite:///{source}")
    with sqlite3.connect(tmp_path / "newer.db") as db:
        db.execute("PRAGMA user_version = 99")
    assert "结构版本为 99" in refused("restore", str(tmp_path / "newer.db"), "--store", url, code=1)
    assert not target.exists()

    assert "已存在" in refused(
        "backup", str(tmp_path / "newer.db"), "--store", f"sqlite:///{source}"
    )


def test_a_neo4j_store_is_sent_to_its_own_tools() -> None:
    for command in ("backup", "restore"):
        message = refused(command, "x.db", "--store", "neo4j://localhost:7687")
        assert "neo4j-admin" in message
        assert "备份与恢复" in message
