"""The benchmark's DAG generator: deterministic, diamond-heavy, everything under one root."""

from __future__ import annotations

from collections import Counter

import networkx as nx

from bench.dag import generate, layers


def test_layers_hold_every_item() -> None:
    assert layers(10_000, 20) == [1, *([500] * 19), 499]
    assert sum(layers(12_345, 20)) == 12_345


def test_same_seed_same_graph_and_other_seed_other_graph() -> None:
    assert generate(500, 10, seed=3) == generate(500, 10, seed=3)
    assert generate(500, 10, seed=3).edges != generate(500, 10, seed=4).edges


def test_three_parents_from_the_layer_above_and_one_root() -> None:
    dag = generate(2_000, 20)
    parents = Counter(edge.child_id for edge in dag.edges)
    below_second = [i.id for i in dag.items if not i.id.startswith(("B00-", "B01-", "B02-"))]
    assert all(parents[i] == 3 for i in below_second)
    for edge in dag.edges:
        assert int(edge.child_id[1:3]) == int(edge.parent_id[1:3]) + 1
    graph = nx.DiGraph((e.parent_id, e.child_id) for e in dag.edges)
    assert nx.is_directed_acyclic_graph(graph)
    assert len(nx.descendants(graph, dag.root)) == 1_999
    # Diamonds everywhere: the number of root-to-leaf paths dwarfs the number of items.
    paths = dict.fromkeys(graph.nodes, 0)
    paths[dag.root] = 1
    for node in nx.topological_sort(graph):
        for child in graph.successors(node):
            paths[child] += paths[node]
    assert max(paths.values()) > 10**6
