"""The `store` fixture: one fresh GraphStore per test, for every backend in BACKENDS.

Every test in this directory that asks for `store` runs once per backend. A new backend is one
more entry in BACKENDS: a factory that opens an empty store (given pytest's tmp_path for
anything it needs on disk); the fixture closes it after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore

StoreFactory = Callable[[Path], GraphStore]


def _sqlite(tmp_path: Path) -> GraphStore:
    return SqliteStore(tmp_path / "graph.sqlite3")


BACKENDS: dict[str, StoreFactory] = {
    "sqlite": _sqlite,
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    factory = BACKENDS[request.param]
    opened = factory(tmp_path)
    try:
        yield opened
    finally:
        opened.close()
