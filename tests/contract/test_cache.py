"""What either store keeps in memory between transactions (graph.store.cache) never answers
for a database that has changed: not after a write by another store on the same database (a
second process of the service), not inside a transaction that has written, not after a write
rolled back. The answers from memory are those of the database, in its order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graph.model import Derivation, ItemStatus
from graph.propagation import profiles_by_columns
from graph.store import cache as cache_module
from graph.store.base import GraphReader, GraphStore, GraphWriter
from graph.store.cache import Cache
from tests.contract.builders import dag, edge, item, rule
from tests.contract.conftest import Opener

EDGES = [("A", "R"), ("B", "R"), ("C", "A"), ("C", "B"), ("D", "C"), ("E", "X"), ("D", "X")]


def _cache(store: GraphStore) -> Cache:
    cache = getattr(store, "_cache", None)
    assert isinstance(cache, Cache)
    return cache


def _statuses(tx: GraphReader) -> dict[str, ItemStatus] | None:
    """The status of each item below R as the columns of the whole graph's index hold it
    (the fan-out groups descendants by them); None where the store lent a walked lineage."""
    index = tx.lineage_index(["R"])
    numbers = index.below(["R"])
    names = index.names(numbers)
    grouped = profiles_by_columns(index, numbers, tx.item_lookup(names))
    if grouped is None:
        return None
    groups = grouped.of[numbers].tolist()
    return {n: grouped.examples[g].status for n, g in zip(names, groups, strict=True)}


def _view(tx: GraphReader) -> dict[str, object]:
    """Everything the stores answer from memory, for a few lists of ids."""
    below = tx.lineage(["R"])
    index = below.index()
    arrays = tx.lineage_index(["R"])
    lookup = tx.item_lookup(["B", "C"])  # may lend more items than asked for
    nodes = ["R", *index.names(index.below(["R"]))]
    in_arrays = ["R", *arrays.names(arrays.below(["R"]))]
    return {
        "status": tx.items(["A", "NOPE", "A"])["A"].status,
        "lookup": {id: lookup[id] for id in ("B", "C")},
        "children": [
            tx.children(ids) for ids in (["R"], ["X", "R", "R"], ["C", "NOPE", "A", "B"], [])
        ],
        "parents": [tx.parents(ids) for ids in (["D"], ["C", "E", "NOPE"], ["R"])],
        "lineage": {node: sorted(below.bases.get(node, {})) for node in sorted(nodes)},
        "arrays": {node: sorted(arrays.bases(node)) for node in sorted(in_arrays)},
        "drafts": tx.process_items_for(["R", "X", "NOPE"]),
        "rules": tx.scope_rule_links(["A", "C", "NOPE"]),
    }


def _edges(*pairs: tuple[str, str]) -> list[Derivation]:
    return [edge(child, parent) for child, parent in pairs]


EXPECTED: dict[str, object] = {
    "status": ItemStatus.CLASSIFIED,
    "lookup": {"B": item("B"), "C": item("C")},
    "children": [
        _edges(("A", "R"), ("B", "R")),
        _edges(("A", "R"), ("B", "R"), ("D", "X"), ("E", "X")),
        _edges(("C", "A"), ("C", "B"), ("D", "C")),
        [],
    ],
    "parents": [
        _edges(("D", "C"), ("D", "X")),
        _edges(("C", "A"), ("C", "B"), ("E", "X")),
        [],
    ],
    "lineage": {"A": ["R"], "B": ["R"], "C": ["A", "B"], "D": ["C", "X"], "R": []},
    "arrays": {"A": ["R"], "B": ["R"], "C": ["A", "B"], "D": ["C", "X"], "R": []},
    "drafts": [("B", "R"), ("E", "X")],
    "rules": [("A", "RULE-1"), ("A", "RULE-2"), ("C", "RULE-1")],
}


def _graph(store: GraphStore) -> None:
    dag(store, EDGES)

    def links(tx: GraphWriter) -> None:
        tx.add_scope_rule(rule("RULE-1"))
        tx.add_scope_rule(rule("RULE-2"))
        tx.add_classified_under("A", ["RULE-2", "RULE-1"])
        tx.add_classified_under("C", ["RULE-1"])
        tx.add_process_item_of("B", "R")
        tx.add_process_item_of("E", "X")

    store.write(links)


@pytest.fixture
def whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A walk over most of the edges keeps them all, even on this small graph."""
    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 3)


def test_answers_from_memory_are_the_database_s_in_its_order(store: GraphStore) -> None:
    _graph(store)
    first = store.read(_view)
    assert first == EXPECTED
    cache = _cache(store)
    assert set(cache._tables) == {"process_item_of", "classified_under"}
    assert set(cache._items[1]) == {"A", "B", "C"}
    assert cache._edges["parent_id"][1]["R"] == _edges(("A", "R"), ("B", "R"))
    assert store.read(_view) == first


def test_with_the_whole_lineage_kept_the_answers_are_the_same(
    store: GraphStore, whole: None
) -> None:
    _graph(store)
    assert store.read(_view) == EXPECTED
    assert {"derived_from", "graph"} <= set(_cache(store)._tables)
    assert store.read(_view) == EXPECTED
    assert store.read(_statuses) == dict.fromkeys("ABCD", ItemStatus.CLASSIFIED)


@pytest.mark.parametrize("kept_whole", [False, True])
def test_a_write_by_a_second_store_is_seen_by_the_first(
    opener: Opener, monkeypatch: pytest.MonkeyPatch, kept_whole: bool
) -> None:
    """Another process of the service writes each cached table; the next read of the first
    one sees it, from memory or not."""
    first = opener()
    _graph(first)
    second = opener()
    if kept_whole:
        monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 3)
    first.read(_view)
    assert first.read(_view) == EXPECTED
    assert ("derived_from" in _cache(first)._tables) is kept_whole

    def change(tx: GraphWriter) -> None:
        tx.update_items([replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        tx.add_derivations([edge("E", "R")])
        tx.add_process_item_of("D", "X")
        tx.add_classified_under("C", ["RULE-2"])

    second.write(change)
    seen = first.read(_view)
    assert seen["status"] is ItemStatus.DECLASSIFIED_PUBLIC
    assert seen["children"][0] == _edges(("A", "R"), ("B", "R"), ("E", "R"))  # type: ignore[index]
    assert seen["parents"][1] == _edges(("C", "A"), ("C", "B"), ("E", "R"), ("E", "X"))  # type: ignore[index]
    assert seen["lineage"]["E"] == ["R", "X"]  # type: ignore[index]
    assert seen["arrays"]["E"] == ["R", "X"]  # type: ignore[index]
    if kept_whole:
        statuses = first.read(_statuses)
        assert statuses == {
            **dict.fromkeys("BCDE", ItemStatus.CLASSIFIED),
            "A": ItemStatus.DECLASSIFIED_PUBLIC,
        }
    assert seen["drafts"] == [("B", "R"), ("D", "X"), ("E", "X")]
    assert seen["rules"] == [("A", "RULE-1"), ("A", "RULE-2"), ("C", "RULE-1"), ("C", "RULE-2")]


def test_a_writing_transaction_reads_its_own_writes(store: GraphStore, whole: None) -> None:
    _graph(store)
    assert store.read(_view) == EXPECTED  # memory holds every table

    def change_then_read(tx: GraphWriter) -> dict[str, object]:
        tx.update_items([replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        tx.add_derivations([edge("E", "R")])
        tx.add_process_item_of("D", "X")
        tx.add_classified_under("C", ["RULE-2"])
        return {
            "status": tx.items(["A"])["A"].status,
            "lookup": tx.item_lookup(["A"])["A"].status,
            "children": tx.children(["R"]),
            "parents": tx.parents(["E"]),
            "lineage": sorted(tx.lineage(["R"]).bases["E"]),
            "arrays": sorted(tx.lineage_index(["R"]).bases("E")),
            "drafts": tx.process_items_for(["X"]),
            "rules": tx.scope_rule_links(["C"]),
        }

    own = {
        "status": ItemStatus.DECLASSIFIED_PUBLIC,
        "lookup": ItemStatus.DECLASSIFIED_PUBLIC,
        "children": _edges(("A", "R"), ("B", "R"), ("E", "R")),
        "parents": _edges(("E", "R"), ("E", "X")),
        "lineage": ["R", "X"],
        "arrays": ["R", "X"],
        "drafts": [("D", "X"), ("E", "X")],
        "rules": [("C", "RULE-1"), ("C", "RULE-2")],
    }
    assert store.write(change_then_read) == own
    assert store.read(lambda tx: tx.items(["A"])["A"].status) is ItemStatus.DECLASSIFIED_PUBLIC
    assert store.read(lambda tx: tx.children(["R"])) == own["children"]


def test_a_rolled_back_write_leaves_no_trace_in_memory(store: GraphStore, whole: None) -> None:
    _graph(store)
    store.read(_view)

    def change_then_fail(tx: GraphWriter) -> None:
        tx.update_items([replace(item("A"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
        tx.add_derivations([edge("E", "R")])
        tx.add_process_item_of("D", "X")
        tx.add_classified_under("C", ["RULE-2"])
        assert tx.items(["A"])["A"].status is ItemStatus.DECLASSIFIED_PUBLIC
        assert [e.child_id for e in tx.children(["R"])] == ["A", "B", "E"]
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        store.write(change_then_fail)
    assert store.read(_view) == EXPECTED


def test_nothing_of_the_items_is_kept_when_the_bound_is_zero(opener: Opener) -> None:
    store = opener()
    _graph(store)
    bounded = Cache(0)
    store._cache = bounded  # type: ignore[attr-defined]
    assert store.read(_view) == EXPECTED
    assert bounded._items[1] == {}
    assert bounded._edges["parent_id"][1] == {}
