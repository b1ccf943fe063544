"""Impact analysis of a change to the root of a large lineage, on both stores.

    .venv/bin/python -m bench.impact --sizes 10000 100000 --runs 3 --timeout 300 --heap 4g \
        --breakdown

For each size it generates the diamond-heavy DAG of bench.dag (one SOURCE classified
机密★20年, every other item DERIVED from three parents in the layer above), writes it through
the store port (SQLite file; Bolt: ArcadeDB's Bolt server in a child process, or the Neo4j of
NEO4J_URI) exactly as bench.descendants does, then times over several runs what the
impactAnalysis query does: `service.impact.impact_analysis` for the declassification of the
root and for its downgrade to 秘密★10年. Every answer is checked against a reference computed
without the service: networkx's `descendants` of the same graph, each of which must be
declassified (resp. changed in level and period) exactly once. Prints a Markdown table.

The embedded store keeps the lineage and the items it has read in memory until a write
changes them (graph.store.sqlite): *cold* is the first analysis after opening the store,
*warm* the next ones. The Bolt store reads the server every time.

`--breakdown` also times, warm on the embedded store, `load_world` and `fan_out` apart, and
the building of every `Impact` (the item after, its path, its bases kept), which an analysis
leaves to the reader of each one. `--no-bolt` leaves the Bolt server out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from bench.dag import START, Dag, generate
from bench.descendants import load, machine
from graph.access import SYSTEM
from graph.model import (
    Classification,
    ItemStatus,
    Level,
    PeriodKind,
    Years,
)
from graph.propagation import Action, fan_out
from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore
from service.composition import open_store
from service.impact import ImpactReport, ProposedChange, impact_analysis, load_world, plan_change
from service.usecases import PeriodSpec
from tests.bolt import ArcadeBolt, BoltServer, ExternalNeo4j

DOWNGRADE = Classification(Level.CONFIDENTIAL, Years(10, START))


def declassify(root: str) -> ProposedChange:
    return ProposedChange(item_id=root, declassify=True)


def downgrade(root: str) -> ProposedChange:
    return ProposedChange(
        item_id=root, level=Level.CONFIDENTIAL, period=PeriodSpec(PeriodKind.YEARS, years=10)
    )


def reference(dag: Dag) -> set[str]:
    """The descendants of the root, by networkx: each must get exactly one impact."""
    graph = nx.DiGraph()
    graph.add_edges_from((e.parent_id, e.child_id) for e in dag.edges)
    return set(nx.descendants(graph, dag.root))


def check_declassified(report: ImpactReport, expected: set[str]) -> None:
    found = [i.item_id for i in report.impacts]
    if len(found) != len(expected) or set(found) != expected:
        raise AssertionError(f"{len(found)} impacts, expected {len(expected)} descendants")
    for impact in report.impacts:
        if impact.actions != (Action.DECLASSIFY,) or (
            impact.after.status is not ItemStatus.DECLASSIFIED_WORK_SECRET
        ):
            raise AssertionError(f"{impact.item_id}: {impact.actions}, {impact.after.status}")


def check_downgraded(report: ImpactReport, expected: set[str]) -> None:
    found = [i.item_id for i in report.impacts]
    if len(found) != len(expected) or set(found) != expected:
        raise AssertionError(f"{len(found)} impacts, expected {len(expected)} descendants")
    for impact in report.impacts:
        if impact.actions != (Action.CHANGE_LEVEL, Action.CHANGE_PERIOD) or (
            impact.after.classification != DOWNGRADE
        ):
            raise AssertionError(f"{impact.item_id}: {impact.actions}, {impact.after}")


def timed(
    runs: int,
    store: GraphStore,
    change: ProposedChange,
    check: Callable[[ImpactReport, set[str]], None],
    expected: set[str],
    timeout: float,
) -> list[float]:
    """Up to `runs` timings; no further run starts once `timeout` seconds have been spent."""
    times: list[float] = []
    for _ in range(runs):
        if sum(times) > timeout:
            break
        started = time.perf_counter()
        report = impact_analysis(store, change, SYSTEM)
        times.append(time.perf_counter() - started)
        check(report, expected)
        del report
    return times


def ms(times: list[float], runs: int) -> str:
    text = f"{statistics.median(times) * 1000:,.0f} ms"
    return text if len(times) == runs else f"{text} ({len(times)} runs)"


def cold(path: Path, change: ProposedChange, runs: int, timeout: float) -> list[float]:
    """Timings of the first impact analysis after the store is opened: nothing in memory, as
    after a restart or after a write to the tables the store keeps (see graph.store.sqlite)."""
    times: list[float] = []
    for _ in range(runs):
        if sum(times) > timeout:
            break
        store = SqliteStore(path)
        try:
            started = time.perf_counter()
            impact_analysis(store, change, SYSTEM)
            times.append(time.perf_counter() - started)
        finally:
            store.close()
    return times


def materialised(store: GraphStore, change: ProposedChange, runs: int) -> list[float]:
    """Timings of building every `Impact` of an analysis (item after, path, bases kept), which
    a commit's notices or a full listing need and a page of them does not."""
    times = []
    for _ in range(runs):
        report = impact_analysis(store, change, SYSTEM)
        started = time.perf_counter()
        for _impact in report.impacts:
            pass
        times.append(time.perf_counter() - started)
        del report
    return times


def phases(store: GraphStore, root: str, change: ProposedChange, runs: int) -> dict[str, str]:
    """load_world and fan_out apart, as impact_analysis runs them, with the store warm."""
    loads, fans = [], []
    for _ in range(runs):
        started = time.perf_counter()
        plan, (lineage, world, _) = store.read(
            lambda tx: (plan_change(tx, change), load_world(tx, [root]))
        )
        loaded = time.perf_counter()
        fan_out(lineage, world, changed_items={root: plan.after})
        loads.append(loaded - started)
        fans.append(time.perf_counter() - loaded)
    return {"load_world": ms(loads, runs), "fan_out": ms(fans, runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="no further run once a column took this long"
    )
    parser.add_argument("--heap", default="4g", help="ArcadeDB's JVM heap")
    parser.add_argument("--no-bolt", action="store_true", help="the embedded store only")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the phases on the embedded store"
    )
    args = parser.parse_args()

    uri = os.environ.get("NEO4J_URI")
    server: BoltServer | None = None
    if not args.no_bolt:
        server = ExternalNeo4j(uri) if uri else ArcadeBolt(heap=args.heap)
    engine = "none" if server is None else "Neo4j (NEO4J_URI)" if uri else "ArcadeDB Bolt"
    rows = []
    breakdowns: dict[int, dict[str, str]] = {}
    try:
        for size in args.sizes:
            dag = generate(size, args.depth)
            expected = reference(dag)
            root = dag.root
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "b.db"
                stores: dict[str, GraphStore] = {"SQLite": SqliteStore(path)}
                url = None if server is None else server.new_database()
                if url is not None:
                    stores["Bolt"] = open_store(url)
                row: dict[str, str] = {}
                try:
                    for name, store in stores.items():
                        row[f"load {name}"] = f"{load(store, dag):.1f} s"
                        for label, change, check in (
                            ("declassify", declassify(root), check_declassified),
                            ("downgrade", downgrade(root), check_downgraded),
                        ):
                            if name == "SQLite":
                                times = cold(path, change, args.runs, args.timeout)
                                row[f"{label} SQLite cold"] = ms(times, args.runs)
                                impact_analysis(store, change, SYSTEM)  # what the store keeps: warm
                            times = timed(args.runs, store, change, check, expected, args.timeout)
                            warm = " warm" if name == "SQLite" else ""
                            row[f"{label} {name}{warm}"] = ms(times, args.runs)
                            print(f"size {size} {label} {name}: {times}", file=sys.stderr)
                    if args.breakdown:
                        sqlite = stores["SQLite"]
                        parts: dict[str, str] = {}
                        for label, change in (
                            ("declassify", declassify(root)),
                            ("downgrade", downgrade(root)),
                        ):
                            for part, text in phases(sqlite, root, change, args.runs).items():
                                parts[f"{part} {label}"] = text
                            built = materialised(sqlite, change, args.runs)
                            parts[f"every Impact built, {label}"] = ms(built, args.runs)
                        breakdowns[size] = parts
                        print(f"size {size} phases: {parts}", file=sys.stderr)
                finally:
                    for store in stores.values():
                        store.close()
            rows.append((size, len(expected), len(dag.edges), row))
            print(f"size {size}: done", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()

    print(
        f"Machine: {machine()}. Bolt server: {engine}. Depth {args.depth}, 3 parents each, "
        f"median of {args.runs} runs.\n"
    )
    columns = list(rows[0][3])
    print("| items | descendants | edges | " + " | ".join(columns) + " |")
    print("|---:|---:|---:|" + "---:|" * len(columns))
    for size, descendants, edges, row in rows:
        cells = " | ".join(row.get(c, "") for c in columns)
        print(f"| {size:,} | {descendants:,} | {edges:,} | {cells} |")
    if breakdowns:
        print("\nPhases on the embedded store, warm (median of the same number of runs):\n")
        labels = list(next(iter(breakdowns.values())))
        print("| items | " + " | ".join(labels) + " |")
        print("|---:|" + "---:|" * len(labels))
        for size, cells_by_label in breakdowns.items():
            print(f"| {size:,} | " + " | ".join(cells_by_label[c] for c in labels) + " |")


if __name__ == "__main__":
    main()
