"""Lineage traversal by frontier expansion.

Each round asks the store for the edges of a whole frontier at once and keeps only nodes not
seen before, so the cost is linear in the nodes and edges reached, never in the number of
paths: a DAG full of diamonds has exponentially many paths but each node is expanded once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graph.model import Derivation, Direction

Step = Callable[[Sequence[str]], Sequence[Derivation]]


@dataclass(frozen=True)
class Subgraph:
    """Nodes by signed distance from the start (ancestors negative, descendants positive),
    and the DERIVED_FROM edges followed to reach them."""

    depth: dict[str, int]
    edges: tuple[Derivation, ...]


def expand(
    start: str,
    step: Step,
    upstream: bool,
    max_depth: int | None,
) -> Subgraph:
    """Breadth-first from `start`; `step(frontier)` returns the edges leaving the frontier in
    the chosen direction."""
    depth = {start: 0}
    edges: list[Derivation] = []
    frontier = [start]
    sign = -1 if upstream else 1
    distance = 0
    while frontier and (max_depth is None or distance < max_depth):
        distance += 1
        next_frontier: list[str] = []
        for edge in step(frontier):
            edges.append(edge)
            node = edge.parent_id if upstream else edge.child_id
            if node not in depth:
                depth[node] = sign * distance
                next_frontier.append(node)
        frontier = next_frontier
    return Subgraph(depth, tuple(edges))


def lineage(
    start: str,
    direction: Direction,
    max_depth: int | None,
    *,
    parents: Step,
    children: Step,
) -> Subgraph:
    """The ancestors, the descendants, or both, of `start`, up to `max_depth` steps away;
    `parents` and `children` return the DERIVED_FROM edges of a frontier."""
    parts: list[Subgraph] = []
    if direction in (Direction.UPSTREAM, Direction.BOTH):
        parts.append(expand(start, parents, True, max_depth))
    if direction in (Direction.DOWNSTREAM, Direction.BOTH):
        parts.append(expand(start, children, False, max_depth))
    depth: dict[str, int] = {}
    edges: dict[tuple[str, str], Derivation] = {}
    for part in parts:
        depth.update(part.depth)
        for edge in part.edges:
            edges[(edge.child_id, edge.parent_id)] = edge
    return Subgraph(depth, tuple(edges.values()))
