"""Backup and restore of the embedded store: the graph file and its audit trail (issue 9).

A backup is taken with SQLite's online backup API from a read transaction, so it is one
consistent state of each file while the service goes on writing (in WAL mode readers do not
block writers). The graph is copied first and the trail after it, so the trail of a backup
holds the event of every write the graph holds. Each file is written beside its final name,
checked (`PRAGMA integrity_check`) and only then renamed into place: a backup cut short
leaves no file that looks whole.

A restore never takes from the security office what happened after the backup:

- the audit trail is never rolled back: the store's own trail is kept and the backup's events
  it lacks are appended to it, at the end of its hash chain and linked anew (their places and
  digests are the store's; their times and fields as the backup holds them), so the chain
  stays whole; the store's anchors of its chain stay too, and the backup's, which anchor
  another copy of the trail, are dropped;
- a user or token revoked since the backup stays revoked, and a request to widen reading
  rejected since stays rejected (graph.grant);
- every cached table's generation moves past both files' values, so that no process that
  had the store open answers from what it kept in memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from graph.chain import ANCHOR_PREFIX
from graph.errors import InvalidValue, StoreVersionError
from graph.store.base import GraphWriter
from graph.store.sqlite import MIGRATIONS, SqliteStore, merge_trail, trail_path

# Told how far a copy got: (pages done, pages in all).
OnProgress = Callable[[int, int | None], object]
# Pages a step of a copy that reports its progress: 16 MiB of 4 KiB pages.
STEP = 4096


@dataclass(frozen=True)
class Snapshot:
    """A store's files as a backup holds them, checked."""

    graph: Path
    trail: Path
    version: int  # the schema version (PRAGMA user_version)
    items: int
    events: int
    merged: int = 0  # of its events, those a restore appended to the store's trail


def backup(store: Path, destination: Path, on_progress: OnProgress | None = None) -> Snapshot:
    """Copies the store at `store` (graph and trail) to `destination` and the trail beside
    it; never overwrites. `on_progress` hears of the pages copied, of both files."""
    targets = (destination, trail_path(destination))
    for target in targets:
        if target.exists():
            raise InvalidValue(
                "destination", f"备份文件 {target} 已存在：备份从不覆盖，请换一个文件名。"
            )
    if not store.exists():
        raise InvalidValue("store", f"存储文件 {store} 不存在，无可备份。")
    if not trail_path(store).exists():
        raise InvalidValue(
            "store", f"存储 {store} 缺少审计日志 {trail_path(store)}，无法完整备份。"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    told = _Pages(on_progress, (store, trail_path(store)))
    for source, target in zip((store, trail_path(store)), targets, strict=True):
        _copy(source, target, told.next())
    return inspect(destination)


def inspect(graph: Path) -> Snapshot:
    """The backup at `graph` with its trail, refused unless both are whole files of a schema
    this program knows."""
    trail = trail_path(graph)
    for path in (graph, trail):
        if not path.is_file():
            raise InvalidValue("backup", f"备份文件 {path} 不存在。")
    with _opened(graph) as connection:
        version = _checked(connection, graph, "items")
        items = connection.execute("SELECT count(*) FROM items").fetchone()[0]
    if not 1 <= version <= len(MIGRATIONS):
        raise StoreVersionError(
            f"备份 {graph} 的结构版本为 {version}，本程序支持 1 至 {len(MIGRATIONS)}："
            "请用写出它的版本或更新的版本恢复。"
        )
    with _opened(trail) as connection:
        _checked(connection, trail, "audit_events")
        events = connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    return Snapshot(graph, trail, version, items, events)


def restore(
    source: Path, store: Path, *, replace: bool = False, on_progress: OnProgress | None = None
) -> Snapshot:
    """Writes the backup at `source` into the store at `store`. A store that holds anything
    is replaced only with `replace`; see the module's note for what is kept. `on_progress`
    hears of the pages copied, once the backup is checked."""
    snapshot = inspect(source)
    trail = trail_path(store)
    if store.exists() and _holds_anything(store) and not replace:
        raise InvalidValue(
            "store",
            f"存储 {store} 已有数据：恢复将以备份替换其全部内容。"
            "请先停止服务，确认后加 --replace。",
        )
    store.parent.mkdir(parents=True, exist_ok=True)
    merged = 0
    kept: list[tuple[str, str]] | None = None  # the store's anchors, where its trail stays
    copied = (snapshot.graph,) if trail.exists() else (snapshot.trail, snapshot.graph)
    told = _Pages(on_progress, copied)
    if trail.exists():
        kept = _anchors(store) if store.exists() else []
        merged = merge_trail(snapshot.trail, trail)
    else:
        _copy(snapshot.trail, trail, told.next())
        merged = snapshot.events
    if store.exists():
        _replace_graph(snapshot.graph, store, told.next())
    else:
        _copy(snapshot.graph, store, told.next())
    # Opening it brings an older backup's schema up to this program's.
    opened = SqliteStore(store)
    try:
        if kept is not None:
            opened.write(lambda tx: _put_anchors(tx, kept))
    finally:
        opened.close()
    return dataclasses.replace(snapshot, merged=merged)


class _Pages:
    """The pages a copy of several files, one after the other in the order given, has done,
    told to `on_progress` as one count."""

    def __init__(self, on_progress: OnProgress | None, files: tuple[Path, ...]) -> None:
        self._on_progress = on_progress
        self._left = [_page_count(path) for path in files] if on_progress else []
        self._before = 0

    def next(self) -> Callable[[int, int], None] | None:
        """The callback of the copy of the next file (SQLite's pages done and in all)."""
        told = self._on_progress
        if told is None:
            return None
        self._left.pop(0)
        before, after = self._before, sum(self._left)

        def step(done: int, total: int) -> None:
            told(before + done, before + total + after)
            self._before = before + total

        return step


def _page_count(path: Path) -> int:
    with _opened(path) as connection:
        count: int = connection.execute("PRAGMA page_count").fetchone()[0]
    return count


def _stepwise(
    reading: sqlite3.Connection,
    writing: sqlite3.Connection,
    on_pages: Callable[[int, int], None] | None,
) -> None:
    """SQLite's online backup, in one step, or in steps that report their progress. The steps
    read within one read transaction, so they copy one consistent state as one step does
    while the service goes on writing (in WAL mode a reader does not block writers, and a
    write of another connection does not restart a copy whose source keeps its snapshot)."""
    if on_pages is None:
        reading.backup(writing)
        return
    reading.execute("BEGIN")
    try:
        reading.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # takes the snapshot
        on_pages(0, _pages_of(reading))
        reading.backup(
            writing,
            pages=STEP,
            progress=lambda _, remaining, total: on_pages(total - remaining, total),
        )
    finally:
        reading.execute("COMMIT")


def _pages_of(connection: sqlite3.Connection) -> int:
    count: int = connection.execute("PRAGMA page_count").fetchone()[0]
    return count


def _copy(source: Path, target: Path, on_pages: Callable[[int, int], None] | None = None) -> None:
    """`source` as one consistent state, into `target` by way of a checked file beside it."""
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    try:
        with _opened(source) as reading, contextlib.closing(sqlite3.connect(part)) as writing:
            _stepwise(reading, writing, on_pages)
            # A backup is one self-contained file, without a write-ahead log beside it.
            writing.execute("PRAGMA journal_mode = DELETE")
            _checked(writing, part, None)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _replace_graph(
    source: Path, store: Path, on_pages: Callable[[int, int], None] | None = None
) -> None:
    """The backup's pages into the store's file, through SQLite (which keeps the store's
    write-ahead log right), keeping revocations and rejections (a request to widen reading
    rejected since the backup is not open to approval again) and moving the generations on."""
    with _opened(store) as connection:
        before = _generations(connection)
        revoked = {
            # Table names are these two constants; every value is a parameter.
            table: connection.execute(
                f"SELECT id, revoked_at FROM {table} WHERE revoked_at IS NOT NULL"
            ).fetchall()
            for table in ("users", "tokens")
            if _has_table(connection, table)
        }
        rejected = (
            connection.execute(
                "SELECT decided_by, decided_at, reason, id FROM grants WHERE status = 'REJECTED'"
            ).fetchall()
            if _has_table(connection, "grants")
            else []
        )
        with _opened(source) as reading:
            _stepwise(reading, connection, on_pages)
        connection.execute("BEGIN IMMEDIATE")
        try:
            after = _generations(connection)
            for name in before.keys() | after.keys():
                value = max(before.get(name, 0), after.get(name, 0)) + 1
                connection.execute("UPDATE generations SET value = ? WHERE name = ?", (value, name))
            for table, rows in revoked.items():
                connection.executemany(
                    f"UPDATE {table} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    [(at, id) for id, at in rows],
                )
            if rejected and _has_table(connection, "grants"):
                connection.executemany(
                    "UPDATE grants SET status = 'REJECTED', decided_by = ?, decided_at = ?, "
                    "reason = ? WHERE id = ? AND status = 'PENDING'",
                    [tuple(row) for row in rejected],
                )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _anchors(store: Path) -> list[tuple[str, str]]:
    """The anchors of the audit chain noted in the store's graph (graph.chain)."""
    with _opened(store) as connection:
        if not _has_table(connection, "memos"):
            return []
        rows = connection.execute(
            "SELECT key, value FROM memos WHERE substr(key, 1, ?) = ?",
            (len(ANCHOR_PREFIX), ANCHOR_PREFIX),
        ).fetchall()
    return [(key, value) for key, value in rows]


def _put_anchors(tx: GraphWriter, anchors: list[tuple[str, str]]) -> None:
    """The anchors of the trail kept, in place of the backup's."""
    theirs = [key for key, _ in tx.memos(ANCHOR_PREFIX, None, 10_000_000)]
    tx.remove_memos(theirs)
    for key, value in anchors:
        tx.put_memo(key, value)


def _generations(connection: sqlite3.Connection) -> dict[str, int]:
    if not _has_table(connection, "generations"):
        return {}
    return dict(connection.execute("SELECT name, value FROM generations").fetchall())


def _holds_anything(store: Path) -> bool:
    with _opened(store) as connection:
        if not _has_table(connection, "organisations"):
            return False
        return connection.execute("SELECT 1 FROM organisations LIMIT 1").fetchone() is not None


def _checked(connection: sqlite3.Connection, path: Path, table: str | None) -> int:
    """The schema version of a whole file that has `table`; refused otherwise."""
    try:
        found = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if table is not None and not _has_table(connection, table):
            found = f"缺少表 {table}"
    except sqlite3.DatabaseError as error:
        found = str(error)
    if found != "ok":
        raise InvalidValue("backup", f"{path} 不是完好的血缘服务备份：{found}。")
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        yield connection
    finally:
        connection.close()
