"""What only the SQLite store promises: the file, its pragmas, migrations and threads."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.errors import StoreVersionError
from graph.model import Derivation, Item, ItemStatus
from graph.store import cache as cache_module
from graph.store import sqlite as sqlite_module
from graph.store.base import GraphReader, GraphWriter
from graph.store.codec import item_fields, organisation_fields, person_fields, record_fields
from graph.store.deadline import StoreTimeout, deadline
from graph.store.sqlite import MIGRATIONS, SqliteStore
from graph.trail import AuditEvent, AuditQuery, Outcome
from tests.contract.builders import build, dag, edge, item, organisation, person, record

TABLES = [
    "changes",
    "cites",  # D-14: cited, not a basis (migration 12)
    "classified_under",
    "contains_keypoint",
    "deliveries",
    "derived_from",
    "generations",
    "grants",
    "item_search",  # FTS5 and its shadow tables (migration 11)
    "item_search_config",
    "item_search_data",
    "item_search_docsize",
    "item_search_idx",
    "items",
    "keypoints",
    "memos",
    "notices",
    "organisations",
    "persons",
    "process_item_of",
    "proposals",
    "records",
    "scope_rules",
    "tokens",
    "users",
    "webhooks",
]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "graph.sqlite3"


@pytest.fixture
def opened(path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(path)
    try:
        yield store
    finally:
        store.close()


def _pragma(path: Path, name: str) -> object:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def _tables(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_new_file_is_created_with_the_current_schema(opened: SqliteStore, path: Path) -> None:
    assert path.is_file()
    assert opened.path == str(path)
    assert opened.schema_version == len(MIGRATIONS)
    assert _pragma(path, "user_version") == len(MIGRATIONS)
    assert _tables(path) == TABLES


def test_the_file_is_in_wal_mode(opened: SqliteStore, path: Path) -> None:
    assert _pragma(path, "journal_mode") == "wal"
    assert opened._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_on(opened: SqliteStore) -> None:
    connection = opened._connection()

    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        connection.execute("INSERT INTO persons (id, name, organisation_id) VALUES ('P', 'n', 'O')")


def test_foreign_keys_are_on_in_every_thread(opened: SqliteStore) -> None:
    seen: list[int] = []
    thread = threading.Thread(
        target=lambda: seen.append(
            opened._connection().execute("PRAGMA foreign_keys").fetchone()[0]
        )
    )
    thread.start()
    thread.join(timeout=20)

    assert seen == [1]


def test_reopening_keeps_the_data_and_the_schema(path: Path) -> None:
    first = SqliteStore(path)
    build(first, [organisation(), item("S-1"), item("S-2")])
    first.close()
    tables = _tables(path)

    second = SqliteStore(path)
    try:
        items = second.read(lambda tx: tx.items(["S-1", "S-2"]))
        version = second.schema_version
    finally:
        second.close()

    assert items == {"S-1": item("S-1"), "S-2": item("S-2")}
    assert version == len(MIGRATIONS)
    assert _tables(path) == tables == TABLES


def test_reopening_runs_only_the_migrations_the_file_lacks(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SqliteStore(path).close()
    # Were migration 0 run again, its CREATE TABLE statements would fail on the second open;
    # were the new one run again, CREATE TABLE probe would fail on the third.
    monkeypatch.setattr(
        sqlite_module, "MIGRATIONS", (*MIGRATIONS, "CREATE TABLE probe (id TEXT PRIMARY KEY)")
    )

    second = SqliteStore(path)
    second_version = second.schema_version
    second.close()
    third = SqliteStore(path)
    third_version = third.schema_version
    third.close()

    assert second_version == third_version == len(MIGRATIONS) + 1
    assert _tables(path) == sorted([*TABLES, "probe"])


def _version_1_rows() -> list[tuple[str, dict[str, object]]]:
    def without(fields: dict[str, object], *names: str) -> dict[str, object]:
        return {k: v for k, v in fields.items() if k not in names}

    return [
        (
            "organisations",
            without(organisation_fields(organisation()), "superior_id", "successor_id"),
        ),
        ("persons", person_fields(person("P-1"))),
        ("persons", person_fields(person("P-2"))),
        (
            "items",
            without(
                item_fields(item("S-1")),
                "joint_organisation_ids",
                "expires_on",
                "readers",
                "version",
            ),
        ),
        (
            "records",
            without(
                record_fields(record("R-1", "S-1")), "effective_on", "reasoning", "consultation"
            ),
        ),
    ]


def test_a_version_1_file_is_migrated_with_its_data(path: Path) -> None:
    # A file as version 1 wrote it: its schema, and rows with only its columns.
    version_1 = MIGRATIONS[0]
    assert isinstance(version_1, str)
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(version_1)
        connection.execute("PRAGMA user_version = 1")
        for table, row in _version_1_rows():
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (own names)
            connection.execute(sql, list(row.values()))
        connection.commit()

    second = SqliteStore(path)
    try:
        items = second.read(lambda tx: tx.items(["S-1"]))
        records = second.read(lambda tx: tx.records("S-1"))
        version = second.schema_version
    finally:
        second.close()
    with closing(sqlite3.connect(path)) as connection:
        expires_on, readers = connection.execute("SELECT expires_on, readers FROM items").fetchone()

    assert version == len(MIGRATIONS)
    assert items == {"S-1": item("S-1")}
    assert [r.id for r in records] == ["R-1"]
    assert records[0].effective_on is None
    expiry = item("S-1").classification.expiry  # type: ignore[union-attr]
    assert expiry is not None
    assert expires_on == expiry.isoformat()
    assert readers == "|o:O-1|"  # the knowledge scope, searchable (migration 4)
    assert _tables(path) == TABLES


def test_the_audit_trail_is_a_file_beside_the_graph_that_refuses_edits(
    opened: SqliteStore, path: Path
) -> None:
    when = datetime(2026, 11, 30, tzinfo=UTC)
    opened.append_audit([AuditEvent("e-1", when, "query item", Outcome.OK, items=("S-1",))])
    trail = path.with_name("graph.audit.sqlite3")
    assert trail.exists()
    with closing(sqlite3.connect(trail)) as connection:
        for statement in ("UPDATE audit_events SET outcome = 'DENIED'", "DELETE FROM audit_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)
        assert connection.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 1
    assert [e.id for e in opened.audit_events(AuditQuery())] == ["e-1"]


def test_a_file_from_a_newer_version_is_refused(path: Path) -> None:
    newer = len(MIGRATIONS) + 1
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(f"PRAGMA user_version = {newer}")

    with pytest.raises(StoreVersionError) as raised:
        SqliteStore(path)

    assert str(newer) in raised.value.message
    assert _pragma(path, "user_version") == newer
    assert _tables(path) == []


def test_two_threads_read_at_the_same_time(opened: SqliteStore) -> None:
    build(opened, [organisation(), item("S-1"), item("S-2")])
    both_inside = threading.Barrier(2, timeout=20)
    results: dict[str, dict[str, Item]] = {}
    connections: dict[str, int] = {}
    errors: list[BaseException] = []

    def reader(name: str, own: str) -> None:
        def work(tx: GraphReader) -> dict[str, Item]:
            first = tx.items([own])
            both_inside.wait()  # each thread is now inside its own open read transaction
            return first | tx.items(["S-1"])

        try:
            results[name] = opened.read(work)
            connections[name] = id(opened._connection())
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=reader, args=("first", "S-1")),
        threading.Thread(target=reader, args=("second", "S-2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert results == {
        "first": {"S-1": item("S-1")},
        "second": {"S-1": item("S-1"), "S-2": item("S-2")},
    }
    assert connections["first"] != connections["second"]
    assert id(opened._connection()) not in connections.values()


def test_a_reader_goes_on_while_a_writer_commits(opened: SqliteStore) -> None:
    build(opened, [organisation(), item("S-1")])
    reading = threading.Event()
    written = threading.Event()
    seen: list[set[str]] = []

    def reader() -> None:
        def work(tx: GraphReader) -> None:
            seen.append(set(tx.items(["S-1", "S-2"])))
            reading.set()
            written.wait(timeout=20)
            seen.append(set(tx.items(["S-1", "S-2"])))  # still the snapshot it started with

        opened.read(work)

    thread = threading.Thread(target=reader)
    thread.start()
    assert reading.wait(timeout=20)
    opened.write(lambda tx: tx.add_item(item("S-2")))
    written.set()
    thread.join(timeout=20)

    assert seen == [{"S-1"}, {"S-1"}]
    assert set(opened.read(lambda tx: tx.items(["S-1", "S-2"]))) == {"S-1", "S-2"}


# The store keeps the DERIVED_FROM table and the items it has read in memory between
# transactions (graph.store.cache); these check that it never answers from an older file.


def _title(store: SqliteStore, id: str) -> str:
    return store.read(lambda tx: tx.items([id])[id].title)


def _status(store: SqliteStore, id: str) -> ItemStatus:
    return store.read(lambda tx: tx.items([id])[id].status)


def test_an_item_changed_by_the_store_is_read_anew(opened: SqliteStore) -> None:
    build(opened, [organisation(), item("S-1")])
    assert _status(opened, "S-1") is ItemStatus.CLASSIFIED
    public = replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)
    opened.write(lambda tx: tx.update_items([public]))
    assert _status(opened, "S-1") is ItemStatus.DECLASSIFIED_PUBLIC


def test_an_item_changed_by_another_program_is_read_anew(opened: SqliteStore, path: Path) -> None:
    """The generations are bumped by triggers: an edit with the sqlite3 tool counts too."""
    build(opened, [organisation(), item("S-1"), item("S-2")])
    assert _title(opened, "S-1") == item("S-1").title
    with closing(sqlite3.connect(path)) as other:
        other.execute("UPDATE items SET title = '外部修改' WHERE id = 'S-1'")
        other.execute(
            "INSERT INTO derived_from (child_id, parent_id, basis, keypoint_ids) "
            "VALUES ('S-2', 'S-1', 'IDENTICAL', '[]')"
        )
        other.commit()
    assert _title(opened, "S-1") == "外部修改"
    lineage = opened.read(lambda tx: tx.lineage(["S-1"]))
    assert set(lineage.bases["S-2"]) == {"S-1"}


def test_a_rolled_back_write_leaves_no_trace_in_memory(opened: SqliteStore) -> None:
    build(opened, [organisation(), item("S-1")])

    def declassify_then_fail(tx: GraphWriter) -> None:
        tx.update_items([replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        # Its own write, not what memory holds.
        assert tx.items(["S-1"])["S-1"].status is ItemStatus.DECLASSIFIED_PUBLIC
        raise RuntimeError("rolled back")

    assert _status(opened, "S-1") is ItemStatus.CLASSIFIED
    with pytest.raises(RuntimeError):
        opened.write(declassify_then_fail)
    assert _status(opened, "S-1") is ItemStatus.CLASSIFIED


def test_a_reader_on_an_older_snapshot_reads_that_snapshot(opened: SqliteStore) -> None:
    """A transaction that began before a commit keeps its snapshot, whatever later readers
    have put in memory."""
    build(opened, [organisation(), item("S-1")])
    began, renamed, seen = threading.Event(), threading.Event(), []

    def old_reader(tx: GraphReader) -> None:
        tx.items(["S-1"])  # the snapshot begins here
        began.set()
        renamed.wait(timeout=20)
        seen.append(tx.items(["S-1"])["S-1"].status)

    thread = threading.Thread(target=opened.read, args=(old_reader,))
    thread.start()
    began.wait(timeout=20)
    public = replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)
    opened.write(lambda tx: tx.update_items([public]))
    # A newer reader fills memory with the new value.
    assert _status(opened, "S-1") is ItemStatus.DECLASSIFIED_PUBLIC
    renamed.set()
    thread.join(timeout=20)
    assert seen == [ItemStatus.CLASSIFIED]


def test_nothing_is_kept_in_memory_when_the_bound_is_zero(path: Path) -> None:
    store = SqliteStore(path, cached_items=0)
    try:
        build(store, [organisation(), item("S-1")])
        assert _title(store, "S-1") == item("S-1").title
        with closing(sqlite3.connect(path)) as other:
            [(generation,)] = other.execute(
                "SELECT value FROM generations WHERE name = 'items'"
            ).fetchall()
        assert store._cache.items(generation) == {}
    finally:
        store.close()


def _bases_below(store: SqliteStore, root: str) -> dict[str, set[str]]:
    def work(tx: GraphReader) -> dict[str, set[str]]:
        found = tx.lineage([root])
        index = found.index()
        return {n: set(found.bases[n]) for n in index.names(index.below([root]))}

    return store.read(work)


def test_a_large_walk_keeps_the_whole_lineage_until_an_edge_changes(
    opened: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept whole, the lineage answers as the walk does, for every root; a new edge makes the
    next analysis walk the file again."""
    edges = [("A", "R"), ("B", "R"), ("C", "A"), ("C", "B"), ("D", "C"), ("E", "X")]
    dag(opened, edges)
    walked = {root: _bases_below(opened, root) for root in ("R", "A", "C", "X", "E")}
    assert opened._cache._tables.get("derived_from") is None  # small walks keep nothing

    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 3)
    assert _bases_below(opened, "R") == walked["R"]  # 5 of 6 edges: the table is kept
    kept = opened._cache._tables["derived_from"]
    assert {root: _bases_below(opened, root) for root in walked} == walked
    assert opened._cache._tables["derived_from"] is kept  # answered from memory

    opened.write(lambda tx: tx.add_derivations([edge("D", "X")]))
    assert _bases_below(opened, "X") == {"E": {"X"}, "D": {"C", "X"}}
    assert _bases_below(opened, "R")["D"] == {"C", "X"}


def test_with_the_lineage_kept_children_and_parents_answer_as_the_file_does(
    opened: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same edges in the same order (by the ids asked for, then the other end) as the
    queries give; a transaction that has written reads the file, its own edge included."""
    edges = [("A", "R"), ("B", "R"), ("C", "A"), ("C", "B"), ("D", "C"), ("E", "X"), ("D", "X")]
    dag(opened, edges)
    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 3)
    _bases_below(opened, "R")
    assert opened._cache._tables.get("derived_from") is not None
    asked = [["R"], ["X", "R", "R"], ["C", "NOPE", "A", "B"], [], ["D", "E", "X"]]

    def both(tx: GraphReader) -> list[tuple[list[Derivation], list[Derivation]]]:
        sql = tx._edges  # type: ignore[attr-defined]
        return [(tx.children(ids), sql("parent_id", "child_id", ids)) for ids in asked] + [
            (tx.parents(ids), sql("child_id", "parent_id", ids)) for ids in asked
        ]

    answers = opened.read(both)
    assert [memory for memory, _ in answers] == [file for _, file in answers]
    assert any(memory for memory, _ in answers)

    def after_a_write(tx: GraphWriter) -> list[str]:
        tx.add_derivations([edge("E", "B")])
        return [e.child_id for e in tx.children(["B"])]

    assert opened.write(after_a_write) == ["C", "E"]


def test_edges_read_once_are_answered_from_memory_until_the_table_changes(
    opened: SqliteStore,
) -> None:
    """Asked again, children and parents give what the file gives, in its order, without
    reading it; a new edge is a new generation, and the next read sees it."""
    dag(opened, [("A", "R"), ("B", "R"), ("C", "A"), ("C", "B"), ("D", "X")])
    asked = [["R"], ["C", "NOPE", "A", "B", "A"], ["X", "R"], []]

    def both(tx: GraphReader) -> list[tuple[list[Derivation], list[Derivation]]]:
        sql = tx._edges  # type: ignore[attr-defined]
        return [(tx.children(ids), sql("parent_id", "child_id", ids)) for ids in asked] + [
            (tx.parents(ids), sql("child_id", "parent_id", ids)) for ids in asked
        ]

    first, again = opened.read(both), opened.read(both)
    assert [memory for memory, _ in first] == [file for _, file in first]
    assert again == first
    assert opened._cache._edges["parent_id"][1]["R"]  # kept
    opened.write(lambda tx: tx.add_derivations([edge("D", "R")]))
    assert [e.child_id for e in opened.read(lambda tx: tx.children(["R"]))] == ["A", "B", "D"]
    assert [e.parent_id for e in opened.read(lambda tx: tx.parents(["D"]))] == ["R", "X"]


def _generations(path: Path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as other:
        return dict(other.execute("SELECT name, value FROM generations").fetchall())


def _triggers(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    return {name for (name,) in rows}


def test_a_large_batch_counts_once_and_leaves_every_trigger_in_place(
    opened: SqliteStore, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From _COUNTED_ONCE rows an insert bumps its table's generation once, and what memory
    held is read anew; the insert triggers are there after it, written or refused, so that
    another program's edit still counts."""
    monkeypatch.setattr(sqlite_module, "_COUNTED_ONCE", 3)
    build(opened, [organisation(), item("S-1")])
    with closing(sqlite3.connect(path)) as other:
        triggers = _triggers(other)
    assert len(triggers) == 12 + 3  # and the search index's (migration 11)
    assert _title(opened, "S-1") == item("S-1").title
    assert _bases_below(opened, "S-1") == {}
    before = _generations(path)
    opened.write(lambda tx: tx.add_items([item(f"D-{n}") for n in range(5)]))
    opened.write(lambda tx: tx.add_derivations([edge(f"D-{n}", "S-1") for n in range(5)]))
    after = _generations(path)
    assert after["items"] == before["items"] + 1
    assert after["derived_from"] == before["derived_from"] + 1
    assert _title(opened, "D-4") == item("D-4").title
    assert _bases_below(opened, "S-1") == {f"D-{n}": {"S-1"} for n in range(5)}

    def refused_within(tx: GraphWriter) -> set[str]:
        rows = [item_fields(item(f"E-{n}")) for n in range(3)] + [item_fields(item("S-1"))]
        with pytest.raises(sqlite3.IntegrityError):
            tx._insert_many("items", rows)  # type: ignore[attr-defined]
        return _triggers(tx._db)  # type: ignore[attr-defined]

    assert opened.write(refused_within) == triggers
    with closing(sqlite3.connect(path)) as other:
        assert _triggers(other) == triggers
        other.execute("UPDATE items SET title = '外部修改' WHERE id = 'D-0'")
        other.commit()
    assert _title(opened, "D-0") == "外部修改"


def test_a_statement_running_at_the_deadline_is_interrupted(opened: SqliteStore) -> None:
    """A long query is stopped by SQLite itself, not left to run to its end."""
    counting = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c"
    )
    started = time.monotonic()
    with deadline(0.2), pytest.raises(StoreTimeout):
        opened.read(lambda tx: tx._db.execute(counting).fetchall())  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10  # counting to 10^9 takes minutes
    assert opened.read(lambda tx: tx.items(["NOPE"])) == {}  # the connection is usable


def test_deadlines_hold_after_the_store_is_closed_and_used_again(opened: SqliteStore) -> None:
    """Closing stops the thread that watches deadlines; using the store again starts one."""
    counting = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c"
    )
    with deadline(30):
        assert opened.read(lambda tx: tx.items(["NOPE"])) == {}
    opened.close()
    with deadline(0.2), pytest.raises(StoreTimeout):
        opened.read(lambda tx: tx._db.execute(counting).fetchall())  # type: ignore[attr-defined]
