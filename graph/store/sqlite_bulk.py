"""Loading rows into an empty SQLite store in bulk (`lineage import`'s bulk path, issue 24):
inside the one transaction of SqliteStore.bulk_transaction, the secondary indexes and the
triggers of the tables loaded in bulk are dropped, rows go in with one prepared statement per
table, and at the end the indexes and triggers are made again from their own SQL text (so the
schema is exactly what the migrations made), the search index of items (graph.search) is
built in one pass, and each counted table's generation (graph.store.cache) moves once.

Why: an index kept up to date row by row costs a B-tree insertion in random order per row and
index, a sort after the load costs one pass; the generation triggers cost about 18 us a row
and the search trigger writes an FTS segment per statement. The caller checks every reference
itself (foreign keys are off, and CHECK constraints while rows of the load go in): nothing
here checks the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

# The tables loaded in bulk: their secondary indexes and triggers are dropped for the load.
TABLES = ("items", "keypoints", "derived_from", "contains_keypoint", "classified_under")
# Tables whose rows the store counts in `generations` (graph.store.sqlite._GENERATIONS).
COUNTED = ("items", "derived_from", "classified_under")
# Pages of the page cache during the load, in KiB (negative: SQLite's unit for KiB): the index
# builds sort in it.
CACHE_KIB = 262_144
# Threads SQLite may sort with when it builds an index (the machine has 2 cores).
SORT_THREADS = 2
# Tables whose duplicate rows go in as INSERT OR IGNORE: the two the store's writer ignores
# them in too, and DERIVED_FROM, whose repeated edge the caller refuses once it has read on
# (service.bulk finds repeats at the end), so that the load never commits.
_IGNORED = ("contains_keypoint", "classified_under", "derived_from")


class BulkLoad:
    """The load into one empty store, within the caller's transaction on `db`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._pragmas = {
            name: int(db.execute(f"PRAGMA {name}").fetchone()[0])
            for name in ("cache_size", "threads")
        }
        db.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
        # Helper threads for the sorts that build the indexes at the end.
        db.execute(f"PRAGMA threads = {SORT_THREADS:d}")
        tables = json.dumps(TABLES)
        # Indexes an application made (sql not null: no primary keys), and every trigger.
        self._indexes: list[tuple[str, str]] = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN (SELECT value FROM json_each(?)) ORDER BY name",
            (tables,),
        ).fetchall()
        self._triggers: list[tuple[str, str]] = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name IN (SELECT value FROM json_each(?)) ORDER BY name",
            (tables,),
        ).fetchall()
        for name, _ in self._indexes:
            db.execute(f'DROP INDEX "{name}"')
        for name, _ in self._triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        self._loaded: set[str] = set()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Appends rows (values in the order of `columns`) to one of TABLES."""
        if not rows:
            return
        if table not in TABLES:
            raise ValueError(f"{table} is not loaded in bulk")
        verb = "INSERT OR IGNORE" if table in _IGNORED else "INSERT"
        marks = ", ".join("?" for _ in columns)
        sql = f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        # SQLite's CHECK constraints cost about 2 us a row here (an IN list of the enumeration
        # evaluated per row), more than the insert itself: they are off for the rows of the
        # load only, whose enumerated values the caller has decoded (graph.model's enums) and
        # whose edges it has checked to join two items, so that no CHECK could fail.
        self._db.execute("PRAGMA ignore_check_constraints = ON")
        try:
            # Table and column names are the caller's constants (the codec's field names).
            self._db.executemany(sql, rows)
        finally:
            self._db.execute("PRAGMA ignore_check_constraints = OFF")
        self._loaded.add(table)

    def finish(self) -> None:
        """Makes the indexes and triggers again and brings the search index and the
        generations up to date, in the same transaction."""
        for _, sql in self._indexes:
            self._db.execute(sql)
        for _, sql in self._triggers:
            self._db.execute(sql)
        if "items" in self._loaded:
            # The store was empty: the search index is built from all items in one pass.
            self._db.execute("INSERT INTO item_search (item_search) VALUES ('rebuild')")
        for table in COUNTED:
            if table in self._loaded:
                self._db.execute(
                    "UPDATE generations SET value = value + 1 WHERE name = ?", (table,)
                )
        # The graph index (graph.index) is not built here: the first large analysis builds
        # it and the store saves it beside its file (graph.store.sqlite._Saver), so that an
        # import does not pay a build no one may ask for; the generations moved above make
        # any index saved before the load stale.

    def close(self) -> None:
        """Gives the connection back its page cache and sorting threads, whether or not the
        load finished."""
        for name, value in self._pragmas.items():
            # Names from the constant tuple above; values the connection's own integers.
            self._db.execute(f"PRAGMA {name} = {value:d}")
