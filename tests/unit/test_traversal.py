"""graph.traversal over an in-memory set of DERIVED_FROM edges (DOMAIN "The graph": diamonds
are normal, chains may be deep). Costs are counted in step calls and nodes passed, not time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

from graph.model import BasisCase, Derivation, Direction
from graph.traversal import expand, lineage


def edge(child: str, parent: str) -> Derivation:
    return Derivation(child, parent, BasisCase.SUMMARY)


class Steps:
    """Step functions over a fixed edge list that record every frontier they are given."""

    def __init__(self, edges: Iterable[Derivation]) -> None:
        self.edges = tuple(edges)
        self.parent_calls: list[tuple[str, ...]] = []
        self.child_calls: list[tuple[str, ...]] = []

    def parents(self, frontier: Sequence[str]) -> list[Derivation]:
        self.parent_calls.append(tuple(frontier))
        wanted = set(frontier)
        return [e for e in self.edges if e.child_id in wanted]

    def children(self, frontier: Sequence[str]) -> list[Derivation]:
        self.child_calls.append(tuple(frontier))
        wanted = set(frontier)
        return [e for e in self.edges if e.parent_id in wanted]


def pairs(edges: Iterable[Derivation]) -> set[tuple[str, str]]:
    return {(e.child_id, e.parent_id) for e in edges}


# A chain: a is the source; b derives from a, c from b, d from c.
CHAIN = [edge("b", "a"), edge("c", "b"), edge("d", "c")]

# A diamond: b and c derive from a; d derives from both b and c; e from d.
DIAMOND = [edge("b", "a"), edge("c", "a"), edge("d", "b"), edge("d", "c"), edge("e", "d")]


def test_expand_downstream_signed_depths_positive() -> None:
    steps = Steps(CHAIN)
    sub = expand("a", steps.children, False, None)
    assert sub.depth == {"a": 0, "b": 1, "c": 2, "d": 3}
    assert pairs(sub.edges) == {("b", "a"), ("c", "b"), ("d", "c")}
    assert steps.child_calls == [("a",), ("b",), ("c",), ("d",)]


def test_expand_upstream_signed_depths_negative() -> None:
    steps = Steps(CHAIN)
    sub = expand("d", steps.parents, True, None)
    assert sub.depth == {"d": 0, "c": -1, "b": -2, "a": -3}
    assert pairs(sub.edges) == {("b", "a"), ("c", "b"), ("d", "c")}


def test_expand_depth_limit_stops_the_walk() -> None:
    steps = Steps(CHAIN)
    sub = expand("a", steps.children, False, 2)
    assert sub.depth == {"a": 0, "b": 1, "c": 2}
    assert pairs(sub.edges) == {("b", "a"), ("c", "b")}
    assert steps.child_calls == [("a",), ("b",)]


def test_expand_depth_one_is_the_direct_neighbours() -> None:
    steps = Steps(DIAMOND)
    sub = expand("d", steps.parents, True, 1)
    assert sub.depth == {"d": 0, "b": -1, "c": -1}
    assert pairs(sub.edges) == {("d", "b"), ("d", "c")}
    assert steps.parent_calls == [("d",)]


def test_expand_depth_zero_is_the_start_alone() -> None:
    steps = Steps(CHAIN)
    sub = expand("a", steps.children, False, 0)
    assert sub.depth == {"a": 0}
    assert sub.edges == ()
    assert steps.child_calls == []


def test_expand_isolated_node() -> None:
    steps = Steps(CHAIN)
    sub = expand("z", steps.children, False, None)
    assert sub.depth == {"z": 0}
    assert sub.edges == ()
    assert steps.child_calls == [("z",)]


def test_expand_diamond_visits_the_join_once() -> None:
    """d is reached along a→b→d and a→c→d; it is expanded once, at depth 2."""
    steps = Steps(DIAMOND)
    sub = expand("a", steps.children, False, None)
    assert sub.depth == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3}
    assert pairs(sub.edges) == {("b", "a"), ("c", "a"), ("d", "b"), ("d", "c"), ("e", "d")}
    assert len(sub.edges) == 5
    assert steps.child_calls == [("a",), ("b", "c"), ("d",), ("e",)]


def test_expand_diamond_upstream_visits_the_top_once() -> None:
    steps = Steps(DIAMOND)
    sub = expand("e", steps.parents, True, None)
    assert sub.depth == {"e": 0, "d": -1, "b": -2, "c": -2, "a": -3}
    assert len(sub.edges) == 5
    passed = [node for call in steps.parent_calls for node in call]
    assert sorted(passed) == ["a", "b", "c", "d", "e"]


def test_expand_shortcut_takes_the_shortest_distance() -> None:
    """c derives from b and directly from a: its distance from a is 1."""
    steps = Steps([edge("b", "a"), edge("c", "b"), edge("c", "a")])
    sub = expand("a", steps.children, False, None)
    assert sub.depth == {"a": 0, "b": 1, "c": 1}
    assert len(sub.edges) == 3


def test_lineage_upstream() -> None:
    steps = Steps(DIAMOND)
    sub = lineage("d", Direction.UPSTREAM, None, parents=steps.parents, children=steps.children)
    assert sub.depth == {"d": 0, "b": -1, "c": -1, "a": -2}
    assert pairs(sub.edges) == {("d", "b"), ("d", "c"), ("b", "a"), ("c", "a")}
    assert steps.child_calls == []


def test_lineage_downstream() -> None:
    steps = Steps(DIAMOND)
    sub = lineage("b", Direction.DOWNSTREAM, None, parents=steps.parents, children=steps.children)
    assert sub.depth == {"b": 0, "d": 1, "e": 2}
    assert pairs(sub.edges) == {("d", "b"), ("e", "d")}
    assert steps.parent_calls == []


def test_lineage_both_directions_signed() -> None:
    """From b: ancestors negative (a), descendants positive (d, e); c is neither."""
    steps = Steps(DIAMOND)
    sub = lineage("b", Direction.BOTH, None, parents=steps.parents, children=steps.children)
    assert sub.depth == {"b": 0, "a": -1, "d": 1, "e": 2}
    assert pairs(sub.edges) == {("b", "a"), ("d", "b"), ("e", "d")}
    assert len(sub.edges) == 3


def test_lineage_both_with_depth_limit() -> None:
    steps = Steps(DIAMOND)
    sub = lineage("d", Direction.BOTH, 1, parents=steps.parents, children=steps.children)
    assert sub.depth == {"d": 0, "b": -1, "c": -1, "e": 1}
    assert pairs(sub.edges) == {("d", "b"), ("d", "c"), ("e", "d")}
    assert steps.parent_calls == [("d",)]
    assert steps.child_calls == [("d",)]


# A wide diamond lattice: s, then LAYERS layers of WIDTH nodes, each node a parent of every
# node in the next layer, then t. There are WIDTH ** LAYERS paths from s to t.

LAYERS = 40
WIDTH = 3


def lattice() -> list[Derivation]:
    layers = [["s"], *[[f"n{i}-{j}" for j in range(WIDTH)] for i in range(LAYERS)], ["t"]]
    return [
        edge(child, parent)
        for upper, lower in pairwise(layers)
        for parent in upper
        for child in lower
    ]


def test_lattice_downstream_one_call_per_depth_each_node_once() -> None:
    """3**40 paths from s to t; the walk makes one step call per depth level (LAYERS + 2,
    the last one on t finding nothing) and passes each node exactly once."""
    steps = Steps(lattice())
    sub = expand("s", steps.children, False, None)
    assert len(steps.child_calls) == LAYERS + 2
    passed = [node for call in steps.child_calls for node in call]
    assert len(passed) == len(set(passed)) == 1 + LAYERS * WIDTH + 1
    assert all(len(call) == WIDTH for call in steps.child_calls[1:-1])
    assert sub.depth["t"] == LAYERS + 1
    assert sub.depth["n0-0"] == 1
    assert sub.depth[f"n{LAYERS - 1}-{WIDTH - 1}"] == LAYERS
    assert len(sub.depth) == 1 + LAYERS * WIDTH + 1
    assert len(sub.edges) == 2 * WIDTH + (LAYERS - 1) * WIDTH * WIDTH


def test_lattice_upstream_one_call_per_depth_each_node_once() -> None:
    steps = Steps(lattice())
    sub = expand("t", steps.parents, True, None)
    assert len(steps.parent_calls) == LAYERS + 2
    passed = [node for call in steps.parent_calls for node in call]
    assert len(passed) == len(set(passed)) == 1 + LAYERS * WIDTH + 1
    assert sub.depth["s"] == -(LAYERS + 1)


def test_lattice_lineage_both_with_depth_limit() -> None:
    """From the middle layer, 3 steps each way: 3 layers above and 3 below."""
    steps = Steps(lattice())
    middle = f"n{LAYERS // 2}-0"
    sub = lineage(middle, Direction.BOTH, 3, parents=steps.parents, children=steps.children)
    assert len(steps.parent_calls) == 3
    assert len(steps.child_calls) == 3
    assert len(sub.depth) == 1 + 3 * WIDTH + 3 * WIDTH
    assert sub.depth[f"n{LAYERS // 2 - 3}-2"] == -3
    assert sub.depth[f"n{LAYERS // 2 + 3}-1"] == 3
