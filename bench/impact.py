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

`--breakdown` also times the phases on the embedded store, and a prototype of the store reads
proposed in BENCHMARKS.md (issue 4), each checked against what the store answers today.
`--no-bolt` leaves the Bolt server out.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
from neo4j import GraphDatabase

from bench.dag import START, Dag, generate
from bench.descendants import load, machine
from graph.model import (
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    PeriodKind,
    Years,
)
from graph.propagation import Action, fan_out, paused_gc
from graph.store.base import GraphReader, GraphStore
from graph.store.codec import CLASSIFICATION_FIELDS, classification_from, derivation, scope_of
from graph.store.sqlite import _IN, SqliteStore, _ids, _SqliteTx
from graph.traversal import expand
from service.composition import bolt_target, open_store
from service.impact import ImpactReport, ProposedChange, impact_analysis, load_world
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
        report = impact_analysis(store, change)
        times.append(time.perf_counter() - started)
        check(report, expected)
        del report
    return times


def ms(times: list[float], runs: int) -> str:
    text = f"{statistics.median(times) * 1000:,.0f} ms"
    return text if len(times) == runs else f"{text} ({len(times)} runs)"


# A prototype of the reads proposed for the embedded store (see BENCHMARKS.md, issue 4): not
# used by the service, only timed here and checked against what the store gives today.

# Assembled from the store's own constants only; every value is a parameter.
DESCENDANT_IDS = f"""
WITH RECURSIVE below(id) AS (
    SELECT child_id FROM derived_from WHERE parent_id IN {_IN}
    UNION
    SELECT d.child_id FROM below b CROSS JOIN derived_from d ON d.parent_id = b.id
)
SELECT id FROM below ORDER BY id"""  # noqa: S608

LINEAGE_BELOW = f"""
WITH RECURSIVE below(id) AS (
    SELECT child_id FROM derived_from WHERE parent_id IN {_IN}
    UNION
    SELECT d.child_id FROM derived_from d JOIN below b ON d.parent_id = b.id
)
SELECT d.child_id, d.parent_id, d.basis, d.keypoint_ids
FROM below b CROSS JOIN derived_from d ON d.child_id = b.id
ORDER BY d.child_id, d.parent_id"""  # noqa: S608

ITEM_COLUMNS = (
    "id, kind, title, document_number, organisation_id, issued_on, status, "
    f"{', '.join(CLASSIFICATION_FIELDS)}, scope, scope_limit"
)


class ProposedTx(_SqliteTx):
    """The store's transaction with the proposed `descendant_ids` (or, one query instead of
    two, `lineage_below`), and `items` decoding plain tuple rows and sharing equal values
    (dates, classifications, scopes) between items."""

    def descendant_ids(self, roots: Iterable[str]) -> list[str]:
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.execute(DESCENDANT_IDS, (_ids(roots),))
        return [row[0] for row in cursor.fetchall()]

    def lineage_below(self, roots: Iterable[str]) -> list[Derivation]:
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.execute(LINEAGE_BELOW, (_ids(roots),))
        return [derivation(*row) for row in cursor.fetchall()]

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        cursor = self._db.cursor()
        cursor.row_factory = None
        sql = f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN {_IN}"  # noqa: S608 - constants
        cursor.execute(sql, (_ids(ids),))
        kinds = {k.value: k for k in ItemKind}
        statuses = {s.value: s for s in ItemStatus}
        days: dict[str, date] = {}
        classifications: dict[tuple[Any, ...], Classification | None] = {}
        scopes: dict[str, KnowledgeScope] = {}
        out: dict[str, Item] = {}
        for row in cursor.fetchall():
            issued = days.get(row[5]) or days.setdefault(row[5], date.fromisoformat(row[5]))
            key = row[7:13]
            if key not in classifications:
                classifications[key] = classification_from(
                    dict(zip(CLASSIFICATION_FIELDS, key, strict=True))
                )
            scope = scopes.get(row[13]) or scopes.setdefault(row[13], scope_of(row[13]))
            limit = None
            if row[14] is not None:
                limit = scopes.get(row[14]) or scopes.setdefault(row[14], scope_of(row[14]))
            out[row[0]] = Item(
                row[0],
                kinds[row[1]],
                row[2],
                row[3] or "",
                row[4],
                issued,
                statuses[row[6]],
                classifications[key],
                scope,
                limit,
            )
        return out


# descendant_ids on a Bolt server. Only a final RETURN DISTINCT keeps ArcadeDB from walking
# every path: `WITH DISTINCT d MATCH (d)-[e]->(p) ...` (edges in one statement) did not finish
# in a minute on 2,000 items.
DESCENDANT_IDS_CYPHER = """
MATCH (r:Item)<-[:DERIVED_FROM*]-(d:Item) WHERE r.id IN $roots
RETURN DISTINCT d.id AS id ORDER BY id"""


def bolt_descendant_ids(url: str, roots: list[str]) -> list[str]:
    target = bolt_target(url)
    with GraphDatabase.driver(target.uri, auth=target.auth) as driver:
        records, _, _ = driver.execute_query(
            DESCENDANT_IDS_CYPHER, roots=roots, database_=target.database
        )
    return [str(r["id"]) for r in records]


def proposed(tx: GraphReader) -> ProposedTx:
    if not isinstance(tx, _SqliteTx):
        raise TypeError("the prototype reads the embedded store only")
    return ProposedTx(tx._db)


def phase(store: GraphStore, work: Callable[[GraphReader], object], runs: int) -> list[float]:
    """Timings of `work`, with the collector paused as load_world and fan_out pause it."""
    times = []
    for _ in range(runs):
        with paused_gc():
            started = time.perf_counter()
            store.read(work)
            times.append(time.perf_counter() - started)
    return times


def breakdown(store: GraphStore, bolt: str | None, root: str, runs: int) -> dict[str, str]:
    """Where the time of an impact analysis goes on the embedded store, today and with the
    proposed reads; every proposed answer is checked against today's."""

    def today_edges(tx: GraphReader) -> list[Derivation]:
        subgraph = expand(root, tx.children, upstream=False, max_depth=None)
        return tx.parents(sorted(set(subgraph.depth) - {root}))

    def proposed_edges(tx: GraphReader) -> list[Derivation]:
        return tx.parents(proposed(tx).descendant_ids([root]))

    def one_query(tx: GraphReader) -> list[Derivation]:
        return proposed(tx).lineage_below([root])

    edges = store.read(today_edges)
    if set(store.read(proposed_edges)) != set(edges) or set(store.read(one_query)) != set(edges):
        raise AssertionError(
            "descendant_ids + parents or lineage_below differ from expand + parents"
        )
    ids = sorted({e.child_id for e in edges} | {e.parent_id for e in edges})
    items = store.read(lambda tx: tx.items(ids))
    if store.read(lambda tx: proposed(tx).items(ids)) != items:
        raise AssertionError("the proposed items() differs from items()")
    lineage, world = store.read(lambda tx: load_world(tx, [root]))
    before = world.items[root]
    changes = {
        "declassify": replace(before, status=ItemStatus.DECLASSIFIED_WORK_SECRET),
        "downgrade": replace(before, classification=DOWNGRADE),
    }
    times = {
        "load_world": phase(store, lambda tx: load_world(tx, [root]), runs),
        "expand + parents": phase(store, today_edges, runs),
        "descendant_ids + parents": phase(store, proposed_edges, runs),
        "lineage_below": phase(store, one_query, runs),
        "items": phase(store, lambda tx: tx.items(ids), runs),
        "items, proposed": phase(store, lambda tx: proposed(tx).items(ids), runs),
    }
    if bolt is not None:
        if set(bolt_descendant_ids(bolt, [root])) != {e.child_id for e in edges}:
            raise AssertionError("descendant_ids in Cypher differs from expand")
        cypher = []
        for _ in range(runs):
            started = time.perf_counter()
            bolt_descendant_ids(bolt, [root])
            cypher.append(time.perf_counter() - started)
        times["descendant_ids, Cypher on Bolt"] = cypher
    for label, after in changes.items():
        fan = []
        for _ in range(runs):
            started = time.perf_counter()
            fan_out(lineage, world, changed_items={root: after})
            fan.append(time.perf_counter() - started)
        times[f"fan_out {label}"] = fan
    # Subtracted from impact_analysis's time, this is what it would take with both reads.
    saved = (
        statistics.median(times["expand + parents"])
        - statistics.median(times["descendant_ids + parents"])
        + statistics.median(times["items"])
        - statistics.median(times["items, proposed"])
    )
    out = {label: ms(values, runs) for label, values in times.items()}
    return out | {"saved by the proposed reads": f"{saved * 1000:,.0f} ms"}


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
    phases: dict[int, dict[str, str]] = {}
    try:
        for size in args.sizes:
            dag = generate(size, args.depth)
            expected = reference(dag)
            root = dag.root
            with tempfile.TemporaryDirectory() as folder:
                stores: dict[str, GraphStore] = {"SQLite": SqliteStore(Path(folder) / "b.db")}
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
                            times = timed(args.runs, store, change, check, expected, args.timeout)
                            row[f"{label} {name}"] = ms(times, args.runs)
                            print(f"size {size} {label} {name}: {times}", file=sys.stderr)
                    if args.breakdown:
                        phases[size] = breakdown(stores["SQLite"], url, root, args.runs)
                        print(f"size {size} phases: {phases[size]}", file=sys.stderr)
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
    if phases:
        print("\nPhases on the embedded store (median of the same runs):\n")
        labels = list(next(iter(phases.values())))
        print("| items | " + " | ".join(labels) + " |")
        print("|---:|" + "---:|" * len(labels))
        for size, cells_by_label in phases.items():
            print(f"| {size:,} | " + " | ".join(cells_by_label[c] for c in labels) + " |")


if __name__ == "__main__":
    main()
