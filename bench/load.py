"""A bounded load test (issue 9, item 6): concurrent clients on loopback send a mix of reads
and writes to a real uvicorn server on the embedded store, for a fixed time; throughput,
p50 and p99 latency of each kind, and every failure.

    .venv/bin/python -m bench.load [--size 10000] [--clients 16] [--seconds 30] [--writes 0.2]

On a realistic lineage (bench/lineages.py) of `--size` items. *Reads*, as a supervisor of every
organisation: small downstream lineages (depth 3, 40-60 nodes, field by field) and single
items by id (marking, status, bases). *Writes*, as an administrator: a person registered with a
new id each time (one write transaction, and its audit event). Each client sends its next
request when the last answer is in, on a connection of its own kept alive, choosing reads or
writes at random (seeded) in the given share. Every answer is checked: status 200, no
`errors`, and a write's success type. The client shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.descendants import machine
from bench.requests import SMALL, exchange, prepare, request, serve, small_roots
from graph.access import Role
from service.accounts import NewUser, add_user
from service.composition import open_store
from tests.e2e.test_server import free_port, wait_until_up

ITEM = """query($id: ID!) { item(id: $id) { id marking status bases { parentId } } }"""
REGISTER = """mutation($id: ID!) { registerPerson(input: {id: $id, name: "负载测试人员",
  organisationId: "org-0"}) { __typename } }"""
KINDS = ("lineage", "item", "write")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    failures: list[str] = field(default_factory=list)


async def client(
    port: int,
    number: int,
    until: float,
    share: float,
    reads: dict[str, list[bytes]],
    writes: itertools.count[int],
    admin: str,
    tally: Tally,
) -> None:
    chooser = random.Random(number)  # noqa: S311 - a reproducible mix, not a secret
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            if chooser.random() < share:
                kind = "write"
                body = json.dumps({"query": REGISTER, "variables": {"id": f"load-{next(writes)}"}})
                payload = request("/graphql", body.encode(), admin)
            else:
                kind = "lineage" if chooser.random() < 0.5 else "item"
                payload = chooser.choice(reads[kind])
            started = time.perf_counter()
            status, answer = await exchange(reader, writer, payload)
            tally.latencies[kind].append(time.perf_counter() - started)
            wrong = b" 200 " not in status or b'"errors"' in answer
            if kind == "write" and b"RegisterPersonSuccess" not in answer:
                wrong = True
            if wrong:
                tally.failures.append(f"{kind}: {status.decode().strip()} {answer[:300]!r}")
    finally:
        writer.close()


async def run(
    args: argparse.Namespace, port: int, reads: dict[str, list[bytes]], admin: str
) -> tuple[Tally, float]:
    warm = Tally()
    counter = itertools.count()
    await asyncio.gather(
        *(
            client(port, n, time.perf_counter() + 2, args.writes, reads, counter, admin, warm)
            for n in range(args.clients)
        )
    )
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            client(port, n, started + args.seconds, args.writes, reads, counter, admin, tally)
            for n in range(args.clients)
        )
    )
    return tally, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--writes", type=float, default=0.2, help="the share of writes")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
        url, token, children = prepare(Path(folder), args)
        store = open_store(url)
        try:
            admin = add_user(store, NewUser("bench-admin", frozenset({Role.ADMINISTRATOR}))).bearer
        finally:
            store.close()
        roots = small_roots(children)
        items = sorted(children)
        reads = {
            "lineage": [
                request(
                    "/graphql", json.dumps({"query": SMALL, "variables": {"id": r}}).encode(), token
                )
                for r in roots
            ],
            "item": [
                request(
                    "/graphql", json.dumps({"query": ITEM, "variables": {"id": i}}).encode(), token
                )
                for i in items[:5000]
            ],
        }
        port = free_port()
        server = serve(url, args.workers, port)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            tally, elapsed = asyncio.run(run(args, port, reads, admin))
        finally:
            server.terminate()
            server.wait(30)
    total = sum(len(v) for v in tally.latencies.values())
    print(
        f"Machine: {machine()}. {args.size:,} items; {args.clients} clients for "
        f"{args.seconds:.0f} s, {args.writes:.0%} writes, {args.workers} worker(s).\n"
    )
    print("| kind | requests | per second | p50 | p99 |")
    print("|---|---:|---:|---:|---:|")
    for kind in KINDS:
        values = tally.latencies[kind]
        print(
            f"| {kind} | {len(values):,} | {len(values) / elapsed:,.0f} | "
            f"{percentile(values, 0.5):.1f} ms | {percentile(values, 0.99):.1f} ms |"
        )
    every = [v for values in tally.latencies.values() for v in values]
    print(
        f"| all | {total:,} | {total / elapsed:,.0f} | {percentile(every, 0.5):.1f} ms | "
        f"{percentile(every, 0.99):.1f} ms |"
    )
    print(f"\nFailures: {len(tally.failures)}")
    for failure in tally.failures[:20]:
        print(f"  {failure}")
    if tally.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
