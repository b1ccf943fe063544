"""The benchmarks' generator of realistic lineages (bench/lineages.py): deterministic by seed,
shaped as its docstring says, and loaded into either store through the public import path,
where the D-21 audit finds every item classified as its bases require."""

from __future__ import annotations

from collections import Counter

import networkx as nx

from bench import lineages
from graph.access import SYSTEM
from graph.audit import Case
from graph.store import exchange
from service.composition import open_store
from service.findings import audit
from service.transfer import import_graph

SIZE = 3_000


def test_the_same_seed_gives_the_same_graph_and_another_seed_another() -> None:
    first = [exchange.dumps(line) for line in lineages.lines(SIZE, seed=7)]
    assert first == [exchange.dumps(line) for line in lineages.lines(SIZE, seed=7)]
    assert first != [exchange.dumps(line) for line in lineages.lines(SIZE, seed=8)]


def test_the_graph_has_the_shape_the_benchmarks_need() -> None:
    found = lineages.Generated()
    kinds = Counter(str(line["kind"]) for line in lineages.lines(SIZE, out=found))
    assert found.items == kinds["item"] == SIZE
    assert len(found.layers) == lineages.DEPTH
    assert kinds["derived_from"] == found.edges
    counts = Counter(len(parents) for parents in found.parents.values())
    assert set(counts) <= {1, 2, 3, 4, 5}
    assert 2.5 <= found.edges / len(found.parents) <= 3.5  # about three bases each
    assert kinds["keypoint"] > 0
    assert kinds["classified_under"] > 0
    graph = nx.DiGraph(
        (parent, child) for child, parents in found.parents.items() for parent in parents
    )
    assert nx.is_directed_acyclic_graph(graph)
    # Every item descends from the national source, along many paths (diamonds).
    assert nx.descendants(graph, lineages.ROOT) | {lineages.ROOT} >= set(found.parents)
    last = found.layers[-1][len(found.layers[-1]) // 2]
    paths = {lineages.ROOT: 1}
    for node in nx.topological_sort(graph.subgraph(nx.ancestors(graph, last) | {last})):
        for child in graph.successors(node):
            paths[child] = paths.get(child, 0) + paths.get(node, 0)
    assert paths[last] > 1_000


def test_it_imports_into_the_store_and_the_audit_finds_nothing(db_url: str) -> None:
    store = open_store(db_url)
    try:
        counts = import_graph(store, (exchange.dumps(x) for x in lineages.lines(SIZE)))
        assert counts["item"] == SIZE
        # No written records are generated (bench/lineages.py): case 3 aside, nothing.
        others = [case for case in Case if case is not Case.PROCEDURE]
        assert audit(store, SYSTEM, cases=others).findings == []
    finally:
        store.close()
