"""The `store` fixture: one fresh GraphStore per test, for every backend in BACKENDS.

Every test in this directory that asks for `store` runs once per backend. A backend is a
factory that opens an empty store; it gets pytest's request (to ask for session fixtures such
as the Bolt server, only when it runs) and tmp_path. The fixture closes the store after the
test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore
from service.composition import open_store
from tests.bolt import BoltServer

StoreFactory = Callable[[pytest.FixtureRequest, Path], GraphStore]


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> GraphStore:
    return SqliteStore(tmp_path / "graph.sqlite3")


def _bolt(request: pytest.FixtureRequest, tmp_path: Path) -> GraphStore:
    server: BoltServer = request.getfixturevalue("bolt_server")
    url = server.new_database()
    request.addfinalizer(lambda: server.release(url))  # after the store is closed
    return open_store(url)


BACKENDS: dict[str, StoreFactory] = {
    "sqlite": _sqlite,
    "bolt": _bolt,
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    factory = BACKENDS[request.param]
    opened = factory(request, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
