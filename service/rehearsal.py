"""A write rehearsed: run a unit of work that writes, in one transaction that is always rolled
back, and keep only what it returned. The preview of a decision that must see its own writes
(a correction of the lineage fans out over the lineage as corrected; the expiry run's steps
read what the steps before wrote) is the decision itself, rehearsed, so it cannot drift from
the commit.

The stores read their own writes inside a transaction and keep nothing of one rolled back,
their caches included (a transaction that has written reads past them, graph.store.base). A
wrapper that adds to writes (the outbox, an idempotency key) is passed by: nothing of a
rehearsal is to be kept or sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from graph.store.base import GraphStore, GraphWriter, Wrapping

T = TypeVar("T")


class _Undone(Exception, Generic[T]):
    """Carries what the work returned out of the transaction it rolls back."""

    def __init__(self, value: T) -> None:
        super().__init__("rehearsal")
        self.value = value


def rehearse(store: GraphStore, work: Callable[[GraphWriter], T]) -> T:
    """What `store.write(work)` would return, with nothing written; refused as it would be."""
    inner = store
    while isinstance(inner, Wrapping):
        inner = inner.store

    def undone(tx: GraphWriter) -> None:
        raise _Undone(work(tx))

    try:
        inner.write(undone)
    except _Undone as rehearsed:
        value: T = rehearsed.value
        return value
    raise AssertionError("a rehearsal's transaction must end by rolling back")
