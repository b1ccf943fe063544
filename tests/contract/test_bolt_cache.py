"""What only the Bolt store's memory promises (graph.store.neo4j): the generation nodes, what
a tool outside the service must do, and reads without snapshots."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from neo4j import GraphDatabase

from graph.model import ItemStatus
from graph.store.base import GraphReader, GraphWriter
from graph.store.neo4j import BUMP_ALL, GENERATIONS, Neo4jStore
from service.composition import bolt_target, open_store
from tests.bolt import BoltServer
from tests.contract.builders import build, item, organisation

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass
class Database:
    url: str

    def run(self, query: str) -> list[dict[str, object]]:
        """A statement from outside the service, as cypher-shell would run it."""
        target = bolt_target(self.url)
        with GraphDatabase.driver(target.uri, auth=target.auth) as driver:
            records, _, _ = driver.execute_query(query, database_=target.database)
        return [record.data() for record in records]

    def generations(self) -> dict[str, int]:
        rows = self.run("MATCH (g:Generation) RETURN g.name AS name, g.value AS value")
        return {str(row["name"]): int(row["value"]) for row in rows}  # type: ignore[call-overload]


@pytest.fixture
def database(bolt_server: BoltServer) -> Iterator[Database]:
    url = bolt_server.new_database()
    try:
        yield Database(url)
    finally:
        bolt_server.release(url)


@pytest.fixture
def opened(database: Database) -> Iterator[Neo4jStore]:
    store = open_store(database.url)
    assert isinstance(store, Neo4jStore)
    try:
        yield store
    finally:
        store.close()


def _status(store: Neo4jStore, id: str) -> ItemStatus:
    return store.read(lambda tx: tx.items([id])[id].status)


def test_opening_creates_the_generations_once(opened: Neo4jStore, database: Database) -> None:
    assert database.generations() == dict.fromkeys(GENERATIONS, 0)
    build(opened, [organisation(), item("S-1")])
    after = database.generations()
    assert after == {**dict.fromkeys(GENERATIONS, 0), "items": 1}  # one write, one bump
    open_store(database.url).close()
    assert database.generations() == after


def test_a_write_outside_the_service_is_seen_once_it_bumps_the_generations(
    opened: Neo4jStore, database: Database
) -> None:
    """The README's statement, as a tool outside the service must run it; until then the
    service may answer from memory."""
    assert BUMP_ALL in README.read_text(encoding="utf-8")
    build(opened, [organisation(), item("S-1")])
    assert _status(opened, "S-1") is ItemStatus.CLASSIFIED
    database.run("MATCH (n:Item {id: 'S-1'}) SET n.status = 'DECLASSIFIED_PUBLIC'")
    assert _status(opened, "S-1") is ItemStatus.CLASSIFIED  # from memory: no bump yet
    database.run(BUMP_ALL)
    assert _status(opened, "S-1") is ItemStatus.DECLASSIFIED_PUBLIC


def test_what_a_reader_reads_across_a_commit_is_not_kept(
    opened: Neo4jStore, database: Database
) -> None:
    """Reads are read-committed: a reader that started before a commit reads its rows, and
    must not keep them as those of the generation it started with."""
    build(opened, [organisation(), item("S-1"), item("S-2")])
    started = database.generations()["items"]
    second = open_store(database.url)
    try:
        public = replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)

        def reader(tx: GraphReader) -> ItemStatus:
            tx.items(["S-2"])  # reads the generations, and keeps S-2
            second.write(lambda other: other.update_items([public]))
            return tx.items(["S-1"])["S-1"].status  # after the commit

        assert opened.read(reader) is ItemStatus.DECLASSIFIED_PUBLIC
    finally:
        second.close()
    generation, kept = opened._cache._items
    assert generation == started
    assert database.generations()["items"] == started + 1
    assert set(kept) == {"S-2"}
    assert _status(opened, "S-1") is ItemStatus.DECLASSIFIED_PUBLIC


def test_two_writers_at_once_both_commit_and_both_bump(
    opened: Neo4jStore, database: Database
) -> None:
    """Every writer of items bumps the one node of their generation; neither write is lost,
    nor either bump."""
    build(opened, [organisation()])
    before = database.generations()["items"]
    both_inside = threading.Barrier(2, timeout=5)
    errors: list[BaseException] = []

    def writer(id: str) -> None:
        def work(tx: GraphWriter) -> None:
            tx.add_item(item(id))
            with contextlib.suppress(threading.BrokenBarrierError):
                both_inside.wait()  # both hold an uncommitted bump, where the engine allows it

        try:
            opened.write(work)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(id,)) for id in ("S-1", "S-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert database.generations()["items"] == before + 2
    assert set(opened.read(lambda tx: tx.items(["S-1", "S-2"]))) == {"S-1", "S-2"}
