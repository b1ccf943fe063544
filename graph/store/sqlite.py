"""The embedded store: the whole graph in one SQLite file.

WAL lets readers go on while one writer commits; foreign keys back up the reference checks
made here; `PRAGMA user_version` holds the schema version, and MIGRATIONS bring an older file
up to date when it is opened. Each thread gets its own connection, because a sqlite3
connection must not be shared between threads that run at the same time.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from graph import search
from graph.access import ReadFilter, Token, User, readers
from graph.chain import GENESIS, Head, StoredEvent, linked
from graph.change import Change, Notice, NoticeStatus, Proposal
from graph.cycle import closing_edge
from graph.errors import (
    Conflict,
    CycleRefused,
    DuplicateId,
    InvalidValue,
    StoreVersionError,
    UnknownId,
)
from graph.grant import Grant, GrantStatus
from graph.index import GraphIndex, Journal
from graph.lineage import Index, Lineage, below
from graph.model import (
    Citation,
    DecisionRecord,
    Derivation,
    Item,
    Keypoint,
    KnowledgeScope,
    Organisation,
    Person,
    ScopeRule,
)
from graph.store import deadline, legacy
from graph.store.base import (
    ExpiryQuery,
    GraphReader,
    GraphWriter,
    ItemQuery,
    NoticeQuery,
    ScopeRuleQuery,
)
from graph.store.cache import Cache, graph_generation
from graph.store.codec import (
    GRANT_STATE,
    ITEM_ROW_FIELDS,
    ITEM_STATE,
    KEYPOINT_STATE,
    NOTICE_BATCH,
    NOTICE_COLUMNS,
    NOTICE_STATE,
    Defaults,
    audit_fields,
    audit_from,
    bar_list,
    batched,
    change_fields,
    change_from,
    derivation,
    edge_row,
    grant_fields,
    grant_from,
    item_fields,
    item_from,
    item_row,
    keypoint_fields,
    keypoint_from,
    notice_fields,
    notice_from,
    notice_state,
    organisation_fields,
    organisation_from,
    person_fields,
    person_from,
    phrase_json,
    proposal_fields,
    proposal_from,
    record_fields,
    record_from,
    scope_of,
    scope_rule_fields,
    scope_rule_from,
    timestamp,
    token_fields,
    token_from,
    user_fields,
    user_from,
)
from graph.store.outbound import (
    DELIVERY_STATE,
    DeliveryQuery,
    delivery_fields,
    delivery_from,
    webhook_fields,
    webhook_from,
)
from graph.trail import AuditEvent, AuditQuery
from graph.webhook import Delivery, DeliveryStatus, Webhook

T = TypeVar("T")

_PERIOD_COLUMNS = """
    level TEXT CHECK (level IN ('CONFIDENTIAL', 'SECRET', 'TOP_SECRET')),
    period_kind TEXT CHECK (period_kind IN
        ('YEARS', 'UNTIL_DATE', 'UNTIL_CONDITION', 'LONG_TERM', 'UNMARKED')),
    period_years INTEGER,
    period_start TEXT,
    period_until TEXT,
    period_condition TEXT"""

_V2 = f"""
    ALTER TABLE organisations ADD COLUMN superior_id TEXT REFERENCES organisations (id);
    ALTER TABLE organisations ADD COLUMN successor_id TEXT REFERENCES organisations (id);
    ALTER TABLE items ADD COLUMN joint_organisation_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE items ADD COLUMN expires_on TEXT;
    CREATE INDEX items_by_expiry ON items (status, expires_on, id);
    ALTER TABLE keypoints ADD COLUMN expires_on TEXT;
    CREATE INDEX keypoints_by_expiry ON keypoints (declassified, expires_on, id);
    CREATE TABLE records_v2 (
        id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES items (id),
        kind TEXT NOT NULL,
        handler_id TEXT REFERENCES persons (id),
        official_id TEXT REFERENCES persons (id),
        decided_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        status TEXT NOT NULL,
        {_PERIOD_COLUMNS},
        scope TEXT NOT NULL,
        bases TEXT NOT NULL,
        summary TEXT NOT NULL,
        articles TEXT NOT NULL,
        effective_on TEXT
    );
    INSERT INTO records_v2 SELECT *, NULL FROM records;
    DROP TABLE records;
    ALTER TABLE records_v2 RENAME TO records;
    CREATE INDEX records_by_item ON records (item_id, recorded_at);
    CREATE TABLE changes (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        item_id TEXT NOT NULL REFERENCES items (id),
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        keypoints_before TEXT NOT NULL,
        keypoints_after TEXT NOT NULL,
        reason TEXT,
        basis TEXT NOT NULL,
        handler_id TEXT REFERENCES persons (id),
        official_id TEXT REFERENCES persons (id),
        decided_on TEXT NOT NULL,
        effective_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        summary TEXT NOT NULL,
        articles TEXT NOT NULL,
        approval_reference TEXT,
        consulted_organisation_ids TEXT NOT NULL,
        record_id TEXT REFERENCES records (id)
    );
    CREATE INDEX changes_by_item ON changes (item_id, recorded_at);
    CREATE TABLE notices (
        id TEXT PRIMARY KEY,
        change_id TEXT NOT NULL REFERENCES changes (id),
        source_id TEXT NOT NULL REFERENCES items (id),
        item_id TEXT NOT NULL REFERENCES items (id),
        organisation_id TEXT NOT NULL REFERENCES organisations (id),
        actions TEXT NOT NULL,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        path TEXT NOT NULL,
        articles TEXT NOT NULL,
        kept_bases TEXT NOT NULL,
        text TEXT NOT NULL,
        due_on TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN
            ('PENDING', 'ACKNOWLEDGED', 'APPLIED', 'PROPOSED', 'SUPERSEDED')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        acted_by TEXT REFERENCES persons (id),
        record_id TEXT REFERENCES records (id),
        superseded_by TEXT REFERENCES changes (id),
        proposal_id TEXT REFERENCES proposals (id)
    );
    CREATE INDEX notices_by_organisation ON notices (organisation_id, status, id);
    CREATE INDEX notices_by_item ON notices (item_id, status, id);
    CREATE INDEX notices_by_source ON notices (source_id, status, id);
    CREATE INDEX notices_by_change ON notices (change_id, id);
    CREATE INDEX notices_by_status ON notices (status, id);
    CREATE INDEX notices_by_creation ON notices (organisation_id, created_at, id);
    CREATE INDEX notices_by_time ON notices (created_at, id);
    CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES items (id),
        proposer_id TEXT NOT NULL REFERENCES persons (id),
        organisation_id TEXT NOT NULL REFERENCES organisations (id),
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        notice_id TEXT REFERENCES notices (id)
    );
    CREATE INDEX proposals_by_organisation ON proposals (organisation_id, id);
    CREATE INDEX proposals_by_item ON proposals (item_id, id);
    """


def _v2(connection: sqlite3.Connection) -> None:
    """Change records, notices and proposals; organisations' superiors and successors; joint
    classification; the expiry column, filled in for the items already there."""
    for statement in _statements(_V2):
        connection.execute(statement)
    for table, read in (("items", item_from), ("keypoints", keypoint_from)):
        # `table` is one of the two names above.
        rows = connection.execute(f"SELECT * FROM {table}").fetchall()
        # As version 2 had them: the columns of later versions read as None.
        expiries = [(_stored(read(Defaults(dict(row))))["expires_on"], row["id"]) for row in rows]
        connection.executemany(f"UPDATE {table} SET expires_on = ? WHERE id = ?", expiries)


def _stored(value: Item | Keypoint) -> dict[str, Any]:
    return item_fields(value) if isinstance(value, Item) else keypoint_fields(value)


# Tables whose rows the store keeps in memory between transactions (graph.store.cache): each
# change to one bumps its generation, by trigger, so that edits from any connection or tool
# count. Migration 3 names them, and so is never to change.
_GENERATIONS = ("items", "derived_from", "process_item_of", "classified_under")


def _v3(connection: sqlite3.Connection) -> None:
    """Generation counters of the tables the store caches."""
    connection.execute(
        "CREATE TABLE generations (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID"
    )
    for table in _GENERATIONS:
        connection.execute("INSERT INTO generations (name, value) VALUES (?, 0)", (table,))
        for event in ("INSERT", "UPDATE", "DELETE"):
            connection.execute(_counting_trigger(table, event))


def _counting_trigger(table: str, event: str) -> str:
    """The trigger that bumps `table`'s generation on each row of `event`."""
    # Names from the constants above only; a trigger body takes no parameters.
    return (
        f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON {table} BEGIN "
        f"UPDATE generations SET value = value + 1 WHERE name = '{table}'; END"
    )


# From this many rows an insert bumps its table's generation once, not once a row. A trigger's
# update costs about 18 us a row, dropping and making the trigger again a few hundred us in all
# (the schema changes, statements are prepared again): at 50 rows the second already wins.
_COUNTED_ONCE = 50


_V4 = """
    ALTER TABLE items ADD COLUMN readers TEXT NOT NULL DEFAULT '';
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        person_id TEXT UNIQUE REFERENCES persons (id),
        roles TEXT NOT NULL,
        supervises TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id),
        digest TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
    );
    CREATE INDEX tokens_by_user ON tokens (user_id, created_at, id);
    """


def _v4(connection: sqlite3.Connection) -> None:
    """Users and tokens; each item's knowledge scope as searchable text (graph.access)."""
    for statement in _statements(_V4):
        connection.execute(statement)
    rows = connection.execute("SELECT id, scope FROM items").fetchall()
    connection.executemany(
        "UPDATE items SET readers = ? WHERE id = ?",
        [(readers(scope_of(row["scope"])), row["id"]) for row in rows],
    )


# The reasoning and consultation of reviews (X-17, X-20, X-21), for their 审核表.
_V5 = """
    ALTER TABLE records ADD COLUMN reasoning TEXT;
    ALTER TABLE records ADD COLUMN consultation TEXT;
    ALTER TABLE changes ADD COLUMN consultation TEXT;
    """

# What the service notes down for itself (GraphReader.memo).
_V6 = """
    CREATE TABLE memos (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    """

# Items' versions, for optimistic concurrency (graph.model.Item.version).
_V7 = """
    ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    """


# Requests that widen who may read, filed by one person and decided by another (graph.grant).
_V9 = """
    CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('SUCCESSION', 'SUPERIOR', 'SUPERVISION')),
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        organisation_id TEXT REFERENCES organisations (id),
        target_id TEXT REFERENCES organisations (id),
        user_id TEXT REFERENCES users (id),
        supervises TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
        decided_by TEXT,
        decided_at TEXT,
        reason TEXT NOT NULL
    );
    CREATE INDEX grants_by_status ON grants (status, requested_at, id);
    """


# Outbound events (graph.webhook): the endpoints organisations register, and the deliveries
# queued to them in the transaction of what caused them (service.outbox), with their leases.
_V10 = """
    CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        organisation_id TEXT NOT NULL REFERENCES organisations (id),
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE deliveries (
        id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL REFERENCES webhooks (id),
        message_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT,
        delivered_at TEXT
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
    CREATE INDEX deliveries_by_status ON deliveries (status, created_at, id);
    CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at, id);
    """


# Item search (graph.search): the title, document number and id of every item in an FTS5
# index of trigrams, which finds Chinese words as well as any (no word segmentation needed).
# It holds no copy of the text (its content is `items`) and no positions (detail none): it
# proposes the items that hold every trigram of a word, and the query checks each against
# the item's own text, so that an index out of step can miss an item but never find one
# for a word it does not hold. Triggers keep it in step with any writer of the file; the
# index of document numbers puts an exact number first without a scan.
_SEARCH_INSERT = (
    "CREATE TRIGGER item_search_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO item_search (rowid, id, title, document_number) "
    "VALUES (new.rowid, new.id, new.title, new.document_number); END"
)
_V11 = (
    "CREATE VIRTUAL TABLE item_search USING fts5(id, title, document_number, "
    "content = 'items', tokenize = 'trigram', detail = 'none')",
    _SEARCH_INSERT,
    "CREATE TRIGGER item_search_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO item_search (item_search, rowid, id, title, document_number) "
    "VALUES ('delete', old.rowid, old.id, old.title, old.document_number); END",
    "CREATE TRIGGER item_search_update AFTER UPDATE OF id, title, document_number ON items "
    "BEGIN INSERT INTO item_search (item_search, rowid, id, title, document_number) "
    "VALUES ('delete', old.rowid, old.id, old.title, old.document_number); "
    "INSERT INTO item_search (rowid, id, title, document_number) "
    "VALUES (new.rowid, new.id, new.title, new.document_number); END",
    "CREATE INDEX items_by_number ON items (document_number)",
)


# CITES: an item cited by another that takes none of its content (D-14), kept apart from
# derived_from so that no rule, fan-out or cache of the lineage ever reads it.
_V12 = """
    CREATE TABLE cites (
        item_id TEXT NOT NULL REFERENCES items (id),
        cited_id TEXT NOT NULL REFERENCES items (id),
        note TEXT NOT NULL,
        person_id TEXT REFERENCES persons (id),
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (item_id, cited_id),
        CHECK (item_id <> cited_id)
    ) WITHOUT ROWID;
    CREATE INDEX cites_by_cited ON cites (cited_id, item_id);
    """


def _v11(connection: sqlite3.Connection) -> None:
    """The search index of items (graph.search), built for the items already there."""
    for statement in _V11:  # one by one: a trigger's body holds semicolons of its own
        connection.execute(statement)
    connection.execute("INSERT INTO item_search (item_search) VALUES ('rebuild')")


def _v8(connection: sqlite3.Connection) -> None:
    """Notices' texts and records' summaries as phrases (graph.phrase): they named other
    items in words, which every reader of the item read (D-10)."""
    applied: dict[str, list[str]] = {}  # record -> what the notice it applied names

    def names(ids: Iterable[str]) -> dict[str, legacy.Named]:
        rows = connection.execute(
            f"SELECT id, title, document_number FROM items WHERE id IN {_IN}", (_ids(ids),)
        )
        return {row[0]: (row[0], row[1], row[2]) for row in rows}

    for page in _pages(
        connection, "notices", "text, source_id, item_id, path, kept_bases, record_id"
    ):
        refs = {row["id"]: legacy.stored_notice_refs(row) for row in page}
        named = names({r for found in refs.values() for r in found})
        connection.executemany(
            "UPDATE notices SET text = ? WHERE id = ?",
            [
                (phrase_json(legacy.notice_text(row["text"], refs[row["id"]], named)), row["id"])
                for row in page
            ],
        )
        applied.update({row["record_id"]: refs[row["id"]] for row in page if row["record_id"]})
    for page in _pages(connection, "records", "item_id, bases, summary"):
        wanted = {row["item_id"] for row in page}
        wanted.update(r for row in page for r in applied.get(row["id"], ()))
        named = names(wanted)
        connection.executemany(
            "UPDATE records SET summary = ? WHERE id = ?",
            [(legacy.stored_summary(row, applied, named), row["id"]) for row in page],
        )


def _pages(
    connection: sqlite3.Connection, table: str, columns: str, size: int = 1000
) -> Iterator[list[sqlite3.Row]]:
    """Every row of a table, a page at a time in the order of its ids."""
    after = ""
    while True:
        # Table and column names from the migrations above only.
        page = connection.execute(
            f"SELECT id, {columns} FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (after, size)
        ).fetchall()
        if not page:
            return
        yield page
        after = page[-1]["id"]


def _v13(connection: sqlite3.Connection) -> None:
    """The database's identity, a random number among the generations: a graph index saved
    beside the file (graph.index) is of this database only, not of another one made later at
    the same path whose counters started again from zero. A restore moves it on, as every
    generation."""
    connection.execute(
        "INSERT INTO generations (name, value) VALUES ('identity', ?)", (secrets.randbits(62),)
    )


# Each entry brings the schema from version i to i + 1: a script, or a function for what a
# script cannot do. Entries are never edited once released, only appended.
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    f"""
    CREATE TABLE organisations (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        authority TEXT CHECK (authority IN ('CONFIDENTIAL', 'SECRET', 'TOP_SECRET'))
    );
    CREATE TABLE persons (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        organisation_id TEXT NOT NULL REFERENCES organisations (id)
    );
    CREATE INDEX persons_by_organisation ON persons (organisation_id);
    CREATE TABLE items (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('SOURCE', 'DERIVED')),
        title TEXT NOT NULL,
        document_number TEXT NOT NULL,
        organisation_id TEXT NOT NULL REFERENCES organisations (id),
        issued_on TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('CLASSIFIED', 'DECLASSIFIED_WORK_SECRET',
            'DECLASSIFIED_PUBLIC', 'NOT_CLASSIFIED')),
        {_PERIOD_COLUMNS},
        scope TEXT NOT NULL,
        scope_limit TEXT
    );
    CREATE INDEX items_by_organisation ON items (organisation_id, id);
    CREATE INDEX items_by_level ON items (level, id);
    CREATE INDEX items_by_status ON items (status, id);
    CREATE TABLE keypoints (
        id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES items (id),
        title TEXT NOT NULL,
        {_PERIOD_COLUMNS},
        declassified INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX keypoints_by_item ON keypoints (item_id);
    CREATE TABLE scope_rules (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        document TEXT NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('CONFIDENTIAL', 'SECRET', 'TOP_SECRET')),
        years INTEGER,
        long_term INTEGER NOT NULL DEFAULT 0,
        issuer TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE derived_from (
        child_id TEXT NOT NULL REFERENCES items (id),
        parent_id TEXT NOT NULL REFERENCES items (id),
        basis TEXT NOT NULL CHECK (basis IN
            ('IDENTICAL', 'INVOLVES_KEYPOINT', 'SUMMARY', 'ORIGINATOR_REQUIREMENT')),
        keypoint_ids TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (child_id, parent_id),
        CHECK (child_id <> parent_id)
    ) WITHOUT ROWID;
    CREATE INDEX derived_from_by_parent ON derived_from (parent_id, child_id);
    CREATE TABLE contains_keypoint (
        item_id TEXT NOT NULL REFERENCES items (id),
        keypoint_id TEXT NOT NULL REFERENCES keypoints (id),
        PRIMARY KEY (item_id, keypoint_id)
    ) WITHOUT ROWID;
    CREATE INDEX contains_keypoint_by_keypoint ON contains_keypoint (keypoint_id, item_id);
    CREATE TABLE classified_under (
        item_id TEXT NOT NULL REFERENCES items (id),
        rule_id TEXT NOT NULL REFERENCES scope_rules (id),
        PRIMARY KEY (item_id, rule_id)
    ) WITHOUT ROWID;
    CREATE TABLE process_item_of (
        item_id TEXT PRIMARY KEY REFERENCES items (id),
        main_id TEXT NOT NULL REFERENCES items (id),
        CHECK (item_id <> main_id)
    );
    CREATE INDEX process_item_of_by_main ON process_item_of (main_id);
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES items (id),
        kind TEXT NOT NULL,
        handler_id TEXT NOT NULL REFERENCES persons (id),
        official_id TEXT NOT NULL REFERENCES persons (id),
        decided_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        status TEXT NOT NULL,
        {_PERIOD_COLUMNS},
        scope TEXT NOT NULL,
        bases TEXT NOT NULL,
        summary TEXT NOT NULL,
        articles TEXT NOT NULL
    );
    CREATE INDEX records_by_item ON records (item_id, recorded_at);
    """,
    _v2,
    _v3,
    _v4,
    _V5,
    _V6,
    _V7,
    _v8,
    _V9,
    _V10,
    _v11,
    _V12,
    _v13,
)

_IN = "(SELECT value FROM json_each(?))"  # one parameter for a list of any length


def _ids(ids: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(ids)))


# An item its reader may read (graph.access.ReadFilter): a key of the reader in `readers`, or
# held by an organisation the reader supervises. Two parameters: the keys, the holders.
_READABLE = (
    f"(EXISTS (SELECT 1 FROM json_each(?) AS k WHERE instr(items.readers, k.value) > 0) "
    f"OR organisation_id IN {_IN})"
)


# An item that holds a word (graph.search): three LIKE patterns.
_HOLDS = (
    "(items.title LIKE ? ESCAPE '\\' OR items.document_number LIKE ? ESCAPE '\\' "
    "OR items.id LIKE ? ESCAPE '\\')"
)


def _readable_params(readable: ReadFilter) -> tuple[str, str]:
    return json.dumps(list(readable.keys)), json.dumps(list(readable.holders))


# The fields of acting on a notice that name other rows: table, kind, column.
_ACTING = (
    ("persons", "person", "acted_by"),
    ("records", "record", "record_id"),
    ("changes", "change", "superseded_by"),
    ("proposals", "proposal", "proposal_id"),
)


def _notice_conditions(query: NoticeQuery) -> tuple[list[str], list[Any]]:
    """The conditions of NoticeQuery but its paging, with their parameters."""
    where = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("organisation_id", query.organisation_id),
        ("item_id", query.item_id),
        ("source_id", query.source_id),
        ("change_id", query.change_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.statuses:
        where.append(f"status IN {_IN}")
        params.append(_ids(s.value for s in query.statuses))
    return where, params


def _item_conditions(query: ItemQuery) -> tuple[list[str], list[Any]]:
    """The conditions of ItemQuery but its text and paging, the reader's included, with
    their parameters: what find_items pages through and count_found_items counts."""
    where = ["1 = 1"]
    params: list[Any] = []
    if query.organisation_id is not None:
        where.append("organisation_id = ?")
        params.append(query.organisation_id)
    if query.level is not None:
        where.append("level = ?")
        params.append(query.level.value)
    if query.status is not None:
        where.append("status = ?")
        params.append(query.status.value)
    if query.kind is not None:
        where.append("kind = ?")
        params.append(query.kind.value)
    if query.readable is not None:
        where.append(_READABLE)
        params.extend(_readable_params(query.readable))
    return where, params


class _Watchdog:
    """One thread per store that interrupts a connection whose transaction outlives its
    deadline (graph.store.deadline); started on first use. An interrupt happens under the
    lock, so once `release` returns, none is on its way to that transaction."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, sqlite3.Connection]] = []
        self._watched: set[int] = set()
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, at: float, connection: sqlite3.Connection) -> int:
        with self._wake:
            number = next(self._numbers)
            heapq.heappush(self._due, (at, number, connection))
            self._watched.add(number)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlite-deadline")
                self._thread.daemon = True
                self._thread.start()
            self._wake.notify()
            return number

    def release(self, number: int) -> None:
        with self._wake:
            self._watched.discard(number)

    def close(self) -> None:
        """Stops the thread; a later `watch` starts another."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with self._wake:
            self._closed = False

    def _run(self) -> None:
        with self._wake:
            while not self._closed:
                while self._due and self._due[0][1] not in self._watched:
                    heapq.heappop(self._due)  # released in time
                if not self._due:
                    self._wake.wait()
                    continue
                at, number, connection = self._due[0]
                left = at - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._due)
                self._watched.discard(number)
                connection.interrupt()


# Statements one by one: a trigger's body holds a semicolon of its own. Each tuple brings
# the trail file's own PRAGMA user_version up by one.
_APPEND_ONLY = "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
_TRAIL_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            user_id TEXT,
            person_id TEXT,
            organisation_id TEXT,
            address TEXT NOT NULL,
            items TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX audit_by_time ON audit_events (at, id)",
        "CREATE INDEX audit_by_user ON audit_events (user_id, at, id)",
        "CREATE INDEX audit_by_organisation ON audit_events (organisation_id, at, id)",
        f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events {_APPEND_ONLY}",
        f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events {_APPEND_ONLY}",
    ),
    # 2: the ids a request asked for, and the hash chain (graph.chain). The events already
    # there stay as they were, outside the chain, which begins after them; the head notes
    # where, and how many they are.
    (
        "ALTER TABLE audit_events ADD COLUMN asked TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE audit_events ADD COLUMN previous TEXT",
        "ALTER TABLE audit_events ADD COLUMN digest TEXT",
        """CREATE TABLE trail_head (
            name TEXT PRIMARY KEY CHECK (name = 'audit'),
            start INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            digest TEXT NOT NULL,
            unchained INTEGER NOT NULL
        )""",
        "INSERT INTO trail_head (name, start, seq, digest, unchained) "
        f"SELECT 'audit', coalesce(max(seq), 0) + 1, coalesce(max(seq), 0), '{GENESIS}', "
        "count(*) FROM audit_events",
        f"CREATE TRIGGER trail_head_no_delete BEFORE DELETE ON trail_head {_APPEND_ONLY}",
        "CREATE TRIGGER trail_head_forward BEFORE UPDATE ON trail_head "
        "WHEN NEW.seq < OLD.seq OR NEW.start != OLD.start OR NEW.unchained != OLD.unchained "
        f"{_APPEND_ONLY}",
    ),
    # 3: the id of the request an event was written for (service.request_ids); empty for the
    # events before, whose digests do not include it (graph.chain).
    ("ALTER TABLE audit_events ADD COLUMN request_id TEXT NOT NULL DEFAULT ''",),
)


def trail_path(path: str | Path) -> Path:
    """The file of a store's audit trail, beside it: lineage.db -> lineage.audit.db."""
    graph = Path(path)
    return graph.with_name(f"{graph.stem}.audit{graph.suffix}")


class _Trail:
    """The audit trail in a file of its own: appending never waits for a long graph write (a
    fan-out over 100,000 descendants holds the graph's write lock for a minute), and triggers
    refuse every UPDATE and DELETE, from this program or any other, which stops accidents;
    the hash chain (graph.chain) finds what someone with the file did on purpose. Events are
    linked under the file's write lock (BEGIN IMMEDIATE), so in one order even when several
    processes (the service, the command line) append to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > len(_TRAIL_MIGRATIONS):
                    raise StoreVersionError(
                        f"审计日志 {path} 的结构版本为 {version}，本程序只支持到 "
                        f"{len(_TRAIL_MIGRATIONS)}：请升级本程序后再打开。"
                    )
                for number in range(version, len(_TRAIL_MIGRATIONS)):
                    for statement in _TRAIL_MIGRATIONS[number]:
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def append(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._append(events)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _append(self, events: Sequence[AuditEvent]) -> None:
        """Within the write transaction: the events linked after the head, and the head moved."""
        links, head = linked(events, self._head())
        rows = [
            {**audit_fields(e), "seq": k.seq, "previous": k.previous, "digest": k.digest}
            for e, k in zip(events, links, strict=True)
        ]
        columns = ", ".join(rows[0])
        names = ", ".join(f":{name}" for name in rows[0])
        # Column names are the codec's own constants; every value is a parameter.
        self._db.executemany(f"INSERT INTO audit_events ({columns}) VALUES ({names})", rows)
        self._db.execute(
            "UPDATE trail_head SET seq = ?, digest = ? WHERE name = 'audit'",
            (head.seq, head.digest),
        )

    def _head(self) -> Head:
        row = self._db.execute(
            "SELECT start, seq, digest, unchained FROM trail_head WHERE name = 'audit'"
        ).fetchone()
        if row is None:
            raise StoreVersionError(f"审计日志 {self.path} 缺少链头（trail_head）：文件被改动过。")
        return Head(row["start"], row["seq"], row["digest"], row["unchained"])

    def head(self) -> tuple[Head, int]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                head = self._head()
                unchained = self._db.execute(
                    "SELECT count(*) FROM audit_events WHERE seq < ?", (head.start,)
                ).fetchone()[0]
            finally:
                self._db.execute("COMMIT")
        return head, unchained

    def page(self, after: int, after_id: str | None, through: int, limit: int) -> list[StoredEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit_events WHERE seq <= ? "
                "AND (seq > ? OR (seq = ? AND ? IS NOT NULL AND id > ?)) "
                "ORDER BY seq, id LIMIT ?",
                (through, after, after, after_id, after_id, limit),
            ).fetchall()
        return [
            StoredEvent(row["seq"], row["previous"], row["digest"], audit_from(row)) for row in rows
        ]

    def merge(self, source: Path, batch: int = 5_000) -> int:
        """Appends the events of the trail file at `source` (of any version) that this one
        lacks, in their order there, linked anew at the end of this chain; returns how many.
        A batch a transaction: cut short, what was added stays, and merging again adds the
        rest."""
        added = 0
        with closing(sqlite3.connect(source)) as reading:
            reading.row_factory = sqlite3.Row
            after = -1
            while True:
                rows = reading.execute(
                    "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", (after, batch)
                ).fetchall()
                if not rows:
                    return added
                after = rows[-1]["seq"]
                events = [audit_from(Defaults(dict(row))) for row in rows]
                with self._lock:
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        held = {
                            row[0]
                            for row in self._db.execute(
                                f"SELECT id FROM audit_events WHERE id IN {_IN}",
                                (json.dumps([e.id for e in events]),),
                            )
                        }
                        missing = [e for e in events if e.id not in held]
                        if missing:
                            self._append(missing)
                        self._db.execute("COMMIT")
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
                added += len(missing)

    def find(self, query: AuditQuery) -> list[AuditEvent]:
        where, params = _event_conditions(query)
        if query.before is not None:
            where.append("(at < ? OR (at = ? AND id < ?))")
            at = timestamp(query.before[0])
            params.extend((at, at, query.before[1]))
        params.append(query.limit)
        # Only fixed condition texts are joined; every value is a parameter.
        sql = (
            f"SELECT * FROM audit_events WHERE {' AND '.join(where)} "
            "ORDER BY at DESC, id DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [audit_from(row) for row in rows]

    def count(self, query: AuditQuery) -> int:
        where, params = _event_conditions(query)
        # Only fixed condition texts are joined; every value is a parameter.
        sql = f"SELECT count(*) FROM audit_events WHERE {' AND '.join(where)}"
        with self._lock:
            return int(self._db.execute(sql, params).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _event_conditions(query: AuditQuery) -> tuple[list[str], list[Any]]:
    """The conditions of AuditQuery but its paging, with their parameters."""
    where = ["1 = 1"]
    params: list[Any] = []
    if query.user_id is not None:
        where.append("user_id = ?")
        params.append(query.user_id)
    if query.item_id is not None:
        where.append("(instr(items, ?) > 0 OR instr(asked, ?) > 0)")
        params.extend([bar_list([query.item_id])] * 2)
    if query.organisations is not None:
        where.append(f"organisation_id IN {_IN}")
        params.append(json.dumps(list(query.organisations)))
    if query.outcome is not None:
        where.append("outcome = ?")
        params.append(query.outcome.value)
    if query.since is not None:
        where.append("at >= ?")
        params.append(timestamp(query.since))
    if query.until is not None:
        where.append("at < ?")
        params.append(timestamp(query.until))
    return where, params


def merge_trail(source: Path, target: Path) -> int:
    """Appends the events of the trail file `source` that the trail file `target` lacks, at
    the end of its chain, linked anew (a restore, graph.store.snapshot); returns how many."""
    trail = _Trail(target)
    try:
        return trail.merge(source)
    finally:
        trail.close()


# A graph index kept in memory is saved beside the file at most this often (seconds).
SAVE_DELAY = 5.0

_log = logging.getLogger(__name__)


def index_path(path: str | Path) -> Path:
    """Where the graph index (graph.index) of the store at `path` is saved: a directory
    beside the file, which may be removed at any time (it is rebuilt)."""
    return Path(f"{path}.graph")


def _graph_generation(connection: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    """The generations of the tables, and the one number of the graph index's (see
    graph.store.cache.graph_generation), as `connection` sees them."""
    rows = connection.execute("SELECT name, value FROM generations").fetchall()
    generations = {row[0]: row[1] for row in rows}
    return graph_generation(generations["items"], generations["derived_from"]), generations


class _Saver:
    """Saves the graph index kept in memory beside the store's file, from a timer thread,
    at most once every SAVE_DELAY seconds after a change, and once more at close: a restart
    then finds it current (issue 24), and a crash costs a rebuild, never a wrong answer
    (a saved index is used only for the generation it names)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._cache: Cache | None = None
        self._saved: dict[str, int] | None = None
        self._closed = False

    def wanted(self, cache: Cache) -> None:
        with self._lock:
            if self._closed or cache.latest_graph() is None:
                return
            self._cache = cache
            if self._timer is None:
                self._timer = threading.Timer(SAVE_DELAY, self._due)
                self._timer.daemon = True
                self._timer.start()

    def _due(self) -> None:
        with self._lock:
            self._timer = None
            cache = self._cache
        if cache is not None:
            self.save(cache)

    def save(self, cache: Cache) -> None:
        graph = cache.current_graph()
        if graph is None or graph.generation == self._saved:
            return
        try:
            graph.save(self._path)
        except OSError as error:  # another process saving at once, or a full disk: rebuilt later
            _log.warning("graph index not saved to %s: %s", self._path, error)
            return
        self._saved = dict(graph.generation)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            cache = self._cache
        if timer is not None:
            timer.cancel()
        if cache is not None:
            self.save(cache)


class SqliteStore:
    """A GraphStore on one SQLite file, with its audit trail in another beside it
    (`trail_path`). `cached_items` bounds the items kept in memory between transactions (see
    graph.store.cache); 0 keeps none."""

    def __init__(self, path: str | Path, *, cached_items: int = 2_000_000) -> None:
        self.path = str(path)
        self._trail: _Trail | None = None
        self._trail_lock = threading.Lock()
        self._cache = Cache(cached_items)
        self.index_path = index_path(self.path)
        self._saver = _Saver(self.index_path)
        self._watchdog = _Watchdog()
        self._local = threading.local()
        # Each thread's connection, with its thread: a thread's connection is closed once the
        # thread has ended (a pool that replaces its workers must not leave files open).
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def read(self, work: Callable[[GraphReader], T]) -> T:
        with self._transaction("BEGIN") as tx:
            return work(tx)

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        with self._transaction("BEGIN IMMEDIATE") as tx:
            return work(tx)

    @contextmanager
    def bulk_transaction(self) -> Iterator[tuple[sqlite3.Connection, GraphWriter]]:
        """One write transaction with foreign keys off, for a bulk load that checks every
        reference itself (graph.store.sqlite_bulk): its connection, and a writer in the same
        transaction. Rolled back when the block raises; foreign keys are on again after."""
        connection = self._connection()
        temp_store = int(connection.execute("PRAGMA temp_store").fetchone()[0])
        # Only outside a transaction does SQLite take these pragmas. The sorts that build
        # indexes at the end of a load sort in memory, not in temporary files.
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("PRAGMA temp_store = MEMORY")
        try:
            with self._transaction("BEGIN IMMEDIATE") as tx:
                yield connection, tx
        finally:
            connection.execute("PRAGMA foreign_keys = ON")
            # PRAGMA takes no parameters; the value is the connection's own integer.
            connection.execute(f"PRAGMA temp_store = {temp_store:d}")

    def append_audit(self, events: Sequence[AuditEvent]) -> None:
        self._opened_trail().append(events)

    def audit_events(self, query: AuditQuery) -> list[AuditEvent]:
        return self._opened_trail().find(query)

    def count_audit_events(self, query: AuditQuery) -> int:
        return self._opened_trail().count(query)

    def trail_head(self) -> tuple[Head, int]:
        return self._opened_trail().head()

    def trail_page(
        self, after: int, after_id: str | None, through: int, limit: int
    ) -> list[StoredEvent]:
        return self._opened_trail().page(after, after_id, through, limit)

    def _opened_trail(self) -> _Trail:
        with self._trail_lock:
            if self._trail is None:
                self._trail = _Trail(trail_path(self.path))
            return self._trail

    def close(self) -> None:
        with self._trail_lock:
            if self._trail is not None:
                self._trail.close()
                self._trail = None
        self._saver.close()
        self._watchdog.close()
        with self._lock:
            for _, connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    @property
    def schema_version(self) -> int:
        version: int = self._connection().execute("PRAGMA user_version").fetchone()[0]
        return version

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # Used by one thread only; check_same_thread is off so that close() may run elsewhere.
            connection = sqlite3.connect(
                self.path, isolation_level=None, timeout=30, check_same_thread=False
            )
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            self._local.connection = connection
            with self._lock:
                ended = [c for thread, c in self._connections if not thread.is_alive()]
                self._connections = [(t, c) for t, c in self._connections if t.is_alive()]
                self._connections.append((threading.current_thread(), connection))
            for gone in ended:
                gone.close()
        return connection

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[_SqliteTx]:
        connection = self._connection()
        left = deadline.remaining()
        # A statement still running at the deadline is interrupted; what runs in Python is
        # caught by the check before the commit. Either way the transaction is rolled back.
        watched = None
        if left is not None:
            watched = self._watchdog.watch(time.monotonic() + left, connection)

        def silence() -> None:
            if watched is not None:
                self._watchdog.release(watched)

        try:
            connection.execute(begin)
            tx = _SqliteTx(connection, self._cache, self.index_path, self._saver)
            before = _graph_generation(connection) if begin != "BEGIN" else None
            yield tx
            silence()
            deadline.check()
            after = None
            if before is not None and connection.total_changes != tx._changes:
                after = _graph_generation(connection)
            connection.execute("COMMIT")
            if before is not None and after is not None:
                self._cache.journal(before[0], after[0], tx.journal, after[1])
                self._saver.wanted(self._cache)
        except BaseException as error:
            silence()
            _roll_back(connection)
            if isinstance(error, sqlite3.OperationalError) and str(error) == "interrupted":
                raise deadline.StoreTimeout(deadline.allowed()) from error
            raise
        finally:
            silence()

    def _migrate(self) -> None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StoreVersionError(
                    f"数据库 {self.path} 的结构版本为 {version}，高于本程序支持的 "
                    f"{len(MIGRATIONS)}：请升级本程序后再打开。"
                )
            for number in range(version, len(MIGRATIONS)):
                migration = MIGRATIONS[number]
                if callable(migration):
                    migration(connection)
                else:
                    for statement in _statements(migration):
                        connection.execute(statement)
                # PRAGMA takes no parameters; the value is our own integer.
                connection.execute(f"PRAGMA user_version = {number + 1:d}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _roll_back(connection: sqlite3.Connection) -> None:
    # An interrupt that came as the work ended can fail the first ROLLBACK; once no statement
    # runs, SQLite forgets the interrupt, and the second one goes through.
    for _ in range(2):
        if not connection.in_transaction:
            return
        try:
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError:
            continue


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


class _SqliteTx:
    """One transaction's reads and writes; see graph.store.base for the semantics."""

    def __init__(
        self, connection: sqlite3.Connection, cache: Cache, saved: Path, saver: _Saver
    ) -> None:
        self._db = connection
        self._cache = cache
        self._saved = saved
        self._saver = saver
        self._changes = connection.total_changes
        self._generations: dict[str, int] | None = None
        # What this transaction writes to the items and DERIVED_FROM, for the graph index
        # kept in memory (graph.store.cache.Cache.journal).
        self.journal = Journal()

    def _generation(self, table: str) -> int | None:
        """The generation of `table` this transaction sees; None once it has written, when
        its view is no committed generation."""
        if self._db.total_changes != self._changes:
            return None
        if self._generations is None:
            rows = self._db.execute("SELECT name, value FROM generations").fetchall()
            self._generations = {row["name"]: row["value"] for row in rows}
        return self._generations[table]

    def _rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        return self._db.execute(sql, params).fetchall()

    def _exists(self, table: str, id: str) -> bool:
        # `table` comes only from the fixed names in this module, never from a caller.
        sql = f"SELECT 1 FROM {table} WHERE id = ?"
        return self._db.execute(sql, (id,)).fetchone() is not None

    def _present(self, table: str, ids: Iterable[str]) -> set[str]:
        # `table` comes only from the fixed names in this module, never from a caller.
        rows = self._db.execute(f"SELECT id FROM {table} WHERE id IN {_IN}", (_ids(ids),))
        return {row[0] for row in rows}

    def _require(self, table: str, kind: str, ids: Iterable[str]) -> None:
        """Every id names a row of `table`; the first that does not is refused. One query
        for a list: a batch of any size costs one round, not one per id."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return
        if len(wanted) == 1:
            if not self._exists(table, wanted[0]):
                raise UnknownId(kind, wanted[0])
            return
        present = self._present(table, wanted)
        for id in wanted:
            if id not in present:
                raise UnknownId(kind, id)

    def _refuse_duplicates(self, table: str, kind: str, ids: Sequence[str]) -> None:
        """None of the ids is taken, in `table` or earlier in the list itself."""
        seen: set[str] = set()
        for id in ids:
            if id in seen:
                raise DuplicateId(kind, id)
            seen.add(id)
        if len(ids) == 1:
            taken = {ids[0]} if self._exists(table, ids[0]) else set()
        else:
            taken = self._present(table, ids) if ids else set()
        for id in ids:
            if id in taken:
                raise DuplicateId(kind, id)

    def _insert_many(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        # `table` and the field names are this module's and the codec's own constants.
        if not rows:
            return
        columns = ", ".join(rows[0])
        names = ", ".join(f":{name}" for name in rows[0])
        self._executemany(table, f"INSERT INTO {table} ({columns}) VALUES ({names})", rows)

    def _executemany(self, table: str, sql: str, rows: Sequence[Any]) -> None:
        """Inserts `rows`; a large batch into a counted table is counted once. Its insert
        trigger is dropped and made again around the insert, inside this transaction, so no
        other connection ever sees the rows without the new generation, nor the table
        without its trigger; on failure, the trigger is back before the error leaves."""
        if table not in _GENERATIONS or len(rows) < _COUNTED_ONCE:
            self._db.executemany(sql, rows)
            return
        # FTS5 writes what it holds in memory at every statement's savepoint, so its trigger
        # would write a segment of the index per item: the batch is indexed in one statement.
        searched = table == "items"
        self._db.execute(f"DROP TRIGGER {table}_insert")
        if searched:
            self._db.execute("DROP TRIGGER item_search_insert")
        try:
            self._db.executemany(sql, rows)
        finally:
            self._db.execute(_counting_trigger(table, "INSERT"))
            if searched:
                self._db.execute(_SEARCH_INSERT)
        if searched:
            self._db.execute(
                "INSERT INTO item_search (rowid, id, title, document_number) "
                f"SELECT rowid, id, title, document_number FROM items WHERE id IN {_IN}",
                (_ids(row["id"] for row in rows),),
            )
        self._db.execute("UPDATE generations SET value = value + 1 WHERE name = ?", (table,))

    def _insert(self, table: str, fields: dict[str, Any]) -> None:
        # `table` and the field names are this module's and the codec's own constants.
        columns = ", ".join(fields)
        names = ", ".join(f":{name}" for name in fields)
        self._db.execute(f"INSERT INTO {table} ({columns}) VALUES ({names})", fields)

    def _require_scope(self, scope: KnowledgeScope) -> None:
        self._require("persons", "person", sorted(scope.persons))
        self._require("organisations", "organisation", sorted(scope.organisations))

    def _refuse_duplicate(self, table: str, kind: str, id: str) -> None:
        if self._exists(table, id):
            raise DuplicateId(kind, id)

    # Reads

    def organisation(self, id: str) -> Organisation | None:
        return self.organisations([id]).get(id)

    def generations(self) -> dict[str, int]:
        return {row["name"]: row["value"] for row in self._rows("SELECT * FROM generations")}

    def organisations(self, ids: Iterable[str]) -> dict[str, Organisation]:
        rows = self._rows(f"SELECT * FROM organisations WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: organisation_from(row) for row in rows}

    def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        rows = self._rows(f"SELECT * FROM persons WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: person_from(row) for row in rows}

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        generation = self._generation("items")
        cached = None if generation is None else self._cache.items(generation)
        if cached is None:
            return self._read_items(ids)
        wanted = ids if isinstance(ids, set | frozenset | list | tuple) else list(ids)
        get = cached.get  # a comprehension: this runs for every descendant of an analysis
        found = {id: item for id in wanted if (item := get(id)) is not None}
        missing = [id for id in wanted if id not in found] if len(found) < len(wanted) else []
        if missing:
            read = self._read_items(missing)
            if self._cache.room(cached):
                cached.update(read)
            found.update(read)
        return found

    def item_lookup(self, ids: Sequence[str]) -> Mapping[str, Item]:
        generation = self._generation("items")
        cached = None if generation is None else self._cache.items(generation)
        if cached is not None and all(map(cached.__contains__, ids)):
            # A generation's entries are only ever added to, never changed, so the lent
            # mapping stays the committed items this transaction sees.
            return MappingProxyType(cached)
        return self.items(ids)

    def _read_items(self, ids: Iterable[str]) -> dict[str, Item]:
        rows = self._rows(f"SELECT * FROM items WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: item_from(row) for row in rows}

    def find_items(self, query: ItemQuery) -> list[Item]:
        where, params = _item_conditions(query)
        if query.text is not None:
            return self._search(query.text, query, where, params)
        if query.after is not None:
            where.append("id > ?")
            params.append(query.after)
        params.append(query.limit)
        # Only fixed condition texts are joined; every value is a parameter.
        sql = f"SELECT * FROM items WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return [item_from(row) for row in self._rows(sql, *params)]

    def count_found_items(self, query: ItemQuery) -> int:
        where, params = _item_conditions(query)
        if query.text is not None:
            found = search.words(query.text)
            for word in found.all:
                where.append(_HOLDS)
                params.extend([search.like_pattern(word)] * 3)
            indexed = found.indexed(search.TRIGRAM)
            if indexed:
                # The index proposes, the words decide, as in _search.
                sql = (
                    "SELECT count(*) FROM item_search CROSS JOIN items "
                    "ON items.rowid = item_search.rowid "
                    f"WHERE item_search MATCH ? AND {' AND '.join(where)}"
                )
                return int(self._rows(sql, search.fts5_query(indexed), *params)[0][0])
        # Only fixed condition texts are joined; every value is a parameter.
        sql = f"SELECT count(*) FROM items WHERE {' AND '.join(where)}"
        return int(self._rows(sql, *params)[0][0])

    def count_items(self, organisation_id: str | None = None) -> int:
        if organisation_id is None:
            return int(self._rows("SELECT count(*) FROM items")[0][0])
        sql = "SELECT count(*) FROM items WHERE organisation_id = ?"
        return int(self._rows(sql, organisation_id)[0][0])

    def _search(
        self, text: str, query: ItemQuery, where: list[str], params: list[Any]
    ) -> list[Item]:
        """A ranked page of the items `where` admits (the reader's filter among them, so that
        nothing it may not read is matched, counted or ranked) that hold every word."""
        found = search.words(text)
        for word in found.all:  # the index proposes; the item's own text decides
            where.append(_HOLDS)
            params.extend([search.like_pattern(word)] * 3)
        indexed = found.indexed(search.TRIGRAM)
        exact = "(items.document_number = ? OR items.id = ?)"
        if indexed:
            # The index first (CROSS JOIN keeps the order), each item it proposes joined and
            # checked, ranked by what it holds (graph.search).
            titled = " AND ".join(["items.title LIKE ? ESCAPE '\\'"] * len(found.all))
            sql = (
                "SELECT items.* FROM item_search CROSS JOIN items "
                "ON items.rowid = item_search.rowid "
                f"WHERE item_search MATCH ? AND {' AND '.join(where)} "
                f"ORDER BY {exact} DESC, ({titled}) DESC, length(items.title), items.id "
                "LIMIT ? OFFSET ?"
            )
            rows = self._rows(
                sql,
                search.fts5_query(indexed),
                *params,
                found.text,
                found.text,
                *map(search.like_pattern, found.all),
                query.limit,
                query.offset,
            )
            return [item_from(row) for row in rows]
        # No word of three characters: no key into the index. The exact matches by the
        # indexes of numbers and ids, then a scan in id order that stops at the page's end.
        conditions = " AND ".join(where)
        first = self._rows(
            f"SELECT * FROM items WHERE {exact} AND {conditions} ORDER BY id",
            found.text,
            found.text,
            *params,
        )
        page = first[query.offset : query.offset + query.limit]
        wanted = query.limit - len(page)
        if wanted > 0:
            page += self._rows(
                f"SELECT * FROM items WHERE NOT {exact} AND {conditions} "
                "ORDER BY id LIMIT ? OFFSET ?",
                found.text,
                found.text,
                *params,
                wanted,
                max(0, query.offset - len(first)),
            )
        return [item_from(row) for row in page]

    def keypoints(self, ids: Iterable[str]) -> dict[str, Keypoint]:
        rows = self._rows(f"SELECT * FROM keypoints WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: keypoint_from(row) for row in rows}

    def keypoints_defined_by(self, item_id: str) -> list[Keypoint]:
        rows = self._rows("SELECT * FROM keypoints WHERE item_id = ? ORDER BY id", item_id)
        return [keypoint_from(row) for row in rows]

    def contained_keypoints(self, item_ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self._rows(
            f"SELECT item_id, keypoint_id FROM contains_keypoint WHERE item_id IN {_IN} "
            "ORDER BY item_id, keypoint_id",
            _ids(item_ids),
        )
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row["item_id"], []).append(row["keypoint_id"])
        return out

    def scope_rules(self, ids: Iterable[str]) -> dict[str, ScopeRule]:
        rows = self._rows(f"SELECT * FROM scope_rules WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: scope_rule_from(row) for row in rows}

    def find_scope_rules(self, query: ScopeRuleQuery) -> list[ScopeRule]:
        where, params = _scope_rule_filter(query)
        if query.after is not None:
            where.append("id > ?")
            params.append(query.after)
        sql = f"SELECT * FROM scope_rules WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return [scope_rule_from(row) for row in self._rows(sql, *params, query.limit)]

    def count_scope_rules(self, query: ScopeRuleQuery) -> int:
        where, params = _scope_rule_filter(query)
        sql = f"SELECT count(*) FROM scope_rules WHERE {' AND '.join(where)}"
        return int(self._rows(sql, *params)[0][0])

    def classified_under(self, item_id: str) -> list[str]:
        rows = self._rows(
            "SELECT rule_id FROM classified_under WHERE item_id = ? ORDER BY rule_id", item_id
        )
        return [row["rule_id"] for row in rows]

    def parents(self, child_ids: Iterable[str]) -> list[Derivation]:
        whole = self._kept_lineage()
        if whole is None:
            return self._adjacent("child_id", "parent_id", child_ids)
        bases = whole.bases
        return [
            edges[parent]
            for child in sorted(set(child_ids))
            if (edges := bases.get(child))
            for parent in sorted(edges)
        ]

    def children(self, parent_ids: Iterable[str]) -> list[Derivation]:
        whole = self._kept_lineage()
        if whole is None:
            return self._adjacent("parent_id", "child_id", parent_ids)
        bases, below = whole.bases, whole.children
        return [
            bases[child][parent]
            for parent in sorted(set(parent_ids))
            for child in sorted(below.get(parent, ()))
        ]

    def _adjacent(self, side: str, other: str, ids: Iterable[str]) -> list[Derivation]:
        """The edges of `ids` by `side`, from those kept in memory for this generation where
        there, the rest read and kept: small lineages asked for again and again (a viewer's,
        a client's) read no rows after the first time."""
        generation = self._generation("derived_from")
        known = None if generation is None else self._cache.edges(side, generation)
        if known is None:
            return self._edges(side, other, ids)
        wanted = sorted(set(ids))
        missing = [id for id in wanted if id not in known]
        read: dict[str, list[Derivation]] = {id: [] for id in missing}
        if missing:
            by_parent = side == "parent_id"
            for found in self._edges(side, other, missing):
                read[found.parent_id if by_parent else found.child_id].append(found)
            if self._cache.room_for_edges(known):
                known.update(read)
        return [found for id in wanted for found in (read[id] if id in read else known[id])]

    def _kept_lineage(self) -> Lineage | None:
        """The whole of DERIVED_FROM where it is in memory for this transaction's generation
        (kept by a large analysis, see `lineage`): a traversal then reads no rows, in the
        order the queries give."""
        generation = self._generation("derived_from")
        if generation is None:
            return None
        kept: Lineage | None = self._cache.kept("derived_from", generation)
        return kept

    def _edges(self, side: str, other: str, ids: Iterable[str]) -> list[Derivation]:
        # The hot path of every traversal: plain tuples rather than sqlite3.Row.
        cursor = self._db.cursor()
        cursor.row_factory = None
        cursor.execute(
            "SELECT child_id, parent_id, basis, keypoint_ids FROM derived_from "
            f"WHERE {side} IN {_IN} ORDER BY {side}, {other}",
            (_ids(ids),),
        )
        return [derivation(*row) for row in cursor.fetchall()]

    def _table(self, name: str, read: Callable[[], T]) -> T | None:
        """Table `name` whole, from memory where this transaction may use it."""
        generation = self._generation(name)
        return None if generation is None else self._cache.table(name, generation, read)

    def _scan(self, sql: str) -> sqlite3.Cursor:
        cursor = self._db.cursor()
        cursor.row_factory = None
        return cursor.execute(sql)

    def lineage(self, roots: Sequence[str]) -> Lineage:
        generation = self._generation("derived_from")
        if generation is None:
            return below(roots, self.children, self.parents)
        return self._cache.lineage(
            generation,
            lambda: below(roots, self.children, self.parents),
            lambda: int(self._scan("SELECT count(*) FROM derived_from").fetchone()[0]),
            self._whole_lineage,
        )

    def lineage_index(self, roots: Sequence[str]) -> Index:
        items, edges = self._generation("items"), self._generation("derived_from")
        if items is None or edges is None:
            return below(roots, self.children, self.parents).index()
        generations = self.generations()
        found = self._cache.lineage_index(
            graph_generation(items, edges),
            lambda: below(roots, self.children, self.parents),
            lambda: int(self._scan("SELECT count(*) FROM derived_from").fetchone()[0]),
            self._whole_graph,
            saved=lambda: GraphIndex.load(self._saved, generations),
        )
        if found.columns is not None:
            self._saver.wanted(self._cache)  # a restart finds it
        return found

    def _whole_graph(self) -> GraphIndex:
        """The graph index of every item and DERIVED_FROM edge: one scan of each table, the
        rows decoded without an `Item` each (graph.index.GraphIndex.from_rows)."""
        # The columns are codec's constants.
        items = self._scan(f"SELECT {', '.join(ITEM_ROW_FIELDS)} FROM items")
        edges = self._scan("SELECT child_id, parent_id, basis, keypoint_ids FROM derived_from")
        return GraphIndex.from_rows(
            (item_row(*row) for row in items),
            (edge_row(*row) for row in edges),
            self.generations(),
        )

    def _whole_lineage(self) -> Lineage:
        """Every DERIVED_FROM edge: one scan of the table, cheaper than a walk over most of it."""
        rows = self._scan("SELECT child_id, parent_id, basis, keypoint_ids FROM derived_from")
        return Lineage(derivation(*row) for row in rows)

    def _linked(
        self, table: str, key: str, value: str, keys: Iterable[str]
    ) -> list[tuple[str, str]] | None:
        """The (key, value) rows of a link table for `keys`, by key then value, from the table
        kept whole in memory; None where this transaction may not use memory."""
        whole = self._table(table, lambda: self._links(table, key, value))
        if whole is None:
            return None
        return [(one, other) for one in sorted(whole.keys() & keys) for other in whole[one]]

    def _links(self, table: str, key: str, value: str) -> dict[str, list[str]]:
        # `table` and the columns are this module's constants.
        rows = self._scan(f"SELECT {key}, {value} FROM {table} ORDER BY {key}, {value}")
        links: dict[str, list[str]] = {}
        for one, other in rows:
            links.setdefault(one, []).append(other)
        return links

    def citations(self, item_ids: Iterable[str]) -> list[Citation]:
        ids = _ids(item_ids)
        rows = self._rows(
            f"SELECT * FROM cites WHERE item_id IN {_IN} OR cited_id IN {_IN} "
            "ORDER BY item_id, cited_id",
            ids,
            ids,
        )
        return [
            Citation(
                row["item_id"],
                row["cited_id"],
                row["note"],
                row["person_id"],
                datetime.fromisoformat(row["recorded_at"]),
            )
            for row in rows
        ]

    def main_item_of(self, item_id: str) -> str | None:
        row = self._db.execute(
            "SELECT main_id FROM process_item_of WHERE item_id = ?", (item_id,)
        ).fetchone()
        return None if row is None else str(row["main_id"])

    def process_items_of(self, item_id: str) -> list[str]:
        rows = self._rows(
            "SELECT item_id FROM process_item_of WHERE main_id = ? ORDER BY item_id", item_id
        )
        return [row["item_id"] for row in rows]

    def process_items_for(self, main_ids: Iterable[str]) -> list[tuple[str, str]]:
        linked = self._linked("process_item_of", "main_id", "item_id", main_ids)
        if linked is not None:
            return [(item, main) for main, item in linked]
        rows = self._rows(
            f"SELECT item_id, main_id FROM process_item_of WHERE main_id IN {_IN} "
            "ORDER BY main_id, item_id",
            _ids(main_ids),
        )
        return [(row["item_id"], row["main_id"]) for row in rows]

    def records(self, item_id: str) -> list[DecisionRecord]:
        rows = self._rows(
            "SELECT * FROM records WHERE item_id = ? ORDER BY recorded_at, id", item_id
        )
        return [record_from(row) for row in rows]

    def all_organisations(self) -> list[Organisation]:
        rows = self._rows("SELECT * FROM organisations ORDER BY id")
        return [organisation_from(row) for row in rows]

    def all_persons(self) -> list[Person]:
        rows = self._rows("SELECT * FROM persons ORDER BY id")
        return [person_from(row) for row in rows]

    def all_scope_rules(self) -> list[ScopeRule]:
        return [scope_rule_from(row) for row in self._rows("SELECT * FROM scope_rules ORDER BY id")]

    def keypoints_of(self, item_ids: Iterable[str]) -> list[Keypoint]:
        rows = self._rows(
            f"SELECT * FROM keypoints WHERE item_id IN {_IN} ORDER BY id", _ids(item_ids)
        )
        return [keypoint_from(row) for row in rows]

    def scope_rule_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        linked = self._linked("classified_under", "item_id", "rule_id", item_ids)
        if linked is not None:
            return linked
        rows = self._rows(
            f"SELECT item_id, rule_id FROM classified_under WHERE item_id IN {_IN} "
            "ORDER BY item_id, rule_id",
            _ids(item_ids),
        )
        return [(row["item_id"], row["rule_id"]) for row in rows]

    def process_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        rows = self._rows(
            f"SELECT item_id, main_id FROM process_item_of WHERE item_id IN {_IN} ORDER BY item_id",
            _ids(item_ids),
        )
        return [(row["item_id"], row["main_id"]) for row in rows]

    def records_by_id(self, ids: Iterable[str]) -> dict[str, DecisionRecord]:
        rows = self._rows(f"SELECT * FROM records WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: record_from(row) for row in rows}

    def records_of(self, item_ids: Iterable[str]) -> list[DecisionRecord]:
        rows = self._rows(
            f"SELECT * FROM records WHERE item_id IN {_IN} ORDER BY item_id, recorded_at, id",
            _ids(item_ids),
        )
        return [record_from(row) for row in rows]

    def changes(self, ids: Iterable[str]) -> dict[str, Change]:
        rows = self._rows(f"SELECT * FROM changes WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: change_from(row) for row in rows}

    def changes_of(self, item_ids: Iterable[str]) -> list[Change]:
        rows = self._rows(
            f"SELECT * FROM changes WHERE item_id IN {_IN} ORDER BY item_id, recorded_at, id",
            _ids(item_ids),
        )
        return [change_from(row) for row in rows]

    def notices(self, ids: Iterable[str]) -> dict[str, Notice]:
        rows = self._rows(f"SELECT * FROM notices WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: notice_from(row) for row in rows}

    def find_notices(self, query: NoticeQuery) -> list[Notice]:
        where, params = _notice_conditions(query)
        if query.after is not None:
            where.append("id > ?")
            params.append(query.after)
        params.append(-1 if query.limit is None else query.limit)
        # Only fixed column names and condition texts are joined; every value is a parameter.
        sql = f"SELECT * FROM notices WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return [notice_from(row) for row in self._rows(sql, *params)]

    def count_notices(self, query: NoticeQuery, readable: ReadFilter | None = None) -> int:
        where, params = _notice_conditions(query)
        if readable is not None:
            # In a subquery of its own, where `organisation_id` is the item's.
            where.append(f"item_id IN (SELECT id FROM items WHERE {_READABLE})")
            params.extend(_readable_params(readable))
        sql = f"SELECT count(*) FROM notices WHERE {' AND '.join(where)}"
        return int(self._rows(sql, *params)[0][0])

    def notices_of(
        self, item_ids: Iterable[str], statuses: Sequence[NoticeStatus] = ()
    ) -> list[Notice]:
        rows = self._rows(
            f"SELECT * FROM notices WHERE item_id IN {_IN} "
            f"AND (? = '[]' OR status IN {_IN}) ORDER BY id",
            _ids(item_ids),
            *[json.dumps([s.value for s in statuses])] * 2,
        )
        return [notice_from(row) for row in rows]

    def notices_created_after(
        self, organisation_id: str | None, after: tuple[datetime, str], limit: int
    ) -> list[Notice]:
        at = timestamp(after[0])
        rows = self._rows(
            "SELECT * FROM notices WHERE (? IS NULL OR organisation_id = ?) "
            "AND (created_at > ? OR (created_at = ? AND id > ?)) "
            "ORDER BY created_at, id LIMIT ?",
            organisation_id,
            organisation_id,
            at,
            at,
            after[1],
            limit,
        )
        return [notice_from(row) for row in rows]

    def proposals(self, ids: Iterable[str]) -> dict[str, Proposal]:
        rows = self._rows(f"SELECT * FROM proposals WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: proposal_from(row) for row in rows}

    def find_proposals(
        self, organisation_id: str | None, item_id: str | None, after: str | None, limit: int
    ) -> list[Proposal]:
        rows = self._rows(
            "SELECT * FROM proposals WHERE (? IS NULL OR organisation_id = ?) "
            "AND (? IS NULL OR item_id = ?) AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?",
            organisation_id,
            organisation_id,
            item_id,
            item_id,
            after,
            after,
            limit,
        )
        return [proposal_from(row) for row in rows]

    def proposals_of(self, item_ids: Iterable[str]) -> list[Proposal]:
        rows = self._rows(
            f"SELECT * FROM proposals WHERE item_id IN {_IN} ORDER BY id", _ids(item_ids)
        )
        return [proposal_from(row) for row in rows]

    def expiring_items(self, query: ExpiryQuery) -> list[Item]:
        after_on, after_id = (
            (query.after[0].isoformat(), query.after[1]) if query.after else (None, None)
        )
        readable = query.readable
        rows = self._rows(
            "SELECT * FROM items WHERE status = 'CLASSIFIED' AND expires_on <= ? "
            "AND (? IS NULL OR organisation_id = ?) "
            "AND (? IS NULL OR expires_on > ? OR (expires_on = ? AND id > ?)) "
            f"AND (? IS NULL OR {_READABLE}) "
            "ORDER BY expires_on, id LIMIT ?",
            query.until.isoformat(),
            query.organisation_id,
            query.organisation_id,
            after_on,
            after_on,
            after_on,
            after_id,
            None if readable is None else 1,
            *(_readable_params(readable) if readable is not None else ("[]", "[]")),
            -1 if query.limit is None else query.limit,
        )
        return [item_from(row) for row in rows]

    def count_expiring_items(self, query: ExpiryQuery) -> int:
        readable = query.readable
        rows = self._rows(
            "SELECT count(*) FROM items WHERE status = 'CLASSIFIED' AND expires_on <= ? "
            "AND (? IS NULL OR organisation_id = ?) "
            f"AND (? IS NULL OR {_READABLE})",
            query.until.isoformat(),
            query.organisation_id,
            query.organisation_id,
            None if readable is None else 1,
            *(_readable_params(readable) if readable is not None else ("[]", "[]")),
        )
        return int(rows[0][0])

    def expiring_keypoints(self, until: date) -> list[Keypoint]:
        rows = self._rows(
            "SELECT * FROM keypoints WHERE declassified = 0 AND expires_on <= ? ORDER BY id",
            until.isoformat(),
        )
        return [keypoint_from(row) for row in rows]

    def users(self, ids: Iterable[str]) -> dict[str, User]:
        rows = self._rows(f"SELECT * FROM users WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: user_from(row) for row in rows}

    def all_users(self) -> list[User]:
        return [user_from(row) for row in self._rows("SELECT * FROM users ORDER BY id")]

    def tokens(self, ids: Iterable[str]) -> dict[str, Token]:
        rows = self._rows(f"SELECT * FROM tokens WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: token_from(row) for row in rows}

    def tokens_of(self, user_ids: Iterable[str]) -> list[Token]:
        rows = self._rows(
            f"SELECT * FROM tokens WHERE user_id IN {_IN} ORDER BY user_id, created_at, id",
            _ids(user_ids),
        )
        return [token_from(row) for row in rows]

    def grants(self, ids: Iterable[str]) -> dict[str, Grant]:
        rows = self._rows(f"SELECT * FROM grants WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: grant_from(row) for row in rows}

    def find_grants(
        self, statuses: Sequence[GrantStatus] = (), limit: int | None = None
    ) -> list[Grant]:
        rows = self._rows(
            f"SELECT * FROM grants WHERE (? = '[]' OR status IN {_IN}) "
            "ORDER BY requested_at, id LIMIT ?",
            _ids(s.value for s in statuses),
            _ids(s.value for s in statuses),
            -1 if limit is None else limit,
        )
        return [grant_from(row) for row in rows]

    # Writes

    def add_grant(self, grant: Grant) -> None:
        self._refuse_duplicate("grants", "grant", grant.id)
        self._require(
            "organisations",
            "organisation",
            [o for o in (grant.organisation_id, grant.target_id) if o is not None],
        )
        self._require("users", "user", [grant.user_id] if grant.user_id is not None else [])
        self._insert("grants", grant_fields(grant))

    def update_grant(self, grant: Grant) -> None:
        self._update("grants", "grant", grant_fields(grant), GRANT_STATE)

    # Outbound events (graph.webhook)

    def webhooks(self, organisation_id: str | None = None) -> list[Webhook]:
        rows = self._rows(
            "SELECT * FROM webhooks WHERE ? IS NULL OR organisation_id = ? ORDER BY id",
            organisation_id,
            organisation_id,
        )
        return [webhook_from(row) for row in rows]

    def deliveries(self, ids: Iterable[str]) -> dict[str, Delivery]:
        rows = self._rows(f"SELECT * FROM deliveries WHERE id IN {_IN}", _ids(ids))
        return {row["id"]: delivery_from(row) for row in rows}

    def find_deliveries(self, query: DeliveryQuery) -> list[Delivery]:
        statuses = [s.value for s in query.statuses]
        due = None if query.due is None else timestamp(query.due)
        if due is not None:
            statuses = [DeliveryStatus.PENDING.value]
        after_at, after_id = (
            (timestamp(query.after[0]), query.after[1]) if query.after else (None, None)
        )
        rows = self._rows(
            f"SELECT * FROM deliveries WHERE (? = '[]' OR status IN {_IN}) "
            "AND (? IS NULL OR webhook_id = ?) "
            "AND (? IS NULL OR (next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until <= ?))) "
            "AND (? IS NULL OR created_at > ? OR (created_at = ? AND id > ?)) "
            "ORDER BY created_at, id LIMIT ?",
            _ids(statuses),
            _ids(statuses),
            query.webhook_id,
            query.webhook_id,
            due,
            due,
            due,
            after_at,
            after_at,
            after_at,
            after_id,
            query.limit,
        )
        return [delivery_from(row) for row in rows]

    def add_webhook(self, webhook: Webhook) -> None:
        self._refuse_duplicate("webhooks", "webhook", webhook.id)
        self._require("organisations", "organisation", [webhook.organisation_id])
        self._insert("webhooks", webhook_fields(webhook))

    def remove_webhook(self, webhook_id: str) -> None:
        self._require("webhooks", "webhook", [webhook_id])
        self._db.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
        self._db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        self._require("webhooks", "webhook", sorted({d.webhook_id for d in deliveries}))
        rows = [delivery_fields(d) for d in deliveries]
        columns = ", ".join(rows[0])
        names = ", ".join(f":{name}" for name in rows[0])
        # Columns are the codec's constants; every value is a parameter.
        self._db.executemany(
            f"INSERT INTO deliveries ({columns}) VALUES ({names}) ON CONFLICT (id) DO NOTHING",
            rows,
        )

    def update_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self._update("deliveries", "delivery", delivery_fields(delivery), DELIVERY_STATE)

    def remove_deliveries(self, ids: Sequence[str]) -> None:
        if ids:
            self._db.execute(f"DELETE FROM deliveries WHERE id IN {_IN}", (_ids(ids),))

    def add_user(self, user: User) -> None:
        self._refuse_duplicate("users", "user", user.id)
        if user.person_id is not None:
            self._require("persons", "person", [user.person_id])
            taken = self._db.execute(
                "SELECT id FROM users WHERE person_id = ?", (user.person_id,)
            ).fetchone()
            if taken is not None:
                raise DuplicateId("user_of_person", user.person_id)
        self._insert("users", user_fields(user))

    def update_user(self, user: User) -> None:
        self._update(
            "users", "user", user_fields(user), ("name", "roles", "supervises", "revoked_at")
        )

    def add_token(self, token: Token) -> None:
        self._refuse_duplicate("tokens", "token", token.id)
        self._require("users", "user", [token.user_id])
        self._insert("tokens", token_fields(token))

    def update_tokens(self, tokens: Sequence[Token]) -> None:
        for token in tokens:
            self._update("tokens", "token", token_fields(token), ("expires_at", "revoked_at"))

    def _update(
        self, table: str, kind: str, fields: dict[str, Any], columns: Sequence[str]
    ) -> None:
        # `table` and `columns` are this module's constants; every value is a parameter.
        sets = ", ".join(f"{column} = :{column}" for column in columns)
        cursor = self._db.execute(f"UPDATE {table} SET {sets} WHERE id = :id", fields)
        if cursor.rowcount == 0:
            raise UnknownId(kind, fields["id"])

    def update_organisation(self, organisation: Organisation) -> None:
        self._require(
            "organisations",
            "organisation",
            [o for o in (organisation.superior_id, organisation.successor_id) if o],
        )
        self._update(
            "organisations",
            "organisation",
            organisation_fields(organisation),
            ("name", "authority", "superior_id", "successor_id"),
        )

    def update_items(self, items: Sequence[Item]) -> None:
        for item in items:
            self._require_scope(item.scope)
            if item.scope_limit is not None:
                self._require_scope(item.scope_limit)
            fields = item_fields(item)
            # Only the version before this one is replaced: no decision overwrites another
            # it did not see.
            sets = ", ".join(f"{column} = :{column}" for column in ITEM_STATE)
            cursor = self._db.execute(
                f"UPDATE items SET {sets} WHERE id = :id AND version = :version - 1", fields
            )
            if cursor.rowcount == 0:
                row = self._db.execute("SELECT version FROM items WHERE id = ?", (item.id,))
                found = row.fetchone()
                if found is None:
                    raise UnknownId("item", item.id)
                raise Conflict("item", item.id, item.version - 1, found["version"])
        self.journal.items.extend(items)

    def update_keypoints(self, keypoints: Sequence[Keypoint]) -> None:
        for keypoint in keypoints:
            self._update("keypoints", "keypoint", keypoint_fields(keypoint), KEYPOINT_STATE)

    def add_change(self, change: Change) -> None:
        self._refuse_duplicate("changes", "change", change.id)
        self._require("items", "item", [change.item_id])
        self._require(
            "persons", "person", [p for p in (change.handler_id, change.official_id) if p]
        )
        self._require("organisations", "organisation", change.consulted_organisation_ids)
        if change.record_id is not None:
            self._require("records", "record", [change.record_id])
        self._insert("changes", change_fields(change))

    def add_notices(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._refuse_duplicate("notices", "notice", notice.id)
            self._require("changes", "change", [notice.change_id])
            self._require("items", "item", [notice.source_id, notice.item_id])
            self._require("organisations", "organisation", [notice.organisation_id])
            self._require_acting(notice)
            self._insert("notices", notice_fields(notice))

    def add_notice_rows(self, rows: Iterable[tuple[object, ...]]) -> None:
        for batch in batched(rows, NOTICE_BATCH):
            self._check_notice_rows(batch)
            # In the order of their ids, the batch goes into the id index in one pass.
            batch.sort(key=itemgetter(0))
            marks = ", ".join("?" * len(NOTICE_COLUMNS))
            self._db.executemany(
                f"INSERT INTO notices ({', '.join(NOTICE_COLUMNS)}) VALUES ({marks})", batch
            )

    def _check_notice_rows(self, batch: list[tuple[Any, ...]]) -> None:
        """What add_notices checks of each notice, for a batch: one query per kind."""
        columns = {name: [row[i] for row in batch] for i, name in enumerate(NOTICE_COLUMNS)}
        self._refuse_duplicates("notices", "notice", columns["id"])
        self._require("changes", "change", columns["change_id"])
        self._require("items", "item", [*columns["source_id"], *columns["item_id"]])
        self._require("organisations", "organisation", columns["organisation_id"])
        for table, kind, column in _ACTING:
            self._require(table, kind, [id for id in columns[column] if id is not None])

    def _require_acting(self, notice: Notice) -> None:
        for table, kind, id in (
            ("persons", "person", notice.acted_by),
            ("records", "record", notice.record_id),
            ("changes", "change", notice.superseded_by),
            ("proposals", "proposal", notice.proposal_id),
        ):
            if id is not None:
                self._require(table, kind, [id])

    def update_notices(self, notices: Sequence[Notice]) -> None:
        # In batches, each checked in one query per kind: a change supersedes as many open
        # notices as it recomputes items.
        sets = ", ".join(f"{column} = :{column}" for column in NOTICE_STATE)
        for batch in batched(map(notice_state, notices), NOTICE_BATCH):
            for table, kind, column in _ACTING:
                self._require(table, kind, [row[column] for row in batch if row[column]])
            cursor = self._db.executemany(f"UPDATE notices SET {sets} WHERE id = :id", batch)
            if cursor.rowcount != len(batch):
                present = self._present("notices", [row["id"] for row in batch])
                missing = next(row["id"] for row in batch if row["id"] not in present)
                raise UnknownId("notice", missing)

    def add_proposal(self, proposal: Proposal) -> None:
        self._refuse_duplicate("proposals", "proposal", proposal.id)
        self._require("items", "item", [proposal.item_id])
        self._require("persons", "person", [proposal.proposer_id])
        self._require("organisations", "organisation", [proposal.organisation_id])
        if proposal.notice_id is not None:
            self._require("notices", "notice", [proposal.notice_id])
        self._insert("proposals", proposal_fields(proposal))

    def add_organisation(self, organisation: Organisation) -> None:
        self._refuse_duplicate("organisations", "organisation", organisation.id)
        self._require(
            "organisations",
            "organisation",
            [o for o in (organisation.superior_id, organisation.successor_id) if o],
        )
        self._insert("organisations", organisation_fields(organisation))

    def add_person(self, person: Person) -> None:
        self._refuse_duplicate("persons", "person", person.id)
        self._require("organisations", "organisation", [person.organisation_id])
        self._insert("persons", person_fields(person))

    def add_item(self, item: Item) -> None:
        self.add_items([item])

    def add_items(self, items: Sequence[Item]) -> None:
        """Checked as a batch: each check is one query for all the items."""
        self._refuse_duplicates("items", "item", [i.id for i in items])
        organisations: dict[str, None] = {}
        persons: dict[str, None] = {}
        for item in items:
            organisations[item.organisation_id] = None
            for scope in (item.scope, item.scope_limit):
                if scope is not None:
                    persons.update(dict.fromkeys(sorted(scope.persons)))
                    organisations.update(dict.fromkeys(sorted(scope.organisations)))
            organisations.update(dict.fromkeys(sorted(item.joint_organisation_ids)))
        self._require("organisations", "organisation", organisations)
        self._require("persons", "person", persons)
        self._insert_many("items", [item_fields(item) for item in items])
        self.journal.items.extend(items)

    def add_keypoints(self, keypoints: Sequence[Keypoint]) -> None:
        self._refuse_duplicates("keypoints", "keypoint", [k.id for k in keypoints])
        self._require("items", "item", [k.item_id for k in keypoints])
        self._insert_many("keypoints", [keypoint_fields(k) for k in keypoints])

    def add_records(self, records: Sequence[DecisionRecord]) -> None:
        for record in records:
            self.add_record(record)

    def add_keypoint(self, keypoint: Keypoint) -> None:
        self.add_keypoints([keypoint])

    def memo(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM memos WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def memos(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        # A range of the primary key, not LIKE: a prefix may hold _ and %.
        rows = self._db.execute(
            "SELECT key, value FROM memos WHERE key >= ? AND key > ? AND substr(key, 1, ?) = ? "
            "ORDER BY key LIMIT ?",
            (prefix, after or "", len(prefix), prefix, limit),
        ).fetchall()
        return [(str(row["key"]), str(row["value"])) for row in rows]

    def remove_memos(self, keys: Sequence[str]) -> None:
        self._db.executemany("DELETE FROM memos WHERE key = ?", [(k,) for k in keys])

    def put_memo(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO memos (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def add_memo(self, key: str, value: str) -> None:
        # The write lock is held from BEGIN IMMEDIATE: no other writer comes in between.
        if self.memo(key) is not None:
            raise DuplicateId("idempotency_key", key)
        self._db.execute("INSERT INTO memos (key, value) VALUES (?, ?)", (key, value))

    def add_scope_rule(self, rule: ScopeRule) -> None:
        self._refuse_duplicate("scope_rules", "scope_rule", rule.id)
        self._insert("scope_rules", scope_rule_fields(rule))

    def add_derivations(self, derivations: Sequence[Derivation]) -> None:
        """Checked as a batch, each check one query for all the edges (the cycle check one
        walk for the batch, graph/cycle.py), then written in one statement."""
        pairs: set[tuple[str, str]] = set()
        for edge in derivations:
            if edge.child_id == edge.parent_id:
                raise CycleRefused(edge.child_id, edge.parent_id)
            pair = (edge.child_id, edge.parent_id)
            if pair in pairs:
                raise DuplicateId("derivation", f"{edge.child_id} -> {edge.parent_id}")
            pairs.add(pair)
        self._require("items", "item", [i for e in derivations for i in (e.child_id, e.parent_id)])
        self._require("keypoints", "keypoint", [k for e in derivations for k in e.keypoint_ids])
        children = list(dict.fromkeys(e.child_id for e in derivations))
        for existing in self.parents(children):
            if (existing.child_id, existing.parent_id) in pairs:
                raise DuplicateId("derivation", f"{existing.child_id} -> {existing.parent_id}")
        closing = closing_edge(derivations, self.parents, self.children)
        if closing is not None:
            raise CycleRefused(closing.child_id, closing.parent_id)
        self._executemany(
            "derived_from",
            "INSERT INTO derived_from (child_id, parent_id, basis, keypoint_ids) "
            "VALUES (?, ?, ?, ?)",
            [
                (e.child_id, e.parent_id, e.case.value, json.dumps(e.keypoint_ids))
                for e in derivations
            ],
        )
        self.journal.added.extend(derivations)

    def add_citations(self, citations: Sequence[Citation]) -> None:
        pairs = [(c.item_id, c.cited_id) for c in citations]
        self._require("items", "item", [i for pair in pairs for i in pair])
        self._require("persons", "person", [c.person_id for c in citations if c.person_id])
        there = {(c.item_id, c.cited_id) for c in self.citations(p[0] for p in pairs)}
        seen: set[tuple[str, str]] = set()
        for pair in pairs:
            if pair in there or pair in seen:
                raise DuplicateId("citation", f"{pair[0]} -> {pair[1]}")
            seen.add(pair)
        self._db.executemany(
            "INSERT INTO cites (item_id, cited_id, note, person_id, recorded_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (c.item_id, c.cited_id, c.note, c.person_id, timestamp(c.recorded_at))
                for c in citations
            ],
        )

    def remove_derivations(self, pairs: Sequence[tuple[str, str]]) -> None:
        wanted = list(dict.fromkeys(pairs))
        if not wanted:
            return
        children = list(dict.fromkeys(child for child, _ in wanted))
        there = {(e.child_id, e.parent_id) for e in self._edges("child_id", "parent_id", children)}
        for child, parent in wanted:
            if (child, parent) not in there:
                raise UnknownId("derivation", f"{child} -> {parent}")
        # The delete trigger moves the generation of derived_from: no cache keeps the edge.
        self._db.executemany(
            "DELETE FROM derived_from WHERE child_id = ? AND parent_id = ?", wanted
        )
        self.journal.removed.extend(wanted)

    def add_contained_keypoints(self, item_id: str, keypoint_ids: Iterable[str]) -> None:
        self._require("items", "item", [item_id])
        self.add_containments([(item_id, k) for k in keypoint_ids])

    def remove_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._db.executemany(
            "DELETE FROM contains_keypoint WHERE item_id = ? AND keypoint_id = ?",
            list(dict.fromkeys(pairs)),
        )

    def add_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        wanted = list(dict.fromkeys(pairs))
        self._require("items", "item", [i for i, _ in wanted])
        self._require("keypoints", "keypoint", [k for _, k in wanted])
        self._db.executemany(
            "INSERT OR IGNORE INTO contains_keypoint (item_id, keypoint_id) VALUES (?, ?)",
            wanted,
        )

    def add_classified_under(self, item_id: str, rule_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(rule_ids))
        self._require("items", "item", [item_id])
        self._require("scope_rules", "scope_rule", ids)
        self._db.executemany(
            "INSERT OR IGNORE INTO classified_under (item_id, rule_id) VALUES (?, ?)",
            [(item_id, r) for r in ids],
        )

    def add_process_item_of(self, item_id: str, main_id: str) -> None:
        if item_id == main_id:
            raise InvalidValue("processItemOf", f"事项「{item_id}」不能是其自身的过程稿。")
        self._require("items", "item", [item_id, main_id])
        if self.main_item_of(item_id) is not None:
            raise DuplicateId("process_item_of", item_id)
        self._db.execute(
            "INSERT INTO process_item_of (item_id, main_id) VALUES (?, ?)", (item_id, main_id)
        )

    def add_record(self, record: DecisionRecord) -> None:
        self._refuse_duplicate("records", "record", record.id)
        self._require("items", "item", [record.item_id])
        self._require(
            "persons", "person", [p for p in (record.handler_id, record.official_id) if p]
        )
        self._require_scope(record.scope)
        self._insert("records", record_fields(record))


def _scope_rule_filter(query: ScopeRuleQuery) -> tuple[list[str], list[Any]]:
    """The conditions of a ScopeRuleQuery (without its page) and their parameters."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    if query.issuer is not None:
        where.append("issuer = ?")
        params.append(query.issuer)
    if query.level is not None:
        where.append("level = ?")
        params.append(query.level.value)
    for word in query.words:
        # LIKE ignores the case of Latin letters, as the Bolt store's toLower does.
        where.append(
            "(title LIKE ? ESCAPE '\\' OR document LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')"
        )
        params.extend([search.like_pattern(word)] * 3)
    return where, params
