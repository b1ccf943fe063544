"""The targets of issue 24, measured in one command on the embedded store (SQLite), for the
realistic lineages and the worst-case diamond lineage of bench/lineages.py:

- *import*: the file through the public import path (service.transfer.import_graph, what
  `lineage import` runs) into a new store, from the file to the last commit;
- then the service, served by uvicorn on loopback in a child process, started once and
  stopped (a first start may build what later starts find), then started again: *start* is
  the time from that restart to its /healthz answering;
- over HTTP, as a front end asks, by the official (定密责任人) of the source's organisation,
  who may decide on it: `impactAnalysis` of the source's declassification with its totals
  and first page (QUERY); *cold* is the first after the restart, *warm* the median of
  `--runs` after it;
- *scipy*: `breadth_first_order` over the same edges in a CSR matrix already in memory (the
  traversal alone, the near-limit reference of bench/versus.py), median of `--runs`; and
  warm / scipy, the ratio the issue bounds at 20;
- *RSS*: the service process's peak resident memory (VmHWM) after the warm runs;
- *commit*: the `declassify` mutation of the source over HTTP on the same server (a front end
  analyses, then commits), with the number of notices it sent. The served store is a copy
  of the imported one, so every run starts from the same graph.

Each size's file is generated once into --cache (bench.importing.graph_file) and kept.

    .venv/bin/python -m bench.targets [--shapes realistic diamond] [--sizes 10000 100000]
        [--runs 5] [--commit-up-to 100000] [--json /tmp/targets.json]

1,000,000 is allowed (`--sizes 1000000 --shapes realistic`): it takes minutes, a single run.
The service runs with a store call limit of an hour (LINEAGE_QUERY_TIMEOUT_SECONDS and
LINEAGE_MUTATION_TIMEOUT_SECONDS, unless set): its default of 30 s a query refuses the cold
analysis at 1M items before issue 24's engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
from scipy.sparse import csr_matrix

from bench import lineages
from bench.descendants import machine
from bench.importing import graph_file, timed_import
from bench.requests import serve
from bench.versus import scipy_reference, timed
from graph.access import Role
from graph.store.sqlite import SqliteStore
from service.accounts import NewUser, add_user
from tests.e2e.test_server import free_port, wait_until_up

QUERY = """query($id: ID!) { impactAnalysis(change: {itemId: $id, declassify: true}) {
  __typename
  ... on ImpactAnalysis { total toDeclassify
    entries(first: 100) { totalCount edges { node { id actions } } } }
  ... on Problem { message } } }"""
DECLASSIFY = """mutation($id: ID!, $handler: ID!, $official: ID!) {
  declassify(input: {itemId: $id, handlerId: $handler, officialId: $official,
    reason: CIRCUMSTANCES_CHANGED, basis: "基准测试：情势变化，不再需要作为国家秘密。"}) {
  __typename ... on ChangeCommitted { noticeCount } ... on Problem { message } } }"""
STORE = "lineage.db"


@dataclass
class Row:
    shape: str
    items: int
    edges: int
    descendants: int
    import_s: float
    start_s: float
    total: int
    to_declassify: int
    cold_s: float
    restart_s: float
    warm_s: float
    scipy_s: float
    rss_mib: float
    commit_s: float | None
    notices: int | None

    @property
    def ratio(self) -> float:
        return self.warm_s / self.scipy_s


def matrix(found: lineages.Generated) -> tuple[csr_matrix, int]:
    """The lineage as a CSR matrix, parent to child, and the source's node number. Built
    without networkx (bench.versus.Graph builds both): at 1M items its DiGraph would take
    gigabytes this benchmark does not need."""
    index = {id: n for n, id in enumerate(id for layer in found.layers for id in layer)}
    pairs = [(index[p], index[c]) for c, parents in found.parents.items() for p in parents]
    edges = np.array(pairs, dtype=np.int32).reshape(-1, 2)
    data = np.ones(len(edges), dtype=np.int8)
    shape = (len(index), len(index))
    return csr_matrix((data, (edges[:, 0], edges[:, 1])), shape=shape), index[lineages.ROOT]


def prepare(store_file: Path) -> tuple[str, str, str]:
    """Users for the source organisation's official and handler (persons the generators
    give every organisation): the official's token and both person ids."""
    store = SqliteStore(store_file)
    try:
        root = store.read(lambda tx: tx.items([lineages.ROOT])[lineages.ROOT])
        official, handler = f"p-{root.organisation_id}-o", f"p-{root.organisation_id}-h"
        token = add_user(store, NewUser(official, frozenset({Role.OFFICIAL}), person_id=official))
        add_user(store, NewUser(handler, frozenset({Role.HANDLER}), person_id=handler))
    finally:
        store.close()
    return token.bearer, official, handler


def post(http: httpx2.Client, token: str, query: str, variables: dict[str, str]) -> Any:
    response = http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(response.text[:500])
    return body["data"]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def started(url: str) -> tuple[Any, int, float]:
    """A service on `url`: its process, port and the seconds until /healthz answered."""
    port = free_port()
    began = time.perf_counter()
    server = serve(url, 1, port)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", deadline=3_600)
    except BaseException:
        server.terminate()
        raise
    return server, port, time.perf_counter() - began


def measure(shape: str, size: int, args: argparse.Namespace, folder: Path, commit: bool) -> Row:
    path, counts = graph_file(args.cache, size, args.seed, shape)
    found = lineages.Generated()
    for _line in lineages.shaped_lines(shape, size, args.seed, found):
        pass
    graph, root = matrix(found)
    del found
    descendants = scipy_reference(graph, root)
    scipy = timed(args.runs, partial(scipy_reference, graph, root), descendants)
    print(f"{shape} {size:,}: importing", file=sys.stderr, flush=True)
    imported = folder / "imported"
    imported.mkdir()
    # As `lineage import` loads an empty embedded store: in bulk (service.bulk).
    seconds, _ = timed_import(partial(SqliteStore, imported / STORE), path, bulk=True)
    print(f"{shape} {size:,}: imported in {seconds:.1f} s", file=sys.stderr, flush=True)
    token, official, handler = prepare(imported / STORE)
    served = folder / "served"
    shutil.copytree(imported, served)  # the store and whatever lies beside it
    url = f"sqlite:///{served / STORE}"
    first, _, _ = started(url)
    first.terminate()
    first.wait(60)
    print(f"{shape} {size:,}: serving", file=sys.stderr, flush=True)
    server, port, start = started(url)
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=3_600) as http:
            samples = []
            for _ in range(args.runs + 1):
                began = time.perf_counter()
                answer = post(http, token, QUERY, {"id": lineages.ROOT})["impactAnalysis"]
                samples.append(time.perf_counter() - began)
                if answer["__typename"] != "ImpactAnalysis":
                    raise RuntimeError(f"impactAnalysis: {answer}")
                if answer["entries"]["totalCount"] != answer["total"]:
                    raise AssertionError(f"totalCount {answer['entries']['totalCount']}")
                if shape == "diamond" and answer["total"] != descendants:
                    raise AssertionError(f"{answer['total']} act of {descendants} descendants")
            rss = peak_rss_mib(server.pid)
        # Stopped as an operator stops it (the store saves its graph index at close), then
        # the first analysis after the start: what a restart costs once the index is saved.
        server.terminate()
        server.wait(60)
        server, port, _ = started(url)
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=3_600) as http:
            began = time.perf_counter()
            again = post(http, token, QUERY, {"id": lineages.ROOT})["impactAnalysis"]
            restart_s = time.perf_counter() - began
            if again != answer:
                raise AssertionError("the analysis after the restart differs")
            commit_s, notices = None, None
            if commit:
                variables = {"id": lineages.ROOT, "handler": handler, "official": official}
                began = time.perf_counter()
                done = post(http, token, DECLASSIFY, variables)["declassify"]
                commit_s = time.perf_counter() - began
                if done["__typename"] != "ChangeCommitted":
                    raise RuntimeError(f"declassify: {done}")
                notices = done["noticeCount"]
                if notices != answer["total"]:
                    raise AssertionError(f"{notices} notices for {answer['total']} impacts")
    finally:
        server.terminate()
        server.wait(60)
    return Row(
        shape=shape,
        items=size,
        edges=counts["edges"],
        descendants=descendants,
        import_s=seconds,
        start_s=start,
        total=answer["total"],
        to_declassify=answer["toDeclassify"],
        cold_s=samples[0],
        restart_s=restart_s,
        warm_s=statistics.median(samples[1:]),
        scipy_s=statistics.median(scipy),
        rss_mib=rss,
        commit_s=commit_s,
        notices=notices,
    )


def seconds(value: float | None) -> str:
    if value is None:
        return "not run"
    if value >= 10:
        return f"{value:,.1f} s"
    return f"{value * 1000:,.0f} ms" if value >= 0.01 else f"{value * 1000:.2f} ms"


def table(rows: Sequence[Row], runs: int) -> str:
    lines = [
        f"Machine: {machine()}. Embedded store; warm and scipy: median of {runs} runs; "
        "import, start, cold, after a restart and commit: one run. *Cold* is the first "
        "analysis after the first start (nothing kept), *after a restart* the first once the "
        "service has been stopped and started again (its graph index saved at the stop).\n",
        "| shape | items | edges | descendants | acting (total) | import | start | "
        "analysis cold | after a restart | analysis warm | scipy BFS | warm / scipy | "
        "peak RSS | commit | notices |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        notices = "not run" if r.notices is None else f"{r.notices:,}"
        lines.append(
            f"| {r.shape} | {r.items:,} | {r.edges:,} | {r.descendants:,} | {r.total:,} | "
            f"{seconds(r.import_s)} | {seconds(r.start_s)} | {seconds(r.cold_s)} | "
            f"{seconds(r.restart_s)} | {seconds(r.warm_s)} | {seconds(r.scipy_s)} | "
            f"{r.ratio:,.0f} | "
            f"{r.rss_mib:,.0f} MiB | {seconds(r.commit_s)} | {notices} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    # One key across the restarts, as a deployment sets it: a placeholder's opaque id stays
    # the same, so the analysis after a restart can be compared with the one before.
    os.environ.setdefault("LINEAGE_SECRET_KEY", "bench-targets-" + "0" * 50)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=lineages.SHAPES, default=lineages.SHAPES)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--commit-up-to", type=int, default=100_000, help="commit at sizes up to this"
    )
    parser.add_argument("--json", type=Path, help="the rows as JSON too")
    args = parser.parse_args(argv)
    # The service's default limits (30 s a query) refuse a cold analysis at 1M items: measured
    # here rather than refused, and said so where the results are written.
    os.environ.setdefault("LINEAGE_QUERY_TIMEOUT_SECONDS", "3600")
    os.environ.setdefault("LINEAGE_MUTATION_TIMEOUT_SECONDS", "3600")
    rows = []
    for shape in args.shapes:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(dir=args.cache) as folder:
                rows.append(measure(shape, size, args, Path(folder), size <= args.commit_up_to))
            print(f"{shape} {size:,}: {rows[-1]}", file=sys.stderr, flush=True)
    print(table(rows, args.runs))
    if args.json is not None:
        data = {
            "machine": machine(),
            "date": f"{date.today()}",
            "runs": args.runs,
            "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
        }
        args.json.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
