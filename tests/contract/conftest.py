"""The `store` fixture: one fresh GraphStore per test, for every backend in BACKENDS.

Every test in this directory that asks for `store` (or `opener`) runs once per backend. A
backend is a factory that makes an empty database and returns an opener of stores on it; it
gets pytest's request (to ask for session fixtures such as the Bolt server, only when it runs)
and tmp_path. `opener` opens more stores on the same database (another process of the
service, say); every store opened is closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore
from service.composition import open_store
from tests.bolt import BoltServer

Opener = Callable[[], GraphStore]
# Given pytest's request and tmp_path, an opener of stores on one new, empty database.
StoreFactory = Callable[[pytest.FixtureRequest, Path], Opener]


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    path = tmp_path / "graph.sqlite3"
    return lambda: SqliteStore(path)


def _bolt(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    server: BoltServer = request.getfixturevalue("bolt_server")
    url = server.new_database()
    request.addfinalizer(lambda: server.release(url))  # after the stores are closed
    return lambda: open_store(url)


BACKENDS: dict[str, StoreFactory] = {
    "sqlite": _sqlite,
    "bolt": _bolt,
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on this test's database, as more processes of the service would; each
    is closed after the test."""
    factory = BACKENDS[request.param](request, tmp_path)
    opened: list[GraphStore] = []

    def open_one() -> GraphStore:
        opened.append(factory())
        return opened[-1]

    try:
        yield open_one
    finally:
        for one in reversed(opened):
            one.close()


@pytest.fixture
def store(opener: Opener) -> GraphStore:
    return opener()
