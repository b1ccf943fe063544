"""A layered drawing of a lineage DAG: sources at the top, each item one layer below the lowest
of its parents, and the items of a layer ordered to keep edges short (barycentre sweeps).
Pure functions; the viewer draws what they give, so it needs no layout code of its own.

Layers are topological generations (a layer holds the items whose parents all lie in the
layers above), found here over plain lists: networkx's graph and its sorts per node were half
of a 10,000-node layout. Cost: linear in nodes and edges per sweep, a fixed number of
sweeps, never in the number of paths.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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
    names = sorted(set(nodes))
    known = set(names)
    parents: dict[str, list[str]] = {n: [] for n in names}
    children: dict[str, list[str]] = {n: [] for n in names}
    # By parent, then child: every list below comes out sorted, without a sort per node.
    for parent, child in sorted({(p, c) for c, p in edges if p in known and c in known}):
        children[parent].append(child)
        parents[child].append(parent)
    layers = _generations(names, parents, children)
    order = {n: i for layer in layers for i, n in enumerate(layer)}
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


def _generations(
    names: Sequence[str], parents: Mapping[str, list[str]], children: Mapping[str, list[str]]
) -> list[list[str]]:
    """The layers, each sorted: the nodes without parents, then those whose parents all lie
    above (Kahn's algorithm, a generation at a time)."""
    waiting = {n: len(parents[n]) for n in names}
    layer = [n for n in names if not waiting[n]]
    layers: list[list[str]] = []
    while layer:
        layers.append(layer)
        following = []
        for node in layer:
            for child in children[node]:
                waiting[child] -= 1
                if not waiting[child]:
                    following.append(child)
        layer = sorted(following)
    if sum(len(layer) for layer in layers) != len(names):
        raise ValueError("a lineage to lay out must be acyclic")
    return layers
