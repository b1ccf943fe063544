"""Benchmark of the lineage viewer (issue 6): how long a large lineage takes to come back over
GraphQL, through the fast path (`lineageGraph`, one JSON value) beside the field-by-field
`lineage`, and how long Chromium takes to draw 2,000 nodes and to zoom them.

    .venv/bin/python -m bench.viewer [--sizes 2000 10000] [--runs 5]

A diamond-heavy DAG (bench.dag) on the embedded store, served by uvicorn on loopback; every
timing is the median of `--runs`, the whole request as a client sees it. The drawing is timed
in the page (performance.now) from the request to the last node on the screen, and a zoom
from the change of scale to the next painted frame. Needs Debian's chromium and
chromedriver (scripts/setup-browser).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import uvicorn

from bench.dag import ORGANISATION, generate
from bench.descendants import load, machine
from graph.access import EVERY_ORGANISATION, SYSTEM, Role
from service.accounts import NewUser, add_user
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.usecases import NewPerson, register_person
from tests.e2e.test_server import free_port, wait_until_up
from tests.e2e.test_viewer import chromium, sign_in_with

FAST = """query($id: ID!) { lineageGraph(id: $id, direction: DOWNSTREAM) {
  ... on LineageGraph { nodeCount } } }"""
SLOW = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) {
  ... on Lineage { nodes { id depth redacted item { id title marking statusLabel } }
                   edges { childId parentId case } } } }"""

DRAW = """
const done = arguments[arguments.length - 1];
const started = performance.now();
window.lineageViewer.load(arguments[0]).then(() => requestAnimationFrame(() =>
  requestAnimationFrame(() => done(performance.now() - started))));
"""
ZOOM = """
const done = arguments[arguments.length - 1];
const started = performance.now();
window.lineageViewer.zoomAt(arguments[0], 400, 300);
requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - started)));
"""


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def measure(size: int, depth: int, runs: int) -> str:
    """One row of the table: a DAG of `size` items served and drawn."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = open_store(url)
        dag = generate(size, depth)
        load(store, dag)
        register_person(store, NewPerson("bench-reader", "基准读者", ORGANISATION.id), SYSTEM)
        command = NewUser(
            "bench-reader",
            frozenset({Role.SUPERVISOR}),
            person_id="bench-reader",
            supervises=frozenset({EVERY_ORGANISATION}),
        )
        token = add_user(store, command).bearer
        store.close()
        port = free_port()
        settings = Settings(store=url, daily_expiry=False, max_query_tokens=100_000)
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings), port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz")
        client = httpx2.Client(base_url=base, timeout=600)
        headers = {"Authorization": f"Bearer {token}"}

        def timed(query: str) -> list[float]:
            samples = []
            for _ in range(runs + 1):  # the first warms the store's memory
                started = time.perf_counter()
                response = client.post(
                    "/graphql",
                    json={"query": query, "variables": {"id": dag.root}},
                    headers=headers,
                )
                samples.append(time.perf_counter() - started)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(response.text[:500])
            return samples[1:]

        try:
            fast, slow = timed(FAST), timed(SLOW)
            with tempfile.TemporaryDirectory() as profile:
                browser = chromium(Path(profile))
                try:
                    browser.set_script_timeout(600)
                    sign_in_with(browser, base, token)
                    browser.execute_script("document.getElementById('depth').value = ''")
                    draws = [
                        browser.execute_async_script(DRAW, dag.root) / 1000 for _ in range(runs)
                    ]
                    drawn = len(browser.find_elements("css selector", "#nodes g.node"))
                    if drawn != size:
                        raise RuntimeError(f"drew {drawn} nodes of {size}")
                    zooms = [
                        browser.execute_async_script(ZOOM, 1.15 if i % 2 else 1 / 1.15) / 1000
                        for i in range(runs * 2)
                    ]
                finally:
                    browser.quit()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    return (
        f"| {size:,} | {median_ms(fast)} ms | {median_ms(slow)} ms "
        f"| {median_ms(draws)} ms | {median_ms(zooms)} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        "| nodes | lineageGraph (fast path) | lineage (field by field) | draw in Chromium | zoom |"
    )
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        print(measure(size, args.depth, args.runs), flush=True)


if __name__ == "__main__":
    main()
