"""The scale-out store: the graph in Neo4j, over the official driver and the Bolt protocol.

One driver per store, opened once per process (the app's lifespan) and closed with it. Work
runs in managed transactions (`execute_read` / `execute_write`): the driver may call a
transaction function again after a transient failure, so everything a function does happens
inside its transaction. Every value is a `$parameter`; labels and relationship types come
only from the constants of this module. Traversal asks for the edges of a whole frontier at
once (`UNWIND $ids`), never for paths.

The same Cypher runs on Neo4j 5 and on ArcadeDB's Bolt server (used by the tests, since no
Neo4j can run there), schema statements included; `schema_statements` is the one place for
an engine that would need others.

Like the embedded store, this one keeps what it reads of the items and of DERIVED_FROM,
PROCESS_ITEM_OF and CLASSIFIED_UNDER in memory between transactions (graph.store.cache), for
one *generation* of each: a node `(:Generation {name, value})` per cached table, whose value
every writer method here raises in its own transaction. A reader reads the generations once,
before anything it reads from memory, and keeps what it reads from the database only if the
generation is unchanged after the read (reads are read-committed, not snapshots); once a
transaction has written, it reads the database only.

A tool that writes to the database outside this service (cypher-shell, a script, another
program) must bump the generations in the same transaction, with BUMP_ALL below (or restart
every process of the service), or the service goes on answering from memory.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction, Session
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DriverError,
    IncompleteCommit,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from graph import search
from graph.access import ReadFilter, Token, User, readers
from graph.chain import GENESIS, Head, StoredEvent, linked
from graph.change import Change, Notice, NoticeStatus, Proposal
from graph.cycle import closing_edge
from graph.errors import (
    CommitUnknown,
    Conflict,
    CycleRefused,
    DuplicateId,
    InvalidValue,
    StoreInterrupted,
    StoreUnavailable,
    StoreVersionError,
    UnknownId,
)
from graph.grant import Grant, GrantStatus
from graph.index import GraphIndex
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


def _limit(limit: int | None) -> str:
    """LIMIT $limit, or nothing for no limit: LIMIT takes no null, and ArcadeDB cuts a large
    number to 32 bits."""
    return "" if limit is None else " LIMIT $limit"


# The allow-list of labels, by the kind names of graph.errors.
LABELS = {
    "organisation": "Organisation",
    "person": "Person",
    "item": "Item",
    "keypoint": "Keypoint",
    "scope_rule": "ScopeRule",
    "record": "Record",
    "change": "Change",
    "notice": "Notice",
    "proposal": "Proposal",
    "user": "User",
    "token": "Token",
    "audit_event": "AuditEvent",
    "grant": "Grant",
    "webhook": "Webhook",
    "delivery": "Delivery",
}
INDEXED = (
    ("Item", "organisation_id"),
    ("Item", "status"),
    ("Item", "level"),
    ("Keypoint", "item_id"),
    ("Record", "item_id"),
    ("Person", "organisation_id"),
    ("Item", "expires_on"),
    ("Keypoint", "expires_on"),
    ("Change", "item_id"),
    ("Notice", "organisation_id"),
    ("Notice", "item_id"),
    ("Notice", "source_id"),
    ("Notice", "change_id"),
    ("Notice", "status"),
    ("Notice", "created_at"),
    ("Proposal", "organisation_id"),
    ("Proposal", "item_id"),
    ("User", "person_id"),
    ("Token", "user_id"),
    ("AuditEvent", "at"),
    ("AuditEvent", "user_id"),
    ("AuditEvent", "organisation_id"),
    ("Grant", "status"),
    ("AuditEvent", "seq"),
    ("Webhook", "organisation_id"),
    ("Delivery", "webhook_id"),
    ("Delivery", "status"),
    ("Delivery", "created_at"),
    ("Item", "document_number"),
)


# The cached tables, each with a (:Generation {name, value}) node; the names are the embedded
# store's table names.
GENERATIONS = ("items", "derived_from", "process_item_of", "classified_under")

# For tools that write outside the service (README, "Neo4j"): new generations of every cached
# table, which is always safe. Literal names, so that it can be pasted as it is.
BUMP_ALL = (
    "MATCH (g:Generation) WHERE g.name IN "
    "['items', 'derived_from', 'process_item_of', 'classified_under'] "
    "SET g.value = g.value + 1"
)


def schema_statements() -> tuple[str, ...]:
    """Uniqueness constraints and indexes, created idempotently at start. Neo4j 5 and ArcadeDB's
    Bolt server accept the same statements; an engine that needs others gets them here."""
    constraints = [
        f"CREATE CONSTRAINT {label.lower()}_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE"
        for label in LABELS.values()
    ]
    indexes = [
        f"CREATE INDEX {label.lower()}_{field} IF NOT EXISTS FOR (n:{label}) ON (n.{field})"
        for label, field in INDEXED
    ]
    generations = (
        "CREATE CONSTRAINT generation_name IF NOT EXISTS "
        "FOR (n:Generation) REQUIRE n.name IS UNIQUE"
    )
    memos = "CREATE CONSTRAINT memo_key IF NOT EXISTS FOR (n:Memo) REQUIRE n.key IS UNIQUE"
    turn = (
        "CREATE CONSTRAINT write_turn_name IF NOT EXISTS FOR (n:WriteTurn) REQUIRE n.name IS UNIQUE"
    )
    head = (
        "CREATE CONSTRAINT trail_head_name IF NOT EXISTS FOR (n:TrailHead) REQUIRE n.name IS UNIQUE"
    )
    return (*constraints, generations, memos, turn, head, *indexes)


# An item its reader may read (graph.access.ReadFilter): $keys and $holders null for all.
_READABLE = (
    "($keys IS NULL OR any(k IN $keys WHERE n.readers CONTAINS k) OR n.organisation_id IN $holders)"
)


def _readable_params(readable: ReadFilter | None) -> dict[str, Any]:
    if readable is None:
        return {"keys": None, "holders": []}
    return {"keys": list(readable.keys), "holders": list(readable.holders)}


# The filters of ItemQuery but its text and paging, reader's included (_item_filter_params).
_ITEM_FILTERS = (
    "($organisation IS NULL OR n.organisation_id = $organisation) "
    "AND ($level IS NULL OR n.level = $level) "
    "AND ($status IS NULL OR n.status = $status) "
    "AND ($kind IS NULL OR n.kind = $kind) "
    f"AND {_READABLE}"
)


def _item_filter_params(query: ItemQuery) -> dict[str, Any]:
    return {
        "organisation": query.organisation_id,
        "level": query.level.value if query.level else None,
        "status": query.status.value if query.status else None,
        "kind": query.kind.value if query.kind else None,
        **_readable_params(query.readable),
    }


# The filters of AuditQuery but its paging (_event_params).
_EVENT_FILTERS = (
    "($user IS NULL OR n.user_id = $user) "
    "AND ($item IS NULL OR n.items CONTAINS $item OR n.asked CONTAINS $item) "
    "AND ($organisations IS NULL OR n.organisation_id IN $organisations) "
    "AND ($outcome IS NULL OR n.outcome = $outcome) "
    "AND ($since IS NULL OR n.at >= $since) "
    "AND ($until IS NULL OR n.at < $until)"
)


def _event_params(query: AuditQuery) -> dict[str, Any]:
    return {
        "user": query.user_id,
        "item": bar_list([query.item_id]) if query.item_id is not None else None,
        "organisations": None if query.organisations is None else list(query.organisations),
        "outcome": query.outcome.value if query.outcome else None,
        "since": timestamp(query.since) if query.since else None,
        "until": timestamp(query.until) if query.until else None,
    }


# The filters of NoticeQuery but its paging (_notice_params).
_NOTICE_FILTERS = (
    "($organisation IS NULL OR n.organisation_id = $organisation) "
    "AND ($item IS NULL OR n.item_id = $item) "
    "AND ($source IS NULL OR n.source_id = $source) "
    "AND ($change IS NULL OR n.change_id = $change) "
    "AND ($statuses IS NULL OR n.status IN $statuses)"
)


def _notice_params(query: NoticeQuery) -> dict[str, Any]:
    return {
        "organisation": query.organisation_id,
        "item": query.item_id,
        "source": query.source_id,
        "change": query.change_id,
        "statuses": [s.value for s in query.statuses] or None,
    }


# An item that holds every word of $words (in lower case) in its title, number or id.
_HOLDS = (
    "all(w IN $words WHERE toLower(n.title) CONTAINS w "
    "OR toLower(n.document_number) CONTAINS w OR toLower(n.id) CONTAINS w)"
)

# A scope rule of a ScopeRuleQuery (its page aside): $words in lower case, as for items.
_RULE_MATCHES = (
    "($issuer IS NULL OR n.issuer = $issuer) AND ($level IS NULL OR n.level = $level) "
    "AND all(w IN $words WHERE toLower(n.title) CONTAINS w "
    "OR toLower(n.document) CONTAINS w OR toLower(n.id) CONTAINS w)"
)


def _rule_params(query: ScopeRuleQuery) -> dict[str, Any]:
    return {
        "issuer": query.issuer,
        "level": query.level.value if query.level else None,
        "words": [w.lower() for w in query.words],
    }


# Item search (graph.search) through a full-text index with Lucene's CJK analyzer, where the
# server has one (Neo4j 5); on a server without (ArcadeDB's Bolt plugin) it scans instead.
ITEM_TEXT = "item_text"
_ITEM_TEXT_INDEX = (
    "CREATE FULLTEXT INDEX item_text IF NOT EXISTS FOR (n:Item) "
    "ON EACH [n.title, n.document_number] "
    "OPTIONS {indexConfig: {`fulltext.analyzer`: 'cjk'}}"
)


def _has_full_text(driver: Driver, database: str | None) -> bool:
    """Whether the server keeps and answers the full-text index of items (made here if it
    is not there), asked once when the store opens."""
    try:
        with driver.session(database=database) as session:
            session.run(_ITEM_TEXT_INDEX).consume()
            session.run("CALL db.awaitIndex($index, 300)", index=ITEM_TEXT).consume()
            session.run(
                "CALL db.index.fulltext.queryNodes($index, $probe) YIELD node "
                "RETURN count(node) AS found",
                index=ITEM_TEXT,
                probe=search.lucene_query(("密级",)),
            ).consume()
    except (Neo4jError, DriverError):
        return False
    return True


# How long closing the store waits for the sessions under way.
CLOSE_WAIT = 10.0
# How long a transaction is tried again while the server cannot be reached (a restart, a
# cluster electing a leader) before the request is told to come back later: the driver's
# 30 s would hold a request as long as its whole time limit. The driver waits 1, 2, 4, 8 s
# between attempts and stops at the first wait that ends past this, so a request waits
# about 15 s at most. Bounded further by half the request's remaining time, so that the
# request hears "unavailable" rather than "timed out". Connecting waits CONNECT_WAIT at
# most (a host that drops packets, not one that refuses).
RETRY_WAIT = 10.0
CONNECT_WAIT = 5.0

# Node properties; Neo4j does not store nulls, so an absent property reads as None.
_Fields = Defaults


class Neo4jStore:
    """A GraphStore on a Neo4j database (or any server that speaks Bolt and this Cypher).
    `cached_items` bounds the items kept in memory between transactions (graph.store.cache);
    0 keeps none."""

    def __init__(
        self,
        uri: str,
        auth: tuple[str, str] | None,
        database: str | None = None,
        *,
        cached_items: int = 2_000_000,
    ) -> None:
        self._driver: Driver = GraphDatabase.driver(uri, auth=auth, connection_timeout=CONNECT_WAIT)
        self._database = database
        # Every session of the process passes on the bookmarks of the ones before: on a Neo4j
        # cluster a read then waits for the writes this process committed (read-your-writes
        # across requests, a key's memo included), wherever it is routed. Another process's
        # writes it does not wait for (README, "Neo4j cluster").
        self._bookmarks = GraphDatabase.bookmark_manager()
        self._cached_items = cached_items
        self._cache = Cache(cached_items)
        # The writers of this process take turns here before they take the database's turn
        # (`_take_turn`): on a server that lets writers run side by side to their commits
        # (ArcadeDB), writers of one process colliding on the turn node are refused at commit
        # and retried after the driver's back-off of about a second, which at four writers cut
        # throughput to a third (bench/turns.py). Reentrant, so that a write inside a write
        # waits on the database as before, not on itself.
        self._writing = threading.RLock()
        self._quiet = threading.Condition()
        self._open_sessions = 0
        self._closing = False
        self._appending = threading.Lock()
        try:
            self._driver.verify_connectivity()
            with self._driver.session(database=self._database) as session:
                for statement in schema_statements():
                    session.run(statement).consume()
                _create_generations(session)
                session.execute_write(_fill_readers)
                session.execute_write(_phrase_texts)
            self._full_text = _has_full_text(self._driver, self._database)
        except (ServiceUnavailable, AuthError) as error:
            self._driver.close()
            raise StoreUnavailable(f"无法连接图数据库 {uri}：{error}") from error
        except BaseException:
            self._driver.close()
            raise

    @property
    def full_text(self) -> bool:
        """Whether item search goes through the server's full-text index (_has_full_text)."""
        return self._full_text

    def read(self, work: Callable[[GraphReader], T]) -> T:
        with self._session() as session:
            return session.execute_read(
                lambda tx: _in_time(work(_Neo4jTx(tx, self._cache, self._full_text)))
            )

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        def in_turn(tx: ManagedTransaction) -> T:
            _take_turn(tx)
            return _in_time(work(_Neo4jTx(tx, self._cache, self._full_text)))

        left = deadline.remaining()
        if not self._writing.acquire(timeout=-1 if left is None else left):
            raise deadline.StoreTimeout(deadline.allowed())
        try:
            return self._execute_write(in_turn)
        finally:
            self._writing.release()

    def _execute_write(self, in_turn: Callable[[ManagedTransaction], T]) -> T:
        with self._session() as session:
            try:
                return session.execute_write(in_turn)
            except _Overtaken as error:
                raise error.conflict from None  # overtaken again and again, for as long as
                # the driver retries (max_transaction_retry_time)
            except ConstraintError as error:
                # Another writer (a second replica) created the same id after our check; the
                # engine refuses it at the statement or at commit.
                raise _duplicate(error) from error

    def append_audit(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return

        def work(tx: ManagedTransaction) -> None:
            # The head's write lock first, then what it holds: the writer before has
            # committed by then (as `_take_turn`), so no two appends link after the same
            # event; ArcadeDB refuses the second writer of the head at its commit instead,
            # and the driver runs it again from here.
            tx.run(f"{_HEAD} SET h.turn = coalesce(h.turn, 0) + 1").consume()
            links, head = linked(events, _head(tx))
            rows = [
                {
                    **{k: v for k, v in audit_fields(e).items() if v is not None},
                    "seq": k.seq,
                    "previous": k.previous,
                    "digest": k.digest,
                }
                for e, k in zip(events, links, strict=True)
            ]
            tx.run("UNWIND $rows AS row CREATE (n:AuditEvent) SET n = row", rows=rows).consume()
            tx.run(
                f"{_HEAD} SET h.seq = $seq, h.digest = $digest", seq=head.seq, digest=head.digest
            ).consume()

        # The appends of this process take turns here first, as its graph writers do.
        with self._appending, self._session() as session:
            session.execute_write(work)

    def trail_head(self) -> tuple[Head, int]:
        def work(tx: ManagedTransaction) -> tuple[Head, int]:
            head = _head(tx)
            found = tx.run("MATCH (n:AuditEvent) WHERE n.seq IS NULL RETURN count(n) AS n").single()
            return head, int(found["n"]) if found else 0

        with self._session() as session:
            return session.execute_read(work)

    def trail_page(
        self, after: int, after_id: str | None, through: int, limit: int
    ) -> list[StoredEvent]:
        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            result = tx.run(
                "MATCH (n:AuditEvent) WHERE n.seq IS NOT NULL AND n.seq <= $through "
                "AND (n.seq > $seq OR ($id IS NOT NULL AND n.seq = $seq AND n.id > $id)) "
                "RETURN n {.*} AS n ORDER BY n.seq, n.id LIMIT $limit",
                through=through,
                seq=after,
                id=after_id,
                limit=limit,
            )
            return [record.data() for record in result]

        with self._session() as session:
            rows = session.execute_read(work)
        return [
            StoredEvent(int(n["seq"]), n["previous"], n["digest"], audit_from(n))
            for n in (_Fields(row["n"]) for row in rows)
        ]

    def audit_events(self, query: AuditQuery) -> list[AuditEvent]:
        before_at, before_id = (
            (timestamp(query.before[0]), query.before[1]) if query.before else (None, None)
        )
        params: dict[str, Any] = {
            **_event_params(query),
            "before_at": before_at,
            "before_id": before_id,
            "limit": query.limit,
        }

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            result = tx.run(
                f"MATCH (n:AuditEvent) WHERE {_EVENT_FILTERS} "
                "AND ($before_at IS NULL OR n.at < $before_at "
                "OR (n.at = $before_at AND n.id < $before_id)) "
                "RETURN n {.*} AS n ORDER BY n.at DESC, n.id DESC LIMIT $limit",
                params,
            )
            return [record.data() for record in result]

        with self._session() as session:
            rows = session.execute_read(work)
        return [audit_from(_Fields(row["n"])) for row in rows]

    def count_audit_events(self, query: AuditQuery) -> int:
        def work(tx: ManagedTransaction) -> int:
            result = tx.run(
                f"MATCH (n:AuditEvent) WHERE {_EVENT_FILTERS} RETURN count(n) AS n",
                _event_params(query),
            )
            return int(result.single(strict=True)["n"])

        with self._session() as session:
            return session.execute_read(work)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """A session of the driver, counted: closing waits for those under way, since a
        connection a worker thread still uses must not be closed beneath it (an app shutting
        down while a subscription reads)."""
        with self._quiet:
            if self._closing:
                raise StoreUnavailable("图数据库连接已关闭。")
            self._open_sessions += 1
        left = deadline.remaining()
        retrying = RETRY_WAIT if left is None else min(RETRY_WAIT, left / 2)
        try:
            with self._driver.session(
                database=self._database,
                max_transaction_retry_time=retrying,
                bookmark_manager=self._bookmarks,
            ) as session:
                yield session
        except IncompleteCommit as error:
            self._forget()
            raise CommitUnknown(COMMIT_UNKNOWN) from error
        except (ServiceUnavailable, SessionExpired) as error:
            self._forget()
            raise StoreInterrupted(INTERRUPTED) from error
        finally:
            with self._quiet:
                self._open_sessions -= 1
                self._quiet.notify_all()

    def _forget(self) -> None:
        """Drops what is kept in memory once the server was out of reach: it may come back
        restored from a backup, its generations behind the ones kept (graph.store.cache).
        The pool's broken connections the driver replaces by itself."""
        self._cache = Cache(self._cached_items)

    def close(self) -> None:
        """Closes the driver once the sessions under way have ended (at most CLOSE_WAIT
        seconds); none begins after."""
        with self._quiet:
            self._closing = True
            self._quiet.wait_for(lambda: self._open_sessions == 0, timeout=CLOSE_WAIT)
        self._driver.close()


INTERRUPTED = "图数据库暂时无法连接（服务器重启或切换中），进行中的写入未生效：请稍后重试。"
COMMIT_UNKNOWN = (
    "图数据库在提交本次写入时断开，写入是否生效尚不可知：请在其恢复后以同一 Idempotency-Key "
    "重发本请求（已写入则返回首次结果，未写入则只写入一次）。"
)


def _create_generations(session: Session) -> None:
    """The generation nodes and the writers' turn node that are missing, at 0. Two replicas
    starting on an empty database at once may both try to create one; the constraint refuses
    the second, which then finds it."""
    for attempt in range(2):
        try:
            session.execute_write(
                lambda tx: tx.run(
                    "UNWIND $names AS name MERGE (g:Generation {name: name}) "
                    "ON CREATE SET g.value = 0",
                    names=list(GENERATIONS),
                ).consume()
            )
            session.execute_write(
                lambda tx: tx.run(
                    "MERGE (t:WriteTurn {name: 'graph'}) ON CREATE SET t.value = 0"
                ).consume()
            )
            session.execute_write(_create_head)
            return
        except ConstraintError:
            if attempt:
                raise


# The trail's chain head (graph.chain.Head): one node, apart from the events.
_HEAD = "MATCH (h:TrailHead {name: 'audit'})"


def _create_head(tx: ManagedTransaction) -> None:
    """The chain's head where there is none: a database written before the chain keeps its
    events as they were, outside the chain (they have no place in it), and the head notes how
    many they were."""
    if tx.run(f"{_HEAD} RETURN h.seq AS seq").single() is not None:
        return
    found = tx.run("MATCH (n:AuditEvent) RETURN count(n) AS n").single()
    tx.run(
        "MERGE (h:TrailHead {name: 'audit'}) ON CREATE SET h.start = 1, h.seq = 0, "
        "h.digest = $genesis, h.unchained = $unchained",
        genesis=GENESIS,
        unchained=int(found["n"]) if found else 0,
    ).consume()


def _head(tx: ManagedTransaction) -> Head:
    row = tx.run(
        f"{_HEAD} RETURN h.start AS start, h.seq AS seq, h.digest AS digest, "
        "h.unchained AS unchained"
    ).single()
    if row is None:
        raise StoreVersionError("图数据库缺少审计链头（TrailHead）：数据库被改动过。")
    return Head(int(row["start"]), int(row["seq"]), str(row["digest"]), int(row["unchained"]))


class _Overtaken(DriverError):
    """Another writer's decision on an item committed while this transaction ran, after it
    had read the item: ArcadeDB lets writers run side by side up to their commits (see
    `_take_turn`). The driver runs the transaction again from the start, and it then reads
    what the other wrote, as a writer that waited its turn would have."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.message)
        self.conflict = conflict

    def is_retryable(self) -> bool:
        return True


def _take_turn(tx: ManagedTransaction) -> None:
    """Writers take their turn before they read anything, as on the embedded store (BEGIN
    IMMEDIATE): reads are read-committed here, and a derive that read its source before a
    declassification of it committed, while the declassification's fan-out read the lineage
    before the derive committed, left the derived item without its notice (found by
    tests/e2e/test_races.py). Neo4j holds the turn node's write lock to the commit, so the
    next writer waits and then reads what this one wrote; ArcadeDB refuses the second writer
    of the node at its commit, and the driver runs it again."""
    tx.run("MATCH (t:WriteTurn {name: 'graph'}) SET t.value = t.value + 1").consume()


def _bump(tx: ManagedTransaction, tables: Sequence[str]) -> None:
    # The increment reads the value it sets: Neo4j 5 takes the node's write lock before
    # reading it, so no bump is lost; on ArcadeDB the contract tests' two writers at once
    # show none lost either (tests/contract/test_bolt_cache.py).
    tx.run(
        "UNWIND $names AS name MATCH (g:Generation {name: name}) SET g.value = g.value + 1",
        names=list(tables),
    ).consume()


def _fill_readers(tx: ManagedTransaction) -> None:
    """Gives items written before the `readers` field (graph.access) theirs, once."""
    bumped = False
    while True:
        rows = tx.run(
            "MATCH (n:Item) WHERE n.readers IS NULL RETURN n.id AS id, n.scope AS scope LIMIT 5000"
        ).data()
        if not rows:
            return
        if not bumped:
            _bump(tx, ["items"])
            bumped = True
        tx.run(
            "UNWIND $rows AS row MATCH (n:Item {id: row.id}) SET n.readers = row.readers",
            rows=[{"id": r["id"], "readers": readers(scope_of(r["scope"]))} for r in rows],
        ).consume()


def _phrase_texts(tx: ManagedTransaction) -> None:
    """Brings notices' texts and records' summaries written before phrases (graph.phrase),
    which named other items in words, to phrases, once (graph.store.legacy)."""

    def names(ids: Iterable[str]) -> dict[str, legacy.Named]:
        rows = tx.run(
            "MATCH (n:Item) WHERE n.id IN $ids "
            "RETURN n.id AS id, n.title AS title, n.document_number AS number",
            ids=list(ids),
        )
        return {r["id"]: (r["id"], r["title"], r["number"]) for r in rows}

    old = "WHERE NOT n.{0} STARTS WITH '[' "
    while True:
        rows = tx.run(
            "MATCH (n:Notice) " + old.format("text") + "RETURN n.id AS id, n.text AS text, "
            "n.source_id AS source_id, n.item_id AS item_id, n.path AS path, "
            "n.kept_bases AS kept_bases LIMIT 1000"
        ).data()
        if not rows:
            break
        refs = {r["id"]: legacy.stored_notice_refs(r) for r in rows}
        named = names({i for found in refs.values() for i in found})
        texts = [
            {
                "id": r["id"],
                "text": phrase_json(legacy.notice_text(r["text"], refs[r["id"]], named)),
            }
            for r in rows
        ]
        tx.run(
            "UNWIND $rows AS row MATCH (n:Notice {id: row.id}) SET n.text = row.text", rows=texts
        ).consume()
    applied: dict[str, list[str]] | None = None
    while True:
        rows = tx.run(
            "MATCH (n:Record) " + old.format("summary") + "RETURN n.id AS id, "
            "n.item_id AS item_id, n.bases AS bases, n.summary AS summary LIMIT 1000"
        ).data()
        if not rows:
            return
        if applied is None:
            applied = {
                r["record_id"]: legacy.stored_notice_refs(r)
                for r in tx.run(
                    "MATCH (n:Notice) WHERE n.record_id IS NOT NULL RETURN n.record_id AS "
                    "record_id, n.source_id AS source_id, n.item_id AS item_id, n.path AS path, "
                    "n.kept_bases AS kept_bases"
                )
            }
        named = names(
            {r["item_id"] for r in rows} | {i for r in rows for i in applied.get(r["id"], ())}
        )
        summaries = [
            {"id": r["id"], "summary": legacy.stored_summary(r, applied, named)} for r in rows
        ]
        tx.run(
            "UNWIND $rows AS row MATCH (n:Record {id: row.id}) SET n.summary = row.summary",
            rows=summaries,
        ).consume()


class _Neo4jTx:
    """One managed transaction's reads and writes; see graph.store.base for the semantics."""

    def __init__(self, tx: ManagedTransaction, cache: Cache, full_text: bool = False) -> None:
        self._tx = tx
        self._cache = cache
        self._full_text = full_text  # the server's full-text index of items (_has_full_text)
        self._generations: dict[str, int] | None = None
        self._moved: set[str] = set()  # tables whose generation changed since it was read
        self._bumped: set[str] = set()
        self._written = False

    def _generation(self, table: str) -> int | None:
        """The generation of `table` this transaction read first; None once it has written,
        when its view is no committed generation, or where the database lacks the node."""
        if self._written:
            return None
        if self._generations is None:
            rows = self._data("MATCH (g:Generation) RETURN g.name AS name, g.value AS value")
            self._generations = {row["name"]: row["value"] for row in rows}
        return self._generations.get(table)

    def _settled(self, table: str) -> bool:
        """Whether `table` is still at the generation this transaction read first, so that
        what it read since is that generation's and may be kept: without snapshots, a commit
        may have come in between."""
        if table in self._moved or self._generations is None:
            return False
        rows = self._data("MATCH (g:Generation {name: $name}) RETURN g.value AS value", name=table)
        if [row["value"] for row in rows] != [self._generations.get(table)]:
            self._moved.add(table)
            return False
        return True

    def _overtaken(self) -> bool:
        """Whether another writer's items came in since this transaction first read items
        (it has written none itself, which would move their generation too)."""
        return (
            self._generations is not None
            and "items" not in self._bumped
            and not self._settled("items")
        )

    def _write(self, query: str, tables: Sequence[str] = (), **params: Any) -> None:
        """Runs a writing statement, and bumps the generations of the cached `tables` it
        writes, once per transaction: the commit makes both visible at once."""
        self._written = True
        fresh = [t for t in tables if t not in self._bumped]
        if fresh:
            _bump(self._tx, fresh)
            self._bumped.update(fresh)
        self._tx.run(query, params).consume()

    def _data(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return [record.data() for record in self._tx.run(query, params)]

    def _nodes(self, label: str, ids: Iterable[str]) -> list[_Fields]:
        rows = self._data(
            f"UNWIND $ids AS wanted MATCH (n:{label} {{id: wanted}}) RETURN n {{.*}} AS n",
            ids=list(dict.fromkeys(ids)),
        )
        return [_Fields(row["n"]) for row in rows]

    def _all(self, label: str) -> list[_Fields]:
        rows = self._data(f"MATCH (n:{label}) RETURN n {{.*}} AS n ORDER BY n.id")
        return [_Fields(row["n"]) for row in rows]

    def _found(self, kind: str, ids: Iterable[str]) -> set[str]:
        rows = self._data(
            f"UNWIND $ids AS wanted MATCH (n:{LABELS[kind]} {{id: wanted}}) RETURN n.id AS id",
            ids=list(dict.fromkeys(ids)),
        )
        return {row["id"] for row in rows}

    def _require(self, kind: str, ids: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(ids))
        found = self._found(kind, wanted) if wanted else set()
        for id in wanted:
            if id not in found:
                raise UnknownId(kind, id)

    def _require_scope(self, scope: KnowledgeScope) -> None:
        self._require("person", sorted(scope.persons))
        self._require("organisation", sorted(scope.organisations))

    def _refuse_duplicates(self, kind: str, ids: Sequence[str]) -> None:
        """Refuses an id that exists already or repeats within `ids`."""
        existing = self._found(kind, ids)
        seen: set[str] = set()
        for id in ids:
            if id in existing or id in seen:
                raise DuplicateId(kind, id)
            seen.add(id)

    def _create(self, kind: str, rows: Sequence[dict[str, Any]]) -> None:
        """Creates the nodes of one kind in one statement; nulls are left out."""
        if not rows:
            return  # nothing written, no new generation
        present = [{k: v for k, v in row.items() if v is not None} for row in rows]
        self._write(
            f"UNWIND $rows AS row CREATE (n:{LABELS[kind]}) SET n = row",
            ("items",) if kind == "item" else (),
            rows=present,
        )

    # Reads

    def organisation(self, id: str) -> Organisation | None:
        return self.organisations([id]).get(id)

    def generations(self) -> dict[str, int]:
        rows = self._data("MATCH (g:Generation) RETURN g.name AS name, g.value AS value")
        return {row["name"]: row["value"] for row in rows}

    def organisations(self, ids: Iterable[str]) -> dict[str, Organisation]:
        return {n["id"]: organisation_from(n) for n in self._nodes("Organisation", ids)}

    def persons(self, ids: Iterable[str]) -> dict[str, Person]:
        return {n["id"]: person_from(n) for n in self._nodes("Person", ids)}

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
            if read and self._cache.room(cached) and self._settled("items"):
                cached.update(read)
            found.update(read)
        return found

    def item_lookup(self, ids: Sequence[str]) -> Mapping[str, Item]:
        generation = self._generation("items")
        cached = None if generation is None else self._cache.items(generation)
        if cached is not None and all(map(cached.__contains__, ids)):
            # A generation's entries are only ever added to, never changed, so the lent
            # mapping stays the committed items of the generation this transaction read.
            return MappingProxyType(cached)
        return self.items(ids)

    def _read_items(self, ids: Iterable[str]) -> dict[str, Item]:
        return {n["id"]: item_from(n) for n in self._nodes("Item", ids)}

    def find_items(self, query: ItemQuery) -> list[Item]:
        if query.text is not None:
            return self._search(query.text, query)
        rows = self._data(
            f"MATCH (n:Item) WHERE {_ITEM_FILTERS} "
            "AND ($after IS NULL OR n.id > $after) "
            "RETURN n {.*} AS n ORDER BY n.id LIMIT $limit",
            after=query.after,
            limit=query.limit,
            **_item_filter_params(query),
        )
        return [item_from(_Fields(row["n"])) for row in rows]

    def count_found_items(self, query: ItemQuery) -> int:
        params = _item_filter_params(query)
        if query.text is None:
            rows = self._data(
                f"MATCH (n:Item) WHERE {_ITEM_FILTERS} RETURN count(n) AS n", **params
            )
            return int(rows[0]["n"])
        found = search.words(query.text)
        cjk = search.cjk_words(found) if self._full_text else ()
        params["words"] = [w.lower() for w in found.all]
        if cjk:
            # The index proposes, the words decide, as in _search.
            params.update(index=ITEM_TEXT, lucene=search.lucene_query(cjk))
            source = (
                "CALL db.index.fulltext.queryNodes($index, $lucene) YIELD node "
                "WITH node AS n WHERE n:Item AND "
            )
        else:
            source = "MATCH (n:Item) WHERE "
        rows = self._data(f"{source}{_ITEM_FILTERS} AND {_HOLDS} RETURN count(n) AS n", **params)
        return int(rows[0]["n"])

    def count_items(self, organisation_id: str | None = None) -> int:
        rows = self._data(
            "MATCH (n:Item) WHERE $organisation IS NULL OR n.organisation_id = $organisation "
            "RETURN count(n) AS n",
            organisation=organisation_id,
        )
        return int(rows[0]["n"])

    def _search(self, text: str, query: ItemQuery) -> list[Item]:
        """A ranked page of the items the filters admit (the reader's among them, so that
        nothing it may not read is matched, counted or ranked) that hold every word."""
        found = search.words(text)
        cjk = search.cjk_words(found) if self._full_text else ()
        params = {
            **_item_filter_params(query),
            "words": [w.lower() for w in found.all],
            "text": found.text,
            "offset": query.offset,
            "limit": query.limit,
        }
        exact = "(n.document_number = $text OR n.id = $text)"
        # Ranked by what each item holds (graph.search), never by the index's score.
        ranked = (
            f"WITH n, CASE WHEN {exact} THEN 0 ELSE 1 END AS exact, "
            "CASE WHEN all(w IN $words WHERE toLower(n.title) CONTAINS w) THEN 0 ELSE 1 END "
            "AS titled ORDER BY exact, titled, size(n.title), n.id SKIP $offset LIMIT $limit "
            "RETURN n {.*} AS n"
        )
        if cjk:
            # The index proposes, the words decide: Lucene's pairs of characters can match
            # where the word is not (a pair from each of two places).
            params.update(index=ITEM_TEXT, lucene=search.lucene_query(cjk))
            source = (
                "CALL db.index.fulltext.queryNodes($index, $lucene) YIELD node "
                "WITH node AS n WHERE n:Item AND "
            )
        else:
            source = "MATCH (n:Item) WHERE "
        if found.indexed(search.TRIGRAM):
            # Where the embedded store ranks, so does this; ranking reads every item found.
            rows = self._data(f"{source}{_ITEM_FILTERS} AND {_HOLDS} {ranked}", **params)
            return [item_from(_Fields(row["n"])) for row in rows]
        # As the embedded store without a word of three characters: the exact matches by
        # the indexes of numbers and ids, then in id order, to the page's end.
        first = self._data(
            f"{source}{exact} AND {_ITEM_FILTERS} AND {_HOLDS} RETURN n {{.*}} AS n ORDER BY n.id",
            **params,
        )
        page = first[query.offset : query.offset + query.limit]
        wanted = query.limit - len(page)
        if wanted > 0:
            page += self._data(
                f"{source}NOT {exact} AND {_ITEM_FILTERS} AND {_HOLDS} "
                "RETURN n {.*} AS n ORDER BY n.id SKIP $skip LIMIT $wanted",
                skip=max(0, query.offset - len(first)),
                wanted=wanted,
                **params,
            )
        return [item_from(_Fields(row["n"])) for row in page]

    def keypoints(self, ids: Iterable[str]) -> dict[str, Keypoint]:
        return {n["id"]: keypoint_from(n) for n in self._nodes("Keypoint", ids)}

    def keypoints_defined_by(self, item_id: str) -> list[Keypoint]:
        return self.keypoints_of([item_id])

    def contained_keypoints(self, item_ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (i:Item {id: wanted})-[:CONTAINS_KEYPOINT]->(k:Keypoint) "
            "RETURN i.id AS item, k.id AS keypoint ORDER BY item, keypoint",
            ids=list(dict.fromkeys(item_ids)),
        )
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row["item"], []).append(row["keypoint"])
        return out

    def scope_rules(self, ids: Iterable[str]) -> dict[str, ScopeRule]:
        return {n["id"]: scope_rule_from(n) for n in self._nodes("ScopeRule", ids)}

    def classified_under(self, item_id: str) -> list[str]:
        return [rule for _, rule in self.scope_rule_links([item_id])]

    def parents(self, child_ids: Iterable[str]) -> list[Derivation]:
        whole = self._kept_lineage()
        if whole is None:
            return self._adjacent(False, child_ids)
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
            return self._adjacent(True, parent_ids)
        bases, below = whole.bases, whole.children
        return [
            bases[child][parent]
            for parent in sorted(set(parent_ids))
            for child in sorted(below.get(parent, ()))
        ]

    def _adjacent(self, by_parent: bool, ids: Iterable[str]) -> list[Derivation]:
        """The edges of `ids` (their children `by_parent`, else their parents), from those
        kept in memory for this generation where there, the rest read and kept: small
        lineages asked for again and again read nothing after the first time."""
        generation = self._generation("derived_from")
        side = "parent_id" if by_parent else "child_id"  # the embedded store's names
        known = None if generation is None else self._cache.edges(side, generation)
        if known is None:
            return self._edges(by_parent, ids)
        wanted = sorted(set(ids))
        missing = [id for id in wanted if id not in known]
        read: dict[str, list[Derivation]] = {id: [] for id in missing}
        if missing:
            for found in self._edges(by_parent, missing):
                read[found.parent_id if by_parent else found.child_id].append(found)
            if self._cache.room_for_edges(known) and self._settled("derived_from"):
                known.update(read)
        return [found for id in wanted for found in (read[id] if id in read else known[id])]

    def _kept_lineage(self) -> Lineage | None:
        """The whole of DERIVED_FROM where it is in memory for this transaction's generation
        (kept by a large analysis, see `lineage`)."""
        generation = self._generation("derived_from")
        if generation is None:
            return None
        kept: Lineage | None = self._cache.kept("derived_from", generation)
        return kept

    def _edges(self, by_parent: bool, ids: Iterable[str]) -> list[Derivation]:
        """The edges of `ids` from the database, by the ids asked for, then the other end."""
        # One seek of the id index per id (UNWIND), never `WHERE c.id IN $ids`: ArcadeDB
        # takes time quadratic in the list for that (BENCHMARKS.md, issue 4). A pattern
        # starts at the node the id names, in a MATCH of its own, or ArcadeDB scans.
        query = (
            "UNWIND $ids AS wanted MATCH (p:Item {id: wanted}) "
            "MATCH (c:Item)-[r:DERIVED_FROM]->(p) "
            "RETURN c.id AS child, p.id AS parent, r.basis AS basis, r.keypoint_ids AS keypoints "
            "ORDER BY parent, child"
            if by_parent
            else "UNWIND $ids AS wanted MATCH (c:Item {id: wanted})-[r:DERIVED_FROM]->(p:Item) "
            "RETURN c.id AS child, p.id AS parent, r.basis AS basis, r.keypoint_ids AS keypoints "
            "ORDER BY child, parent"
        )
        rows = self._tx.run(query, ids=list(dict.fromkeys(ids)))
        return [derivation(*row.values()) for row in rows]

    def lineage(self, roots: Sequence[str]) -> Lineage:
        generation = self._generation("derived_from")
        if generation is None:
            return below(roots, self.children, self.parents)
        return self._cache.lineage(
            generation,
            lambda: below(roots, self.children, self.parents),
            lambda: int(self._data("MATCH ()-[r:DERIVED_FROM]->() RETURN count(r) AS n")[0]["n"]),
            self._whole_lineage,
            lambda: self._settled("derived_from"),
        )

    def lineage_index(self, roots: Sequence[str]) -> Index:
        items, edges = self._generation("items"), self._generation("derived_from")
        if items is None or edges is None:
            return below(roots, self.children, self.parents).index()
        return self._cache.lineage_index(
            graph_generation(items, edges),
            lambda: below(roots, self.children, self.parents),
            lambda: int(self._data("MATCH ()-[r:DERIVED_FROM]->() RETURN count(r) AS n")[0]["n"]),
            self._whole_graph,
            lambda: self._settled("items") and self._settled("derived_from"),
        )

    def _whole_graph(self) -> GraphIndex:
        """The graph index of every item and DERIVED_FROM edge, two reads without an `Item`
        each (graph.index.GraphIndex.from_rows)."""
        fields = ", ".join(f"i.{name} AS {name}" for name in ITEM_ROW_FIELDS)
        # The property names are codec's constants.
        items = self._tx.run(f"MATCH (i:Item) RETURN {fields}")
        rows = [item_row(*row.values()) for row in items]
        edges = self._tx.run(
            "MATCH (c:Item)-[r:DERIVED_FROM]->(p:Item) "
            "RETURN c.id AS child, p.id AS parent, r.basis AS basis, r.keypoint_ids AS keypoints"
        )
        return GraphIndex.from_rows(
            rows, [edge_row(*row.values()) for row in edges], self.generations()
        )

    def _whole_lineage(self) -> Lineage:
        rows = self._tx.run(
            "MATCH (c:Item)-[r:DERIVED_FROM]->(p:Item) "
            "RETURN c.id AS child, p.id AS parent, r.basis AS basis, r.keypoint_ids AS keypoints"
        )
        return Lineage(derivation(*row.values()) for row in rows)

    def _linked(self, table: str, links: str, keys: Iterable[str]) -> list[tuple[str, str]] | None:
        """The (key, value) pairs of a link table for `keys`, by key then value, from the
        table kept whole in memory; None where this transaction may not use memory. `links`
        returns every pair as `key` and `value`, ordered by both."""

        def read() -> dict[str, list[str]]:
            whole: dict[str, list[str]] = {}
            for row in self._tx.run(links):
                whole.setdefault(row["key"], []).append(row["value"])
            return whole

        generation = self._generation(table)
        if generation is None:
            return None
        whole = self._cache.table(table, generation, read, lambda: self._settled(table))
        if whole is None:
            return None
        wanted = set(keys)
        return [(one, other) for one in sorted(whole.keys() & wanted) for other in whole[one]]

    def citations(self, item_ids: Iterable[str]) -> list[Citation]:
        # Each direction by its own anchored MATCH: an OR over both ends would scan every edge.
        ids = list(dict.fromkeys(item_ids))
        found: dict[tuple[str, str], Citation] = {}
        for query in (
            "UNWIND $ids AS wanted MATCH (i:Item {id: wanted})-[r:CITES]->(c:Item) ",
            "UNWIND $ids AS wanted MATCH (i:Item)-[r:CITES]->(c:Item {id: wanted}) ",
        ):
            rows = self._data(
                query + "RETURN i.id AS item, c.id AS cited, r.note AS note, "
                "r.person_id AS person, r.recorded_at AS at",
                ids=ids,
            )
            for row in rows:
                found[(row["item"], row["cited"])] = Citation(
                    row["item"],
                    row["cited"],
                    row["note"],
                    row["person"],
                    datetime.fromisoformat(row["at"]),
                )
        return [found[key] for key in sorted(found)]

    def main_item_of(self, item_id: str) -> str | None:
        links = self.process_links([item_id])
        return links[0][1] if links else None

    def process_items_of(self, item_id: str) -> list[str]:
        rows = self._data(
            "MATCH (d:Item)-[:PROCESS_ITEM_OF]->(m:Item {id: $id}) RETURN d.id AS id ORDER BY id",
            id=item_id,
        )
        return [row["id"] for row in rows]

    def process_items_for(self, main_ids: Iterable[str]) -> list[tuple[str, str]]:
        linked = self._linked(
            "process_item_of",
            "MATCH (d:Item)-[:PROCESS_ITEM_OF]->(m:Item) "
            "RETURN m.id AS key, d.id AS value ORDER BY key, value",
            main_ids,
        )
        if linked is not None:
            return [(item, main) for main, item in linked]
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (m:Item {id: wanted}) "
            "MATCH (d:Item)-[:PROCESS_ITEM_OF]->(m) "
            "RETURN d.id AS item, m.id AS main ORDER BY main, item",
            ids=list(dict.fromkeys(main_ids)),
        )
        return [(row["item"], row["main"]) for row in rows]

    def records(self, item_id: str) -> list[DecisionRecord]:
        return self.records_of([item_id])

    def all_organisations(self) -> list[Organisation]:
        return [organisation_from(n) for n in self._all("Organisation")]

    def all_persons(self) -> list[Person]:
        return [person_from(n) for n in self._all("Person")]

    def all_scope_rules(self) -> list[ScopeRule]:
        return [scope_rule_from(n) for n in self._all("ScopeRule")]

    def find_scope_rules(self, query: ScopeRuleQuery) -> list[ScopeRule]:
        rows = self._data(
            f"MATCH (n:ScopeRule) WHERE {_RULE_MATCHES} AND ($after IS NULL OR n.id > $after) "
            "RETURN n {.*} AS n ORDER BY n.id LIMIT $limit",
            after=query.after,
            limit=query.limit,
            **_rule_params(query),
        )
        return [scope_rule_from(_Fields(row["n"])) for row in rows]

    def count_scope_rules(self, query: ScopeRuleQuery) -> int:
        rows = self._data(
            f"MATCH (n:ScopeRule) WHERE {_RULE_MATCHES} RETURN count(n) AS n", **_rule_params(query)
        )
        return int(rows[0]["n"])

    def keypoints_of(self, item_ids: Iterable[str]) -> list[Keypoint]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (k:Keypoint {item_id: wanted}) "
            "RETURN k {.*} AS k ORDER BY k.id",
            ids=list(dict.fromkeys(item_ids)),
        )
        return [keypoint_from(_Fields(row["k"])) for row in rows]

    def scope_rule_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        linked = self._linked(
            "classified_under",
            "MATCH (i:Item)-[:CLASSIFIED_UNDER]->(r:ScopeRule) "
            "RETURN i.id AS key, r.id AS value ORDER BY key, value",
            item_ids,
        )
        if linked is not None:
            return linked
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (i:Item {id: wanted})-[:CLASSIFIED_UNDER]->(r:ScopeRule) "
            "RETURN i.id AS item, r.id AS rule ORDER BY item, rule",
            ids=list(dict.fromkeys(item_ids)),
        )
        return [(row["item"], row["rule"]) for row in rows]

    def process_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (d:Item {id: wanted})-[:PROCESS_ITEM_OF]->(m:Item) "
            "RETURN d.id AS item, m.id AS main ORDER BY item",
            ids=list(dict.fromkeys(item_ids)),
        )
        return [(row["item"], row["main"]) for row in rows]

    def records_by_id(self, ids: Iterable[str]) -> dict[str, DecisionRecord]:
        return {n["id"]: record_from(n) for n in self._nodes("Record", ids)}

    def records_of(self, item_ids: Iterable[str]) -> list[DecisionRecord]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (r:Record {item_id: wanted}) RETURN r {.*} AS r "
            "ORDER BY r.item_id, r.recorded_at, r.id",
            ids=list(dict.fromkeys(item_ids)),
        )
        return [record_from(_Fields(row["r"])) for row in rows]

    def changes(self, ids: Iterable[str]) -> dict[str, Change]:
        return {n["id"]: change_from(n) for n in self._nodes("Change", ids)}

    def changes_of(self, item_ids: Iterable[str]) -> list[Change]:
        return [
            change_from(n)
            for n in self._by_item("Change", item_ids, "n.item_id, n.recorded_at, n.id")
        ]

    def notices(self, ids: Iterable[str]) -> dict[str, Notice]:
        return {n["id"]: notice_from(n) for n in self._nodes("Notice", ids)}

    def find_notices(self, query: NoticeQuery) -> list[Notice]:
        rows = self._data(
            f"MATCH (n:Notice) WHERE {_NOTICE_FILTERS} "
            "AND ($after IS NULL OR n.id > $after) "
            "RETURN n {.*} AS n ORDER BY n.id" + _limit(query.limit),
            after=query.after,
            limit=query.limit,
            **_notice_params(query),
        )
        return [notice_from(_Fields(row["n"])) for row in rows]

    def count_notices(self, query: NoticeQuery, readable: ReadFilter | None = None) -> int:
        if readable is None:
            rows = self._data(
                f"MATCH (n:Notice) WHERE {_NOTICE_FILTERS} RETURN count(n) AS n",
                **_notice_params(query),
            )
        else:
            # The notice's item as `n`, for the reader's filter; its own filters first.
            rows = self._data(
                f"MATCH (n:Notice) WHERE {_NOTICE_FILTERS} WITH n.item_id AS item "
                f"MATCH (n:Item {{id: item}}) WHERE {_READABLE} RETURN count(n) AS n",
                **_notice_params(query),
                **_readable_params(readable),
            )
        return int(rows[0]["n"])

    def notices_of(
        self, item_ids: Iterable[str], statuses: Sequence[NoticeStatus] = ()
    ) -> list[Notice]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (n:Notice {item_id: wanted}) "
            "WHERE size($statuses) = 0 OR n.status IN $statuses RETURN n {.*} AS n ORDER BY n.id",
            ids=list(dict.fromkeys(item_ids)),
            statuses=[s.value for s in statuses],
        )
        return [notice_from(_Fields(row["n"])) for row in rows]

    def notices_created_after(
        self, organisation_id: str | None, after: tuple[datetime, str], limit: int
    ) -> list[Notice]:
        rows = self._data(
            "MATCH (n:Notice) WHERE ($organisation IS NULL OR n.organisation_id = $organisation) "
            "AND (n.created_at > $at OR (n.created_at = $at AND n.id > $id)) "
            "RETURN n {.*} AS n ORDER BY n.created_at, n.id LIMIT $limit",
            organisation=organisation_id,
            at=timestamp(after[0]),
            id=after[1],
            limit=limit,
        )
        return [notice_from(_Fields(row["n"])) for row in rows]

    def proposals(self, ids: Iterable[str]) -> dict[str, Proposal]:
        return {n["id"]: proposal_from(n) for n in self._nodes("Proposal", ids)}

    def find_proposals(
        self, organisation_id: str | None, item_id: str | None, after: str | None, limit: int
    ) -> list[Proposal]:
        rows = self._data(
            "MATCH (n:Proposal) "
            "WHERE ($organisation IS NULL OR n.organisation_id = $organisation) "
            "AND ($item IS NULL OR n.item_id = $item) "
            "AND ($after IS NULL OR n.id > $after) "
            "RETURN n {.*} AS n ORDER BY n.id LIMIT $limit",
            organisation=organisation_id,
            item=item_id,
            after=after,
            limit=limit,
        )
        return [proposal_from(_Fields(row["n"])) for row in rows]

    def proposals_of(self, item_ids: Iterable[str]) -> list[Proposal]:
        return [proposal_from(n) for n in self._by_item("Proposal", item_ids, "n.id")]

    def expiring_items(self, query: ExpiryQuery) -> list[Item]:
        after_on, after_id = (
            (query.after[0].isoformat(), query.after[1]) if query.after else (None, None)
        )
        rows = self._data(
            "MATCH (n:Item) WHERE n.expires_on <= $until AND n.status = 'CLASSIFIED' "
            "AND ($organisation IS NULL OR n.organisation_id = $organisation) "
            "AND ($after_on IS NULL OR n.expires_on > $after_on "
            "OR (n.expires_on = $after_on AND n.id > $after_id)) "
            f"AND {_READABLE} "
            "RETURN n {.*} AS n ORDER BY n.expires_on, n.id" + _limit(query.limit),
            until=query.until.isoformat(),
            organisation=query.organisation_id,
            after_on=after_on,
            after_id=after_id,
            limit=query.limit,
            **_readable_params(query.readable),
        )
        return [item_from(_Fields(row["n"])) for row in rows]

    def count_expiring_items(self, query: ExpiryQuery) -> int:
        rows = self._data(
            "MATCH (n:Item) WHERE n.expires_on <= $until AND n.status = 'CLASSIFIED' "
            "AND ($organisation IS NULL OR n.organisation_id = $organisation) "
            f"AND {_READABLE} RETURN count(n) AS n",
            until=query.until.isoformat(),
            organisation=query.organisation_id,
            **_readable_params(query.readable),
        )
        return int(rows[0]["n"])

    def expiring_keypoints(self, until: date) -> list[Keypoint]:
        rows = self._data(
            "MATCH (k:Keypoint) WHERE k.expires_on <= $until AND k.declassified = false "
            "RETURN k {.*} AS k ORDER BY k.id",
            until=until.isoformat(),
        )
        return [keypoint_from(_Fields(row["k"])) for row in rows]

    def _by_item(self, label: str, item_ids: Iterable[str], order: str) -> list[_Fields]:
        # `label` and `order` are this module's constants.
        rows = self._data(
            f"UNWIND $ids AS wanted MATCH (n:{label} {{item_id: wanted}}) "
            f"RETURN n {{.*}} AS n ORDER BY {order}",
            ids=list(dict.fromkeys(item_ids)),
        )
        return [_Fields(row["n"]) for row in rows]

    def users(self, ids: Iterable[str]) -> dict[str, User]:
        return {n["id"]: user_from(n) for n in self._nodes("User", ids)}

    def all_users(self) -> list[User]:
        return [user_from(n) for n in self._all("User")]

    def tokens(self, ids: Iterable[str]) -> dict[str, Token]:
        return {n["id"]: token_from(n) for n in self._nodes("Token", ids)}

    def tokens_of(self, user_ids: Iterable[str]) -> list[Token]:
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (n:Token {user_id: wanted}) "
            "RETURN n {.*} AS n ORDER BY n.user_id, n.created_at, n.id",
            ids=list(dict.fromkeys(user_ids)),
        )
        return [token_from(_Fields(row["n"])) for row in rows]

    def grants(self, ids: Iterable[str]) -> dict[str, Grant]:
        return {n["id"]: grant_from(n) for n in self._nodes("Grant", ids)}

    def find_grants(
        self, statuses: Sequence[GrantStatus] = (), limit: int | None = None
    ) -> list[Grant]:
        wanted = [s.value for s in statuses]
        rows = self._data(
            "MATCH (n:Grant) WHERE (size($statuses) = 0 OR n.status IN $statuses) "
            "RETURN n {.*} AS n ORDER BY n.requested_at, n.id" + _limit(limit),
            statuses=wanted,
            limit=limit,
        )
        return [grant_from(_Fields(row["n"])) for row in rows]

    # Writes

    def add_grant(self, grant: Grant) -> None:
        self._refuse_duplicates("grant", [grant.id])
        self._require(
            "organisation", [o for o in (grant.organisation_id, grant.target_id) if o is not None]
        )
        self._require("user", [grant.user_id] if grant.user_id is not None else [])
        self._create("grant", [grant_fields(grant)])

    def update_grant(self, grant: Grant) -> None:
        self._update("grant", [grant_fields(grant)], GRANT_STATE)

    # Outbound events (graph.webhook)

    def webhooks(self, organisation_id: str | None = None) -> list[Webhook]:
        rows = self._data(
            "MATCH (n:Webhook) WHERE $organisation IS NULL OR n.organisation_id = $organisation "
            "RETURN n {.*} AS n ORDER BY n.id",
            organisation=organisation_id,
        )
        return [webhook_from(_Fields(row["n"])) for row in rows]

    def deliveries(self, ids: Iterable[str]) -> dict[str, Delivery]:
        return {n["id"]: delivery_from(n) for n in self._nodes("Delivery", ids)}

    def find_deliveries(self, query: DeliveryQuery) -> list[Delivery]:
        statuses = [s.value for s in query.statuses]
        due = None if query.due is None else timestamp(query.due)
        if due is not None:
            statuses = [DeliveryStatus.PENDING.value]
        after_at, after_id = (
            (timestamp(query.after[0]), query.after[1]) if query.after else (None, None)
        )
        rows = self._data(
            "MATCH (n:Delivery) WHERE (size($statuses) = 0 OR n.status IN $statuses) "
            "AND ($webhook IS NULL OR n.webhook_id = $webhook) "
            "AND ($due IS NULL OR (n.next_attempt_at <= $due "
            "AND (n.lease_until IS NULL OR n.lease_until <= $due))) "
            "AND ($after_at IS NULL OR n.created_at > $after_at "
            "OR (n.created_at = $after_at AND n.id > $after_id)) "
            "RETURN n {.*} AS n ORDER BY n.created_at, n.id LIMIT $limit",
            statuses=statuses,
            webhook=query.webhook_id,
            due=due,
            after_at=after_at,
            after_id=after_id,
            limit=query.limit,
        )
        return [delivery_from(_Fields(row["n"])) for row in rows]

    def add_webhook(self, webhook: Webhook) -> None:
        self._refuse_duplicates("webhook", [webhook.id])
        self._require("organisation", [webhook.organisation_id])
        self._create("webhook", [webhook_fields(webhook)])

    def remove_webhook(self, webhook_id: str) -> None:
        self._require("webhook", [webhook_id])
        self._write("MATCH (n:Delivery {webhook_id: $id}) DELETE n", id=webhook_id)
        self._write("MATCH (n:Webhook {id: $id}) DELETE n", id=webhook_id)

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        self._require("webhook", sorted({d.webhook_id for d in deliveries}))
        rows = list(
            {
                d.id: {k: v for k, v in delivery_fields(d).items() if v is not None}
                for d in reversed(deliveries)  # the first of one id in the batch is kept
            }.values()
        )
        # MERGE on the id keeps a delivery queued before as it is; writers take turns
        # (`_take_turn`), so the one before has committed and this one finds it.
        self._write(
            "UNWIND $rows AS row MERGE (n:Delivery {id: row.id}) ON CREATE SET n = row",
            rows=rows,
        )

    def update_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        self._update("delivery", [delivery_fields(d) for d in deliveries], DELIVERY_STATE)

    def remove_deliveries(self, ids: Sequence[str]) -> None:
        if ids:
            self._write("UNWIND $ids AS id MATCH (n:Delivery {id: id}) DELETE n", ids=list(ids))

    def add_user(self, user: User) -> None:
        self._refuse_duplicates("user", [user.id])
        if user.person_id is not None:
            self._require("person", [user.person_id])
            taken = self._data(
                "MATCH (n:User {person_id: $person}) RETURN n.id AS id", person=user.person_id
            )
            if taken:
                raise DuplicateId("user_of_person", user.person_id)
        self._create("user", [user_fields(user)])

    def update_user(self, user: User) -> None:
        self._update("user", [user_fields(user)], ("name", "roles", "supervises", "revoked_at"))

    def add_token(self, token: Token) -> None:
        self._refuse_duplicates("token", [token.id])
        self._require("user", [token.user_id])
        self._create("token", [token_fields(token)])

    def update_tokens(self, tokens: Sequence[Token]) -> None:
        self._update("token", [token_fields(t) for t in tokens], ("expires_at", "revoked_at"))

    def _update(self, kind: str, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
        """Sets `fields` of existing nodes of one kind; a null removes the property."""
        wanted = [row["id"] for row in rows]
        if not wanted:
            return  # nothing written, no new generation
        self._require(kind, wanted)
        self._write(
            f"UNWIND $rows AS row MATCH (n:{LABELS[kind]} {{id: row.id}}) "
            + "SET "
            + ", ".join(f"n.{field} = row.{field}" for field in fields),
            ("items",) if kind == "item" else (),
            rows=[{k: row[k] for k in ("id", *fields)} for row in rows],
        )

    def update_organisation(self, organisation: Organisation) -> None:
        self._require(
            "organisation", [o for o in (organisation.superior_id, organisation.successor_id) if o]
        )
        self._update(
            "organisation",
            [organisation_fields(organisation)],
            ("name", "authority", "superior_id", "successor_id"),
        )

    def update_items(self, items: Sequence[Item]) -> None:
        scopes = [i.scope for i in items] + [i.scope_limit for i in items if i.scope_limit]
        self._require("person", sorted({p for scope in scopes for p in scope.persons}))
        self._require("organisation", sorted({o for scope in scopes for o in scope.organisations}))
        # Only the version before this one is replaced: no decision overwrites another it did
        # not see. Writers take turns (`_take_turn`), so nothing moves between check and write;
        # a version moved on since this transaction read the item was moved by a writer that
        # ran beside it, and the transaction runs again (_Overtaken). An item passed in at an
        # older version than this transaction could read is the caller's mistake (Conflict);
        # a decision made on an older version is refused before (usecases.require_version).
        rows = self._data(
            "UNWIND $ids AS wanted MATCH (n:Item {id: wanted}) "
            "RETURN n.id AS id, coalesce(n.version, 1) AS version",
            ids=[i.id for i in items],
        )
        stored = {row["id"]: row["version"] for row in rows}
        for item in items:
            if item.id not in stored:
                raise UnknownId("item", item.id)
            if stored[item.id] != item.version - 1:
                conflict = Conflict("item", item.id, item.version - 1, stored[item.id])
                raise _Overtaken(conflict) if self._overtaken() else conflict
        self._update("item", [item_fields(i) for i in items], ITEM_STATE)

    def update_keypoints(self, keypoints: Sequence[Keypoint]) -> None:
        self._update("keypoint", [keypoint_fields(k) for k in keypoints], KEYPOINT_STATE)

    def add_change(self, change: Change) -> None:
        self._refuse_duplicates("change", [change.id])
        self._require("item", [change.item_id])
        self._require("person", [p for p in (change.handler_id, change.official_id) if p])
        self._require("organisation", change.consulted_organisation_ids)
        self._require("record", [change.record_id] if change.record_id else [])
        self._create("change", [change_fields(change)])

    def add_notices(self, notices: Sequence[Notice]) -> None:
        self._refuse_duplicates("notice", [n.id for n in notices])
        self._require("change", [n.change_id for n in notices])
        self._require_acting(notices)
        self._require("item", [i for n in notices for i in (n.source_id, n.item_id)])
        self._require("organisation", [n.organisation_id for n in notices])
        self._create("notice", [notice_fields(n) for n in notices])

    def add_notice_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for batch in batched(rows, NOTICE_BATCH):
            columns = {name: [row[i] for row in batch] for i, name in enumerate(NOTICE_COLUMNS)}
            self._refuse_duplicates("notice", columns["id"])
            self._require("change", columns["change_id"])
            for kind, column in (
                ("person", "acted_by"),
                ("record", "record_id"),
                ("change", "superseded_by"),
                ("proposal", "proposal_id"),
            ):
                self._require(kind, [id for id in columns[column] if id is not None])
            self._require("item", [*columns["source_id"], *columns["item_id"]])
            self._require("organisation", columns["organisation_id"])
            # One statement a batch, its values parameters; a node stores no nulls (_create).
            present = [
                {k: v for k, v in zip(NOTICE_COLUMNS, row, strict=True) if v is not None}
                for row in batch
            ]
            self._write(
                f"UNWIND $rows AS row CREATE (n:{LABELS['notice']}) SET n = row", rows=present
            )

    def _require_acting(self, notices: Sequence[Notice]) -> None:
        self._require("person", [n.acted_by for n in notices if n.acted_by])
        self._require("record", [n.record_id for n in notices if n.record_id])
        self._require("change", [n.superseded_by for n in notices if n.superseded_by])
        self._require("proposal", [n.proposal_id for n in notices if n.proposal_id])

    def update_notices(self, notices: Sequence[Notice]) -> None:
        self._require_acting(notices)
        for batch in batched(notices, NOTICE_BATCH):
            self._update("notice", [notice_state(n) for n in batch], NOTICE_STATE)

    def add_proposal(self, proposal: Proposal) -> None:
        self._refuse_duplicates("proposal", [proposal.id])
        self._require("item", [proposal.item_id])
        self._require("person", [proposal.proposer_id])
        self._require("organisation", [proposal.organisation_id])
        self._require("notice", [proposal.notice_id] if proposal.notice_id else [])
        self._create("proposal", [proposal_fields(proposal)])

    def add_organisation(self, organisation: Organisation) -> None:
        self._refuse_duplicates("organisation", [organisation.id])
        self._require(
            "organisation", [o for o in (organisation.superior_id, organisation.successor_id) if o]
        )
        self._create("organisation", [organisation_fields(organisation)])

    def add_person(self, person: Person) -> None:
        self._refuse_duplicates("person", [person.id])
        self._require("organisation", [person.organisation_id])
        self._create("person", [person_fields(person)])

    def add_item(self, item: Item) -> None:
        self.add_items([item])

    def add_items(self, items: Sequence[Item]) -> None:
        self._refuse_duplicates("item", [i.id for i in items])
        self._require("organisation", [i.organisation_id for i in items])
        scopes = [i.scope for i in items] + [i.scope_limit for i in items if i.scope_limit]
        self._require("person", sorted({p for scope in scopes for p in scope.persons}))
        self._require("organisation", sorted({o for scope in scopes for o in scope.organisations}))
        self._require("organisation", sorted({o for i in items for o in i.joint_organisation_ids}))
        self._create("item", [item_fields(item) for item in items])

    def add_keypoint(self, keypoint: Keypoint) -> None:
        self.add_keypoints([keypoint])

    def add_keypoints(self, keypoints: Sequence[Keypoint]) -> None:
        self._refuse_duplicates("keypoint", [k.id for k in keypoints])
        self._require("item", [k.item_id for k in keypoints])
        self._create("keypoint", [keypoint_fields(keypoint) for keypoint in keypoints])

    def memo(self, key: str) -> str | None:
        rows = self._data("MATCH (m:Memo {key: $key}) RETURN m.value AS value", key=key)
        return None if not rows else str(rows[0]["value"])

    def memos(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        rows = self._data(
            "MATCH (m:Memo) WHERE m.key STARTS WITH $prefix AND m.key > $after "
            "RETURN m.key AS key, m.value AS value ORDER BY m.key LIMIT $limit",
            prefix=prefix,
            after=after or "",
            limit=limit,
        )
        return [(str(row["key"]), str(row["value"])) for row in rows]

    def remove_memos(self, keys: Sequence[str]) -> None:
        if keys:
            self._write("UNWIND $keys AS k MATCH (m:Memo {key: k}) DELETE m", keys=list(keys))

    def put_memo(self, key: str, value: str) -> None:
        self._write("MERGE (m:Memo {key: $key}) SET m.value = $value", key=key, value=value)

    def add_memo(self, key: str, value: str) -> None:
        if self.memo(key) is not None:
            raise DuplicateId("idempotency_key", key)
        # CREATE, not MERGE: a transaction that took the key meanwhile makes the uniqueness
        # constraint refuse this one (ConstraintError, at the statement or at commit).
        self._write("CREATE (:Memo {key: $key, value: $value})", key=key, value=value)

    def add_scope_rule(self, rule: ScopeRule) -> None:
        self._refuse_duplicates("scope_rule", [rule.id])
        self._create("scope_rule", [scope_rule_fields(rule)])

    def add_derivations(self, derivations: Sequence[Derivation]) -> None:
        """Checks every edge as if they were added one after another, then creates them all in
        one statement."""
        edges = list(derivations)
        if not edges:
            return  # nothing written, no new generation
        for edge in edges:
            if edge.child_id == edge.parent_id:
                raise CycleRefused(edge.child_id, edge.parent_id)
        self._require("item", [id for edge in edges for id in (edge.child_id, edge.parent_id)])
        self._require("keypoint", [k for edge in edges for k in edge.keypoint_ids])
        child_ids = [edge.child_id for edge in edges]
        pairs = {(e.child_id, e.parent_id) for e in self.parents(child_ids)}
        for edge in edges:
            pair = (edge.child_id, edge.parent_id)
            if pair in pairs:
                raise DuplicateId("derivation", f"{edge.child_id} -> {edge.parent_id}")
            pairs.add(pair)
        closing = closing_edge(edges, self.parents, self.children)
        if closing is not None:
            raise CycleRefused(closing.child_id, closing.parent_id)
        self._write(
            "UNWIND $rows AS row "
            "MATCH (c:Item {id: row.child}), (p:Item {id: row.parent}) "
            "CREATE (c)-[:DERIVED_FROM {basis: row.basis, keypoint_ids: row.keypoints}]->(p)",
            ("derived_from",),
            rows=[
                {
                    "child": e.child_id,
                    "parent": e.parent_id,
                    "basis": e.case.value,
                    "keypoints": json.dumps(list(e.keypoint_ids)),
                }
                for e in edges
            ],
        )

    def add_citations(self, citations: Sequence[Citation]) -> None:
        if not citations:
            return
        pairs = [(c.item_id, c.cited_id) for c in citations]
        self._require("item", [i for pair in pairs for i in pair])
        self._require("person", [c.person_id for c in citations if c.person_id])
        there = {(c.item_id, c.cited_id) for c in self.citations(p[0] for p in pairs)}
        seen: set[tuple[str, str]] = set()
        for pair in pairs:
            if pair in there or pair in seen:
                raise DuplicateId("citation", f"{pair[0]} -> {pair[1]}")
            seen.add(pair)
        # Not DERIVED_FROM: no generation of the lineage moves, no traversal sees it.
        self._write(
            "UNWIND $rows AS row "
            "MATCH (i:Item {id: row.item}), (c:Item {id: row.cited}) "
            "CREATE (i)-[:CITES {note: row.note, person_id: row.person, recorded_at: row.at}]->(c)",
            rows=[
                {
                    "item": c.item_id,
                    "cited": c.cited_id,
                    "note": c.note,
                    "person": c.person_id,
                    "at": timestamp(c.recorded_at),
                }
                for c in citations
            ],
        )

    def remove_derivations(self, pairs: Sequence[tuple[str, str]]) -> None:
        wanted = list(dict.fromkeys(pairs))
        if not wanted:
            return  # nothing written, no new generation
        there = {
            (e.child_id, e.parent_id)
            for e in self.parents(list(dict.fromkeys(child for child, _ in wanted)))
        }
        for child, parent in wanted:
            if (child, parent) not in there:
                raise UnknownId("derivation", f"{child} -> {parent}")
        self._write(
            "UNWIND $pairs AS pair "
            "MATCH (:Item {id: pair[0]})-[r:DERIVED_FROM]->(:Item {id: pair[1]}) DELETE r",
            ("derived_from",),
            pairs=[list(p) for p in wanted],
        )

    def remove_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        wanted = [list(p) for p in dict.fromkeys(pairs)]
        if wanted:
            self._write(
                "UNWIND $pairs AS pair "
                "MATCH (:Item {id: pair[0]})-[r:CONTAINS_KEYPOINT]->(:Keypoint {id: pair[1]}) "
                "DELETE r",
                pairs=wanted,
            )

    def add_contained_keypoints(self, item_id: str, keypoint_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(keypoint_ids))
        self._require("item", [item_id])
        self._require("keypoint", ids)
        known = set(self.contained_keypoints([item_id]).get(item_id, []))
        fresh = [k for k in ids if k not in known]
        if fresh:
            self._write(
                "MATCH (i:Item {id: $item}) UNWIND $keypoints AS keypoint "
                "MATCH (k:Keypoint {id: keypoint}) CREATE (i)-[:CONTAINS_KEYPOINT]->(k)",
                item=item_id,
                keypoints=fresh,
            )

    def add_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        wanted = list(dict.fromkeys(pairs))
        items = list(dict.fromkeys(i for i, _ in wanted))
        self._require("item", items)
        self._require("keypoint", [k for _, k in wanted])
        known = self.contained_keypoints(items)
        fresh = [[i, k] for i, k in wanted if k not in known.get(i, ())]
        if fresh:
            self._write(
                "UNWIND $pairs AS pair MATCH (i:Item {id: pair[0]}) "
                "MATCH (k:Keypoint {id: pair[1]}) CREATE (i)-[:CONTAINS_KEYPOINT]->(k)",
                pairs=fresh,
            )

    def add_classified_under(self, item_id: str, rule_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(rule_ids))
        self._require("item", [item_id])
        self._require("scope_rule", ids)
        known = set(self.classified_under(item_id))
        fresh = [r for r in ids if r not in known]
        if fresh:
            self._write(
                "MATCH (i:Item {id: $item}) UNWIND $rules AS rule "
                "MATCH (r:ScopeRule {id: rule}) CREATE (i)-[:CLASSIFIED_UNDER]->(r)",
                ("classified_under",),
                item=item_id,
                rules=fresh,
            )

    def add_process_item_of(self, item_id: str, main_id: str) -> None:
        if item_id == main_id:
            raise InvalidValue("processItemOf", f"事项「{item_id}」不能是其自身的过程稿。")
        self._require("item", [item_id, main_id])
        if self.main_item_of(item_id) is not None:
            raise DuplicateId("process_item_of", item_id)
        self._write(
            "MATCH (d:Item {id: $item}), (m:Item {id: $main}) CREATE (d)-[:PROCESS_ITEM_OF]->(m)",
            ("process_item_of",),
            item=item_id,
            main=main_id,
        )

    def add_record(self, record: DecisionRecord) -> None:
        self.add_records([record])

    def add_records(self, records: Sequence[DecisionRecord]) -> None:
        self._refuse_duplicates("record", [r.id for r in records])
        self._require("item", [r.item_id for r in records])
        self._require("person", [p for r in records for p in (r.handler_id, r.official_id) if p])
        self._require("person", sorted({p for r in records for p in r.scope.persons}))
        self._require("organisation", sorted({o for r in records for o in r.scope.organisations}))
        self._create("record", [record_fields(record) for record in records])


_KINDS = {label: kind for kind, label in LABELS.items()}
# Neo4j: "Node(7) already exists with label `Item` and property `id` = 'S-1'";
# ArcadeDB: "Duplicated key [S-1] found on index 'Item[id]' ...".
_NEO4J_DUPLICATE = re.compile(r"label `(\w+)` and property `id` = '([^']*)'")
_ARCADE_DUPLICATE = re.compile(r"Duplicated key \[([^\]]*)\] found on index '(\w+)\[id\]'")


def _in_time(result: T) -> T:
    """`result`, unless the request's deadline passed meanwhile: then the transaction function
    raises, and the driver rolls the transaction back (graph.store.deadline)."""
    deadline.check()
    return result


def _duplicate(error: ConstraintError) -> DuplicateId:
    message = str(error.message or "")
    if "Memo" in message:
        return DuplicateId("idempotency_key", "")
    if found := _NEO4J_DUPLICATE.search(message):
        return DuplicateId(_KINDS.get(found.group(1), "item"), found.group(2))
    if found := _ARCADE_DUPLICATE.search(message):
        return DuplicateId(_KINDS.get(found.group(2), "item"), found.group(1))
    return DuplicateId("item", "")
