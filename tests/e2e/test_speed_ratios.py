"""The regression guard of issue 8: quick benchmarks at small sizes on the embedded store that
fail when a ratio against its reference, measured in the same run, passes its bound. Only
ratios are asserted, never times: the machine's speed cancels out. Each side is the median of
several runs after a warm-up, taken in turns so that a burst of load hits both.

The bounds and what was measured when they were set (BENCHMARKS.md, issue 8):
- no cost that grows with the number of paths: the same number of items and edges in 20
  layers (up to 3^19 paths to an item) against 10 layers (3^9); measured 1.1, bound 3;
- against the naive networkx pipeline on a realistic lineage of 3,000 items: the service
  (which also decides every descendant's classification; networkx only collects and orders
  them) measured 0.56 of networkx's time since the fan-out decides in numbers (5 before);
  bound 1.2. At 100k the service is 7.4 times faster (issue 8's target: 10);
- against scipy's breadth_first_order over the same edges in a CSR matrix (the traversal
  alone), on the worst-case diamond lineage of 3,000 items (bench/lineages.py, every item
  acts when the source is declassified): the warm service measured 38 to 47 times scipy in
  14 runs (median 44) before issue 24's array engine, and 9.2 to 9.7 in 6 runs once its
  layers were decided in one compiled pass (graph/kernel.py); bound 15, about 1.5 times that
  (issue 24's target is 20, at 100k over GraphQL: bench/targets.py). Both sides are timed
  in the process's CPU time, not the wall clock: with other sessions on the machine's 2
  cores, a 10 ms run is often preempted, which doubled the wall-clock ratio now and then (40
  to 160), while scipy's quarter of a millisecond rarely is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from bench import dag, lineages
from bench.targets import matrix
from bench.versus import networkx_pipeline, scipy_reference, service
from graph.store import exchange
from graph.store.base import GraphWriter
from graph.store.sqlite import SqliteStore
from service.transfer import import_graph

RUNS = 5
DIAMOND = 3_000
DIAMOND_BOUND = 15
DIAMOND_RUNS = 15


def medians(
    *works: Callable[[], object], runs: int = RUNS, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    for work in works:
        work()  # warm: the store keeps its lineage in memory after a first large walk
    times: list[list[float]] = [[] for _ in works]
    for _ in range(runs):
        for spent, work in zip(times, works, strict=True):
            started = clock()
            work()
            spent.append(clock() - started)
    return [statistics.median(t) for t in times]


def load(store: SqliteStore, graph: dag.Dag) -> None:
    def work(tx: GraphWriter) -> None:
        tx.add_organisation(dag.ORGANISATION)
        tx.add_items(graph.items)
        tx.add_derivations(graph.edges)

    store.write(work)


def test_the_cost_does_not_grow_with_the_number_of_paths(tmp_path: Path) -> None:
    deep, shallow = dag.generate(3_000, depth=20), dag.generate(3_000, depth=10)
    assert abs(len(deep.edges) - len(shallow.edges)) < 0.05 * len(deep.edges)
    stores = [SqliteStore(tmp_path / "deep.db"), SqliteStore(tmp_path / "shallow.db")]
    try:
        load(stores[0], deep)
        load(stores[1], shallow)
        many, few = medians(
            lambda: service(stores[0], deep.root), lambda: service(stores[1], shallow.root)
        )
    finally:
        for store in stores:
            store.close()
    assert many / few < 3, f"3^19 paths cost {many / few:.1f} times 3^9"


def test_impact_analysis_against_the_naive_networkx_pipeline(tmp_path: Path) -> None:
    found = lineages.Generated()
    store = SqliteStore(tmp_path / "realistic.db")
    try:
        import_graph(store, (exchange.dumps(x) for x in lineages.lines(3_000, out=found)))
        graph = nx.DiGraph(
            (parent, child) for child, parents in found.parents.items() for parent in parents
        )
        ours, naive = medians(
            lambda: service(store, lineages.ROOT),
            lambda: networkx_pipeline(graph, lineages.ROOT),
        )
    finally:
        store.close()
    assert ours / naive < 1.2, f"the service took {ours / naive:.2f} times networkx"


def test_warm_impact_analysis_of_a_diamond_against_scipys_traversal(tmp_path: Path) -> None:
    found = lineages.Generated()
    store = SqliteStore(tmp_path / "diamond.db")
    try:
        lines = lineages.diamond_lines(DIAMOND, out=found)
        import_graph(store, (exchange.dumps(x) for x in lines))
        graph, root = matrix(found)
        assert scipy_reference(graph, root) == service(store, lineages.ROOT) == DIAMOND - 1
        ours, reference = medians(
            lambda: service(store, lineages.ROOT),
            lambda: scipy_reference(graph, root),
            runs=DIAMOND_RUNS,
            clock=time.process_time,
        )
    finally:
        store.close()
    assert ours / reference < DIAMOND_BOUND, f"{ours / reference:.0f} times scipy's traversal"
