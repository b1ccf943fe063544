"""What a process keeps of a request cut off by the store's outage (service.idempotency), on
a real SQLite store: a request going on from its committed first write does not do it again,
and what it keeps for a later retry stops at a second write, whose outcome no key tells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graph.store.base import GraphWriter
from graph.store.sqlite import SqliteStore
from service.idempotency import Claiming, Unanswered, Unfinished

TAKEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
DAY = timedelta(days=1)


def unfinished(result: object = "first") -> Unfinished:
    return Unfinished("digest", TAKEN, result)


def test_a_retry_takes_what_is_kept_once_and_the_oldest_go_past_the_bound() -> None:
    kept = Unanswered(size=2)
    for key in ("a", "b", "c"):
        kept.put(key, unfinished(key))
    assert kept.take("a") is None  # the oldest, past the bound
    taken = kept.take("b")
    assert taken is not None
    assert taken.result == "b"
    assert kept.take("b") is None  # two retries at once cannot both go on
    assert kept.take("c") == unfinished("c")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "lineage.db")


def test_a_resumed_request_does_not_write_its_first_write_again(store: SqliteStore) -> None:
    def first(tx: GraphWriter) -> str:
        raise AssertionError("the first write was committed before: it must not run again")

    claiming = Claiming(store, "u", "k", "digest", DAY, resumed=unfinished())
    assert claiming.write(first) == "first"
    assert claiming.claimed
    assert claiming.taken_at == TAKEN
    assert claiming.interrupted() == unfinished()  # cut off again: kept again as it was
    claiming.write(lambda tx: tx.add_memo("second", "written"))
    assert store.read(lambda tx: tx.memo("second")) == "written"
    assert claiming.interrupted() is None  # a second write was tried: nothing to go on from


def test_a_first_write_takes_the_key_and_is_kept_for_going_on(store: SqliteStore) -> None:
    claiming = Claiming(store, "u", "k", "digest", DAY)
    assert claiming.interrupted() is None  # nothing ran to its commit yet

    def first(tx: GraphWriter) -> str:
        tx.add_memo("first", "x")
        return "result"

    assert claiming.write(first) == "result"
    assert store.read(lambda tx: tx.memo(claiming.key)) is not None
    kept = claiming.interrupted()
    assert kept is not None
    assert (kept.result, kept.taken_at, kept.answer) == ("result", claiming.taken_at, None)
