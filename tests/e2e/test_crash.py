"""Crash safety (issue 9, item 1): the server is killed (SIGKILL) in the middle of a large
fan-out commit, on each store; after a restart the change and all of its notices exist or
none of them do, and the same request then goes through to completion. Likewise an import
killed midway keeps whole batches and goes on with `--resume`.

The server is the real console script in a process of its own; the kill is a real SIGKILL
sent from outside, while the commit is writing: on the embedded store the test sees the
write lock held at the moment it kills, and on both stores the answer never came."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from bench import lineages
from graph.access import SYSTEM, Role
from graph.change import NoticeStatus
from graph.model import BasisCase, Derivation, Item, ItemKind, ItemStatus
from graph.store import exchange
from graph.store.base import ItemQuery, NoticeQuery
from service.accounts import NewUser, add_user
from service.composition import open_store, sqlite_path
from service.transfer import BATCH, PROGRESS, Progress, export_graph, import_graph
from service.usecases import NewPerson, register_person
from tests.e2e.test_server import LINEAGE_SCRIPT, free_port, wait_until_up

# Items derived from the national source alone: each must act when it is declassified, so
# the commit writes this many notices (about a second on either store on this machine, since
# notices are written in bulk: issue 24).
STAR = 20_000
# How long after the request the kill comes: well inside the commit's writing.
KILL_AFTER = 0.35
# Items of the star an import is killed in the middle of: about 40,000 lines, 40 batches.
IMPORTED = 20_000

DECLASSIFY = """mutation($input: DeclassifyInput!) { declassify(input: $input) {
  __typename ... on ChangeCommitted { noticeCount change { id } } ... on Problem { message } } }"""
DRY_RUN = """query($id: ID!) { impactAnalysis(change: {itemId: $id, declassify: true}) {
  __typename ... on ImpactAnalysis { total } ... on Problem { message } } }"""
DECISION = {
    "itemId": lineages.ROOT,
    "handlerId": "crash-handler",
    "reason": "CIRCUMSTANCES_CHANGED",
    "basis": "崩溃测试：该事项因情势变化不再需要作为国家秘密（X-12(2)）",
    "approvalReference": "崩溃测试批准〔2026〕1号",
}


def star_lines(children: int) -> Iterator[str]:
    """bench.lineages' organisations, persons, scope rules and national source, then
    `children` items derived from that source alone."""
    root: Item | None = None
    for line in lineages.lines(200):
        if line["kind"] == "item" and line["id"] != lineages.ROOT:
            break
        if line["kind"] == "item":
            decoded = exchange.decode(line)
            assert isinstance(decoded, Item)
            root = decoded
        yield exchange.dumps(line) + "\n"
    assert root is not None
    for k in range(children):
        item = dataclasses.replace(
            root,
            id=f"D-STAR-{k:05d}",
            kind=ItemKind.DERIVED,
            title=f"派生事项 {k}",
            document_number=f"星〔2026〕{k}号",
        )
        yield exchange.dumps(exchange.encode(item)) + "\n"
        edge = Derivation(item.id, root.id, BasisCase.SUMMARY)
        yield exchange.dumps(exchange.encode(edge)) + "\n"


@pytest.fixture
def star(db_url: str) -> str:
    """The star imported into a store of each kind, with a handler and an official of the
    source's organisation; the official's token."""
    store = open_store(db_url)
    try:
        import_graph(store, star_lines(STAR))
        root = store.read(lambda tx: tx.items([lineages.ROOT])[lineages.ROOT])
        register_person(store, NewPerson("crash-handler", "承办人", root.organisation_id), SYSTEM)
        register_person(
            store, NewPerson("crash-official", "定密责任人", root.organisation_id), SYSTEM
        )
        add_user(
            store, NewUser("crash-handler", frozenset({Role.HANDLER}), person_id="crash-handler")
        )
        command = NewUser("crash-official", frozenset({Role.OFFICIAL}), person_id="crash-official")
        return add_user(store, command).bearer
    finally:
        store.close()


class Served:
    """`lineage serve` on a free port, in a process of its own."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LINEAGE_STORE": url, "LINEAGE_DAILY_EXPIRY": "false"}
        self._log = log.open("a")
        self.process = subprocess.Popen(
            [str(LINEAGE_SCRIPT), "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until_up(self.base + "/healthz", deadline=60)

    def gql(self, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = httpx2.post(
            self.base + "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        )
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self._log.close()


def held_write_lock(url: str) -> bool:
    """Whether another connection holds the embedded store's write lock (it is mid-write)."""
    probe = sqlite3.connect(sqlite_path(url), timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    finally:
        probe.close()
    return False


def written(url: str) -> tuple[int, int, ItemStatus]:
    """The source's changes, the notices any change of it sent, and its status."""
    store = open_store(url)
    try:

        def read(tx: Any) -> tuple[int, int, ItemStatus]:
            changes = tx.changes_of([lineages.ROOT])
            notices = tx.find_notices(NoticeQuery(source_id=lineages.ROOT, limit=None))
            assert all(n.status is NoticeStatus.PENDING for n in notices)
            root = tx.items([lineages.ROOT])[lineages.ROOT]
            return len(changes), len(notices), root.status

        result: tuple[int, int, ItemStatus] = store.read(read)
        return result
    finally:
        store.close()


def test_a_fan_out_killed_mid_commit_is_whole_or_absent_and_goes_through_after(
    db_url: str, star: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    server = Served(db_url, log)
    try:
        # The dry run reads the lineage and items into the server's memory first, so that
        # the commit's own time is mostly its writing.
        dry = server.gql(star, DRY_RUN, {"id": lineages.ROOT})["impactAnalysis"]
        assert dry == {"__typename": "ImpactAnalysis", "total": STAR}
        answers: list[object] = []

        def commit() -> None:
            try:
                answers.append(server.gql(star, DECLASSIFY, {"input": DECISION}))
            except httpx2.TransportError as error:
                answers.append(error)

        sender = threading.Thread(target=commit)
        sender.start()
        time.sleep(KILL_AFTER)
        mid_write = held_write_lock(db_url) if db_url.startswith("sqlite") else None
        server.kill()
        sender.join(timeout=30)
    finally:
        server.stop()
    assert mid_write is not False, "the commit was not writing when the server was killed"
    assert len(answers) == 1
    assert isinstance(answers[0], httpx2.TransportError), (
        f"the commit answered before the kill ({answers[0]}): raise STAR or lower KILL_AFTER"
    )

    # A change of a source and its notices are one transaction (X-13, D-13): all or none.
    changes, notices, status = written(db_url)
    assert (changes, notices) in {(0, 0), (1, STAR)}
    assert (changes, notices, status) == (0, 0, ItemStatus.CLASSIFIED), (
        "killed mid-write, the commit cannot have committed"
    )

    server = Served(db_url, log)
    try:
        retried = server.gql(star, DECLASSIFY, {"input": DECISION})["declassify"]
    finally:
        server.stop()
    assert retried["__typename"] == "ChangeCommitted", retried
    assert retried["noticeCount"] == STAR
    assert written(db_url) == (1, STAR, ItemStatus.DECLASSIFIED_WORK_SECRET)


def stored(url: str) -> tuple[Progress | None, set[str]]:
    """How far an import into the store got, and the ids of the items it holds."""
    store = open_store(url)
    try:

        def read(tx: Any) -> tuple[Progress | None, set[str]]:
            noted = tx.memo(PROGRESS)
            items = tx.find_items(ItemQuery(limit=1_000_000))
            return (None if noted is None else Progress.decoded(noted)), {i.id for i in items}

        result: tuple[Progress | None, set[str]] = store.read(read)
        return result
    finally:
        store.close()


def test_an_import_killed_midway_keeps_whole_batches_and_goes_on_with_resume(
    db_url: str, tmp_path: Path
) -> None:
    """`lineage import` killed (SIGKILL) after a few of its batches: the store holds exactly
    the items of the lines up to the last batch it noted, and `--resume` with the same file
    completes it; the store then holds what the file holds. (Into an empty embedded store
    the import goes in bulk, in one transaction: the test below.)"""
    if db_url.startswith("sqlite"):
        pytest.skip("an empty embedded store imports in bulk: see the test of the bulk import")
    file = tmp_path / "star.jsonl"
    lines = list(star_lines(IMPORTED))
    file.write_text("".join(lines), encoding="utf-8")
    command = [str(LINEAGE_SCRIPT), "import", str(file), "--store", db_url]
    importing = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and importing.poll() is None:
            progress, _ = stored(db_url) if _started(db_url) else (None, set())
            if progress is not None and progress.line >= 3 * BATCH:
                break
            time.sleep(0.02)
        running = importing.poll() is None
        importing.send_signal(signal.SIGKILL)
        importing.wait(timeout=30)
    finally:
        if importing.stderr is not None:
            importing.stderr.close()
    assert running, "the import ended before the kill: raise IMPORTED"

    progress, items = stored(db_url)
    assert progress is not None
    assert not progress.done
    assert (progress.line - 1) % BATCH == 0  # whole batches of the lines after the header
    noted = {json.loads(line)["id"] for line in lines[: progress.line] if '"kind":"item"' in line}
    assert items == noted

    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 1, again.stdout
    assert "--resume" in " ".join(again.stderr.replace("│", " ").split())
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    progress, items = stored(db_url)
    assert progress is not None
    assert progress.done
    assert len(items) == IMPORTED + 1
    store = open_store(db_url)
    try:
        exported: list[str] = []
        export_graph(store, exported.append)
    finally:
        store.close()
    assert sorted("".join(exported).splitlines()[1:]) == sorted(
        line.rstrip("\n") for line in lines[1:]
    )


def test_a_bulk_import_killed_midway_leaves_the_store_empty(tmp_path: Path) -> None:
    """`lineage import` into an empty embedded store killed (SIGKILL) while it loads: its one
    transaction never committed, so the store is empty and holds no progress; the same command
    again imports the whole file."""
    file = tmp_path / "star.jsonl"
    lines = list(star_lines(IMPORTED))
    file.write_text("".join(lines), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'bulk.db'}"
    command = [str(LINEAGE_SCRIPT), "import", str(file), "--store", db_url]
    often = {**os.environ, "LINEAGE_PROGRESS_SECONDS": "0.000001"}
    importing = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=often
    )
    try:
        assert importing.stderr is not None
        # The plain progress lines on stderr tell how far it read (service.progress).
        for said in importing.stderr:
            if "导入：" in said and "/" in said and not said.startswith("导入：1/"):
                break
        running = importing.poll() is None
        importing.send_signal(signal.SIGKILL)
        importing.wait(timeout=30)
    finally:
        if importing.stderr is not None:
            importing.stderr.close()
    assert running, "the import ended before the kill: raise IMPORTED"
    assert stored(db_url) == (None, set())

    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    progress, items = stored(db_url)
    assert progress is not None
    assert progress.done
    assert len(items) == IMPORTED + 1


def _started(url: str) -> bool:
    """Whether the import has made the store yet (opening it first would race its migration)."""
    return not url.startswith("sqlite") or sqlite_path(url).exists()
