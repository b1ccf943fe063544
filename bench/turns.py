"""What taking turns costs writers on Bolt (issue 9, item 2): every write transaction of the
Neo4j store first takes the process's writer lock, then writes the `(:WriteTurn)` node
(`_take_turn` in graph/store/neo4j.py), so that writers take turns as on the embedded store.
This times small write transactions (a person registered: a check and a node) on a real Bolt
server as shipped, without the process's lock (the turn node alone), and without either; the
last two are patched in this process for the comparison only. One writer after another, and
several writers at once.

    .venv/bin/python -m bench.turns [--writes 1000] [--threads 1 4] [--rounds 3]

Rounds cycle through the modes, so that a server warming up counts against none. Against the
Neo4j of NEO4J_URI if set, else ArcadeDB's Bolt server.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from unittest import mock

from bench.descendants import machine
from graph.model import Organisation, Person
from graph.store.base import GraphStore, GraphWriter
from service.composition import open_store
from tests import bolt


class _NoLock:
    def acquire(self, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        pass


@contextmanager
def mode(store: GraphStore, name: str) -> Iterator[None]:
    # For the measurement only: without the turn, racing writers can lose an update
    # (tests/e2e/test_races.py).
    if name == "shipped":
        yield
        return
    with mock.patch.object(store, "_writing", _NoLock()):
        if name == "turn node only":
            yield
            return
        with mock.patch("graph.store.neo4j._take_turn", return_value=None):
            yield


MODES = ("shipped", "turn node only", "neither")


def _register(person: Person, tx: GraphWriter) -> None:
    tx.add_person(person)


def rate(store: GraphStore, writes: int, threads: int, ids: Iterator[int]) -> float:
    """Write transactions a second, `threads` writers sharing `writes`."""
    each = writes // threads
    wanted = [[f"P-{next(ids)}" for _ in range(each)] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def writer(names: list[str]) -> None:
        start.wait()
        for name in names:
            store.write(partial(_register, Person(name, "基准人员", "O-1")))

    workers = [threading.Thread(target=writer, args=(names,)) for names in wanted]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return each * threads / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=1000, help="per round")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--heap", default="1g", help="ArcadeDB's JVM heap")
    args = parser.parse_args()
    uri = os.environ.get("NEO4J_URI")
    server = bolt.start(heap=args.heap)
    engine = "Neo4j (NEO4J_URI)" if uri else "ArcadeDB Bolt (child process)"
    rows = []
    try:
        url = server.new_database()
        store = open_store(url)
        try:
            store.write(lambda tx: tx.add_organisation(Organisation("O-1", "基准机关")))
            ids = itertools.count()
            rate(store, 200, 1, ids)  # warm-up: connections, plans
            for threads in args.threads:
                found: dict[str, list[float]] = {name: [] for name in MODES}
                for _ in range(args.rounds):
                    for name in MODES:
                        with mode(store, name):
                            found[name].append(rate(store, args.writes, threads, ids))
                rows.append((threads, {k: statistics.median(v) for k, v in found.items()}))
        finally:
            store.close()
    finally:
        server.stop()
    print(f"Machine: {machine()}. {engine}; {args.writes:,} writes a round, {args.rounds} rounds.")
    print()
    print("| writers | shipped (lock + turn node) | turn node only | neither |")
    print("|---:|---:|---:|---:|")
    for threads, rates in rows:
        cells = " | ".join(f"{rates[name]:,.0f} /s" for name in MODES)
        print(f"| {threads} | {cells} |")


if __name__ == "__main__":
    main()
