"""The search benchmark (bench/search.py) at a small size, as a smoke test without timings: its
items load through the store, every query it times finds what a plain reading of the items
finds, in the order graph.search describes, before and after the index is built again."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from bench import search as bench
from graph.access import Actor
from graph.model import Item
from graph.store.base import GraphReader, ItemQuery
from graph.store.sqlite import SqliteStore

SIZE = 3_000


def _find(tx: GraphReader, query: ItemQuery) -> list[Item]:
    return tx.find_items(query)


def expected(items: list[Item], text: str, actor: Actor | None) -> list[str]:
    """The rule of graph.search, read off the items one by one."""
    words = text.split()
    org = None if actor is None else actor.organisation_id

    def holds(item: Item, word: str) -> bool:
        return any(
            word.lower() in field.lower() for field in (item.title, item.document_number, item.id)
        )

    found = [
        i
        for i in items
        if (org is None or i.organisation_id == org) and all(holds(i, w) for w in words)
    ]
    exact = [i for i in found if text in (i.document_number, i.id)]
    rest = [i for i in found if i not in exact]
    if not any(len(w) >= 3 for w in words):
        return [i.id for i in sorted(exact, key=lambda i: i.id) + sorted(rest, key=lambda i: i.id)]

    def rank(item: Item) -> tuple[bool, bool, int, str]:
        titled = all(w.lower() in item.title.lower() for w in words)
        return (item not in exact, not titled, len(item.title), item.id)

    return [i.id for i in sorted(found, key=rank)]


def test_the_benchmark_finds_what_the_items_hold(tmp_path: Path) -> None:
    path, wrote = bench.stored(tmp_path, SIZE, 7)
    assert wrote is not None
    assert bench.stored(tmp_path, SIZE, 7) == (path, None)  # kept for the next run
    items = list(bench.items(SIZE, 7))
    texts = [text for _, text in bench.queries(path)]

    def answers() -> dict[tuple[str, str | None], list[str]]:
        store = SqliteStore(path, cached_items=0)
        try:
            out = {}
            for text in texts:
                for actor in (None, bench.reader("org-1")):
                    query = ItemQuery(
                        text=text,
                        limit=SIZE,
                        readable=None if actor is None else actor.read_filter(),
                    )
                    found = store.read(partial(_find, query=query))
                    out[text, None if actor is None else actor.organisation_id] = [
                        i.id for i in found
                    ]
            return out
        finally:
            store.close()

    before = answers()
    for text in texts:
        for actor in (None, bench.reader("org-1")):
            key = (text, None if actor is None else actor.organisation_id)
            assert before[key] == expected(items, text, actor), key
        assert bench.matches(path, text) == len(before[text, None])
    assert any(before[key] for key in before if key[1] is not None)  # the reader finds some
    assert bench.rebuild(path) > 0
    assert answers() == before
    sizes = bench.sizes(path)
    assert 0 < sizes.index < sizes.file
