"""The layered drawing of a lineage (graph.layout): parents above children, one place per
node, stable, and an ordering that undoes a crossing."""

from __future__ import annotations

import random

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.layout import layered


def crossings(positions: dict[str, tuple[int, int]], edges: list[tuple[str, str]]) -> int:
    count = 0
    for i, (c1, p1) in enumerate(edges):
        for c2, p2 in edges[i + 1 :]:
            if positions[p1][0] != positions[p2][0] or positions[c1][0] != positions[c2][0]:
                continue
            top = positions[p1][1] - positions[p2][1]
            bottom = positions[c1][1] - positions[c2][1]
            count += top * bottom < 0
    return count


def test_sources_are_on_top_and_each_item_below_all_of_its_parents() -> None:
    edges = [("D1", "S1"), ("D2", "D1"), ("D3", "D1"), ("D3", "S2"), ("D4", "D2"), ("D4", "D3")]
    nodes = ["S1", "S2", "D1", "D2", "D3", "D4"]
    found = layered(nodes, edges)
    assert {n for n, p in found.items() if p.layer == 0} == {"S1", "S2"}
    assert (found["D1"].layer, found["D3"].layer, found["D4"].layer) == (1, 2, 3)
    for child, parent in edges:
        assert found[child].layer > found[parent].layer


def test_the_order_within_a_layer_undoes_a_crossing() -> None:
    # Ids chosen so that sorting by id alone would cross the two edges.
    edges = [("A-child", "B-parent"), ("B-child", "A-parent")]
    found = layered(["A-parent", "B-parent", "A-child", "B-child"], edges)
    at = {n: (p.layer, p.order) for n, p in found.items()}
    assert crossings(at, edges) == 0


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=60))
def test_any_dag_gets_one_place_per_node_parents_above(seed: int, size: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a test graph, not a secret
    nodes = [f"n{i}" for i in range(size)]
    edges = [
        (nodes[c], nodes[p])
        for c in range(size)
        for p in rng.sample(range(c), min(c, rng.randint(0, 3)))
    ]
    found = layered(nodes, edges)
    assert set(found) == set(nodes)
    places = {(p.layer, p.order) for p in found.values()}
    assert len(places) == size
    for child, parent in edges:
        assert found[child].layer > found[parent].layer
    assert layered(list(reversed(nodes)), list(reversed(edges))) == found  # stable


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=1, max_value=60))
def test_layers_are_networkx_topological_generations(seed: int, size: int) -> None:
    """networkx is the reference for the layers the layout computes by itself."""
    rng = random.Random(seed)  # noqa: S311 - a test graph, not a secret
    nodes = [f"n{i:02d}" for i in rng.sample(range(size), size)]
    edges = [
        (nodes[c], nodes[p])
        for c in range(size)
        for p in rng.sample(range(c), min(c, rng.randint(0, 3)))
    ]
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((p, c) for c, p in edges)
    expected = {n: depth for depth, g in enumerate(nx.topological_generations(graph)) for n in g}
    assert {n: p.layer for n, p in layered(nodes, edges).items()} == expected


def test_a_cycle_is_refused() -> None:
    with pytest.raises(ValueError, match="acyclic"):
        layered(["a", "b", "c"], [("a", "b"), ("b", "a"), ("c", "a")])
