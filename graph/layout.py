"""A layered drawing of a lineage DAG: sources at the top, each item one layer below the lowest
of its parents, and the items of a layer ordered to keep edges short (barycentre sweeps).
Pure functions; the viewer draws what they give, so it needs no layout code of its own.

Layers come from networkx's topological generations (a layer holds the items whose parents
all lie in the layers above). Cost: linear in nodes and edges per sweep, a fixed number of
sweeps, never in the number of paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

SWEEPS = 4


@dataclass(frozen=True)
class Position:
    layer: int
    order: int  # place within its layer, from the left
    x: float  # in units of one node's width, the widest layer starting at 0
    y: float  # in units of one layer's height


def layered(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, Position]:
    """Positions for `nodes`; `edges` are (child, parent) pairs between them (DERIVED_FROM),
    drawn from the parent above to the child below. Equal input gives equal output."""
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(nodes))
    graph.add_edges_from(sorted((p, c) for c, p in edges if p in graph and c in graph))
    layers = [sorted(g) for g in nx.topological_generations(graph)]
    order = {n: i for layer in layers for i, n in enumerate(layer)}
    parents = {n: sorted(graph.predecessors(n)) for n in graph}
    children = {n: sorted(graph.successors(n)) for n in graph}
    for sweep in range(SWEEPS):
        downward = sweep % 2 == 0
        sequence = layers[1:] if downward else layers[-2::-1]
        neighbours = parents if downward else children
        for layer in sequence:
            layer.sort(key=lambda n: (_barycentre(n, neighbours, order), order[n]))
            order.update({n: i for i, n in enumerate(layer)})
    widest = max((len(layer) for layer in layers), default=0)
    out: dict[str, Position] = {}
    for depth, layer in enumerate(layers):
        offset = (widest - len(layer)) / 2  # each layer centred under the widest
        for i, node in enumerate(layer):
            out[node] = Position(depth, i, offset + i, float(depth))
    return out


def _barycentre(node: str, neighbours: Mapping[str, list[str]], order: Mapping[str, int]) -> float:
    around = neighbours[node]
    if not around:
        return float(order[node])
    return sum(order[n] for n in around) / len(around)
