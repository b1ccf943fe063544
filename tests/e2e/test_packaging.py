"""The package as `pip install .` makes it (the Dockerfile, scripts/run): a virtual environment
with the runtime dependencies alone, no extra, at the versions of constraints.txt, in which
the console script serves a GraphQL subscription over a real WebSocket (uvicorn refuses every
upgrade when no WebSocket library is installed), answers `--version`, and which holds none of
the packages of the tests, the benchmarks and the tools.

Marked `packaging`: the environment is built once for the session by pip (from its cache,
about a minute here; the first time on a machine, a download of the dependencies besides).
`-m "not packaging"` leaves it out of a quick run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
import websocket

from tests.e2e.test_server import demo_token, free_port, wait_until_up

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILE = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PROJECT_FILE["project"]
# What the tests, the benchmarks and the developers' tools bring, and the runtime must not.
NOT_AT_RUN_TIME = {"networkx", "scipy", "pytest", "hypothesis", "mypy", "ruff", "selenium"}
# uvicorn[standard]: a WebSocket library, the fast HTTP parser and event loop; httpx2: the
# API's Python client (service/client.py, `lineage remote`).
AT_RUN_TIME = {"uvicorn", "websockets", "httptools", "uvloop", "httpx2"}

SUBSCRIBE = """
subscription($org: ID!, $since: DateTime) {
  noticesIssued(organisationId: $org, since: $since) { itemId organisationId actions }
}"""
DECLASSIFY = """
mutation {
  declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei", officialId: "p-li-qiang",
                     reason: CIRCUMSTANCES_CHANGED, basis: "形势变化，公开后不损害国家安全。"}) {
    __typename
  }
}"""


@dataclass(frozen=True)
class Runtime:
    folder: Path

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    @property
    def lineage(self) -> Path:
        return self.folder / "bin" / "lineage"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the settings and paths of the test run."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LINEAGE_", "PYTHON", "VIRTUAL_ENV"))
    }
    return {**kept, **extra}


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """A virtual environment with the project and its runtime dependencies only."""
    made = Runtime(tmp_path_factory.mktemp("runtime") / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(made.folder)], check=True)
    install = subprocess.run(
        [
            str(made.python),
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--constraint", str(ROOT / "constraints.txt")),
            str(ROOT),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return made


def test_the_runtime_holds_no_test_bench_or_dev_package(runtime: Runtime) -> None:
    listed = subprocess.run(
        [str(runtime.python), "-m", "pip", "list", "--format", "json"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "lineage" in installed
    assert installed >= AT_RUN_TIME, AT_RUN_TIME - installed
    assert not NOT_AT_RUN_TIME & installed, NOT_AT_RUN_TIME & installed
    # The package installed there is what runs there, not this worktree's files.
    where = subprocess.run(
        [str(runtime.python), "-c", "import service; print(service.__file__)"],
        env=clean_env(),
        cwd=runtime.folder,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(runtime.folder)


def test_the_installed_package_holds_every_file_of_its_packages(runtime: Runtime) -> None:
    """The viewer's pages, GraphiQL's vendored files and every module, as git tracks them:
    the wheel leaves out what .gitignore names, and whatever its build settings miss."""
    packages = PROJECT_FILE["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    tracked = subprocess.run(
        ["git", "ls-files", "-z", *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    site = subprocess.run(
        [str(runtime.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    missing = [name for name in tracked if name and not (Path(site) / name).is_file()]
    assert len(tracked) > 100
    assert not missing, missing


def test_the_console_script_prints_its_version(runtime: Runtime) -> None:
    printed = subprocess.run(
        [str(runtime.lineage), "--version"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (printed.returncode, printed.stdout) == (0, f"lineage {PROJECT['version']}\n")


@pytest.fixture
def served(runtime: Runtime, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`lineage serve --demo` of the runtime on a free port and a new SQLite store: its base
    URL and what it printed."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [
                str(runtime.lineage),
                *("serve", "--demo", "--port", str(port)),
                *("--store", f"sqlite:///{tmp_path / 'lineage.db'}"),
            ],
            env=clean_env(LINEAGE_NOTICE_POLL_SECONDS="0.2", LINEAGE_DAILY_EXPIRY="false"),
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base + "/healthz")
        except AssertionError:
            raise AssertionError(log.read_text(encoding="utf-8")) from None
        yield base, log.read_text(encoding="utf-8")
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert "No supported WebSocket library" not in log.read_text(encoding="utf-8")


def test_the_console_script_serves_a_subscription_over_a_websocket(
    served: tuple[str, str],
) -> None:
    base, printed = served
    county, ministry = demo_token(printed, "p-zhao-min"), demo_token(printed, "p-li-qiang")
    ws = websocket.create_connection(
        base.replace("http://", "ws://") + "/graphql",
        subprotocols=["graphql-transport-ws"],
        timeout=30,
    )
    try:
        assert ws.subprotocol == "graphql-transport-ws"
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {county}"}}
        ws.send(json.dumps(init))
        assert json.loads(ws.recv()) == {"type": "connection_ack"}
        since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        variables = {"org": "org-county", "since": since}
        subscribe = {"query": SUBSCRIBE, "variables": variables}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        decided = httpx2.post(
            base + "/graphql",
            json={"query": DECLASSIFY},
            headers={"Authorization": f"Bearer {ministry}"},
            timeout=30,
        )
        assert decided.json() == {"data": {"declassify": {"__typename": "ChangeCommitted"}}}
        message = json.loads(ws.recv())
        assert message["type"] == "next", message
        notice = message["payload"]["data"]["noticesIssued"]
        assert notice["organisationId"] == "org-county"
        assert notice["itemId"].startswith("D-COUNTY-")
        assert notice["actions"] == ["DECLASSIFY"]
        ws.send(json.dumps({"id": "1", "type": "complete"}))
    finally:
        ws.close()
