"""The committed fan-out and the memory it takes (issue 8), on the realistic lineages of
bench/lineages.py on the embedded store: the national source declassified for real (X-12),
the change, its record and a notice for every descendant that must act written in one
transaction, as `declassify` runs it.

    .venv/bin/python -m bench.committed --sizes 10000 100000 1000000 --runs 3

Each size is imported once (through `import_graph`); each run then works on a copy of the
file in a process of its own, which opens the store, analyses the change cold and warm,
commits it, and reports its peak memory (the high-water mark of its resident set): what a
service holds with that graph loaded, its lineage and items in memory.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench import lineages
from bench.descendants import machine
from bench.importing import graph_file, options
from graph.access import SYSTEM, Role
from graph.change import DeclassificationReason
from graph.store.sqlite import SqliteStore, trail_path
from service.accounts import NewUser, actor_of_person, add_user
from service.change import Decision, commit_change
from service.impact import ProposedChange, impact_analysis
from service.transfer import import_graph
from service.usecases import NewPerson, register_person

DECISION = Decision(
    handler_id="bench-handler",
    official_id=None,
    basis="基准测试：该事项因情势变化不再需要作为国家秘密（X-12(2)）",
    reason=DeclassificationReason.CIRCUMSTANCES_CHANGED,
    approval_reference="基准测试批准〔2026〕1号",
)


def prepare(path: Path, folder: Path, size: int) -> Path:
    """The generated graph imported into a file, with a handler and an official of the
    national source's organisation (within its knowledge scope, D-10)."""
    file = folder / f"committed-{size}.db"
    store = SqliteStore(file)
    try:
        with path.open(encoding="utf-8") as lines:
            import_graph(store, lines)
        root = store.read(lambda tx: tx.items([lineages.ROOT])[lineages.ROOT])
        for person, role in (("bench-handler", Role.HANDLER), ("bench-official", Role.OFFICIAL)):
            register_person(store, NewPerson(person, person, root.organisation_id), SYSTEM)
            add_user(store, NewUser(person, frozenset({role}), person_id=person))
    finally:
        store.close()
    return file


def run(file: Path, answers: multiprocessing.Queue[dict[str, float]]) -> None:
    """One run, in its own process: cold and warm analysis, then the commit."""
    store = SqliteStore(file)
    try:
        official = actor_of_person(store, "bench-official")
        change = ProposedChange(lineages.ROOT, declassify=True)
        started = time.perf_counter()
        impacts = len(impact_analysis(store, change, official).impacts)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        impact_analysis(store, change, official)
        warm = time.perf_counter() - started
        started = time.perf_counter()
        committed = commit_change(store, change, DECISION, official)
        commit = time.perf_counter() - started
    finally:
        store.close()
    if len(committed.notices) != impacts:
        raise AssertionError(f"{len(committed.notices)} notices for {impacts} impacts")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    answers.put({"cold": cold, "warm": warm, "commit": commit, "notices": impacts, "peak": peak})


def main() -> None:
    args = options(__doc__.split("\n\n")[0], [10_000, 100_000], 3)
    spawn = multiprocessing.get_context("spawn")  # a fresh process: its peak is its own
    rows = []
    for size in args.sizes:
        path, counts = graph_file(args.cache, size, args.seed)
        with tempfile.TemporaryDirectory(dir=args.cache) as name:
            folder = Path(name)
            imported = prepare(path, folder, size)
            results = []
            for number in range(args.runs):
                copy = folder / f"run-{number}.db"
                shutil.copy(imported, copy)
                if trail_path(imported).exists():
                    shutil.copy(trail_path(imported), trail_path(copy))
                answers: multiprocessing.Queue[dict[str, float]] = spawn.Queue()
                child = spawn.Process(target=run, args=(copy, answers))
                child.start()
                child.join()
                if child.exitcode != 0:
                    raise RuntimeError(f"run {number} at {size:,} items failed")
                results.append(answers.get())
                copy.unlink()
            rows.append((size, counts, results))
    print(f"Machine: {machine()}. Median of {args.runs} runs, each in a fresh process.\n")
    print("| items | edges | notices | analysis cold | analysis warm | commit | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, counts, results in rows:

        def median(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        print(
            f"| {size:,} | {counts['edges']:,} | {median('notices'):,.0f} | "
            f"{median('cold') * 1000:,.0f} ms | {median('warm') * 1000:,.0f} ms | "
            f"{median('commit') * 1000:,.0f} ms | {median('peak'):,.0f} MiB |"
        )


if __name__ == "__main__":
    main()
