"""An impact analysis over the whole graph's index reads items lazily (issue 24, "results
lazily"), over HTTP on both stores: a cold analysis reads an item only where the index's
columns do not hold what is needed (an example of each group of equal values, the changed
source, its bases outside the subtree), in batches, and the items of the page a reader asks
for in one more; and a page read after the items have changed is refused as stale
(STALE_ANALYSIS), never shown from another state of the graph.

The demo graph gets a wide lineage below D-PROV-001 and D-CITY-001, and the share of
DERIVED_FROM that makes a store use the whole graph's index is lowered to fit it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar, cast

import pytest
from starlette.testclient import TestClient

import graph.store.cache as cache_module
from graph.index import GraphIndex
from graph.model import BasisCase, Derivation, Item
from graph.store.base import GraphReader, GraphStore, GraphWriter
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.impact import ImpactReport
from tests.e2e.conftest import Api, signed_in

T = TypeVar("T")

# 20 items below D-PROV-001 and D-CITY-001, and 200 below two of those each: every one of
# them is declassified with S-2024-012.
WIDE = 20
DEEP = 200
DESCENDANTS = 7 + WIDE + DEEP  # with the demo's chain and the draft reviewed

ANALYSIS = """
query($first: Int!) {
  impactAnalysis(change: {itemId: "S-2024-012", declassify: true}) {
    __typename
    ... on ImpactAnalysis {
      total toDeclassify
      entries(first: $first) {
        edges { node { id redacted actions statusAfter path keptBases summary
                       item { id title } } }
      }
    }
    ... on Problem { message }
  }
}"""


class Reads:
    """The ids asked of the store's items, one list per call, by method."""

    def __init__(self) -> None:
        self.items: list[list[str]] = []
        self.item_lookup: list[list[str]] = []

    def clear(self) -> None:
        self.items.clear()
        self.item_lookup.clear()


class CountingTx:
    """A fake transaction (test double) wrapping a real store's: it records the ids asked
    of `items` and `item_lookup` and passes every call on unchanged."""

    def __init__(self, tx: GraphReader, reads: Reads) -> None:
        self._tx = tx
        self._reads = reads

    def items(self, ids: Iterable[str]) -> dict[str, Item]:
        wanted = list(ids)
        self._reads.items.append(wanted)
        return self._tx.items(wanted)

    def item_lookup(self, ids: Sequence[str]) -> Any:
        self._reads.item_lookup.append(list(ids))
        return self._tx.item_lookup(ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class CountingStore:
    """A fake store (test double) wrapping a real one: its transactions are `CountingTx`;
    `after_analysis`, when set, runs once right after a read transaction that made an
    impact analysis, as a write by someone else would slip in before the page is read."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.reads = Reads()
        self.after_analysis: Callable[[], None] | None = None

    def read(self, work: Callable[[GraphReader], T]) -> T:
        done = self._store.read(lambda tx: work(cast(GraphReader, CountingTx(tx, self.reads))))
        if isinstance(done, ImpactReport) and self.after_analysis is not None:
            then, self.after_analysis = self.after_analysis, None
            then()
        return done

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        return self._store.write(lambda tx: work(cast(GraphWriter, CountingTx(tx, self.reads))))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def widened(store: GraphStore) -> None:
    """The demo, and a wide lineage of copies of D-PROV-001 below it and D-CITY-001."""
    load_demo(store)

    def work(tx: GraphWriter) -> None:
        model = tx.items(["D-PROV-001"])["D-PROV-001"]
        wide = [replace(model, id=f"D-W-{n:03d}") for n in range(WIDE)]
        deep = [replace(model, id=f"D-D-{n:03d}") for n in range(DEEP)]
        tx.add_items([*wide, *deep])
        edges = [
            Derivation(w.id, parent, BasisCase.SUMMARY)
            for w in wide
            for parent in ("D-PROV-001", "D-CITY-001")
        ]
        edges += [
            Derivation(d.id, wide[(n + k) % WIDE].id, BasisCase.SUMMARY)
            for n, d in enumerate(deep)
            for k in (0, 7)
        ]
        tx.add_derivations(edges)

    store.write(work)


@pytest.fixture
def whole_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole graph's index for a walk of this size, as for 100,000 descendants."""
    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 10)


@contextmanager
def serving(db_url: str) -> Iterator[tuple[Api, CountingStore]]:
    """The app on a freshly opened store (nothing in memory: a cold start), counted."""
    store = CountingStore(open_store(db_url))
    app = create_app(Settings(store=db_url, daily_expiry=False), cast(GraphStore, store))
    try:
        with TestClient(app) as client:
            api = Api(signed_in(client))
            api.enrol("p-sun-hong")
            store.reads.clear()  # the reader's own reads aside
            yield api, store
    finally:
        store.close()


@pytest.fixture
def widened_url(db_url: str) -> str:
    filled = open_store(db_url)
    widened(filled)
    filled.close()
    return db_url


def asked(calls: list[list[str]]) -> int:
    return sum(len(c) for c in calls)


def analysed(api: Api, first: int) -> dict[str, Any]:
    found: dict[str, Any] = api(ANALYSIS, {"first": first})["impactAnalysis"]
    assert found["__typename"] == "ImpactAnalysis", found
    return found


def test_a_cold_analysis_reads_items_in_batches_of_what_it_needs(
    whole_graph: None, widened_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first analysis after the start reads no item per descendant: a few batches for
    the source, its bases outside the subtree, the draft and an example of each group; the
    page of five, their bases and what they name, in a few more. Its answer is the one a
    walked lineage, which reads every item, gives."""
    with serving(widened_url) as (api, store):
        lazy = analysed(api, first=5)
        assert (lazy["total"], lazy["toDeclassify"]) == (DESCENDANTS, DESCENDANTS - 1)
        assert store.reads.item_lookup == [], "no lookup of every descendant"
        # The source (checked twice), the rest of what the fan-out reads, an example of each
        # group, the page with its bases, what the page names: about twenty ids in all.
        assert len(store.reads.items) <= 8, store.reads.items
        assert asked(store.reads.items) < DESCENDANTS // 4, store.reads.items
        assert max(len(c) for c in store.reads.items) <= 5 * 3 + 10
    page = [e["node"] for e in lazy["entries"]["edges"]]
    assert len(page) == 5
    assert all(not e["redacted"] and e["item"]["title"] for e in page)

    # The same analysis over a walked lineage reads every descendant, and says the same. The
    # embedded store saved its index at close: it is not read back here, as on a store that
    # never kept one.
    monkeypatch.setattr(cache_module, "WHOLE_FROM_EDGES", 10**9)
    monkeypatch.setattr(GraphIndex, "load", classmethod(lambda cls, *_, **__: None))
    with serving(widened_url) as (api, store):
        walked = analysed(api, first=5)
        assert asked(store.reads.item_lookup) >= DESCENDANTS
    assert walked == lazy


def test_a_page_read_after_the_items_changed_is_refused_as_stale(
    whole_graph: None, widened_url: str
) -> None:
    """A write to the items between the analysis and the reading of its page: the page is
    refused with STALE_ANALYSIS and a message that says to run the analysis again; run
    again, it answers."""
    with serving(widened_url) as (api, store):

        def write() -> None:
            def work(tx: GraphWriter) -> None:
                item = tx.items(["D-D-000"])["D-D-000"]
                tx.update_items([item.decided(item)])

            before = store.read(lambda tx: tx.generations()["items"])
            store.write(work)
            assert store.read(lambda tx: tx.generations()["items"]) != before

        store.after_analysis = write
        body = api.post(ANALYSIS, {"first": 5})
        assert body["data"] is None or body["data"]["impactAnalysis"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "STALE_ANALYSIS"
        assert error["path"] == ["impactAnalysis", "entries"]
        assert "已过时" in error["message"]
        assert "重新" in error["message"]
        assert store.after_analysis is None, "the write slipped in"
        again = analysed(api, first=5)
        assert len(again["entries"]["edges"]) == 5
