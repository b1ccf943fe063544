"""What only the SQLite store promises of item search: the migration that indexes the items a
file already holds, and triggers that keep the index in step with any writer of the file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from graph.store import sqlite as sqlite_module
from graph.store.base import ItemQuery
from graph.store.sqlite import MIGRATIONS, SqliteStore
from tests.contract.builders import build, organisation
from tests.contract.test_search import ITEMS, titled


def _found(store: SqliteStore, text: str) -> list[str]:
    query = ItemQuery(text=text)
    return [i.id for i in store.read(lambda tx: tx.find_items(query))]


def test_the_migration_indexes_the_items_already_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "graph.sqlite3"
    with monkeypatch.context() as before:
        before.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[:10])  # before the search index (11)
        older = SqliteStore(path)
        build(older, [organisation(), organisation("O-2"), *ITEMS])
        older.close()
    with closing(sqlite3.connect(path)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "item_search" not in tables

    store = SqliteStore(path)
    try:
        assert store.schema_version == len(MIGRATIONS)
        assert _found(store, "国家秘密") == ["S-2", "S-1"]
        assert _found(store, "核设施") == ["H-1"]
        build(store, [titled("S-9", "国家秘密载体", "京保办〔2025〕2号")])
        assert _found(store, "国家秘密") == ["S-9", "S-2", "S-1"]
    finally:
        store.close()


def test_another_program_s_edits_reach_the_index(tmp_path: Path) -> None:
    path = tmp_path / "graph.sqlite3"
    store = SqliteStore(path)
    try:
        build(store, [organisation(), organisation("O-2"), *ITEMS])
        with closing(sqlite3.connect(path)) as other:
            other.execute("UPDATE items SET title = '保密检查通报' WHERE id = 'S-2'")
            other.execute("UPDATE items SET document_number = '京保办〔2025〕5号' WHERE id = 'S-4'")
            other.execute("DELETE FROM items WHERE id = 'S-1'")
            other.commit()
        assert _found(store, "国家秘密") == []
        assert _found(store, "保密检查") == ["S-2"]
        assert _found(store, "国保发〔2024〕1号") == ["S-5"]
        assert _found(store, "京保办〔2025〕5号") == ["S-4"]
        assert _found(store, "载体管理") == []
    finally:
        store.close()
