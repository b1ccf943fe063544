"""DERIVED_FROM as the fan-out reads it: the bases of each item and the children of each.

A `Lineage` below some roots holds every edge below them and every basis of every item below
them (bases outside the subtree included); it may hold more, up to the whole graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from graph.model import Derivation
from graph.traversal import expand


class Lineage:
    """DERIVED_FROM edges over some items: the bases of each child by parent id, and the
    children of each parent. Every node named by an edge or given in `nodes` is in it."""

    __slots__ = ("_index", "_positions", "bases", "children")

    def __init__(self, edges: Iterable[Derivation] = (), nodes: Iterable[str] = ()) -> None:
        self.bases: dict[str, dict[str, Derivation]] = {}
        self.children: dict[str, list[str]] = {node: [] for node in nodes}
        self._positions: dict[str, int] | None = None
        self._index: Index | None = None
        bases, children = self.bases, self.children
        for edge in edges:  # inlined: this runs for every edge below a changed source
            child, parent = edge.child_id, edge.parent_id
            of_child = bases.get(child)
            if of_child is None:
                bases[child] = {parent: edge}
            elif parent in of_child:
                continue
            else:
                of_child[parent] = edge
            below = children.get(parent)
            if below is None:
                children[parent] = [child]
            else:
                below.append(child)
            if child not in children:
                children[child] = []

    def index(self) -> Index:
        """The lineage in arrays (`Index`), built on first use; like `positions`, a race
        between readers only repeats the work."""
        if self._index is None:
            self._index = Index.of(self)
        return self._index

    def positions(self) -> dict[str, int]:
        """Each node's place in one topological order of the whole lineage (parents first),
        computed once (Kahn's algorithm); the fan-out orders each layer by it. Raises
        ValueError on a cycle."""
        if self._positions is None:
            bases, children = self.bases, self.children
            pending = {node: len(bases.get(node, ())) for node in children}
            ready = deque(node for node, count in pending.items() if not count)
            positions: dict[str, int] = {}
            while ready:
                node = ready.popleft()
                positions[node] = len(positions)
                for child in children[node]:
                    count = pending[child] - 1
                    pending[child] = count
                    if not count:
                        ready.append(child)
            if len(positions) != len(children):
                raise ValueError("DERIVED_FROM has a cycle")
            # Computed alike by any reader that gets here first: a race only repeats the work.
            self._positions = positions
        return self._positions


def below(
    roots: Sequence[str],
    children: Callable[[Sequence[str]], Sequence[Derivation]],
    parents: Callable[[Sequence[str]], Sequence[Derivation]],
) -> Lineage:
    """The lineage below `roots` read by frontier expansion: one `children` read per depth,
    then one `parents` read for every basis of every descendant."""
    seen: set[str] = set()
    root_set = set(roots)
    edges: list[Derivation] = []
    for root in roots:
        subgraph = expand(root, children, upstream=False, max_depth=None)
        seen.update(subgraph.depth)
        # An edge into another root is no basis of a descendant: parents() below misses it.
        edges.extend(e for e in subgraph.edges if e.child_id in root_set)
        del subgraph  # parents() reads its other edges again: hold no second copy
    edges.extend(parents(sorted(seen - root_set)))
    return Lineage(edges, nodes=roots)


Ints = npt.NDArray[np.int64]


class Index:
    """A lineage in arrays, for the fan-out: nodes numbered, each node's bases (parents and
    edge kinds, compressed rows, in the order `bases` gives them), each node's children, and
    each node's place in an order in which parents come first. Built once per lineage
    (`Lineage.index`), or over the whole graph's array index (graph.index.fan_out_index).

    Edge kind 0 stands for "gives nothing"; `kinds` holds an edge of each other kind (only
    its case and keypoints are read)."""

    def __init__(
        self,
        *,
        size: int,
        kinds: list[Derivation | None],
        parent_rows: Ints,
        parents: Ints,
        edge_kinds: Ints,
        children: Ints,
        child_rows: Ints,
        position: Ints,
        names: Callable[[Ints], list[str]],
        nodes: Callable[[Sequence[str]], Ints],
        bases: Callable[[str], dict[str, Derivation]],
        columns: Callable[[Ints], Ints] | None = None,
        by_id: bool = False,
    ) -> None:
        self._below: tuple[frozenset[str], Ints] | None = None
        self.size = size
        self.kinds = kinds
        self.parent_rows, self.parents, self.edge_kinds = parent_rows, parents, edge_kinds
        self.children, self.child_rows = children, child_rows
        self.position = position
        self._names, self._nodes, self._bases = names, nodes, bases
        # Per node, numbers that are equal where the fan-out reads the same values of the
        # items (graph.propagation.profiles): kept by an index over the whole graph.
        self.columns = columns
        # Whether node numbers follow the order of the ids.
        self.by_id = by_id

    @classmethod
    def of(cls, lineage: Lineage) -> Index:
        ids: list[str] = list(lineage.children)
        number = {node: i for i, node in enumerate(ids)}
        # Edge kinds: the case and keypoints of an edge; 0 is kept for "gives nothing".
        kinds: dict[tuple[int, tuple[str, ...]], int] = {}
        kept: list[Derivation | None] = [None]
        counts = []
        parents: list[int] = []
        edge_kinds: list[int] = []
        empty: dict[str, Derivation] = {}
        for node in ids:
            bases = lineage.bases.get(node, empty)
            counts.append(len(bases))
            for parent, edge in bases.items():
                parents.append(number[parent])
                key = (id(edge.case), edge.keypoint_ids)
                kind = kinds.get(key)
                if kind is None:
                    kind = kinds[key] = len(kept)
                    kept.append(edge)
                edge_kinds.append(kind)
        parent_array = np.array(parents, dtype=np.int64)
        order = np.argsort(parent_array, kind="stable")
        positions = lineage.positions()

        def nodes(wanted: Sequence[str]) -> Ints:
            return np.array([number.get(i, -1) for i in wanted], dtype=np.int64)

        return cls(
            size=len(ids),
            kinds=kept,
            parent_rows=_rows(np.array(counts, dtype=np.int64)),
            parents=parent_array,
            edge_kinds=np.array(edge_kinds, dtype=np.int64),
            children=np.repeat(np.arange(len(ids), dtype=np.int64), counts)[order],
            child_rows=_rows(np.bincount(parent_array, minlength=len(ids))),
            position=np.array([positions[node] for node in ids], dtype=np.int64),
            names=lambda found: [ids[n] for n in found.tolist()],
            nodes=nodes,
            bases=lambda node: lineage.bases.get(node, empty),
        )

    def below(self, roots: Iterable[str]) -> Ints:
        """The nodes below `roots`, each once; a root only where it lies below another.
        Breadth-first in whole frontiers: linear in the nodes and edges below the roots. The
        last answer is kept (read-only): an analysis asks for it twice, when it loads its
        values and when it fans out."""
        wanted = frozenset(roots)
        last = self._below
        if last is not None and last[0] == wanted:
            return last[1]
        found = self._walk(wanted)
        found.flags.writeable = False
        self._below = (wanted, found)  # one assignment: a racing reader sees either answer
        return found

    def _walk(self, roots: Iterable[str]) -> Ints:
        seen = np.zeros(self.size, dtype=bool)
        frontier = self.nodes(sorted(roots))
        frontier = frontier[frontier >= 0]
        found = []
        while frontier.size:
            reached = gather(self.children, self.child_rows, frontier)
            reached = np.unique(reached[~seen[reached]])
            seen[reached] = True
            found.append(reached)
            frontier = reached
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def name(self, node: int) -> str:
        """The id of a numbered node."""
        return self._names(np.array([node], dtype=np.int64))[0]

    def names(self, nodes: Ints) -> list[str]:
        """The ids of numbered nodes."""
        return self._names(nodes)

    def node(self, item_id: str) -> int | None:
        """The number of `item_id`, None where it is not in the lineage."""
        found = int(self._nodes([item_id])[0])
        return None if found < 0 else found

    def nodes(self, item_ids: Sequence[str]) -> Ints:
        """The number of each of `item_ids`, -1 where it is not in the lineage."""
        return self._nodes(item_ids)

    def bases(self, item_id: str) -> dict[str, Derivation]:
        """The DERIVED_FROM edges into `item_id` by parent id, in the order of its rows."""
        return self._bases(item_id)

    def parents_of(self, nodes: Ints) -> Ints:
        """Every parent of `nodes`, each once, in order."""
        return each_once(gather(self.parents, self.parent_rows, nodes), self.size)

    def kinds_into(self, nodes: Ints) -> Ints:
        """The edge kinds of the edges into `nodes`, each once, in order."""
        return each_once(gather(self.edge_kinds, self.parent_rows, nodes), len(self.kinds))

    def keypoints_into(self, nodes: Ints) -> set[str]:
        """The keypoint ids the edges into `nodes` involve."""
        kinds = self.kinds_into(nodes).tolist()
        return {k for kind in kinds if (edge := self.kinds[kind]) for k in edge.keypoint_ids}


def each_once(values: Ints, size: int) -> Ints:
    """The distinct values among `values`, all in range(size), in order: `np.unique`, by a
    mark per possible value instead of a sort."""
    marked = np.zeros(size, dtype=bool)
    marked[values] = True
    found: Ints = np.flatnonzero(marked)
    return found


def _rows(counts: Ints) -> Ints:
    """Row starts of a compressed layout with `counts` entries per row, and its end."""
    rows = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=rows[1:])
    return rows


def gather(values: Ints, rows: Ints, of: Ints) -> Ints:
    """The entries of rows `of`, row after row, in one array."""
    starts, ends = rows[of], rows[of + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    # Each entry's index: its row's start, plus its place within the row.
    shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    entries: Ints = values[shift + np.arange(total, dtype=np.int64)]
    return entries


def distinct_rows(rows: Ints) -> tuple[Ints, Ints]:
    """The distinct rows of a matrix of non-negative integers, sorted, and for each row the
    place of its own among them: `np.unique(rows, axis=0, return_inverse=True)`, but with
    each row packed into one integer where its columns fit in 63 bits, which is many times
    faster than comparing rows."""
    if not rows.size:
        return rows[:0], np.zeros(len(rows), dtype=np.int64)
    bits = [max(int(column.max()), 1).bit_length() for column in rows.T]
    if sum(bits) > 63 or int(rows.min()) < 0:
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        return distinct, inverse.reshape(-1)
    packed = np.zeros(len(rows), dtype=np.int64)
    for column, width in zip(rows.T, bits, strict=True):
        packed = (packed << width) | column
    _, first, inverse = np.unique(packed, return_index=True, return_inverse=True)
    return rows[first], inverse.reshape(-1)


def padded(values: Ints, rows: Ints, of: Ints, fill: int) -> Ints:
    """The entries of rows `of` as a matrix, one row each, shorter rows ended with `fill`."""
    starts = rows[of]
    lengths = rows[of + 1] - starts
    width = int(lengths.max()) if len(of) else 0
    places = np.arange(width, dtype=np.int64)
    within = places < lengths[:, None]
    at = np.where(within, starts[:, None] + places, 0)
    if not len(values):
        return np.full((len(of), width), fill, dtype=np.int64)
    entries: Ints = np.where(within, values[at], fill)
    return entries
