"""What an attacker with the database does to the audit trail past the service, for the
tests of its hash chain on both stores: sqlite3 on the trail file (its triggers dropped
first), or Cypher over the store's own driver, as the service's account could."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from graph.chain import GENESIS, digest
from graph.store.base import GraphStore
from graph.store.codec import audit_fields
from graph.store.neo4j import Neo4jStore
from graph.store.sqlite import SqliteStore, trail_path
from graph.trail import AuditEvent, Outcome

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def event(n: int, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "action": "query item",
        "outcome": Outcome.OK,
        "user_id": "p-1",
        "organisation_id": "O-1",
        "items": (f"D-{n}",),
    }
    values.update(fields)
    return AuditEvent(id=f"e-{n:04d}", at=AT + timedelta(seconds=n), **values)


class Attacker:
    """Someone with the database, past the service."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def run(self, sql: str, cypher: str, **values: Any) -> None:
        if isinstance(self.store, SqliteStore):
            with closing(sqlite3.connect(trail_path(self.store.path))) as db:
                for trigger in ("audit_events_no_update", "audit_events_no_delete"):
                    db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                db.execute("DROP TRIGGER IF EXISTS trail_head_forward")
                db.execute(sql, values)
                db.commit()
            return
        assert isinstance(self.store, Neo4jStore)
        with self.store._driver.session(database=self.store._database) as session:
            session.run(cypher, values).consume()

    def delete(self, seq: int) -> None:
        self.run(
            "DELETE FROM audit_events WHERE seq = :seq",
            "MATCH (n:AuditEvent {seq: $seq}) DETACH DELETE n",
            seq=seq,
        )

    def alter(self, seq: int, detail: str) -> None:
        self.run(
            "UPDATE audit_events SET detail = :detail WHERE seq = :seq",
            "MATCH (n:AuditEvent {seq: $seq}) SET n.detail = $detail",
            seq=seq,
            detail=detail,
        )

    def move_on(self, seq: int) -> None:
        """The events from `seq` on one place further, and the head with them."""
        if isinstance(self.store, SqliteStore):
            # Two steps: the places are unique at every row.
            self.run("UPDATE audit_events SET seq = -seq - 1 WHERE seq >= :seq", "", seq=seq)
            self.run("UPDATE audit_events SET seq = -seq WHERE seq < 0", "")
            self.run("UPDATE trail_head SET seq = seq + 1", "")
            return
        self.run("", "MATCH (n:AuditEvent) WHERE n.seq >= $seq SET n.seq = n.seq + 1", seq=seq)
        self.run("", "MATCH (h:TrailHead) SET h.seq = h.seq + 1")

    def put(self, forged: AuditEvent, seq: int, previous: str) -> None:
        """An event at `seq`, linked to `previous` with a digest of its own: as careful a
        forgery as one can make without writing the chain after it again."""
        row = {k: v for k, v in audit_fields(forged).items() if v is not None}
        row.update(seq=seq, previous=previous, digest=digest(forged, seq, previous))
        columns, names = ", ".join(row), ", ".join(f":{k}" for k in row)
        self.run(
            # The codec's own column names; every value is a parameter.
            f"INSERT INTO audit_events ({columns}) VALUES ({names})",  # noqa: S608
            "CREATE (n:AuditEvent) SET n = $row",
            row=row,
            **row,
        )

    def cut_tail(self, after: int, *, head_too: bool) -> None:
        self.run(
            "DELETE FROM audit_events WHERE seq > :after",
            "MATCH (n:AuditEvent) WHERE n.seq > $after DETACH DELETE n",
            after=after,
        )
        if head_too:  # the head set back to the event left last, so that it agrees
            left = self.store.trail_page(after - 1, None, after, 1)
            self.run(
                "UPDATE trail_head SET seq = :after, digest = :digest",
                "MATCH (h:TrailHead) SET h.seq = $after, h.digest = $digest",
                after=after,
                digest=left[0].digest if left else GENESIS,
            )


def written_before_the_chain(store: GraphStore, count: int) -> None:
    """The trail as the version before the chain left it: events without places or digests,
    and no head."""
    old = [event(n) for n in range(1, count + 1)]
    rows = [dict(audit_fields(e), id=f"old-{n}") for n, e in enumerate(old, 1)]
    for row in rows:  # nor the request id, which came later still
        row.pop("request_id")
    if isinstance(store, SqliteStore):
        path = trail_path(store.path)
        store.close()
        path.unlink(missing_ok=True)
        with closing(sqlite3.connect(path)) as db:
            db.execute(
                "CREATE TABLE audit_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT "
                "NULL UNIQUE, at TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, "
                "user_id TEXT, person_id TEXT, organisation_id TEXT, address TEXT NOT NULL, "
                "items TEXT NOT NULL, detail TEXT NOT NULL)"
            )
            for row in rows:
                row.pop("asked")
                columns, names = ", ".join(row), ", ".join(f":{k}" for k in row)
                # The codec's own column names; every value is a parameter.
                db.execute(f"INSERT INTO audit_events ({columns}) VALUES ({names})", row)  # noqa: S608
            db.execute("PRAGMA user_version = 1")
            db.commit()
        return
    assert isinstance(store, Neo4jStore)
    with store._driver.session(database=store._database) as session:
        session.run("MATCH (h:TrailHead) DELETE h").consume()
        for row in rows:
            row.pop("asked")
            session.run(
                "CREATE (n:AuditEvent) SET n = $row",
                row={k: v for k, v in row.items() if v is not None},
            ).consume()
    store.close()
