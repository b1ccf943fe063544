"""What a store keeps in memory between transactions, for one generation of each table.

An impact analysis reads the same rows again and again (the whole of DERIVED_FROM, the items
below a source, their scope-rule and process-item links) while they seldom change; read from
memory, a warm analysis costs no rows at all. Both stores share this one cache, so that they
answer alike and are kept fresh alike: the database holds a counter per cached table (its
*generation*), bumped by every write to that table in the writing transaction itself, and a
transaction uses memory only while it has written nothing, and only for the generation it
read.

What is kept for a generation is exactly the committed rows of that generation: SQLite reads
from a snapshot, so what a transaction reads belongs to the generation it sees. A Bolt server
reads committed data statement by statement, without a snapshot, so the Bolt store keeps
what it read only when the generation it reads afterwards is still the one it read before
(`keep` below): no commit slipped in between.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from graph.index import GraphIndex, Journal
from graph.lineage import Index, Lineage
from graph.model import Derivation, Item

T = TypeVar("T")

# A walk of DERIVED_FROM that read this many edges, and at least one in this many of all of
# them, makes the store read the whole table once and keep it (Cache.lineage): small walks
# stay cheap on a large graph, large ones make the next analyses fast.
WHOLE_FROM_EDGES = 1_000
WHOLE_SHARE = 8
# Journals holding more items and edges than this are not kept: the index is read anew.
MAX_JOURNAL = 200_000


class Cache:
    """Whole tables (DERIVED_FROM as a `Lineage`, the process-item and scope-rule links by
    item), the items read so far and the DERIVED_FROM edges read so far by each end, each for
    one generation of its table.

    Any change to a table makes a new generation, and the first transaction that sees it
    starts afresh. A transaction that sees an older generation than the one kept reads the
    database."""

    def __init__(self, max_items: int) -> None:
        self._lock = threading.Lock()
        self._max_items = max_items
        self._tables: dict[str, tuple[int, Any]] = {}
        self._items: tuple[int, dict[str, Item]] = (-1, {})
        self._edges: dict[str, tuple[int, dict[str, list[Derivation]]]] = {}
        # Writes since the generation of the graph index kept: (before, after, journal,
        # the tables' generations after).
        self._journals: list[tuple[int, int, Journal, dict[str, int]]] = []
        # The generation for which no saved index was found.
        self._unsaved = -1

    def table(
        self,
        name: str,
        generation: int,
        read: Callable[[], T],
        keep: Callable[[], bool] | None = None,
    ) -> T | None:
        """Table `name` as `read` gives it, for `generation`; None for an older one. What is
        read is kept only if `keep` (when given) says so once it is read."""
        with self._lock:  # one reader builds it; the others wait for it
            cached = self._tables.get(name)
            if cached is not None and cached[0] >= generation:
                return cast(T, cached[1]) if cached[0] == generation else None
            value = read()
            if keep is None or keep():
                self._tables[name] = (generation, value)
            return value

    def lineage(
        self,
        generation: int,
        walk: Callable[[], Lineage],
        total: Callable[[], int],
        whole: Callable[[], Lineage],
        keep: Callable[[], bool] | None = None,
    ) -> Lineage:
        """The lineage below some roots for `generation`: all of DERIVED_FROM where it is
        kept, else `walk`'s. Where the walk read a large share of the `total` edges, `whole`
        reads them all once and they are kept (as `table` keeps) for the analyses to come."""
        kept: Lineage | None = self.kept("derived_from", generation)
        if kept is not None:
            return kept
        found = walk()
        edges = sum(len(bases) for bases in found.bases.values())
        if edges >= WHOLE_FROM_EDGES and edges * WHOLE_SHARE >= total():
            read = self.table("derived_from", generation, whole, keep)
            return found if read is None else read
        return found

    def lineage_index(
        self,
        generation: int,
        walk: Callable[[], Lineage],
        total: Callable[[], int],
        whole: Callable[[], GraphIndex],
        keep: Callable[[], bool] | None = None,
        saved: Callable[[], GraphIndex | None] | None = None,
    ) -> Index:
        """The lineage below some roots in arrays, for `generation` (of the items and of
        DERIVED_FROM together, see `graph_generation`): the whole graph's index
        (graph.index) where it is kept (or kept for an earlier generation with the journals
        of the writes since, `journal`), or `saved` finds it (a file of that generation),
        else `walk`'s lineage. Where the walk read a large share of the `total` edges, `whole`
        builds the index of the whole graph once and it is kept (as `table` keeps) for the
        analyses to come."""
        graph = self.graph(generation)
        if graph is None and saved is not None and self._unsaved != generation:
            graph = self._saved(generation, saved, keep)
        if graph is not None:
            return graph.fan_out()
        found = walk()
        edges = sum(len(bases) for bases in found.bases.values())
        if edges >= WHOLE_FROM_EDGES and edges * WHOLE_SHARE >= total():
            read = self.table("graph", generation, whole, keep)
            if read is not None:
                return read.fan_out()
        return found.index()

    def _saved(
        self,
        generation: int,
        saved: Callable[[], GraphIndex | None],
        keep: Callable[[], bool] | None,
    ) -> GraphIndex | None:
        """The index `saved` finds for `generation`, kept unless a newer one is; read outside
        the lock (readers meanwhile walk). Where there is none, not looked for again at this
        generation."""
        found = saved()
        with self._lock:
            if found is None:
                self._unsaved = generation
                return None
            kept = self._tables.get("graph")
            if (kept is None or kept[0] < generation) and (keep is None or keep()):
                self._tables["graph"] = (generation, found)
                self._journals = []
        return found

    def graph(self, generation: int) -> GraphIndex | None:
        """The whole graph's index for `generation`: kept for it, or made from the one kept
        for an earlier generation by the journals of the writes since (once, for every
        reader after)."""
        with self._lock:
            kept = self._patched()
            if kept is None or kept[0] != generation:
                return None
            return kept[1]

    def current_graph(self) -> GraphIndex | None:
        """The whole graph's index of the last generation this process knows of (kept, or
        patched by the journals since), if any."""
        with self._lock:
            kept = self._patched()
            return None if kept is None else kept[1]

    def _patched(self) -> tuple[int, GraphIndex] | None:
        """The graph index kept, patched by the journals that follow it (under the lock)."""
        kept = self._tables.get("graph")
        if kept is None:
            return None
        at, graph = kept[0], cast(GraphIndex, kept[1])
        pending = self._journals
        if pending and pending[0][0] == at:
            for _, after, journal, generations in pending:
                graph, at = graph.patched(journal, generations), after
            self._tables["graph"] = (at, graph)
        self._journals = []
        return at, graph

    def journal(
        self, before: int, after: int, journal: Journal, generations: dict[str, int]
    ) -> None:
        """A write committed: it took the graph from generation `before` to `after` (see
        `graph_generation`; `generations` the tables' own) by what `journal` says. Kept to
        patch the whole graph's index when next asked for (`graph`), where it follows the
        generation kept; otherwise the index is read anew when next needed."""
        if after == before:
            return
        with self._lock:
            kept = self._tables.get("graph")
            if kept is None:
                return
            if self._journals and self._journals[0][0] != kept[0]:
                self._journals = []
            last = self._journals[-1][1] if self._journals else kept[0]
            held = sum(len(j) for _, _, j, _ in self._journals) + len(journal)
            if last != before or held > MAX_JOURNAL:
                # Another process wrote between (or too much to patch): rebuild when asked.
                self._journals = []
                return
            self._journals.append((before, after, journal, generations))

    def latest_graph(self) -> GraphIndex | None:
        """The whole graph's index kept, of whatever generation (to save it)."""
        with self._lock:
            kept = self._tables.get("graph")
            return None if kept is None else cast(GraphIndex, kept[1])

    def kept(self, name: str, generation: int) -> Any | None:
        """Table `name` if it is kept for `generation`; it is not read here."""
        with self._lock:
            cached = self._tables.get(name)
            return cached[1] if cached is not None and cached[0] == generation else None

    def items(self, generation: int) -> dict[str, Item] | None:
        """The items cached for `generation`, to read and to fill; None for an older one."""
        with self._lock:
            cached, items = self._items
            if generation > cached:
                self._items = (generation, {})
                return self._items[1]
            return items if generation == cached else None

    def room(self, items: dict[str, Item]) -> bool:
        return len(items) < self._max_items

    def edges(self, side: str, generation: int) -> dict[str, list[Derivation]] | None:
        """DERIVED_FROM edges read so far by one end (`side`), for `generation`, to read and
        to fill like the items; None for an older generation."""
        with self._lock:
            cached, edges = self._edges.get(side, (-1, {}))
            if generation > cached:
                self._edges[side] = (generation, {})
                return self._edges[side][1]
            return edges if generation == cached else None

    def room_for_edges(self, edges: dict[str, list[Derivation]]) -> bool:
        return len(edges) < self._max_items


def graph_generation(items: int, derived_from: int) -> int:
    """One number for the generations of the items and of DERIVED_FROM, which the graph
    index reflects together: both only grow, so their sum grows whenever either does."""
    return items + derived_from
