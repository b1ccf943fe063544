"""Bounded cost under abuse (issue 21, point 5), in three parts.

    .venv/bin/python -m bench.abuse admission [--runs 5]
    .venv/bin/python -m bench.abuse weights [--size 3000] [--runs 5]
    .venv/bin/python -m bench.abuse load [--size 3000] [--seconds 15] [--clients 6]
        [--server-root DIR]

*admission*: how long the service takes to refuse or admit a request (service.api.admission:
its length, its tokens, one walk for depth, aliases and cost, then the rules of the
specification), for hostile documents at many sizes up to what the body limit accepts
(LINEAGE_MAX_BODY_BYTES, 1 MiB): fragment bombs deep and wide, wide and repeated selections,
many aliases, operations and fragments, cycles, long strings, comments and whitespace, large
lists and nested values in variables. Each is timed cold (the caches of parsed and validated
documents emptied, the garbage of the run before collected) in this process, `--runs` times;
the slowest run is what counts.

*weights*: what the weights of service.api.cost stand for, measured: an object of an answer
resolved field by field (the unit), a node of a lineage laid out and exported in each
format, a form in each format.

*load*: a uvicorn server (one worker) on a realistic lineage of `--size` items
(bench/lineages.py) and the demo data (for its written records, printed as PDF forms); an
abusive client in a process of its own hammers /graphql from `--clients` kept-alive
connections, each sending its next request when the last answer is in, while this process
asks /healthz every 10 ms on a connection of its own, and a cheap query (`me`) as another
user every 50 ms. A quiet round, then three of `--seconds`: *expensive*, requests the limits
allow (whole lineages field by field, GraphML exports, laid-out lineages, thirty PDF forms, an
impact analysis, forty thousand keypoint ids in variables), with the rate limit off;
*refused*, requests refused before they run (too costly, too many aliases, tokens, too deep,
too long, a fragment bomb, bodies of 1 MiB and over, 300,000 values in variables), rate limit
off; *limited*, the same with the settings as shipped, where the rate limit answers most of
them (429). `--server-root` serves another checkout of the code (`git archive <commit> | tar -x
-C DIR`) with this one's client, for a before-and-after.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from graphql import ASTValidationRule, GraphQLError, specified_rules

from bench import lineages
from bench.descendants import machine
from bench.requests import exchange, prepare, request
from graph.access import EVERY_ORGANISATION, SYSTEM, Role
from graph.model import Direction
from graph.store.base import GraphStore
from service.accounts import NewUser, add_user
from service.api import admission
from service.api.admission import Limits, check_request, parse_request
from service.api.context import Context
from service.api.schema import schema
from service.app import _COLLECTION_THRESHOLDS
from service.composition import open_store
from service.demo import load_demo
from service.documents import as_csv, as_html, as_pdf
from service.exports import ExportFormat as ExportFormatValue
from service.exports import render
from service.forms import Sheet, record_form
from service.redaction import Mode, Redactor
from service.usecases import NewPerson, register_person
from service.views import lineage_view
from tests.e2e.test_server import free_port, wait_until_up

MIB = 1 << 20
TIMING: list[bool] = []  # not empty while a run is timed

# --- admission ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    query: str
    variables: dict[str, object] = field(default_factory=dict)

    @property
    def body(self) -> int:
        return len(json.dumps({"query": self.query, "variables": self.variables}).encode())


def bomb(levels: int, alias: bool = False) -> str:
    """The fragment bomb of issue 21: each fragment spreads the next one twice."""
    field_ = "a: id" if alias else "id"
    parts = ['query { item(id: "x") { ...F0 } }']
    parts += [
        f"fragment F{i} on Item {{ {field_} ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    ]
    parts.append(f"fragment F{levels} on Item {{ id }}")
    return "\n".join(parts)


def wide_bomb(levels: int, width: int) -> str:
    """Each fragment spreads the next `width` times, on an object field (so each spread costs)."""
    spreads = " ".join("...F{n}" for _ in range(width))
    parts = ['query { item(id: "x") { ...F0 } }']
    for i in range(levels):
        parts.append(f"fragment F{i} on Item {{ records {{ id }} {spreads.format(n=i + 1)} }}")
    parts.append(f"fragment F{levels} on Item {{ id }}")
    return "\n".join(parts)


def cases() -> Iterator[Case]:
    for levels in (10, 21, 50, 100, 300, 1000):
        yield Case(f"fragment bomb, {levels} levels", bomb(levels))
        yield Case(f"fragment bomb with an alias, {levels} levels", bomb(levels, alias=True))
    for levels, width in ((5, 10), (20, 10), (100, 5)):
        yield Case(f"wide fragment bomb, {levels} levels of {width}", wide_bomb(levels, width))
    for n in (100, 1000, 2400, 4990):
        yield Case(f"one field repeated, {n} times", '{ item(id: "x") { ' + "id " * n + "} }")
    for n in (100, 400, 620):
        yield Case(f"a root field repeated, {n} times", "{ " + 'item(id: "x") { id } ' * n + "}")
    for n in (30, 200, 1200):
        aliased = " ".join(f'a{i}: item(id: "x") {{ id }}' for i in range(n))
        yield Case(f"aliases, {n}", "{ " + aliased + " }")
    for n in (30, 60):
        exports = " ".join(
            f'e{i}: lineageExport(id: "x", format: GRAPHML) {{ __typename }}' for i in range(n)
        )
        yield Case(f"GraphML exports, {n}", "{ " + exports + " }")
    for n in (100, 900):
        operations = " ".join(f"query Q{i} {{ me {{ userId }} }}" for i in range(n))
        yield Case(f"operations, {n}", operations)
    for n in (100, 500, 900):
        fragments = " ".join(
            f"fragment F{i} on Item {{ classification {{ level }} }}" for i in range(n)
        )
        spreads = " ".join(f"...F{i}" for i in range(n))
        yield Case(
            f"distinct fragments spread together, {n}",
            f'{{ item(id: "x") {{ {spreads} }} }} {fragments}',
        )
    for n in (100, 1000):
        chain = " ".join(f"fragment F{i} on Item {{ id ...F{i + 1} }}" for i in range(n))
        yield Case(
            f"a chain of fragments, {n}",
            f'{{ item(id: "x") {{ ...F0 }} }} {chain} fragment F{n} on Item {{ id }}',
        )
        yield Case(
            f"a cycle of fragments, {n}",
            f'{{ item(id: "x") {{ ...F0 }} }} {chain} fragment F{n} on Item {{ ...F0 }}',
        )
    for depth in (15, 40, 190):
        types = '{ __type(name: "Item") { ' + "ofType { " * depth + "name" + " }" * depth + " } }"
        yield Case(f"nested ofType, {depth}", types)
    for depth in (16, 190):
        yield Case(
            f"selections nested {depth} deep", "{ " + "a { " * depth + "b" + " }" * depth + " }"
        )
    for size in (10_000, 32_000, MIB - 100):
        yield Case(f"a string of {size:,} characters", '{ item(id: "' + "x" * size + '") { id } }')
        yield Case(
            f"escapes over {size:,} characters",
            '{ item(id: "' + "\\u5bc6" * (size // 6) + '") { id } }',
        )
        yield Case(f"a comment of {size:,} characters", "{ me { userId } } #" + "x" * size)
        yield Case(f"whitespace of {size:,} characters", "{ me { userId } }" + " " * size)
    yield Case("tokens past the limit, 1 MiB", "{ " + "a " * (MIB // 2 - 10) + "}")
    for n in (100, 1_000, 40_000, 99_000, 200_000):
        yield Case(
            f"keypoint ids in variables, {n:,}", KEYPOINTS, {"ids": [str(i % 10) for i in range(n)]}
        )
        yield Case(f"record ids in variables, {n:,}", IDS, {"ids": [str(i % 10) for i in range(n)]})
    yield Case(
        "340,000 values in variables",
        "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { __typename } }",
        {"ids": [0] * 340_000},
    )
    nested: object = "x"
    for _ in range(250):
        nested = [nested]
    yield Case(
        "a value nested 250 deep in variables",
        "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { __typename } }",
        {"ids": nested},
    )
    yield Case(
        "a string of 1 MiB in variables",
        "query($id: ID!) { item(id: $id) { id } }",
        {"id": "x" * (MIB - 200)},
    )
    yield Case(
        "first from variables, a page of a million",
        "query($n: Int!) { items(first: $n) { ... on ItemConnection "
        "{ edges { node { keypoints { id } } } } } }",
        {"n": 1_000_000},
    )


def admission_table(runs: int) -> None:
    limits = Limits()
    admission.bound_validation_work()
    gc.set_threshold(*_COLLECTION_THRESHOLDS)  # as the service runs
    pauses: list[float] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if not TIMING:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(watch)
    print(f"Machine: {machine()}. Default limits; the slowest of {runs} cold runs.\n")
    print("| document | body | outcome | slowest | median |")
    print("|---|---:|---|---:|---:|")
    worst = 0.0
    for case in cases():
        if case.body > MIB:
            continue  # the body limit answers 413 before anything reads it
        outcome, samples = timed(case, limits, runs, tuple(specified_rules))
        worst = max(worst, max(samples))
        print(
            f"| {case.name} | {case.body / 1024:,.1f} KiB | {outcome} | "
            f"{max(samples) * 1000:.1f} ms | {statistics.median(samples) * 1000:.1f} ms |"
        )
    print(f"\nSlowest of all: {worst * 1000:.1f} ms.")
    if pauses:
        print(
            f"The cyclic collector ran {len(pauses)} times in the timed runs, the longest for "
            f"{max(pauses) * 1000:.1f} ms."
        )


def timed(
    case: Case, limits: Limits, runs: int, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[str, list[float]]:
    """The outcome of one document, and the time of each cold run from its text to it."""
    outcome, samples = "", []
    for _ in range(runs):
        admission.parsed.cache_clear()
        admission.validated.cache_clear()
        gc.collect()  # not the garbage of the run before
        TIMING.append(True)
        started = time.perf_counter()
        try:
            parse_request(limits, case.query)
            errors = check_request(schema._schema, limits, case.query, case.variables, None, rules)
        except GraphQLError as error:
            errors = [error]
        samples.append(time.perf_counter() - started)
        TIMING.clear()
        codes = [str((e.extensions or {}).get("code", "")) or e.message[:50] for e in errors]
        outcome = ", ".join(dict.fromkeys(codes)) or "valid"
    return outcome, samples


# --- load -----------------------------------------------------------------------------------

WHOLE = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) { ... on Lineage {
  nodes { id depth item { id title marking } } edges { childId parentId } } } }"""
GRAPHML = """query($id: ID!) { lineageExport(id: $id, format: GRAPHML, direction: DOWNSTREAM) {
  ... on LineageExport { content } } }"""
LAID_OUT = """query($id: ID!) { lineageGraph(id: $id, direction: DOWNSTREAM) {
  ... on LineageGraph { nodeCount data } } }"""
IMPACT = """query($id: ID!) { impactAnalysis(change: {itemId: $id, declassify: true}) {
  ... on ImpactAnalysis { total entries(first: 500) { edges { node { id actions path } } } } } }"""
IDS = "query($ids: [ID!]!) { reviewForm(recordIds: $ids) { __typename } }"
KEYPOINTS = f"""query($ids: [ID!]!) {{ impactAnalysis(change: {{itemId: "{lineages.ROOT}",
  declassify: true, keypointIds: $ids}}) {{ __typename }} }}"""
ME = "{ me { userId } }"


def forms(record: str, n: int = 30) -> str:
    asked = " ".join(
        f'f{i}: recordForm(recordId: "{record}") {{ ... on PrintedForm {{ pdf }} }}'
        for i in range(n)
    )
    return "{ " + asked + " }"


@dataclass(frozen=True)
class Abuse:
    """A request of the abusive client: its label, the bytes sent, whether on a connection of
    its own (the server closes one whose body it refused unread)."""

    label: str
    payload: bytes
    alone: bool = False


def graphql(label: str, token: str, query: str, variables: object = None) -> Abuse:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    return Abuse(label, request("/graphql", body, token))


KEYPOINT_IDS = [f"K{i}" for i in range(40_000)]


def expensive(token: str, record: str) -> list[Abuse]:
    root = {"id": lineages.ROOT}
    return [
        graphql("whole lineage, field by field", token, WHOLE, root),
        graphql("GraphML export of the whole lineage", token, GRAPHML, root),
        graphql("whole lineage laid out", token, LAID_OUT, root),
        graphql("thirty PDF forms", token, forms(record)),
        graphql("impact analysis, 500 entries", token, IMPACT, root),
        graphql("40,000 ids in variables", token, KEYPOINTS, {"ids": KEYPOINT_IDS}),
    ]


def refused(token: str) -> list[Abuse]:
    exports = " ".join(
        f'e{i}: lineageExport(id: "{lineages.ROOT}", format: GRAPHML) {{ __typename }}'
        for i in range(30)
    )
    big = b'{"query": "{ me { userId } }", "variables": {"x": "' + b"x" * (2 * MIB) + b'"}}'
    return [
        graphql("thirty GraphML exports (too costly)", token, "{ " + exports + " }"),
        graphql("fragment bomb with an alias, 21 levels", token, bomb(21, alias=True)),
        graphql("fragment bomb, 21 levels (valid)", token, bomb(21)),
        graphql("nested 20 deep", token, "{ " + "a { " * 20 + "b" + " }" * 20 + " }"),
        graphql("a query text of 1 MiB", token, '{ item(id: "' + "x" * (MIB - 200) + '") { id } }'),
        graphql("5,000 tokens", token, '{ item(id: "x") { ' + "id " * 4990 + "} }"),
        graphql("300,000 values in variables", token, IDS, {"ids": [0] * 300_000}),
        Abuse("a body of 2 MiB (413)", request("/graphql", big, token), alone=True),
    ]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)


def outcome_of(status: bytes, body: bytes) -> str:
    code = status.split(b" ")[1].decode() if b" " in status else "?"
    try:
        errors = json.loads(body).get("errors") or []
    except ValueError:
        errors = []
    found = [str((e.get("extensions") or {}).get("code", "")) for e in errors]
    named = next((c for c in found if c), "errors" if errors else "")
    return f"{code} {named}".strip()


async def abuser(port: int, abuses: list[Abuse], number: int, until: float, tally: Tally) -> None:
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    turn = number
    while time.perf_counter() < until:
        abuse = abuses[turn % len(abuses)]
        turn += 1
        if connection is None or abuse.alone:
            if connection is not None:
                connection[1].close()
            connection = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        try:
            status, body = await exchange(*connection, abuse.payload)
            outcome = outcome_of(status, body)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            outcome, connection = "connection closed", None
        tally.latencies.setdefault(abuse.label, []).append(time.perf_counter() - started)
        tally.outcomes[outcome] += 1
        if abuse.alone and connection is not None:
            connection[1].close()
            connection = None


def abuse_process(
    port: int,
    abuses: list[Abuse],
    clients: int,
    seconds: float,
    results: multiprocessing.Queue[Tally],
) -> None:
    async def run() -> Tally:
        tally = Tally()
        until = time.perf_counter() + seconds
        await asyncio.gather(*(abuser(port, abuses, n, until, tally) for n in range(clients)))
        return tally

    results.put(asyncio.run(run()))


async def probe(port: int, payload: bytes, every: float, until: float, into: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (started := time.perf_counter()) < until:
            status, _ = await exchange(reader, writer, payload)
            into.append(time.perf_counter() - started)
            if b" 200 " not in status:
                raise RuntimeError(f"the probe got {status!r}")
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - started)))
    finally:
        writer.close()


def probes(port: int, seconds: float, probe_token: str) -> tuple[list[float], list[float]]:
    health = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    me = request("/graphql", json.dumps({"query": ME}).encode(), probe_token)

    async def run() -> tuple[list[float], list[float]]:
        healthz: list[float] = []
        cheap: list[float] = []
        until = time.perf_counter() + seconds
        await asyncio.gather(
            probe(port, health, 0.01, until, healthz), probe(port, me, 0.05, until, cheap)
        )
        return healthz, cheap

    return asyncio.run(run())


def serve(url: str, port: int, root: Path, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    environment = dict(
        os.environ,
        LINEAGE_STORE=url,
        LINEAGE_DAILY_EXPIRY="false",
        PYTHONPATH=str(root),
        **settings,
    )
    command = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory"]
    command += ["--port", str(port), "--log-level", "critical", "--no-access-log"]
    log = open(Path(tempfile.gettempdir()) / "abuse-server.log", "ab")  # noqa: SIM115
    return subprocess.Popen(command, env=environment, cwd=root, stdout=log, stderr=log)  # noqa: S603


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "- | - | -"
    p = [ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 for q in (0.5, 0.99)]
    return f"{p[0]:.1f} ms | {p[1]:.1f} ms | {ordered[-1] * 1000:.1f} ms"


def load(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
        url, token, _ = prepare(Path(folder), args)
        store = open_store(url)
        try:
            load_demo(store)
            record = store.read(lambda tx: tx.records("S-2024-012"))[0].id
            register_person(store, NewPerson("bench-probe", "探测者", "org-0"), SYSTEM)
            probe_token = add_user(
                store,
                NewUser(
                    "bench-probe",
                    frozenset({Role.SUPERVISOR}),
                    person_id="bench-probe",
                    supervises=frozenset({EVERY_ORGANISATION}),
                ),
            ).bearer
        finally:
            store.close()
        rounds: list[tuple[str, list[Abuse], dict[str, str]]] = [
            ("quiet", [], {}),
            ("expensive", expensive(token, record), {"LINEAGE_REQUESTS_PER_SECOND": "0"}),
            ("refused", refused(token), {"LINEAGE_REQUESTS_PER_SECOND": "0"}),
            ("limited", refused(token), {}),
        ]
        root = Path(args.server_root or Path.cwd()).resolve()
        print(f"Machine: {machine()}. Server code: {root}. {args.size:,} items, plus the demo;")
        print(f"{args.clients} abusive connections for {args.seconds:.0f} s a round.\n")
        rows = []
        for name, abuses, settings in rounds:
            port = free_port()
            server = serve(url, port, root, settings)
            try:
                wait_until_up(f"http://127.0.0.1:{port}/healthz", 60)
                tally = Tally()
                worker = None
                if abuses:
                    queue: multiprocessing.Queue[Tally] = multiprocessing.Queue()
                    worker = multiprocessing.Process(
                        target=abuse_process,
                        args=(port, abuses, args.clients, args.seconds, queue),
                    )
                    worker.start()
                    time.sleep(1)  # the abuse under way before the probes start
                healthz, cheap = probes(port, args.seconds - (1 if abuses else 0), probe_token)
                if worker is not None:
                    tally = queue.get(timeout=600)
                    worker.join()
            finally:
                server.terminate()
                server.wait(30)
            rows.append((name, healthz, cheap, tally))
        print("| round | /healthz p50 | p99 | max | `me` p50 | p99 | max | abusive requests |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, healthz, cheap, tally in rows:
            seen = ", ".join(f"{n} × {o}" for o, n in tally.outcomes.most_common()) or "none"
            print(f"| {name} | {percentiles(healthz)} | {percentiles(cheap)} | {seen} |")
        print("\nThe abusive requests, each answered in (median, slowest):\n")
        for name, _, _, tally in rows:
            for label, values in tally.latencies.items():
                print(
                    f"- {name}: {label}: {len(values)}, {statistics.median(values) * 1000:,.0f} ms,"
                    f" {max(values) * 1000:,.0f} ms"
                )


# --- weights --------------------------------------------------------------------------------


def weights(args: argparse.Namespace) -> None:
    """What the weights of service.api.cost stand for, measured in this process: the time of
    an object of an answer resolved field by field, and of a node laid out or exported, and of
    a form, each over the whole lineage of the national source."""
    with tempfile.TemporaryDirectory(dir=args.cache) as folder:
        url, _, _ = prepare(Path(folder), args)
        store = open_store(url)
        try:
            load_demo(store)
            record = store.read(lambda tx: tx.records("S-2024-012"))[0].id
            asyncio.run(_weights(store, record, args.runs))
        finally:
            store.close()


async def _weights(store: GraphStore, record: str, runs: int) -> None:
    redactor = Redactor(SYSTEM, Mode.PLACEHOLDER, b"bench-key-of-16-bytes")
    gc.set_threshold(*_COLLECTION_THRESHOLDS)

    def best(work: Callable[[], object]) -> float:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            work()
            samples.append(time.perf_counter() - started)
        return min(samples)

    view = lineage_view(store, lineages.ROOT, Direction.DOWNSTREAM, None, SYSTEM, redactor)
    nodes = len(view.nodes)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        answered = await schema.execute(WHOLE, {"id": lineages.ROOT}, Context(store, actor=SYSTEM))
        samples.append(time.perf_counter() - started)
        if answered.errors:
            raise RuntimeError(answered.errors)
    data = answered.data["lineage"]  # type: ignore[index]
    objects = 1 + len(data["nodes"]) * 2 + len(data["edges"])
    unit = min(samples) / objects
    laid = best(
        lambda: lineage_view(store, lineages.ROOT, Direction.DOWNSTREAM, None, SYSTEM, redactor)
    )
    rows = [("an object of `lineage`, field by field (the unit)", unit, objects)]
    rows.append(("a node laid out (`lineageGraph`, with the traversal)", laid / nodes, nodes))
    for chosen in ExportFormatValue:
        written = best(functools.partial(render, view, chosen))
        rows.append((f"a node written as {chosen.value}, after the layout", written / nodes, nodes))
    sheet = record_form(store, redactor, record)
    makers: list[tuple[str, Callable[[Sheet], object]]] = [
        ("html", as_html),
        ("csv", as_csv),
        ("pdf", as_pdf),
    ]
    for name, make in makers:
        rows.append((f"a form's {name}", best(functools.partial(make, sheet)), 1))
    print(
        f"Machine: {machine()}. The national source's lineage: {nodes:,} nodes; best of {runs}.\n"
    )
    print("| what | time | in units |")
    print("|---|---:|---:|")
    for what, seconds, _ in rows:
        print(f"| {what} | {seconds * 1e6:,.1f} µs | {seconds / unit:,.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("admission")
    timing.add_argument("--runs", type=int, default=5)
    weighing = commands.add_parser("weights")
    weighing.add_argument("--size", type=int, default=3_000)
    weighing.add_argument("--seed", type=int, default=7)
    weighing.add_argument("--runs", type=int, default=5)
    weighing.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    loading = commands.add_parser("load")
    loading.add_argument("--size", type=int, default=3_000)
    loading.add_argument("--seed", type=int, default=7)
    loading.add_argument("--seconds", type=float, default=15)
    loading.add_argument("--clients", type=int, default=6)
    loading.add_argument("--server-root", type=Path)
    loading.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    if args.command == "admission":
        admission_table(args.runs)
    elif args.command == "weights":
        weights(args)
    else:
        load(args)


if __name__ == "__main__":
    main()
