"""Collect every descendant of a root, on both stores, beside the naive Cypher query.

    .venv/bin/python -m bench.descendants --sizes 10000 100000 --runs 5 --timeout 120

For each size it generates the diamond-heavy DAG of bench.dag, writes it through the store
port (SQLite file; Bolt: ArcadeDB's Bolt server in a child process, or the Neo4j of NEO4J_URI),
then times, over several runs, the frontier expansion the service uses
(graph.traversal.expand over `children`) and, on the Bolt server, the naive
`MATCH (s)<-[:DERIVED_FROM*]-(d) RETURN DISTINCT d` with a time limit. Every answer is checked
against networkx's `descendants` of the same graph. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import networkx as nx
from neo4j import GraphDatabase

from bench.dag import ORGANISATION, Dag, batches, generate
from graph.model import Derivation, Item
from graph.store.base import GraphStore, GraphWriter
from graph.store.sqlite import SqliteStore
from graph.traversal import expand
from service.composition import bolt_target, open_store
from tests.bolt import ArcadeBolt, BoltServer, ExternalNeo4j

NAIVE = "MATCH (s:Item {id: $root})<-[:DERIVED_FROM*]-(d:Item) RETURN DISTINCT d.id AS id"


def load(store: GraphStore, dag: Dag, batch: int = 1000) -> float:
    started = time.perf_counter()
    store.write(lambda tx: tx.add_organisation(ORGANISATION))
    for items in batches(list(dag.items), batch):

        def add_items(tx: GraphWriter, chunk: list[object] = items) -> None:
            tx.add_items([i for i in chunk if isinstance(i, Item)])

        store.write(add_items)
    for edges in batches(list(dag.edges), batch):

        def add_edges(tx: GraphWriter, chunk: list[object] = edges) -> None:
            tx.add_derivations([e for e in chunk if isinstance(e, Derivation)])

        store.write(add_edges)
    return time.perf_counter() - started


def timed(runs: int, work: Callable[[], int], expected: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        found = work()
        times.append(time.perf_counter() - started)
        if found != expected:
            raise AssertionError(f"found {found} descendants, expected {expected}")
    return times


def frontier(store: GraphStore, root: str) -> int:
    subgraph = store.read(lambda tx: expand(root, tx.children, False, None))
    return len(subgraph.depth) - 1


def naive(url: str, root: str, timeout: float) -> tuple[float | None, int | None]:
    """The naive query's time, or None when it has not finished within `timeout`. The query
    runs in a thread, because a Bolt server need not honour the driver's query timeout."""
    target = bolt_target(url)
    outcome: dict[str, object] = {}

    def run() -> None:
        with GraphDatabase.driver(target.uri, auth=target.auth) as driver:
            started = time.perf_counter()
            records, _, _ = driver.execute_query(NAIVE, root=root, database_=target.database)
            outcome["seconds"] = time.perf_counter() - started
            outcome["count"] = len(records)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, None
    seconds, count = outcome.get("seconds"), outcome.get("count")
    return (
        (float(seconds), int(count))
        if isinstance(seconds, float) and isinstance(count, int)
        else (None, None)
    )


def machine() -> str:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu or platform.processor()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--heap", default="4g", help="ArcadeDB's JVM heap")
    args = parser.parse_args()

    uri = os.environ.get("NEO4J_URI")
    server: BoltServer = ExternalNeo4j(uri) if uri else ArcadeBolt(heap=args.heap)
    engine = "Neo4j (NEO4J_URI)" if uri else "ArcadeDB Bolt (child process)"
    rows = []
    try:
        for size in args.sizes:
            dag = generate(size, args.depth)
            graph = nx.DiGraph()
            graph.add_edges_from((e.parent_id, e.child_id) for e in dag.edges)
            expected = len(nx.descendants(graph, dag.root))
            with tempfile.TemporaryDirectory() as folder:
                sqlite = SqliteStore(Path(folder) / "bench.db")
                url = server.new_database()
                bolt = open_store(url)
                try:
                    load_sqlite = load(sqlite, dag)
                    load_bolt = load(bolt, dag)
                    root = dag.root
                    t_sqlite = timed(args.runs, partial(frontier, sqlite, root), expected)
                    t_bolt = timed(args.runs, partial(frontier, bolt, root), expected)
                    naive_times = []
                    for _ in range(args.runs):
                        seconds, count = naive(url, dag.root, args.timeout)
                        if seconds is None:
                            break
                        if count != expected:
                            raise AssertionError(f"naive found {count}, expected {expected}")
                        naive_times.append(seconds)
                finally:
                    sqlite.close()
                    bolt.close()
            rows.append(
                (
                    size,
                    expected,
                    len(dag.edges),
                    load_sqlite,
                    load_bolt,
                    t_sqlite,
                    t_bolt,
                    naive_times,
                )
            )
            print(f"size {size}: done", file=sys.stderr, flush=True)
    finally:
        server.stop()

    print(
        f"Machine: {machine()}. Bolt server: {engine}. Depth {args.depth}, 3 parents each, "
        f"median of {args.runs} runs, naive query limited to {args.timeout:.0f} s.\n"
    )
    print(
        "| items | descendants | edges | load SQLite | load Bolt | frontier SQLite | "
        "frontier Bolt | naive Cypher on Bolt |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, expected, edges, l_s, l_b, t_s, t_b, t_n in rows:
        naive_text = (
            f"{statistics.median(t_n) * 1000:.0f} ms"
            if len(t_n) == args.runs
            else f"did not finish in {args.timeout:.0f} s"
        )
        print(
            f"| {size:,} | {expected:,} | {edges:,} | {l_s:.1f} s | {l_b:.1f} s | "
            f"{statistics.median(t_s) * 1000:.0f} ms | {statistics.median(t_b) * 1000:.0f} ms | "
            f"{naive_text} |"
        )
    sys.stdout.flush()
    # A naive query still running keeps a thread in the driver; leave without waiting for it.
    os._exit(0)


if __name__ == "__main__":
    main()
