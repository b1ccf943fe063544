"""The compiled pieces of the fan-out (graph/kernel.py) against plain Python: the memo tables
against a dict, the layers against networkx's topological generations. The decisions
themselves are checked against graph.rules by tests/unit/test_propagation.py."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import kernel
from graph.lineage import _rows

keys = st.integers(min_value=0, max_value=(1 << 62) - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(keys, st.integers(min_value=-(1 << 40), max_value=1 << 40))))
def test_a_memo_answers_as_a_dict_through_its_growth(pairs: list[tuple[int, int]]) -> None:
    memo, expected = kernel.Memo(4), {}
    for key, value in pairs:
        memo.put(key, value)
        expected[key] = value
    assert memo.count == len(expected)
    assert memo.keys.size >= 2 * memo.count
    for key, value in expected.items():
        assert memo.get(key) == value
    absent = [k for k, _ in pairs if k + 1 not in expected]
    assert all(memo.get(k + 1) is None for k in absent)


def test_a_value_of_minus_one_is_told_from_an_absent_key() -> None:
    memo = kernel.Memo()
    memo.put(7, -1)
    assert memo.get(7) == -1
    assert memo.get(8) is None


def test_packed_keys_unpack() -> None:
    assert kernel.unpack_result(kernel.result_key(5, 12345, 678)) == (5, 12345, 678)
    assert kernel.unpack_pair(kernel.pair_key(kernel.LIMIT - 1, 3)) == (kernel.LIMIT - 1, 3)


def _arrays(size: int, edges: list[tuple[int, int]]) -> tuple[np.ndarray, ...]:
    """Parent and child rows of `edges` (parent, child) over `size` nodes."""
    by_child = sorted(edges, key=lambda e: e[1])
    by_parent = sorted(edges)
    parents = np.array([p for p, _ in by_child], dtype=np.int64)
    children = np.array([c for _, c in by_parent], dtype=np.int64)
    parent_rows = _rows(np.bincount([c for _, c in edges], minlength=size).astype(np.int64))
    child_rows = _rows(np.bincount([p for p, _ in edges], minlength=size).astype(np.int64))
    return parent_rows, parents, child_rows, children


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_layers_are_networkxs_topological_generations(data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=2, max_value=40))
    edges = sorted(
        set(
            data.draw(
                st.lists(
                    st.tuples(
                        st.integers(min_value=0, max_value=size - 2),
                        st.integers(min_value=1, max_value=size - 1),
                    ).filter(lambda e: e[0] < e[1]),
                    max_size=120,
                )
            )
        )
    )
    parent_rows, parents, child_rows, children = _arrays(size, edges)
    graph = nx.DiGraph(edges)
    graph.add_node(0)
    below = np.array(sorted(nx.descendants(graph, 0)), dtype=np.int64)
    inside = np.zeros(size, dtype=bool)
    inside[below] = True
    position = np.array(data.draw(st.permutations(range(size))), dtype=np.int64)
    order, starts = kernel.layered(
        below, inside, parent_rows, parents, child_rows, children, position
    )
    expected = [
        sorted(layer, key=lambda n: position[n])
        for layer in nx.topological_generations(graph.subgraph(below.tolist()))
    ]
    got = [order[a:b].tolist() for a, b in itertools.pairwise(starts.tolist())]
    assert got == expected


def test_a_cycle_leaves_nodes_out_of_the_layers() -> None:
    edges = [(0, 1), (1, 2), (2, 3), (3, 1)]
    parent_rows, parents, child_rows, children = _arrays(4, edges)
    below = np.array([1, 2, 3], dtype=np.int64)
    inside = np.array([False, True, True, True])
    order, _ = kernel.layered(
        below, inside, parent_rows, parents, child_rows, children, np.arange(4, dtype=np.int64)
    )
    assert order.size < below.size
