"""GraphQL under load (issue 8): requests per second for small lineage queries, and the
response time of a lineage of about 10,000 nodes, on a realistic lineage (bench/lineages.py)
on the embedded store, served by uvicorn on loopback.

    .venv/bin/python -m bench.requests [--size 10000] [--workers 1 2] [--seconds 10]

*Small*: `lineage(id, direction: DOWNSTREAM, depth: 3)` with each node's item (id, title,
marking) and the edges, resolved field by field, and the same lineage as the viewer reads it
(`lineageGraph`: laid out, one JSON value), for items whose lineage to depth 3 has 40 to 60
nodes, taken in turn; the reader is a supervisor of every organisation, so nothing is
redacted. The load comes from `--clients` connections kept alive, each sending its next
request when the last answer is in, for `--seconds` after a warm-up; every answer is checked
(status 200, no `errors`). The client is one Python process of its own (asyncio, HTTP/1.1
written by hand: a general client would be the bottleneck) and shares the machine's two
cores with the server.

*Large*: the national source's whole downstream lineage, field by field (`lineage`) and as
one laid-out value (`lineageGraph`, the viewer's), median of `--runs` after one warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import httpx2

from bench import lineages
from bench.descendants import machine
from bench.importing import graph_file
from graph.access import EVERY_ORGANISATION, SYSTEM, Role
from service.accounts import NewUser, add_user
from service.composition import open_store
from service.transfer import import_graph
from service.usecases import NewPerson, register_person
from tests.e2e.test_server import free_port, wait_until_up

SMALL = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, depth: 3) {
  ... on Lineage { nodes { id depth item { id title marking } } edges { childId parentId } } } }"""
SMALL_GRAPH = """query($id: ID!) { lineageGraph(id: $id, direction: DOWNSTREAM, depth: 3) {
  ... on LineageGraph { nodeCount data } } }"""
LARGE = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) {
  ... on Lineage { nodes { id depth item { id title marking } } edges { childId parentId } } } }"""
GRAPH = """query($id: ID!) { lineageGraph(id: $id, direction: DOWNSTREAM) {
  ... on LineageGraph { nodeCount } } }"""


def downstream(children: dict[str, list[str]], root: str, depth: int | None) -> set[str]:
    """`root` and what lies below it, to `depth`."""
    seen, frontier = {root}, [root]
    while frontier and (depth is None or depth > 0):
        frontier = [c for n in frontier for c in children.get(n, ()) if c not in seen]
        seen.update(frontier)
        depth = None if depth is None else depth - 1
    return seen


def small_roots(children: dict[str, list[str]], low: int = 40, high: int = 60) -> list[str]:
    """Items whose downstream lineage to depth 3 has `low` to `high` nodes."""
    return [n for n in sorted(children) if low <= len(downstream(children, n, 3)) <= high]


def request(path: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> tuple[bytes, bytes]:
    """One request on a kept-alive connection: the status line and the body of its answer."""
    writer.write(payload)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client(
    port: int, requests: deque[bytes], until: float, latencies: list[float]
) -> tuple[int, int]:
    """Sends requests one after another on one kept-alive connection until `until`: the
    number answered, and the number that failed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answered = failed = 0
    try:
        while time.perf_counter() < until:
            payload = requests[0]
            requests.rotate(-1)
            started = time.perf_counter()
            status, body = await exchange(reader, writer, payload)
            latencies.append(time.perf_counter() - started)
            answered += 1
            if b" 200 " not in status or b'"errors"' in body:
                failed += 1
    finally:
        writer.close()
    return answered, failed


async def load(port: int, payloads: list[bytes], clients: int, seconds: float) -> dict[str, float]:
    """Requests per second and latencies over `seconds`, after a warm-up of a second."""
    queue = deque(payloads)
    warm: list[float] = []
    await asyncio.gather(
        *(client(port, queue, time.perf_counter() + 1, warm) for _ in range(clients))
    )
    latencies: list[float] = []
    started = time.perf_counter()
    results = await asyncio.gather(
        *(client(port, queue, started + seconds, latencies) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    answered = sum(a for a, _ in results)
    latencies.sort()
    return {
        "rps": answered / elapsed,
        "failed": sum(f for _, f in results),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def prepare(folder: Path, args: argparse.Namespace) -> tuple[str, str, dict[str, list[str]]]:
    """The store's URL, a reader's token, and each item's children."""
    path, _ = graph_file(args.cache, args.size, args.seed)
    found = lineages.Generated()
    for _line in lineages.lines(args.size, args.seed, found):
        pass
    children: dict[str, list[str]] = {}
    for child, parents in found.parents.items():
        for parent in parents:
            children.setdefault(parent, []).append(child)
    url = f"sqlite:///{folder / 'requests.db'}"
    store = open_store(url)
    with path.open(encoding="utf-8") as lines:
        import_graph(store, lines)
    register_person(store, NewPerson("bench-reader", "基准读者", "org-0"), SYSTEM)
    command = NewUser(
        "bench-reader",
        frozenset({Role.SUPERVISOR}),
        person_id="bench-reader",
        supervises=frozenset({EVERY_ORGANISATION}),
    )
    token = add_user(store, command).bearer
    store.close()
    return url, token, children


def serve(url: str, workers: int, port: int) -> subprocess.Popen[bytes]:
    environment = dict(
        os.environ,
        LINEAGE_STORE=url,
        LINEAGE_DAILY_EXPIRY="false",
        LINEAGE_MAX_QUERY_TOKENS="100000",
        # The load is one user's, hundreds of requests a second: not what the rate limit is for.
        LINEAGE_REQUESTS_PER_SECOND="0",
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "service.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=environment)  # noqa: S603 (our own interpreter and module)


def timed(base: str, token: str, query: str, root: str, runs: int) -> list[float]:
    with httpx2.Client(base_url=base, timeout=600) as http:
        samples = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            response = http.post(
                "/graphql",
                json={"query": query, "variables": {"id": root}},
                headers={"Authorization": f"Bearer {token}"},
            )
            samples.append(time.perf_counter() - started)
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(response.text[:500])
        return samples[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
        url, token, children = prepare(Path(folder), args)
        roots = small_roots(children)
        forms = {
            query: [
                request(
                    "/graphql", json.dumps({"query": query, "variables": {"id": r}}).encode(), token
                )
                for r in roots
            ]
            for query in (SMALL, SMALL_GRAPH)
        }
        for workers in args.workers:
            port = free_port()
            server = serve(url, workers, port)
            base = f"http://127.0.0.1:{port}"
            try:
                wait_until_up(base + "/healthz")
                measured = [
                    asyncio.run(load(port, forms[q], args.clients, args.seconds))
                    for q in (SMALL, SMALL_GRAPH)
                ]
                large = timed(base, token, LARGE, lineages.ROOT, args.runs)
                graph = timed(base, token, GRAPH, lineages.ROOT, args.runs)
            finally:
                server.terminate()
                server.wait(30)
            rows.append((workers, measured, large, graph))
    nodes = len(downstream(children, lineages.ROOT, None))
    print(f"Machine: {machine()}. {len(roots)} small lineages of 40-60 nodes taken in turn;")
    print(f"{args.clients} clients for {args.seconds:.0f} s; large lineage: {nodes:,} nodes.\n")
    print(
        "| workers | small `lineage` / s | p50 | p99 | small `lineageGraph` / s | p50 | p99 | "
        "failed | large `lineage` | large `lineageGraph` |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers, (fields, laid), large, graph in rows:
        print(
            f"| {workers} | {fields['rps']:,.0f} | {fields['p50']:.1f} ms | "
            f"{fields['p99']:.1f} ms | {laid['rps']:,.0f} | {laid['p50']:.1f} ms | "
            f"{laid['p99']:.1f} ms | {fields['failed'] + laid['failed']:.0f} | "
            f"{statistics.median(large) * 1000:,.0f} ms | "
            f"{statistics.median(graph) * 1000:,.0f} ms |"
        )


if __name__ == "__main__":
    main()
