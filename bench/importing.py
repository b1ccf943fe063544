"""Import of realistic lineages (bench/lineages.py) into each store through the public import
path (service.transfer.import_graph, what `lineage import` runs), timed from the file to the
last commit, into a new store each run; with the peak memory of the process.

    .venv/bin/python -m bench.importing --sizes 100000 1000000 --runs 3 [--no-bolt] [--batch 1000]
        [--way batched|bulk|both]

`--way bulk` times what `lineage import` runs into an empty embedded store (service.bulk, issue
24), `batched` import_graph's batches (what it runs for Bolt, a store not empty and --resume);
both by default, alternately. Bolt is timed the batched way only. SQLite's columns give the
median wall time and the median CPU time of the process (its threads included).

Each size's file is generated once into --cache (default /tmp) and kept for the next runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import lineages
from bench.descendants import machine
from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore
from service.bulk import import_into
from service.composition import open_store
from service.transfer import BATCH, import_graph
from tests.bolt import ArcadeBolt, BoltServer, ExternalNeo4j


def graph_file(
    cache: Path, size: int, seed: int, shape: str = "realistic"
) -> tuple[Path, dict[str, int]]:
    """The graph's file, generated unless it is there, and its counts (kept beside it)."""
    name = "lineage" if shape == "realistic" else shape
    path = cache / f"{name}-{size}-{seed}.jsonl"
    counts = path.with_suffix(".counts.json")
    if not (path.exists() and counts.exists()):
        found = lineages.write(path, size, seed, shape)
        lines = sum(1 for _ in path.open(encoding="utf-8"))
        numbers = {"edges": found.edges, "contained": found.contained, "lines": lines}
        counts.write_text(json.dumps(numbers))
    return path, dict(json.loads(counts.read_text()))


def timed_import(
    open_target: Callable[[], GraphStore], path: Path, batch: int = BATCH, *, bulk: bool = False
) -> tuple[float, float]:
    """Seconds from the file to the last commit, and CPU seconds of this process (all its
    threads) in them: on a machine shared with other work, the CPU moves less than the
    clock."""
    store = open_target()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        with path.open(encoding="utf-8") as lines:
            if bulk:
                _, bulked = import_into(store, lines)
                assert bulked, "the store was not empty"  # noqa: S101
            else:
                import_graph(store, lines, batch)
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        store.close()


def options(
    description: str, sizes: list[int], runs: int, *, batch: bool = False
) -> argparse.Namespace:
    """The options the benchmarks over generated lineages share (and the import's batch)."""
    parser = argparse.ArgumentParser(description=description)
    if batch:
        parser.add_argument("--batch", type=int, default=BATCH, help="lines a transaction")
        parser.add_argument("--way", choices=("batched", "bulk", "both"), default="both")
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--no-bolt", action="store_true", help="the embedded store only")
    parser.add_argument("--bolt-sizes", type=int, nargs="*", help="sizes for Bolt (all)")
    parser.add_argument("--heap", default="8g", help="ArcadeDB's JVM heap")
    return parser.parse_args()


def bolt_server(args: argparse.Namespace) -> BoltServer | None:
    """The Neo4j of NEO4J_URI, or ArcadeDB's Bolt server in a child process; None with
    --no-bolt."""
    if args.no_bolt:
        return None
    uri = os.environ.get("NEO4J_URI")
    return ExternalNeo4j(uri) if uri else ArcadeBolt(heap=args.heap)


def main() -> None:
    args = options(__doc__.split("\n\n")[0], [100_000], 3, batch=True)
    server = bolt_server(args)
    rows = []
    try:
        for size in args.sizes:
            path, found = graph_file(args.cache, size, args.seed)
            ways = ("batched", "bulk") if args.way == "both" else (args.way,)
            sqlite_times: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
            for _ in range(args.runs):
                for way in ways:  # alternately, so that a busy moment hits both alike
                    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
                        target = Path(folder) / "import.db"
                        sqlite_times[way].append(
                            timed_import(
                                partial(SqliteStore, target),
                                path,
                                args.batch,
                                bulk=way == "bulk",
                            )
                        )
            bolt_times = []
            if server is not None and (args.bolt_sizes is None or size in args.bolt_sizes):
                for _ in range(args.runs):
                    url = server.new_database()
                    bolt_times.append(timed_import(partial(open_store, url), path, args.batch)[0])
                    server.release(url)
            rows.append((size, found, sqlite_times, bolt_times))
            print(f"size {size}: done", file=sys.stderr, flush=True)
    finally:
        if server is not None:
            server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Machine: {machine()}. Median of {args.runs} runs; peak memory {peak:,.0f} MiB.\n")
    print("| items | edges | keypoint links | lines | SQLite batched | SQLite bulk | Bolt |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, found, s_times, b_times in rows:
        bolt = f"{statistics.median(b_times):.1f} s" if b_times else "not run"
        sqlite = [
            _median(s_times[way]) if s_times.get(way) else "not run" for way in ("batched", "bulk")
        ]
        print(
            f"| {size:,} | {found['edges']:,} | {found['contained']:,} | {found['lines']:,} | "
            f"{' | '.join(sqlite)} | {bolt} |"
        )


def _median(times: list[tuple[float, float]]) -> str:
    """The median wall time, and the median CPU time beside it."""
    wall = statistics.median(t for t, _ in times)
    cpu = statistics.median(c for _, c in times)
    return f"{wall:.1f} s ({cpu:.1f} s CPU)"


if __name__ == "__main__":
    main()
