"""End-to-end fixtures: the real app on a real SQLite file, spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.bolt import BoltServer


class Gql(Protocol):
    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]: ...


def _client_gql(client: TestClient) -> Gql:
    def gql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = client.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    return gql


@pytest.fixture(params=["sqlite", "bolt"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each kind: a SQLite file, and a database on the session's Bolt server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lineage.db'}"
    server: BoltServer = request.getfixturevalue("bolt_server")
    return server.new_database()


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The app opening its own store from the URL, as `lineage serve` does."""
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as test_client:
        yield test_client


@pytest.fixture
def demo_client(db_url: str) -> Iterator[TestClient]:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as test_client:
        yield test_client


@pytest.fixture
def gql(client: TestClient) -> Gql:
    return _client_gql(client)


@pytest.fixture
def demo_gql(demo_client: TestClient) -> Gql:
    return _client_gql(demo_client)
