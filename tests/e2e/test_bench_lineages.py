"""The benchmarks' generator of realistic lineages (bench/lineages.py): deterministic by seed,
shaped as its docstring says, and loaded into either store through the public import path,
where the D-21 audit finds every item classified as its bases require."""

from __future__ import annotations

from collections import Counter

import networkx as nx

from bench import lineages
from graph.access import SYSTEM
from graph.audit import Case
from graph.propagation import Action
from graph.store import exchange
from service.composition import open_store
from service.findings import audit
from service.impact import ProposedChange, impact_analysis
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


# The worst-case diamond lineage (issue 24)


def test_the_diamond_is_the_same_for_a_seed_and_another_for_another_seed() -> None:
    first = [exchange.dumps(line) for line in lineages.diamond_lines(SIZE, seed=7)]
    assert first == [exchange.dumps(line) for line in lineages.shaped_lines("diamond", SIZE, 7)]
    assert first != [exchange.dumps(line) for line in lineages.diamond_lines(SIZE, seed=8)]


def test_the_diamond_has_the_worst_case_shape() -> None:
    found = lineages.Generated()
    items: dict[str, dict[str, object]] = {}
    edges: list[dict[str, object]] = []
    kinds: Counter[str] = Counter()
    for line in lineages.diamond_lines(SIZE, out=found):
        kinds[str(line["kind"])] += 1
        if line["kind"] == "item":
            items[str(line["id"])] = line
        elif line["kind"] == "derived_from":
            edges.append(line)
    assert (kinds["organisation"], kinds["person"], found.items, len(items)) == (1, 2, SIZE, SIZE)
    root = items.pop(lineages.ROOT)
    source = (root["item_kind"], root["level"], root["period_years"])
    assert source == ("SOURCE", "CONFIDENTIAL", 10)
    # Every other item derived, 机密 for the source's period, of the source's organisation.
    values = ("DERIVED", "CONFIDENTIAL", "CLASSIFIED", 10, root["period_start"], "org-0")
    fields = ("item_kind", "level", "status", "period_years", "period_start", "organisation_id")
    assert all(tuple(item[f] for f in fields) == values for item in items.values())
    # Three distinct bases among the 2,000 items just before (fewer for the first two), summaries.
    assert {edge["basis"] for edge in edges} == {"SUMMARY"}
    assert found.edges == len(edges) == 3 * SIZE - 6
    order = {id: n for n, id in enumerate([lineages.ROOT, *items])}
    for child, parents in found.parents.items():
        assert len(set(parents)) == min(3, order[child])
        assert all(0 < order[child] - order[p] <= lineages.DIAMOND_WINDOW for p in parents)
    assert max(order[child] - order[p] for child, ps in found.parents.items() for p in ps) > 1_900
    # The layers are topological: each item one below its deepest base, every item in one.
    layer = {id: n for n, ids in enumerate(found.layers) for id in ids}
    assert len(layer) == SIZE
    assert found.layers[0] == [lineages.ROOT]
    assert all(layer[c] == 1 + max(layer[p] for p in ps) for c, ps in found.parents.items())
    graph = nx.DiGraph((p, child) for child, parents in found.parents.items() for p in parents)
    assert len(nx.descendants(graph, lineages.ROOT)) == SIZE - 1


def test_the_diamond_imports_and_declassifying_its_source_makes_every_item_act(
    db_url: str,
) -> None:
    store = open_store(db_url)
    try:
        counts = import_graph(store, (exchange.dumps(x) for x in lineages.diamond_lines(SIZE)))
        assert counts["item"] == SIZE
        others = [case for case in Case if case is not Case.PROCEDURE]
        assert audit(store, SYSTEM, cases=others).findings == []
        report = impact_analysis(store, ProposedChange(lineages.ROOT, declassify=True), SYSTEM)
        assert len(report.impacts) == SIZE - 1
        assert all(Action.DECLASSIFY in actions for actions in report.impacts.actions())
    finally:
        store.close()
