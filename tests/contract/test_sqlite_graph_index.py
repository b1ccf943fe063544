"""The graph index (graph.index) the SQLite store keeps for the impact analysis (issue 24):
patched by the journal of every write rather than rebuilt, saved beside the file so that a
restart finds it, and used only for the generation, and the database, it was made of."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from graph.index import GraphIndex
from graph.lineage import Index
from graph.model import ItemStatus, Level
from graph.store import cache as cache_module
from graph.store import sqlite as sqlite_module
from graph.store.base import GraphReader, GraphWriter
from graph.store.sqlite import SqliteStore, index_path
from tests.contract.builders import dag, edge, item
from tests.unit.test_index import described

EDGES = [("A", "R"), ("B", "R"), ("C", "A"), ("C", "B"), ("D", "C"), ("E", "X"), ("D", "X")]


@pytest.fixture(autouse=True)
def whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk over most of the edges makes the store keep the whole graph's index, even on
    this small graph."""
    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 3)


def rebuilt(tx: GraphReader) -> tuple[object, ...]:
    """The store as a build of the index from it sees it."""
    return described(GraphIndex.from_reader(tx))


def kept(store: SqliteStore) -> tuple[object, ...]:
    """The store as the index it lends the fan-out (kept or patched) sees it."""

    def read(tx: GraphReader) -> tuple[object, ...]:
        index = tx.lineage_index(["R"])
        assert index.columns is not None  # the whole graph's, not a walk
        graph = store._cache.current_graph()
        assert graph is not None
        return described(graph)

    return store.read(read)


def no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, the store may not build the index from its tables."""

    def refused(self: object) -> GraphIndex:
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(sqlite_module._SqliteTx, "_whole_graph", refused)


def test_every_write_patches_the_index_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "graph.db")
    dag(store, EDGES)
    assert kept(store) == store.read(rebuilt)
    no_build(monkeypatch)

    def change(tx: GraphWriter) -> None:
        tx.update_items([replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        tx.add_items([item("F")])
        tx.add_derivations([edge("F", "D"), edge("E", "R")])
        tx.remove_derivations([("D", "X")])

    store.write(change)
    assert kept(store) == store.read(rebuilt)
    store.write(lambda tx: tx.remove_derivations([("C", "B")]))
    store.write(
        lambda tx: tx.update_items([replace(item("B", level=Level.CONFIDENTIAL), version=2)])
    )
    assert kept(store) == store.read(rebuilt)
    store.close()


def test_a_rolled_back_write_patches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "graph.db")
    dag(store, EDGES)
    before = kept(store)
    no_build(monkeypatch)

    def fail(tx: GraphWriter) -> None:
        tx.update_items([replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        store.write(fail)
    assert kept(store) == before == store.read(rebuilt)
    store.close()


def test_a_restart_reads_the_index_saved_at_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "graph.db"
    first = SqliteStore(path)
    dag(first, EDGES)
    kept(first)
    first.write(lambda tx: tx.add_derivations([edge("E", "R")]))  # patched, then saved
    expected = kept(first)
    first.close()
    assert (index_path(path) / "header.json").exists()
    no_build(monkeypatch)
    second = SqliteStore(path)
    assert kept(second) == expected
    second.close()


def test_a_saved_index_of_another_generation_or_database_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "graph.db"
    first = SqliteStore(path)
    dag(first, EDGES)
    kept(first)
    first.close()
    # Another process writes without keeping an index: the saved one is now stale.
    other = SqliteStore(path)
    other.write(
        lambda tx: tx.update_items(
            [replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)]
        )
    )
    other.close()
    third = SqliteStore(path)
    assert kept(third) == third.read(rebuilt)
    third.close()
    # A new database at the same path, whose counters start again: not the saved index's.
    saved = tmp_path / "saved"
    shutil.copytree(index_path(path), saved)
    for leftover in tmp_path.glob("graph.db*"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    fresh = SqliteStore(path)
    dag(fresh, EDGES)
    shutil.copytree(saved, index_path(path))
    generations = fresh.read(lambda tx: tx.generations())
    assert GraphIndex.load(index_path(path), generations) is None
    fresh.close()


def test_readers_meanwhile_never_take_a_missing_saved_index_for_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one reader looks for a saved index and finds none, another reader of the same
    generation gets a lineage, never a placeholder for "none" (a leak scan's six analyses at
    once found that)."""
    store = SqliteStore(tmp_path / "graph.db")
    dag(store, EDGES)
    meanwhile: list[object] = []
    load = GraphIndex.load

    def looking(cls: type[GraphIndex], /, *args: object, **kwargs: object) -> GraphIndex | None:
        if not meanwhile:
            meanwhile.append(None)
            other = threading.Thread(
                target=lambda: meanwhile.append(store.read(lambda tx: tx.lineage_index(["R"])))
            )
            other.start()
            other.join(timeout=30)
            assert not other.is_alive(), "the other reader waited for this one"
        return load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(GraphIndex, "load", classmethod(looking))
    index = store.read(lambda tx: tx.lineage_index(["R"]))
    assert index.columns is not None
    assert sorted(index.bases("C")) == ["A", "B"]
    other = meanwhile[1]
    assert isinstance(other, Index)
    assert sorted(other.bases("C")) == ["A", "B"]
    store.close()
