"""graph.index: the lineage in arrays. Traversal must agree with networkx on random DAGs,
appends with a rebuild, and a saved index must come back only for its own generation."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graph.index
from graph.index import (
    CASES,
    NO_DAY,
    NO_PERIOD,
    PERIODS,
    STATUSES,
    GraphIndex,
    Journal,
    descendants,
    layers,
)
from graph.model import (
    BasisCase,
    Derivation,
    Item,
    ItemStatus,
    KnowledgeScope,
    Level,
    LongTerm,
    PeriodKind,
    Unmarked,
    Years,
)
from graph.store.base import ItemQuery
from tests.unit.builders import derived, source

DAY = date(2024, 1, 1)


def item(item_id: str, organisation_id: str = "ORG-A") -> Item:
    return source(item_id, Level.SECRET, Years(10, DAY), organisation_id=organisation_id)


def edge(child: str, parent: str, case: BasisCase = BasisCase.SUMMARY) -> Derivation:
    return Derivation(child, parent, case)


def named(index: GraphIndex, nodes: np.ndarray) -> set[str]:
    return set(index.ids(nodes))


def layer_names(index: GraphIndex, nodes: np.ndarray) -> dict[str, int]:
    return dict(zip(index.ids(nodes), layers(index, nodes).tolist(), strict=True))


# A diamond with a shortcut: a is the source; b and c derive from a, d from both, e from d
# and from a directly. e's layer is 2 (after d), not 1 (after a): the longest way in.
DIAMOND = [edge("b", "a"), edge("c", "a"), edge("d", "b"), edge("d", "c")]
DIAMOND += [edge("e", "d"), edge("e", "a")]


@contextmanager
def patched(name: str, value: int) -> Iterator[None]:
    """graph.index's threshold `name` set to `value`, so that both sides of it are drawn:
    MIN_DELTA (the delta read beside the CSR, or merged), DENSE (a round's in-degrees counted
    by a sort, or over the whole graph)."""
    kept = getattr(graph.index, name)
    setattr(graph.index, name, value)
    try:
        yield
    finally:
        setattr(graph.index, name, kept)


def diamond() -> GraphIndex:
    return GraphIndex.from_values([item(i) for i in "edcbaz"], DIAMOND)


def test_descendants_and_layers_of_a_known_diamond() -> None:
    index = diamond()
    a, b, z = index.numbers(["a", "b", "z"]).tolist()
    below = descendants(index, [a])
    assert sorted(index.ids(below)) == ["b", "c", "d", "e"]
    # Frontier after frontier: e is a child of a, as b and c are; d is below them.
    assert set(index.ids(below[:3])) == {"b", "c", "e"}
    assert index.ids(below[3:]) == ["d"]
    for dense in (0, 16):  # in-degrees counted by a sort, and over the whole graph
        with patched("DENSE", dense):
            assert layer_names(index, below) == {"b": 0, "c": 0, "d": 1, "e": 2}
    # A source below another source is a descendant; one alone reaches only what is below it.
    assert named(index, descendants(index, [b, a])) == {"b", "c", "d", "e"}
    assert named(index, descendants(index, [b])) == {"d", "e"}
    assert layer_names(index, descendants(index, [b])) == {"d": 0, "e": 1}
    # A node given twice has one layer, given twice.
    d, e = index.numbers(["d", "e"]).tolist()
    assert layers(index, np.array([e, d, e])).tolist() == [1, 0, 1]
    assert len(descendants(index, [z])) == 0


def test_layers_refuse_a_cycle() -> None:
    index = GraphIndex.from_values([item("a"), item("b")], [edge("a", "b"), edge("b", "a")])
    with pytest.raises(ValueError, match="cycle"):
        layers(index, index.numbers(["a", "b"]))


def test_an_edge_to_an_unknown_item_is_refused() -> None:
    with pytest.raises(ValueError, match="x -> a"):
        GraphIndex.from_values([item("a")], [edge("x", "a")])
    index = diamond()
    with pytest.raises(ValueError, match="a -> y"):
        index.append_edges([edge("a", "y")])


def test_a_repeated_edge_keeps_its_first_form() -> None:
    edges = [edge("b", "a", BasisCase.IDENTICAL), edge("b", "a", BasisCase.SUMMARY)]
    index = GraphIndex.from_values([item("a"), item("b")], edges)
    _, targets, forms = index.csr(down=False)
    assert index.edge_count == 1
    assert index.ids(targets) == ["a"]
    assert CASES[int(index.case(forms)[0])] is BasisCase.IDENTICAL
    assert index.tables.forms[int(forms[0])] == (BasisCase.IDENTICAL, ())


def test_columns_hold_what_the_rules_read() -> None:
    never = derived("n", None, issued_on=DAY, organisation_id="ORG-B")
    long_term = source("t", Level.TOP_SECRET, LongTerm())
    unmarked = source("u", Level.CONFIDENTIAL, Unmarked(DAY))
    index = GraphIndex.from_values([item("y"), never, long_term, unmarked], [])
    y, n, t, u = index.numbers(["y", "n", "t", "u"]).tolist()
    assert index.level[[y, n, t, u]].tolist() == [2, 0, 3, 1]
    # An unmarked period ends after the statutory years of its level.
    assert index.end_day[[y, n, t, u]].tolist() == [
        date(2034, 1, 1).toordinal(),
        NO_DAY,
        NO_DAY,
        date(2034, 1, 1).toordinal(),
    ]
    assert index.period[n] == NO_PERIOD
    assert PERIODS[int(index.period[t])] is PeriodKind.LONG_TERM
    assert STATUSES[int(index.status[n])] is ItemStatus.NOT_CLASSIFIED
    assert [index.organisations[o] for o in index.organisation[[y, n]]] == ["ORG-A", "ORG-B"]


def test_an_appended_item_already_in_patches_its_columns() -> None:
    index = diamond()
    before = index.size
    b = index.number("b")
    declassified = replace(item("b"), status=ItemStatus.DECLASSIFIED_PUBLIC)
    assert index.append_items([declassified]).tolist() == [b]
    assert index.size == before
    assert STATUSES[int(index.status[b])] is ItemStatus.DECLASSIFIED_PUBLIC


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Item], list[Derivation]]:
    """A random DAG full of diamonds: nodes in a hidden topological order, named so that the
    index numbers them in another; each node derived from up to 3 earlier ones."""
    size = draw(st.integers(1, 30))
    names = draw(st.permutations([f"I{k:02d}" for k in range(size)]))
    keys = st.sampled_from([(), ("K1",), ("K1", "K2")])
    edges = [
        Derivation(names[k], names[p], draw(st.sampled_from(CASES)), draw(keys))
        for k in range(1, size)
        for p in draw(st.lists(st.integers(0, k - 1), max_size=3))
    ]
    organisations = draw(st.lists(st.sampled_from("ABC"), min_size=size, max_size=size))
    limits = st.sampled_from([None, KnowledgeScope(organisations=frozenset({"ORG-A"}))])
    items = [
        replace(item(n, f"ORG-{o}"), scope_limit=draw(limits))
        for n, o in zip(names, organisations, strict=True)
    ]
    return items, edges


def networkx_of(edges: Sequence[Derivation], items: Sequence[Item]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(i.id for i in items)
    g.add_edges_from((e.parent_id, e.child_id) for e in edges)
    return g


def longest_in(g: nx.DiGraph, nodes: set[str]) -> dict[str, int]:
    """Each node's layer as the fan-out takes it: the longest path to it inside `nodes`."""
    sub = g.subgraph(nodes)
    depth: dict[str, int] = {}
    for node in nx.topological_sort(sub):
        depth[node] = max((depth[p] + 1 for p in sub.predecessors(node)), default=0)
    return depth


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_traversal_agrees_with_networkx(
    dag: tuple[list[Item], list[Derivation]], data: st.DataObject
) -> None:
    items, edges = dag
    index = GraphIndex.from_values(items, edges)
    g = networkx_of(edges, items)
    sources = data.draw(st.lists(st.sampled_from([i.id for i in items]), min_size=1, max_size=3))
    below = descendants(index, index.numbers(sources))
    expected = set().union(*(nx.descendants(g, s) for s in sources))
    assert len(below) == len(set(below.tolist()))
    assert named(index, below) == expected
    with patched("DENSE", data.draw(st.sampled_from([0, 1, 16]))):
        assert layer_names(index, below) == longest_in(g, expected)


def described(index: GraphIndex) -> tuple[object, ...]:
    """What an index holds by id, whatever its numbering."""
    nodes = np.arange(index.size)
    ids = index.ids(nodes)
    columns = {
        name: dict(zip(ids, index.column(name).tolist(), strict=True))
        for name in ("level", "end_day", "period", "status", "kind")
    }
    tables = index.tables
    organisation = {
        i: tables.organisations[o] for i, o in zip(ids, index.organisation, strict=True)
    }
    values = {
        name: {i: table[n] for i, n in zip(ids, index.column(name).tolist(), strict=True)}
        for name, table in (
            ("classification", tables.classifications),
            ("scope", tables.scopes),
            ("scope_limit", tables.scopes),
        )
    }
    down_rows, down, down_form = index.csr(down=True)
    owners = np.repeat(nodes, np.diff(down_rows))
    down_forms = [tables.forms[f] for f in down_form.tolist()]
    edges = set(zip(index.ids(down), index.ids(owners), down_forms, strict=True))
    _, up, up_form = index.csr(down=False)
    up_owners = np.repeat(nodes, np.diff(index.csr(down=False)[0]))
    up_forms = [tables.forms[f] for f in up_form.tolist()]
    assert set(zip(index.ids(up_owners), index.ids(up), up_forms, strict=True)) == edges
    return columns, organisation, values, edges


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_appends_equal_a_rebuild(
    dag: tuple[list[Item], list[Derivation]], data: st.DataObject
) -> None:
    items, edges = dag
    first = data.draw(st.integers(0, len(items)))
    threshold = data.draw(st.sampled_from([1, 3, 10_000]))
    whole = GraphIndex.from_values(items, edges)
    start = {i.id for i in items[:first]}
    early = [e for e in edges if e.child_id in start and e.parent_id in start]
    index = GraphIndex.from_values(items[:first], early)
    later = [e for e in edges if e not in early]
    with patched("MIN_DELTA", threshold):
        rest = items[first:]
        while rest or later:
            take = data.draw(st.integers(1, 4))
            index.append_items(rest[:take])
            rest = rest[take:]
            known = set(index.ids(np.arange(index.size)))
            ready = [e for e in later if e.child_id in known and e.parent_id in known]
            index.append_edges(ready[:take])
            later = [e for e in later if e not in ready[:take]]
            # Traversal reads the delta beside the CSR before any merge.
            sources = index.numbers([items[0].id])
            got = descendants(index, sources)
            g = networkx_of([e for e in edges if e not in later], items)
            expected = nx.descendants(g, items[0].id)
            assert named(index, got) == expected
            assert layer_names(index, got) == longest_in(g, expected)
    assert index.numbers([i.id for i in items]).min() >= 0
    assert described(index) == described(whole)


@settings(max_examples=30, deadline=None)
@given(dags(), st.booleans())
def test_a_saved_index_loads_for_its_generation_only(
    dag: tuple[list[Item], list[Derivation]], mapped: bool
) -> None:
    items, edges = dag
    generation = {"items": 4, "derived_from": 7}
    # A table the index does not reflect is not held, so its writes do not make it stale.
    index = GraphIndex.from_values(items[1:], edges[:0], {**generation, "classified_under": 3})
    index.append_items(items[:1])  # a node appended, merged by the save
    index.append_edges(edges)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.index"
        index.save(path)
        loaded = GraphIndex.load(path, {**generation, "process_item_of": 1}, mmap=mapped)
        assert loaded is not None
        assert loaded.generation == generation
        assert described(loaded) == described(index)
        assert (
            loaded.numbers([i.id for i in items]).tolist()
            == index.numbers([i.id for i in items]).tolist()
        )
        assert GraphIndex.load(path, {"items": 4, "derived_from": 8}) is None
        assert GraphIndex.load(Path(folder) / "missing", generation) is None
        # A mapped index still takes appends: what it grows is copied.
        loaded.append_items([item("new")])
        loaded.append_edges([edge("new", items[0].id)])
        assert "new" in named(loaded, descendants(loaded, loaded.numbers([items[0].id])))
        # Saving over an index replaces it.
        loaded.generation = {"items": 5, "derived_from": 8}
        loaded.save(path)
        assert GraphIndex.load(path, generation) is None
        again = GraphIndex.load(path, {"items": 5, "derived_from": 8})
        assert again is not None
        assert again.number("new") is not None
        assert sorted(p.name for p in Path(folder).iterdir()) == ["graph.index"]


@settings(max_examples=60, deadline=None)
@given(dags(), st.data())
def test_a_patched_index_equals_a_rebuild(
    dag: tuple[list[Item], list[Derivation]], data: st.DataObject
) -> None:
    """Journals of writes (items added or changed, edges added or removed) applied to an
    index give what a build of the result gives; the index patched is left as it was."""
    items, drawn = dag
    # One edge per pair, as the stores keep them: removing a pair removes its edge.
    edges = list({(e.child_id, e.parent_id): e for e in reversed(drawn)}.values())[::-1]
    first = data.draw(st.integers(1, len(items)))
    start = {i.id for i in items[:first]}
    early = [e for e in edges if e.child_id in start and e.parent_id in start]
    index = GraphIndex.from_values(items[:first], early, {"items": 1, "derived_from": 1})
    before = described(index)
    current = {i.id: i for i in items[:first]}
    present = list(early)
    rest, later = items[first:], [e for e in edges if e not in early]
    patched = index
    while rest or later:
        journal = Journal()
        take = data.draw(st.integers(1, 4))
        journal.items.extend(rest[:take])
        rest = rest[take:]
        for changed in data.draw(st.lists(st.sampled_from(sorted(current)), max_size=2)):
            value = replace(current[changed], status=ItemStatus.DECLASSIFIED_PUBLIC)
            journal.items.append(value)
        current.update({i.id: i for i in journal.items})
        remove: bool = data.draw(st.booleans())
        if present and remove:
            gone = data.draw(st.sampled_from(present))
            journal.removed.append((gone.child_id, gone.parent_id))
            present.remove(gone)
        ready = [e for e in later if e.child_id in current and e.parent_id in current]
        journal.added.extend(ready[:take])
        present.extend(ready[:take])
        later = [e for e in later if e not in ready[:take]]
        patched = patched.patched(journal, {"items": 2, "derived_from": 2})
    rebuilt = described(GraphIndex.from_values(current.values(), present))
    got = described(patched)
    assert got == rebuilt
    if patched is not index:
        assert patched.generation == {"items": 2, "derived_from": 2}
    assert described(index) == before


class Reader:
    """The two reads `GraphIndex.from_reader` makes, over fixed values."""

    def __init__(self, items: list[Item], edges: list[Derivation]) -> None:
        self._items = sorted(items, key=lambda i: i.id)
        self._edges = edges

    def generations(self) -> dict[str, int]:
        return {"items": 2, "derived_from": 3, "classified_under": 9}

    def find_items(self, query: ItemQuery) -> list[Item]:
        after = [i for i in self._items if query.after is None or i.id > query.after]
        return after[: query.limit]

    def parents(self, child_ids: Sequence[str]) -> list[Derivation]:
        wanted = set(child_ids)
        return [e for e in self._edges if e.child_id in wanted]


def test_an_index_is_read_from_a_store_page_by_page() -> None:
    items = [item(i) for i in "edcbaz"]
    index = GraphIndex.from_reader(Reader(items, DIAMOND), page=2)  # type: ignore[arg-type]
    assert index.generation == {"items": 2, "derived_from": 3}
    assert described(index) == described(diamond())
