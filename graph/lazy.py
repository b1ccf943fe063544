"""Items read when they are needed, a batch at a time (issue 24, "results lazily").

An impact analysis over the whole graph's index (graph.index) decides every descendant from
the index's columns; it needs an `Item` only for one example of each group of equal values,
for the bases outside the changed subtree, for the process items and the items with scope
rules, and for the page of results a reader asks for. Reading all 100,000 descendants from
the database and decoding each, as a cold start must, costs seconds; these few cost
milliseconds.

A `LazyItems` is the fan-out's `World.items`: it answers what it has read, and reads the rest
through the reader bound to it, in one call for each batch asked for (`load`) and one per
item otherwise (a stray lookup; the fan-out asks for batches where it needs many). Every
item comes from the store's state at one *generation* of its items table: while a
transaction is open the reader bound is that transaction's; afterwards, one that reads
through the store in a transaction of its own after checking that the items are still of
that generation, or none (service.impact.detach, read_impacts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from graph.model import Item

# Reads the items of some ids, holding those that exist (a store's `items`).
Reader = Callable[[list[str]], Mapping[str, Item]]


class NotRead(LookupError):
    """An item asked for while no reader is bound: its transaction has ended and no batch
    read it beforehand (a caller forgot to read it with its page)."""


class LazyItems(Mapping[str, Item]):
    """Items by id of one generation (`generation`) of a store's items table, read in batches
    as they are asked for. Absent ids are remembered as absent. Iterating and `len` see only
    what has been read so far."""

    def __init__(self, generation: int | None, reader: Reader | None = None) -> None:
        self.generation = generation
        self._reader = reader
        self._found: dict[str, Item] = {}
        self._absent: set[str] = set()

    def missing(self, ids: Iterable[str]) -> list[str]:
        """The ids among `ids` not read yet, each once, in order."""
        found, absent = self._found, self._absent
        return [i for i in dict.fromkeys(ids) if i not in found and i not in absent]

    def load(self, ids: Iterable[str], reader: Reader | None = None) -> None:
        """Reads every id among `ids` not read yet, in one call of `reader` (a transaction's
        of this generation: the caller checks), by default of the reader bound."""
        wanted = self.missing(ids)
        if not wanted:
            return
        read_with = reader or self._reader
        if read_with is None:
            raise NotRead(wanted[0])
        read = read_with(wanted)
        self._found.update({i: read[i] for i in wanted if i in read})
        self._absent.update(i for i in wanted if i not in read)

    def bind(self, reader: Reader | None) -> None:
        """Binds `reader`, which reads items of this generation, for the lookups to come;
        None when the transaction of the one bound ends: a later lookup of an item not read
        then raises `NotRead` rather than read another state of the store."""
        self._reader = reader

    def __getitem__(self, item_id: str) -> Item:
        found = self._found.get(item_id)
        if found is None:
            if item_id not in self._absent:
                self.load([item_id])
            found = self._found.get(item_id)
            if found is None:
                raise KeyError(item_id)
        return found

    def __contains__(self, item_id: object) -> bool:
        if not isinstance(item_id, str):
            return False
        try:
            self[item_id]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._found)

    def __len__(self) -> int:
        return len(self._found)


def prefetch(items: Mapping[str, Item], ids: Iterable[str]) -> None:
    """Reads `ids` in one batch where `items` reads lazily; nothing otherwise."""
    if isinstance(items, LazyItems):
        items.load(ids)
