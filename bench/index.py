"""The array graph index (graph.index) beside scipy's BFS, on the diamond-heavy DAG of
bench/dag.py (every item below the root, 3 parents each):

    .venv/bin/python -m bench.index --sizes 10000 100000 --runs 5

For each size: building the index from the generated items and edges (their columns read in
Python, the CSRs sorted in numpy), `descendants` of the root and `layers` of them, scipy's
`breadth_first_order` over the same downward CSR (the matrix made beforehand, not timed), a
save and a memory-mapped load, the first traversal after that load, and the traversal with
1,000 edges appended and not yet merged (read from the delta). Medians over the runs; each
answer is checked against scipy's. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from bench.dag import generate
from graph.index import GraphIndex, descendants, layers
from graph.model import BasisCase, Derivation

T = TypeVar("T")


def timed(runs: int, work: Callable[[], T]) -> tuple[float, T]:
    """The median seconds of `runs` calls of `work`, and its last answer."""
    times = []
    answers = []
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        answers.append(work())
        times.append(time.perf_counter() - started)
    return statistics.median(times), answers[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def measure(size: int, runs: int) -> list[str]:
    dag = generate(size)
    build, index = timed(runs, lambda: GraphIndex.from_values(dag.items, dag.edges))
    root = index.numbers([dag.root])
    edges = index.edge_count
    walk, below = timed(runs, lambda: descendants(index, root))
    layered, layer_of = timed(runs, lambda: layers(index, below))
    rows, targets, _ = index.csr(down=True)
    matrix = csr_matrix(
        (np.ones(len(targets), dtype=np.int8), targets, rows), shape=(index.size, index.size)
    )
    bfs, order = timed(
        runs, lambda: breadth_first_order(matrix, int(root[0]), return_predecessors=False)
    )
    if set(order.tolist()) - {int(root[0])} != set(below.tolist()):
        raise AssertionError("descendants differ from scipy's breadth-first order")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.index"
        saved, _ = timed(runs, lambda: index.save(path))
        loaded, mapped = timed(runs, lambda: GraphIndex.load(path, {}))
        if mapped is None:
            raise AssertionError("the saved index was refused for its own generation")
        started = time.perf_counter()
        cold = descendants(mapped, mapped.numbers([dag.root]))
        layers(mapped, cold)
        first = time.perf_counter() - started
        if len(cold) != len(below):
            raise AssertionError("the loaded index reaches other descendants")
    # 1,000 edges from the root to the last items, into the delta (below the merge threshold).
    last = [i.id for i in dag.items[-1000:]]
    extra = [Derivation(child, dag.root, BasisCase.SUMMARY) for child in last]
    index.append_edges(extra)
    delta, _ = timed(runs, lambda: layers(index, descendants(index, root)))
    depth = int(layer_of.max()) + 1 if len(layer_of) else 0
    return [
        f"{size:,}",
        f"{edges:,}",
        f"{len(below):,} / {depth}",
        ms(build),
        ms(walk),
        ms(layered),
        ms(bfs),
        f"{(walk + layered) / bfs:.1f}",
        ms(saved),
        ms(loaded),
        ms(first),
        ms(delta),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    heads = [
        "items",
        "edges",
        "descendants / layers",
        "build ms",
        "descendants ms",
        "layers ms",
        "scipy BFS ms",
        "(desc.+layers) / BFS",
        "save ms",
        "mapped load ms",
        "first desc.+layers after load ms",
        "desc.+layers with 1,000 edges in the delta ms",
    ]
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, median of {args.runs} runs\n"
    )
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for size in args.sizes:
        print("| " + " | ".join(measure(size, args.runs)) + " |", flush=True)


if __name__ == "__main__":
    main()
