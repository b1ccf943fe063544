"""Whether a batch of new DERIVED_FROM edges would close a cycle, checked once for the batch.

The graph in the store is acyclic, so a cycle of the store plus the batch runs through a new
edge whose child already has a child of its own (in the store or in the batch): every item on
a cycle is the parent of the item before it. Every item of such a cycle is a descendant of
those children and an ancestor of their new parents, so the cycle lies inside either closed
set. Both are walked a level at a time, one query per level for the whole frontier, and the
first to close bounds the check: its cost is the smaller of the two, in items, never in paths
and never once per edge.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from graph.model import Derivation
from graph.traversal import Step

Int32s = npt.NDArray[np.int32]


def closing_edge(new: Sequence[Derivation], parents: Step, children: Step) -> Derivation | None:
    """The first of `new` that closes a cycle when the edges are added in order to the store
    that `parents` and `children` walk, or None. Self-loops and duplicates are the caller's."""
    if not new:
        return None
    in_batch_as_parent = {e.parent_id for e in new}
    child_ids = list(dict.fromkeys(e.child_id for e in new))
    with_children = in_batch_as_parent | {e.parent_id for e in children(child_ids)}
    risky = [e for e in new if e.child_id in with_children]
    if not risky:
        return None
    nodes, stored = _closed_set(new, risky, parents, children)
    added = [e for e in new if e.child_id in nodes and e.parent_id in nodes]
    if _acyclic(nodes, [*stored, *added]):
        return None
    return _first_closing(added, stored)


class _Walk:
    """A breadth-first walk over the store's edges plus the batch's, one direction."""

    def __init__(
        self, start: Iterable[str], step: Step, batch: dict[str, list[Derivation]], upstream: bool
    ) -> None:
        self.frontier = list(dict.fromkeys(start))
        self.seen = set(self.frontier)
        self.stored: list[Derivation] = []
        self._step = step
        self._batch = batch
        self._upstream = upstream

    def advance(self) -> None:
        stored = self._step(self.frontier)
        self.stored.extend(stored)
        batch = [e for node in self.frontier for e in self._batch.get(node, ())]
        following: list[str] = []
        for edge in [*stored, *batch]:
            node = edge.parent_id if self._upstream else edge.child_id
            if node not in self.seen:
                self.seen.add(node)
                following.append(node)
        self.frontier = following


def _closed_set(
    new: Sequence[Derivation], risky: Sequence[Derivation], parents: Step, children: Step
) -> tuple[set[str], list[Derivation]]:
    """The items of the closed set, and the stored edges among them."""
    by_child: dict[str, list[Derivation]] = defaultdict(list)
    by_parent: dict[str, list[Derivation]] = defaultdict(list)
    for edge in new:
        by_child[edge.child_id].append(edge)
        by_parent[edge.parent_id].append(edge)
    down = _Walk((e.child_id for e in risky), children, by_parent, upstream=False)
    up = _Walk((e.parent_id for e in risky), parents, by_child, upstream=True)
    # The side with less ahead of it moves; the first to run out is the closed set.
    while down.frontier and up.frontier:
        (down if len(down.seen) <= len(up.seen) else up).advance()
    done = down if not down.frontier else up
    return done.seen, done.stored


def _acyclic(nodes: set[str], edges: Sequence[Derivation]) -> bool:
    """Kahn's algorithm: every node comes off once its parents inside have."""
    waiting = dict.fromkeys(nodes, 0)
    below: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        waiting[edge.child_id] += 1
        below[edge.parent_id].append(edge.child_id)
    ready = deque(node for node, count in waiting.items() if count == 0)
    removed = 0
    while ready:
        node = ready.popleft()
        removed += 1
        for child in below[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return removed == len(nodes)


def _first_closing(added: Sequence[Derivation], stored: Sequence[Derivation]) -> Derivation | None:
    """Adds the batch's edges one by one to what is stored inside the closed set, so that the
    edge refused is the one that a check edge by edge would refuse: a cycle that an edge
    closes lies inside the closed set. Run only when there is a cycle."""
    up: dict[str, list[str]] = defaultdict(list)
    for edge in stored:
        up[edge.child_id].append(edge.parent_id)
    for edge in added:
        if _reaches(edge.parent_id, edge.child_id, up):
            return edge
        up[edge.child_id].append(edge.parent_id)
    return None


def _reaches(start: str, target: str, up: dict[str, list[str]]) -> bool:
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for parent in up.get(node, ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return False


def cycle_path(child: str, parent: str, parents: Step) -> tuple[str, ...] | None:
    """The cycle that a new edge `child` DERIVED_FROM `parent` would close, as the items along
    it from `child` back to `child`, each derived from the next; None when it closes none.

    The store is acyclic, so a cycle runs through the new edge and then up from `parent` to
    `child` over stored edges: one breadth-first walk upstream, a query per level for the
    whole frontier, whose first hit is a shortest such path. Costs the ancestors of
    `parent`, in items, never in paths."""
    if child == parent:
        return (child, child)
    came_from: dict[str, str] = {}
    frontier = [parent]
    seen = {parent}
    while frontier:
        following: list[str] = []
        for edge in parents(frontier):
            above = edge.parent_id
            if above in seen:
                continue
            seen.add(above)
            came_from[above] = edge.child_id
            if above == child:
                path = [child]
                while path[-1] != parent:
                    path.append(came_from[path[-1]])
                return (child, *reversed(path))
            following.append(above)
        frontier = following
    return None


def first_closing_edge(children: Int32s, parents: Int32s, size: int) -> int | None:
    """The position of the first edge that closes a cycle when the edges (child and parent
    node numbers below `size`, aligned) are added in order, or None when all of them together
    are acyclic: the least k such that edges[:k + 1] hold a cycle. One peeling (Kahn's
    algorithm by whole frontiers) when the whole is acyclic, the bulk import's case: its cost
    is linear in the nodes and edges, plus a few numpy calls per round, and there are as many
    rounds as the longest path has edges. Otherwise a binary search of prefixes, each peeled
    again, over the edges between nodes the first peeling left: any cycle lies among them."""
    left = _unpeeled(children, parents, size)
    if left is None:
        return None
    inside = np.flatnonzero(left[children] & left[parents])
    low, high = 0, len(inside) - 1  # inside[:high + 1] hold a cycle, inside[:low] do not
    while low < high:
        middle = (low + high) // 2
        taken = inside[: middle + 1]
        if _unpeeled(children[taken], parents[taken], size) is None:
            low = middle + 1
        else:
            high = middle
    return int(inside[high])


def _unpeeled(children: Int32s, parents: Int32s, size: int) -> npt.NDArray[np.bool_] | None:
    """None when the edges from parent to child are acyclic; else a mask of the nodes that
    peeling the nodes without a pending parent never reaches (each cycle, and below them)."""
    pending = np.bincount(children, minlength=size)
    if not len(children):
        return None
    by_parent = np.argsort(parents, kind="stable")
    targets = children[by_parent]
    starts = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(parents, minlength=size), out=starts[1:])
    frontier = np.flatnonzero(pending == 0)
    removed = 0
    while len(frontier):
        lengths = starts[frontier + 1] - starts[frontier]
        total = int(lengths.sum())
        if not total:
            break
        # The positions of the frontier's out-edges: each run starts[f] .. starts[f + 1].
        offsets = np.repeat(starts[frontier] - np.cumsum(lengths) + lengths, lengths)
        reached = targets[offsets + np.arange(total)]
        removed += total
        if total * 16 >= size:  # a count over the whole graph costs less than a sort
            pending -= np.bincount(reached, minlength=size)
            reached = np.unique(reached)
        else:  # a few edges (a long chain): a sort of them, so a round never costs `size`
            reached, counts = np.unique(reached, return_counts=True)
            pending[reached] -= counts
        frontier = reached[pending[reached] == 0]
    if removed == len(children):
        return None
    left: npt.NDArray[np.bool_] = pending > 0
    return left
