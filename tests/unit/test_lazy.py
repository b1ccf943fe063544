"""graph.lazy.LazyItems: items read when needed, in batches, each id once, never through a
reader once its transaction has ended."""

from __future__ import annotations

from datetime import date

import pytest

from graph.lazy import LazyItems, NotRead, prefetch
from graph.model import Item, ItemKind, ItemStatus, KnowledgeScope

STORED = {
    name: Item(
        id=name,
        kind=ItemKind.DERIVED,
        title=name,
        document_number="",
        organisation_id="org",
        issued_on=date(2024, 1, 1),
        status=ItemStatus.CLASSIFIED,
        classification=None,
        scope=KnowledgeScope(organisations=frozenset({"org"})),
    )
    for name in ("A", "B", "C")
}


class Recorder:
    """A reader over `STORED` that records the ids each call asks for."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, ids: list[str]) -> dict[str, Item]:
        self.calls.append(list(ids))
        return {i: STORED[i] for i in ids if i in STORED}


def test_a_batch_is_one_read_and_each_id_is_read_once() -> None:
    reader = Recorder()
    items = LazyItems(3, reader)
    items.load(["A", "B", "A", "Z"])
    assert reader.calls == [["A", "B", "Z"]]
    assert items["A"] is STORED["A"]
    assert "Z" not in items  # remembered as absent: not asked again
    assert items.get("Z") is None
    prefetch(items, ["A", "B", "C"])
    assert reader.calls == [["A", "B", "Z"], ["C"]]
    assert items.missing(["A", "C", "D"]) == ["D"]
    assert sorted(items) == ["A", "B", "C"]
    assert len(items) == 3


def test_a_stray_lookup_reads_one() -> None:
    reader = Recorder()
    items = LazyItems(1, reader)
    assert items["B"] is STORED["B"]
    with pytest.raises(KeyError):
        items["Y"]
    assert reader.calls == [["B"], ["Y"]]


def test_unbound_it_reads_nothing_but_a_reader_given() -> None:
    reader = Recorder()
    items = LazyItems(1, reader)
    items.load(["A"])
    items.bind(None)
    assert items["A"] is STORED["A"]  # read already
    with pytest.raises(NotRead):
        items["B"]
    with pytest.raises(NotRead):
        _ = "B" in items
    other = Recorder()
    items.load(["A", "B"], other)
    assert other.calls == [["B"]]
    assert items["B"] is STORED["B"]


def test_prefetch_leaves_a_plain_mapping_alone() -> None:
    plain = dict(STORED)
    prefetch(plain, ["A", "Z"])
    assert plain == STORED
