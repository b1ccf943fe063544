"""How many a paged query finds in all, counted by the store (a connection's totalCount,
issue 23): the count equals the length of every page joined, for each filter, the reader's
filter and a search's words included; paging arguments do not change it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from graph.access import Actor
from graph.model import ItemKind, ItemStatus, KnowledgeScope, Level
from graph.store.base import ExpiryQuery, GraphReader, GraphStore, ItemQuery
from graph.trail import AuditQuery, Outcome
from tests.contract.builders import ORG, build, item, organisation, person
from tests.contract.test_access import reader
from tests.contract.test_changes import (  # noqa: F401 (fixtures, used by name)
    EXPIRY_QUERIES,
    NOTICE_QUERIES,
    expiring,
    filed,
)
from tests.contract.test_search import READER, searched  # noqa: F401 (a fixture by name)
from tests.tampering import AT, event

ACTORS: dict[str, Actor | None] = {
    "everyone": None,
    "of O-1": reader("p-1", {ORG}, supervised=set()),
    "of O-2": reader("p-9", {"O-2"}, supervised=set()),
}


def test_notices_are_counted_as_found_whatever_the_page(filed: GraphStore) -> None:  # noqa: F811
    def work(tx: GraphReader) -> dict[str, tuple[int, int]]:
        return {
            name: (
                tx.count_notices(query),
                len(tx.find_notices(replace(query, after=None, limit=None))),
            )
            for name, (query, _) in NOTICE_QUERIES.items()
        }

    for name, (counted, found) in filed.read(work).items():
        assert counted == found, name


def test_notices_are_counted_of_the_items_the_reader_may_read(filed: GraphStore) -> None:  # noqa: F811
    def work(tx: GraphReader) -> dict[tuple[str, str], tuple[int, int]]:
        out = {}
        for who, actor in ACTORS.items():
            readable = None if actor is None else actor.read_filter()
            for name, (query, _) in NOTICE_QUERIES.items():
                found = tx.find_notices(replace(query, after=None, limit=None))
                items = tx.items({n.item_id for n in found})
                visible = [n for n in found if actor is None or actor.can_read(items[n.item_id])]
                out[who, name] = (tx.count_notices(query, readable), len(visible))
        return out

    for key, (counted, visible) in filed.read(work).items():
        assert counted == visible, key


def test_expiring_items_are_counted_as_found(expiring: GraphStore) -> None:  # noqa: F811
    def work(tx: GraphReader) -> dict[str, tuple[int, int]]:
        return {
            name: (
                tx.count_expiring_items(query),
                len(tx.expiring_items(replace(query, after=None, limit=None))),
            )
            for name, (query, _) in EXPIRY_QUERIES.items()
        }

    for name, (counted, found) in expiring.read(work).items():
        assert counted == found, name


OTHER = frozenset({"O-2"})


def test_expiring_items_are_counted_of_what_the_reader_may_read(store: GraphStore) -> None:
    build(
        store,
        [
            organisation(),
            organisation("O-2"),
            person("p-1"),
            item("A", scope=KnowledgeScope(organisations=frozenset({ORG}))),
            item("B", organisation_id="O-2", scope=KnowledgeScope(organisations=OTHER)),
            item("C", scope=KnowledgeScope(persons=frozenset({"p-1"}))),
        ],
    )

    def work(tx: GraphReader) -> dict[str, tuple[int, int]]:
        out = {}
        for who, actor in ACTORS.items():
            query = ExpiryQuery(
                date(2100, 1, 1), readable=None if actor is None else actor.read_filter()
            )
            found = tx.expiring_items(replace(query, limit=None))
            out[who] = (tx.count_expiring_items(query), len(found))
        return out

    counts = store.read(work)
    assert counts == {"everyone": (3, 3), "of O-1": (2, 2), "of O-2": (1, 1)}


ITEM_QUERIES: dict[str, ItemQuery] = {
    "all": ItemQuery(),
    "page": ItemQuery(limit=1, after="S-2"),
    "organisation": ItemQuery(organisation_id="O-2"),
    "level": ItemQuery(level=Level.SECRET),
    "other level": ItemQuery(level=Level.TOP_SECRET),
    "status": ItemQuery(status=ItemStatus.CLASSIFIED),
    "kind": ItemQuery(kind=ItemKind.DERIVED),
    "reader": ItemQuery(readable=READER.read_filter()),
    "words of the index": ItemQuery(text="管理"),
    "words of the index, read": ItemQuery(text="通知", readable=READER.read_filter()),
    "a short word": ItemQuery(text="A1"),
    "a number": ItemQuery(text="国保发〔2024〕1号", readable=READER.read_filter()),
    "a search's page": ItemQuery(text="保密", limit=1, offset=1),
    "nothing": ItemQuery(text="不存在的词"),
}


@pytest.mark.parametrize("name", list(ITEM_QUERIES))
def test_items_are_counted_as_found(searched: GraphStore, name: str) -> None:  # noqa: F811
    query = ITEM_QUERIES[name]
    whole = replace(query, after=None, offset=0, limit=1000)
    found = searched.read(lambda tx: tx.find_items(whole))
    assert searched.read(lambda tx: tx.count_found_items(query)) == len(found)


def test_audit_events_are_counted_as_found(store: GraphStore) -> None:
    events = [
        event(
            n,
            organisation_id="O-1" if n % 2 else "O-2",
            outcome=Outcome("DENIED" if n % 3 == 0 else "OK"),
        )
        for n in range(1, 12)
    ]
    store.append_audit(events)
    queries = {
        "all": AuditQuery(),
        "page": AuditQuery(limit=2, before=(events[5].at, events[5].id)),
        "organisation": AuditQuery(organisations=("O-2",)),
        "no organisation": AuditQuery(organisations=()),
        "outcome": AuditQuery(outcome=Outcome.DENIED),
        "item": AuditQuery(item_id="D-3"),
        "user": AuditQuery(user_id="nobody"),
        "since": AuditQuery(since=AT + timedelta(seconds=4), until=AT + timedelta(seconds=9)),
    }
    for name, query in queries.items():
        whole = replace(query, before=None, limit=1000)
        found = store.audit_events(whole)
        assert store.count_audit_events(query) == len(found), name
