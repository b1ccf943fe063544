"""graph.cycle: the cycle check of a batch of new DERIVED_FROM edges (DOMAIN "The graph": a
derived item never derives, however indirectly, from itself). Against an oracle that adds the
edges one by one, and costs counted in step calls and items passed."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.cycle import closing_edge, cycle_path, first_closing_edge
from graph.model import Derivation
from tests.unit.test_traversal import CHAIN, DIAMOND, LAYERS, WIDTH, Steps, edge, lattice


def one_by_one(stored: list[Derivation], new: list[Derivation]) -> Derivation | None:
    """The oracle: each new edge in turn, refused when its parent already reaches its child
    upstream over what is stored and the new edges before it."""
    up: dict[str, set[str]] = {}
    for e in stored:
        up.setdefault(e.child_id, set()).add(e.parent_id)
    for e in new:
        seen, stack = {e.parent_id}, [e.parent_id]
        while stack:
            node = stack.pop()
            if node == e.child_id:
                return e
            for parent in up.get(node, ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        up.setdefault(e.child_id, set()).add(e.parent_id)
    return None


def test_an_edge_from_a_new_item_asks_one_query_and_walks_nothing() -> None:
    steps = Steps(DIAMOND)
    assert closing_edge([edge("f", "e"), edge("f", "a")], steps.parents, steps.children) is None
    assert steps.child_calls == [("f",)]
    assert steps.parent_calls == []


def test_a_source_deriving_from_its_descendant_is_refused() -> None:
    steps = Steps(DIAMOND)
    assert closing_edge([edge("a", "e")], steps.parents, steps.children) == edge("a", "e")


def test_a_cycle_made_inside_the_batch_is_refused_at_the_edge_that_closes_it() -> None:
    steps = Steps([])
    new = [edge("b", "a"), edge("c", "b"), edge("x", "y"), edge("a", "c"), edge("d", "c")]
    assert closing_edge(new, steps.parents, steps.children) == edge("a", "c")


def test_a_cycle_through_the_store_and_the_batch_is_refused() -> None:
    """d derives from c in the store; the batch makes x derive from d and c from x."""
    steps = Steps(CHAIN)
    new = [edge("x", "d"), edge("c", "x")]
    assert closing_edge(new, steps.parents, steps.children) == edge("c", "x")


def test_a_second_basis_for_an_item_with_descendants_is_no_cycle() -> None:
    """c gains a basis beside b: a diamond, not a cycle."""
    steps = Steps([*CHAIN, edge("z", "q")])
    assert closing_edge([edge("c", "z")], steps.parents, steps.children) is None


def test_the_check_walks_the_smaller_side_each_level_once() -> None:
    """A new basis for the top of the 3**40-path lattice: below s lie 122 items, above the new
    parent one. The upstream walk closes first, after one call; the downstream walk has moved
    at most one level, and no item is passed twice."""
    steps = Steps([*lattice(), edge("p", "root")])
    assert closing_edge([edge("s", "p")], steps.parents, steps.children) is None
    assert len(steps.parent_calls) <= 2
    assert len(steps.child_calls) <= 3  # the first asks who has children
    passed = [node for call in steps.parent_calls + steps.child_calls[1:] for node in call]
    assert len(passed) == len(set(passed))


def test_a_cycle_across_the_lattice_passes_each_item_once() -> None:
    """t's new child s closes a cycle through all 3**40 paths; each item is passed once, one
    call per level."""
    steps = Steps(lattice())
    assert closing_edge([edge("s", "t")], steps.parents, steps.children) == edge("s", "t")
    walked = steps.parent_calls + steps.child_calls[1:]
    assert len(walked) <= 2 * (LAYERS + 2)
    for calls in (steps.parent_calls, steps.child_calls[1:]):
        passed = [node for call in calls for node in call]
        assert len(passed) == len(set(passed)) <= 1 + LAYERS * WIDTH + 1


NODES = st.sampled_from("abcdefghij")
EDGES = st.lists(st.tuples(NODES, NODES).filter(lambda p: p[0] != p[1]), unique=True, max_size=25)


@settings(max_examples=300, deadline=None)
@given(stored=EDGES, new=EDGES)
def test_the_batch_check_refuses_what_one_by_one_refuses(
    stored: list[tuple[str, str]], new: list[tuple[str, str]]
) -> None:
    """Random stored graphs (kept acyclic by the oracle) and random batches: the same edge, or
    none, is refused as when the edges are added one after another."""
    acyclic: list[Derivation] = []
    for child, parent in stored:
        if one_by_one(acyclic, [edge(child, parent)]) is None:
            acyclic.append(edge(child, parent))
    known = {(e.child_id, e.parent_id) for e in acyclic}
    batch = [edge(c, p) for c, p in new if (c, p) not in known]
    steps = Steps(acyclic)
    assert closing_edge(batch, steps.parents, steps.children) == one_by_one(acyclic, batch)


def test_cycle_path_names_the_items_of_the_cycle_an_edge_would_close() -> None:
    # DOMAIN "The graph": a write that would close a cycle is refused with a clear error, here
    # the path itself: e derives from d, d from b, b from a; a derived from e closes a-e-d-b-a.
    steps = Steps(DIAMOND)
    assert cycle_path("a", "e", steps.parents) in (
        ("a", "e", "d", "b", "a"),
        ("a", "e", "d", "c", "a"),
    )
    assert cycle_path("e", "a", steps.parents) is None  # an edge down the lineage closes none
    assert cycle_path("b", "c", steps.parents) is None  # siblings
    assert cycle_path("b", "b", steps.parents) == ("b", "b")


def test_cycle_path_asks_one_query_per_level_of_ancestors() -> None:
    steps = Steps(CHAIN)
    assert cycle_path("a", "d", steps.parents) == ("a", "d", "c", "b", "a")
    assert steps.parent_calls == [("d",), ("c",), ("b",)]


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(1, 12),
    edges=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=40),
)
def test_first_closing_edge_is_the_first_prefix_with_a_cycle(
    size: int, edges: list[tuple[int, int]]
) -> None:
    """Against networkx: the position of the first edge whose prefix holds a cycle."""
    edges = [(c % size, p % size) for c, p in edges]
    children = np.array([c for c, _ in edges], dtype=np.int32)
    parents = np.array([p for _, p in edges], dtype=np.int32)
    expected = None
    graph = nx.DiGraph()
    graph.add_nodes_from(range(size))
    for position, (child, parent) in enumerate(edges):
        graph.add_edge(parent, child)
        if not nx.is_directed_acyclic_graph(graph):
            expected = position
            break
    assert first_closing_edge(children, parents, size) == expected


def test_first_closing_edge_walks_a_long_chain() -> None:
    """A chain is one node a round: each round costs its own edges, not the graph's size."""
    size = 20_000
    children = np.arange(1, size, dtype=np.int32)
    parents = np.arange(0, size - 1, dtype=np.int32)
    assert first_closing_edge(children, parents, size) is None
    closed = np.append(children, np.int32(0)), np.append(parents, np.int32(size - 1))
    assert first_closing_edge(*closed, size) == size - 1
