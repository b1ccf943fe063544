"""A request's deadline (graph.store.deadline): work that ends past it is rolled back on every
store, and work within it commits."""

from __future__ import annotations

import time

import pytest

from graph.store.base import GraphReader, GraphStore, GraphWriter
from graph.store.deadline import StoreTimeout, deadline
from tests.contract.builders import organisation


def _organisations(store: GraphStore, *ids: str) -> set[str]:
    return set(store.read(lambda tx: tx.organisations(ids)))


def test_a_write_that_ends_past_its_deadline_is_rolled_back(store: GraphStore) -> None:
    def late(tx: GraphWriter) -> None:
        tx.add_organisation(organisation("O-LATE"))
        time.sleep(0.4)

    with deadline(0.1), pytest.raises(StoreTimeout) as raised:
        store.write(late)
    assert raised.value.args[0] == "请求超过 0.1 秒的时限，已中止，未写入任何内容。"
    assert _organisations(store, "O-LATE") == set()
    store.write(lambda tx: tx.add_organisation(organisation("O-LATE")))  # the store goes on
    assert _organisations(store, "O-LATE") == {"O-LATE"}


def test_work_within_its_deadline_commits(store: GraphStore) -> None:
    with deadline(30):
        store.write(lambda tx: tx.add_organisation(organisation("O-ON-TIME")))
        assert _organisations(store, "O-ON-TIME") == {"O-ON-TIME"}


def test_a_read_past_its_deadline_fails(store: GraphStore) -> None:
    def slow(tx: GraphReader) -> None:
        time.sleep(0.3)

    with deadline(0.05), pytest.raises(StoreTimeout):
        store.read(slow)
