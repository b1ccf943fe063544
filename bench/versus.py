"""Impact analysis side by side with what a user could use instead (issue 8), on the realistic
lineages of bench/lineages.py, whose national source has nearly every item as a descendant:

- *service*: `impact_analysis` (what the `impactAnalysis` query runs) for the declassification
  of the national source, warm: every descendant's outcome decided by the rules;
- *networkx*: the naive pipeline, `nx.descendants`, the subgraph, `topological_sort`, over a
  DiGraph already in memory (building it is not timed);
- *CTE*: one recursive SQL query over the SQLite file's DERIVED_FROM, counting descendants;
- *scipy*: `scipy.sparse.csgraph.breadth_first_order` over a CSR matrix already in memory, the
  near-limit reference for collecting descendants;
- *Cypher*: the naive variable-length match on the same Bolt server.

The service does more than any of them: they only collect the descendants, the service also
orders them and decides each one's classification. Each answer is checked against networkx.

    .venv/bin/python -m bench.versus --sizes 1000 10000 100000 --runs 5 [--no-bolt]
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np
from neo4j import GraphDatabase
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from bench import lineages
from bench.descendants import machine
from bench.importing import bolt_server, graph_file, options
from graph.access import SYSTEM
from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore
from service.composition import bolt_target, open_store
from service.impact import ProposedChange, impact_analysis
from service.transfer import import_graph


class Graph:
    """The lineage of a generated file as networkx and as a CSR matrix, parent to child."""

    def __init__(self, found: lineages.Generated) -> None:
        self.digraph = nx.DiGraph()
        self.digraph.add_edges_from(
            (parent, child) for child, parents in found.parents.items() for parent in parents
        )
        ids = [i for layer in found.layers for i in layer]
        self.index = {id: n for n, id in enumerate(ids)}
        sources, targets = [], []
        for child, parents in found.parents.items():
            for parent in parents:
                sources.append(self.index[parent])
                targets.append(self.index[child])
        data = np.ones(len(sources), dtype=np.int8)
        self.matrix = csr_matrix((data, (sources, targets)), shape=(len(ids), len(ids)))


def networkx_pipeline(graph: nx.DiGraph, root: str) -> int:
    below = nx.descendants(graph, root)
    order = list(nx.topological_sort(graph.subgraph(below | {root})))
    return len(order) - 1


def scipy_reference(matrix: csr_matrix, index: int) -> int:
    order = breadth_first_order(matrix, index, directed=True, return_predecessors=False)
    return len(order) - 1


CTE = """
WITH RECURSIVE below(id) AS (
    SELECT child_id FROM derived_from WHERE parent_id = ?
    UNION
    SELECT d.child_id FROM derived_from d JOIN below ON d.parent_id = below.id
)
SELECT count(*) FROM below"""


def sqlite_cte(path: Path, root: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(CTE, (root,)).fetchone()[0])


NAIVE = "MATCH (s:Item {id: $root})<-[:DERIVED_FROM*]-(d:Item) RETURN count(DISTINCT d) AS n"


def naive_cypher(url: str, root: str) -> int:
    target = bolt_target(url)
    with GraphDatabase.driver(target.uri, auth=target.auth) as driver:
        records, _, _ = driver.execute_query(NAIVE, root=root, database_=target.database)
        return int(records[0]["n"])


def service(store: GraphStore, root: str) -> int:
    report = impact_analysis(store, ProposedChange(root, declassify=True), SYSTEM)
    return len(report.impacts)


def timed(runs: int, work: Callable[[], int], expected: int | None) -> list[float]:
    """Seconds of each run after one warm-up; the answer checked when one is expected."""
    answer = work()
    if expected is not None and answer != expected:
        raise AssertionError(f"{work}: {answer}, expected {expected}")
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        out.append(time.perf_counter() - started)
    return out


def ms(values: Sequence[float]) -> str:
    if not values:
        return "not run"
    value = statistics.median(values) * 1000
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.2f} ms"


def main() -> None:
    args = options(__doc__.split("\n\n")[0], [1_000, 10_000, 100_000], 5)
    server = bolt_server(args)
    rows = []
    try:
        for size in args.sizes:
            path, _ = graph_file(args.cache, size, args.seed)
            found = lineages.Generated()
            for _line in lineages.lines(size, args.seed, found):
                pass
            graph = Graph(found)
            root = lineages.ROOT
            expected = len(nx.descendants(graph.digraph, root))
            with tempfile.TemporaryDirectory(dir=args.cache) as folder:
                file = Path(folder) / "versus.db"
                store = SqliteStore(file)
                with path.open(encoding="utf-8") as lines:
                    import_graph(store, lines)
                row = {
                    "service": timed(args.runs, partial(service, store, root), None),
                    "networkx": timed(
                        args.runs, partial(networkx_pipeline, graph.digraph, root), expected
                    ),
                    "cte": timed(args.runs, partial(sqlite_cte, file, root), expected),
                    "scipy": timed(
                        args.runs,
                        partial(scipy_reference, graph.matrix, graph.index[root]),
                        expected,
                    ),
                }
                store.close()
            row["bolt"], row["cypher"] = [], []
            if server is not None and (args.bolt_sizes is None or size in args.bolt_sizes):
                url = server.new_database()
                bolt = open_store(url)
                try:
                    with path.open(encoding="utf-8") as lines:
                        import_graph(bolt, lines)
                    row["bolt"] = timed(args.runs, partial(service, bolt, root), None)
                    row["cypher"] = timed(args.runs, partial(naive_cypher, url, root), expected)
                finally:
                    bolt.close()
                    server.release(url)
            rows.append((size, expected, row))
            print(f"size {size}: done", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()
    print(f"Machine: {machine()}. Median of {args.runs} runs after one warm-up.\n")
    print(
        "| items | descendants | service SQLite | networkx | CTE | scipy | service Bolt | "
        "Cypher | networkx / service | service / scipy |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, expected, row in rows:
        s = statistics.median(row["service"])
        print(
            f"| {size:,} | {expected:,} | {ms(row['service'])} | {ms(row['networkx'])} | "
            f"{ms(row['cte'])} | {ms(row['scipy'])} | {ms(row['bolt'])} | {ms(row['cypher'])} | "
            f"{statistics.median(row['networkx']) / s:.1f} | "
            f"{s / statistics.median(row['scipy']):.1f} |"
        )


if __name__ == "__main__":
    main()
