"""The service as a user runs it: a real uvicorn server on a free port, the console script, the
exported schema, and what a failure looks like from outside."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.store.sqlite import SqliteStore
from service.app import create_app
from service.cli import app as cli
from service.cli import schema_text
from service.composition import open_store
from service.config import Settings
from service.transfer import export_graph
from tests.bolt import BoltServer
from tests.e2e.conftest import signed_in

ROOT = Path(__file__).resolve().parents[2]
LINEAGE_SCRIPT = Path(sys.executable).with_name("lineage")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, deadline: float = 30.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {deadline} s")


def demo_token(output: str, user: str) -> str:
    """The token `lineage demo` printed for a demo user."""
    found = re.search(rf"^\s*{re.escape(user)}\s.*?(lin_\S+)\s*$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


@pytest.fixture
def server(db_url: str) -> Iterator[tuple[str, str]]:
    """uvicorn serving the app on a free loopback port, in this process, on each store; with
    the token `lineage demo` printed for the bureau's supervisor."""
    url = db_url
    result = CliRunner().invoke(cli, ["demo", "--store", url])
    assert result.exit_code == 0, result.output
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(store=url)), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    yield base, demo_token(result.output, "p-sun-hong")
    instance.should_exit = True
    thread.join(timeout=10)


def test_uvicorn_serves_graphql_on_a_free_port(server: tuple[str, str]) -> None:
    base, token = server
    query = {"query": '{ item(id: "D-INST-002") { marking bases { parentId } } }'}
    anonymous = httpx2.post(base + "/graphql", json=query, timeout=10)
    assert anonymous.status_code == 401
    assert "data" not in anonymous.json()
    response = httpx2.post(
        base + "/graphql",
        json=query,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "item": {
                "marking": "绝密★长期",
                "bases": [{"parentId": "D-CITY-001"}, {"parentId": "D-INST-001"}],
            }
        }
    }
    graphiql = httpx2.get(base + "/graphql", headers={"accept": "text/html"}, timeout=10)
    assert graphiql.status_code == 200
    assert "graphiql" in graphiql.text.lower()


def test_console_script_serves_demo_and_prints_the_url(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "LINEAGE_STORE": db_url}
    process = subprocess.Popen(
        [str(LINEAGE_SCRIPT), "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    try:
        assert process.stdout is not None
        while not any("血缘服务：" in line for line in printed):  # tokens come before the URL
            line = process.stdout.readline()
            assert line, "".join(printed)
            printed.append(line)
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        items = "{ items(first: 100) { ... on ItemConnection { edges { node { id } } } } }"

        def listed(user: str) -> list[str]:
            token = demo_token("".join(printed), user)
            body = httpx2.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": items},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            return [e["node"]["id"] for e in body["data"]["items"]["edges"]]

        # The supervisor of every organisation sees all 29 items (the bureau's 12 among
        # them); the county's handler those in its knowledge scope; the administrator none.
        assert len(listed("p-sun-hong")) == 29
        assert listed("p-zhao-min") == [
            "D-CITY-001",
            "D-COUNTY-001",
            "D-COUNTY-002",
            "D-COUNTY-003",
            "D-COUNTY-004",
        ]
        assert listed("admin") == []
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=20)
    output = "".join(printed) + rest
    assert f"http://127.0.0.1:{port}/graphql" in output
    if "@" in db_url:  # the store's password stays out of the output
        assert "lineage-test-password" not in output


def test_demo_twice_duplicates_nothing(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--store", db_url])
    assert first.exit_code == 0, first.output
    assert "新写入 66 项" in first.output
    second = runner.invoke(cli, ["demo", "--store", db_url])
    assert second.exit_code == 0, second.output
    assert "未重复写入" in second.output
    lines: list[str] = []
    store = open_store(db_url)
    try:
        counts = export_graph(store, lines.append)
    finally:
        store.close()
    assert {kind: counts[kind] for kind in ("item", "keypoint", "record", "derived_from")} == {
        "item": 17 + 12,  # the bureau's inspection case: 4 sources, 8 derived
        "keypoint": 4,
        "record": 17 + 13,  # each item's but two, the overdue change's and the old system's two
        "derived_from": 14 + 7,
    }
    assert counts["person"] == 13


def test_schema_file_matches_the_code() -> None:
    """schema.graphql is the public contract; regenerate with `lineage export-schema -o
    schema.graphql` after changing the API."""
    assert (ROOT / "schema.graphql").read_text(encoding="utf-8") == schema_text()
    exported = CliRunner().invoke(cli, ["export-schema"])
    assert exported.exit_code == 0
    assert exported.output == schema_text()


def test_a_bad_store_url_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["demo", "--store", "postgres://somewhere/db"])
    assert result.exit_code == 2
    assert "不支持的存储" in result.output


def test_a_bad_setting_in_the_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LINEAGE_PORT", "eighty")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "LINEAGE_PORT" in result.output
    assert "Traceback" not in result.output


def test_no_response_carries_internals(tmp_path: Path) -> None:
    """A broken store is an unexpected failure: the client gets a masked error, no trace."""
    path = tmp_path / "broken.db"
    url = f"sqlite:///{path}"
    assert CliRunner().invoke(cli, ["demo", "--store", url]).exit_code == 0
    with TestClient(create_app(Settings(store=url))) as client:
        signed_in(client)
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE records")
        broken = client.post(
            "/graphql", json={"query": '{ item(id: "S-2024-012") { id records { id } } }'}
        )
        syntax = client.post("/graphql", json={"query": "{ item(id: "})
    assert broken.status_code == 200
    assert broken.json()["errors"][0]["message"] == "服务内部错误。"
    assert "Syntax Error" in syntax.json()["errors"][0]["message"]
    for response in (broken, syntax):
        assert "Traceback" not in response.text
        assert "sqlite" not in response.text.lower()
        assert ".py" not in response.text


def test_a_bolt_store_that_refuses_the_password_is_a_clear_error(bolt_server: BoltServer) -> None:
    url = bolt_server.new_database()
    wrong = url.replace(url.split("://", 1)[1].split("@", 1)[0], "root:not-the-password", 1)
    result = CliRunner().invoke(cli, ["demo", "--store", wrong])
    assert result.exit_code == 2
    assert "无法连接图数据库" in result.output
    assert "not-the-password" not in result.output


def test_a_bolt_store_nobody_listens_on_is_a_clear_error() -> None:
    url = f"bolt://root:secret-password@127.0.0.1:{free_port()}/lineage"
    result = CliRunner().invoke(cli, ["demo", "--store", url])
    assert result.exit_code == 2
    assert "无法连接图数据库" in result.output
    assert "secret-password" not in result.output


def test_the_embedded_store_keeps_no_more_items_than_the_setting_allows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bounded.db'}"
    assert CliRunner().invoke(cli, ["demo", "--store", url]).exit_code == 0
    app = create_app(Settings(store=url, cached_items=0, daily_expiry=False))
    with TestClient(app) as client:
        signed_in(client)
        query = '{ item(id: "S-2024-012") { id status } }'
        answers = [client.post("/graphql", json={"query": query}).json() for _ in range(2)]
        store = app.state.store
    expected = {"data": {"item": {"id": "S-2024-012", "status": "CLASSIFIED"}}}
    assert answers == [expected, expected]
    assert isinstance(store, SqliteStore)
    assert not store._cache.room({})  # every read goes to the file


def test_the_collector_runs_less_often_while_the_app_runs(tmp_path: Path) -> None:
    """Large answers make many small objects (BENCHMARKS.md, issue 8); the process's own
    thresholds are back once the app stops."""
    import gc

    from service import app as app_module

    before = gc.get_threshold()
    settings = Settings(store=f"sqlite:///{tmp_path / 'gc.db'}", daily_expiry=False)
    with TestClient(create_app(settings)):
        assert gc.get_threshold() == app_module._COLLECTION_THRESHOLDS
    assert gc.get_threshold() == before != app_module._COLLECTION_THRESHOLDS
