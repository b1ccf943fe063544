"""DERIVED_FROM as the fan-out reads it: the bases of each item and the children of each.

A `Lineage` below some roots holds every edge below them and every basis of every item below
them (bases outside the subtree included); it may hold more, up to the whole graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

from graph.model import Derivation
from graph.traversal import expand


class Lineage:
    """DERIVED_FROM edges over some items: the bases of each child by parent id, and the
    children of each parent. Every node named by an edge or given in `nodes` is in it."""

    __slots__ = ("_positions", "bases", "children")

    def __init__(self, edges: Iterable[Derivation] = (), nodes: Iterable[str] = ()) -> None:
        self.bases: dict[str, dict[str, Derivation]] = {}
        self.children: dict[str, list[str]] = {node: [] for node in nodes}
        self._positions: dict[str, int] | None = None
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

    def __contains__(self, node: object) -> bool:
        return node in self.children

    @property
    def nodes(self) -> Iterable[str]:
        return self.children.keys()

    def positions(self) -> dict[str, int]:
        """Each node's place in one topological order of the whole lineage (parents first),
        computed once (Kahn's algorithm): a store that keeps its lineage in memory orders
        every fan-out by it. Raises ValueError on a cycle."""
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


def descendants(lineage: Lineage, roots: Iterable[str]) -> set[str]:
    """Every node below any of `roots` (the roots excluded unless below another root), each
    visited once: one breadth-first pass from all roots together."""
    children = lineage.children
    seen: set[str] = set()
    queue = deque(r for r in roots if r in children)
    while queue:
        for child in children[queue.popleft()]:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


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


def topological_below(lineage: Lineage, roots: Iterable[str]) -> list[str]:
    """Every node below `roots` (what `descendants` finds), each after all of its parents:
    linear in the nodes and edges below the roots, and a sort of those nodes by their place
    in the whole lineage's order (`Lineage.positions`, computed once per lineage)."""
    return sorted(descendants(lineage, roots), key=lineage.positions().__getitem__)
