"""The commit of a declassification whose fan-out sends a notice to every descendant (issue
24, point 5): the worst-case diamond lineage (one 机密 source, every other item derived from
3 bases among the 2,000 before it, so every descendant must act), its source declassified for
real (X-12) on the embedded store, as the `declassify` mutation's use case runs it
(service.change.commit_change), after a warm analysis; beside it, the same commit written
notice by notice, as it was before (a `Notice` built for each and `add_notices`).

    .venv/bin/python -m bench.commit_bulk --sizes 10000 100000 --runs 3 --supersede

Each size is generated and imported once; each run works on a copy of the file, in a process
of its own, which opens the store, analyses the change (cold, then warm) and commits it. With
--supersede, a third row: in bulk, after a change (untimed) that sent every descendant a
notice, which the declassification then supersedes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.descendants import machine
from graph.access import Role
from graph.change import DeclassificationReason
from graph.model import (
    BasisCase,
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    Organisation,
    Person,
    Years,
)
from graph.propagation import paused_gc
from graph.store import exchange
from graph.store.base import GraphWriter, NoticeQuery
from graph.store.sqlite import SqliteStore, trail_path
from service.accounts import NewUser, actor_of_person, add_user
from service.change import Committed, Decision, _check, _decide, commit_change, foresee
from service.impact import ProposedChange, impact_analysis
from service.transfer import import_graph

ROOT = "S-0"
HANDLER, OFFICIAL = "p-org-0-h", "p-org-0-o"
DECISION = Decision(
    handler_id=HANDLER,
    official_id=None,
    basis="基准测试：该事项因情势变化不再需要作为国家秘密（X-12(2)）",
    reason=DeclassificationReason.CIRCUMSTANCES_CHANGED,
)
# Each item's bases are drawn among this many items before it.
WINDOW = 2000


def diamond(size: int, seed: int) -> Iterator[dict[str, Any]]:
    """The worst-case diamond lineage of `size` items, as export lines (graph.store.exchange)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    yield exchange.header(datetime(2026, 1, 1, tzinfo=UTC))
    yield exchange.encode(Organisation("org-0", "国家某部", Level.TOP_SECRET))
    yield exchange.encode(Person(HANDLER, "承办人", "org-0"))
    yield exchange.encode(Person(OFFICIAL, "定密责任人", "org-0"))
    issued = date(2022, 1, 1)
    scope = KnowledgeScope(organisations=frozenset({"org-0"}))
    classified = Classification(Level.CONFIDENTIAL, Years(10, issued))

    def item(id: str, kind: ItemKind, title: str) -> Item:
        return Item(
            id=id,
            kind=kind,
            title=title,
            document_number=f"某字〔2022〕{id}号",
            organisation_id="org-0",
            issued_on=issued,
            status=ItemStatus.CLASSIFIED,
            classification=classified,
            scope=scope,
        )

    yield exchange.encode(item(ROOT, ItemKind.SOURCE, "源事项"))
    for number in range(1, size):
        id = f"D-{number:07d}"
        yield exchange.encode(item(id, ItemKind.DERIVED, f"派生事项 {number}"))
        low = max(0, number - WINDOW)
        for parent in sorted({rng.randrange(low, number) for _ in range(3)}):
            basis = ROOT if parent == 0 else f"D-{parent:07d}"
            yield exchange.encode(Derivation(id, basis, BasisCase.SUMMARY))


def prepare(folder: Path, size: int, seed: int) -> Path:
    """The diamond imported into a file, with users for its handler and its official."""
    file = folder / f"diamond-{size}.db"
    store = SqliteStore(file)
    try:
        import_graph(store, (exchange.dumps(line) for line in diamond(size, seed)))
        add_user(store, NewUser(HANDLER, frozenset({Role.HANDLER}), person_id=HANDLER))
        add_user(store, NewUser(OFFICIAL, frozenset({Role.OFFICIAL}), person_id=OFFICIAL))
    finally:
        store.close()
    return file


def one_by_one(store: SqliteStore, proposal: ProposedChange) -> Committed:
    """The commit as it was written before issue 24: the same decision and fan-out, then a
    `Notice` built for each impact and written with `add_notices`."""
    actor = actor_of_person(store, OFFICIAL)
    checked = _check(DECISION, actor)

    def work(tx: GraphWriter) -> Committed:
        plan, change, due_on = _decide(tx, proposal, checked, actor)
        done = foresee(tx, plan, change, due_on)
        tx.update_items([done.change.after])
        tx.add_record(done.record)
        tx.add_change(done.change)
        with paused_gc():
            tx.add_notices(list(done.notices))
        return done

    return store.write(work)


def run(
    file: Path, bulk: bool, supersede: bool, answers: multiprocessing.Queue[dict[str, float]]
) -> None:
    """One run, in its own process: cold and warm analysis, then the commit; with
    `supersede`, after a change that raised the source to 秘密 (untimed), so that the
    declassification supersedes the notice it sent to every descendant."""
    store = SqliteStore(file)
    try:
        official = actor_of_person(store, OFFICIAL)
        if supersede:
            raised = ProposedChange(ROOT, level=Level.SECRET)
            commit_change(store, raised, replace(DECISION, reason=None), official)
        change = ProposedChange(ROOT, declassify=True)
        started = time.perf_counter()
        impacts = len(impact_analysis(store, change, official).impacts)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        impact_analysis(store, change, official)
        warm = time.perf_counter() - started
        started = time.perf_counter()
        if bulk:
            committed = commit_change(store, change, DECISION, official)
        else:
            committed = one_by_one(store, change)
        commit = time.perf_counter() - started
        sent = NoticeQuery(change_id=committed.change.id, limit=None)
        written = store.read(lambda tx: tx.count_notices(sent))
    finally:
        store.close()
    if written != impacts or len(committed.notices) != impacts:
        raise AssertionError(f"{written} notices written for {impacts} impacts")
    if len(committed.superseded) != (impacts if supersede else 0):
        raise AssertionError(f"{len(committed.superseded)} notices superseded")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    answers.put({"cold": cold, "warm": warm, "commit": commit, "notices": impacts, "peak": peak})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--supersede", action="store_true", help="also in bulk after a change to supersede"
    )
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")  # a fresh process: its peak is its own
    rows = []
    with tempfile.TemporaryDirectory(dir=args.cache) as name:
        folder = Path(name)
        for size in args.sizes:
            imported = prepare(folder, size, args.seed)
            modes = [(False, False), (True, False)]
            if args.supersede:
                modes.append((True, True))
            for bulk, supersede in modes:
                results = []
                for number in range(args.runs):
                    copy = folder / f"run-{number}.db"
                    shutil.copy(imported, copy)
                    if trail_path(imported).exists():
                        shutil.copy(trail_path(imported), trail_path(copy))
                    answers: multiprocessing.Queue[dict[str, float]] = spawn.Queue()
                    child = spawn.Process(target=run, args=(copy, bulk, supersede, answers))
                    child.start()
                    child.join()
                    if child.exitcode != 0:
                        raise RuntimeError(f"run {number} at {size:,} items failed")
                    results.append(answers.get())
                    for path in (copy, trail_path(copy)):
                        path.unlink(missing_ok=True)
                rows.append((size, bulk, supersede, results))
    print(f"Machine: {machine()}. Median of {args.runs} runs, each in a fresh process.\n")
    print("| items | notices | written | analysis cold | analysis warm | commit | peak memory |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for size, bulk, supersede, results in rows:

        def median(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        how = "in bulk (rows)" if bulk else "one by one (before)"
        if supersede:
            how += ", superseding as many"
        print(
            f"| {size:,} | {median('notices'):,.0f} | {how} | {median('cold') * 1000:,.0f} ms | "
            f"{median('warm') * 1000:,.0f} ms | {median('commit') * 1000:,.0f} ms | "
            f"{median('peak'):,.0f} MiB |"
        )


if __name__ == "__main__":
    main()
