"""graph.traversal.lineage over a store's parents and children, on a DAG full of diamonds.

The ladder: R at the top; rung k has A<k> and B<k>, each derived from both nodes of rung
k - 1 (rung 1 from R); Z is derived from both nodes of the last rung. Beside it, EXT is a
second parent of A3 outside the ladder, and LEAF is derived from B4 alone. There are 2**n
paths from R to Z.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from graph.model import Derivation, Direction
from graph.store.base import GraphReader, GraphStore, GraphWriter
from graph.traversal import Subgraph, lineage
from tests.contract.builders import dag, edge


def ladder(rungs: int) -> list[tuple[str, str]]:
    """(child, parent) pairs of the ladder with `rungs` rungs, EXT and LEAF."""
    edges = [("A1", "R"), ("B1", "R")]
    for k in range(2, rungs + 1):
        for child in (f"A{k}", f"B{k}"):
            edges += [(child, f"A{k - 1}"), (child, f"B{k - 1}")]
    edges += [("Z", f"A{rungs}"), ("Z", f"B{rungs}"), ("A3", "EXT"), ("LEAF", "B4")]
    return edges


@pytest.fixture
def six(store: GraphStore) -> GraphStore:
    dag(store, ladder(6))
    return store


def walk(store: GraphStore, start: str, direction: Direction, depth: int | None) -> Subgraph:
    def work(tx: GraphReader) -> Subgraph:
        return lineage(start, direction, depth, parents=tx.parents, children=tx.children)

    return store.read(work)


def pairs(subgraph: Subgraph) -> set[tuple[str, str]]:
    found = [(e.child_id, e.parent_id) for e in subgraph.edges]
    assert len(found) == len(set(found)), "an edge is reported twice"
    return set(found)


def test_downstream_of_the_top_reaches_everything_below(six: GraphStore) -> None:
    result = walk(six, "R", Direction.DOWNSTREAM, None)

    assert result.depth == {
        "R": 0,
        **{f"{side}{k}": k for k in range(1, 7) for side in "AB"},
        "LEAF": 5,
        "Z": 7,
    }
    assert pairs(result) == set(ladder(6)) - {("A3", "EXT")}


def test_downstream_with_a_depth_limit(six: GraphStore) -> None:
    result = walk(six, "R", Direction.DOWNSTREAM, 2)

    assert result.depth == {"R": 0, "A1": 1, "B1": 1, "A2": 2, "B2": 2}
    assert pairs(result) == {
        ("A1", "R"),
        ("B1", "R"),
        ("A2", "A1"),
        ("A2", "B1"),
        ("B2", "A1"),
        ("B2", "B1"),
    }


def test_upstream_of_the_bottom_reaches_every_base(six: GraphStore) -> None:
    result = walk(six, "Z", Direction.UPSTREAM, None)

    assert result.depth == {
        "Z": 0,
        **{f"{side}{k}": k - 7 for k in range(1, 7) for side in "AB"},
        "EXT": -5,
        "R": -7,
    }
    assert pairs(result) == set(ladder(6)) - {("LEAF", "B4")}


def test_upstream_with_a_depth_limit(six: GraphStore) -> None:
    result = walk(six, "A4", Direction.UPSTREAM, 2)

    assert result.depth == {"A4": 0, "A3": -1, "B3": -1, "A2": -2, "B2": -2, "EXT": -2}
    assert pairs(result) == {
        ("A4", "A3"),
        ("A4", "B3"),
        ("A3", "A2"),
        ("A3", "B2"),
        ("A3", "EXT"),
        ("B3", "A2"),
        ("B3", "B2"),
    }


def test_both_directions_with_a_depth_limit(six: GraphStore) -> None:
    result = walk(six, "A3", Direction.BOTH, 2)

    assert result.depth == {
        "A3": 0,
        "A2": -1,
        "B2": -1,
        "EXT": -1,
        "A1": -2,
        "B1": -2,
        "A4": 1,
        "B4": 1,
        "A5": 2,
        "B5": 2,
        "LEAF": 2,
    }
    assert pairs(result) == {
        ("A3", "A2"),
        ("A3", "B2"),
        ("A3", "EXT"),
        ("A2", "A1"),
        ("A2", "B1"),
        ("B2", "A1"),
        ("B2", "B1"),
        ("A4", "A3"),
        ("B4", "A3"),
        ("A5", "A4"),
        ("A5", "B4"),
        ("B5", "A4"),
        ("B5", "B4"),
        ("LEAF", "B4"),
    }


def test_both_directions_without_a_limit_covers_the_connected_lineage(six: GraphStore) -> None:
    result = walk(six, "EXT", Direction.BOTH, None)

    assert result.depth == {
        "EXT": 0,
        "A3": 1,
        "A4": 2,
        "B4": 2,
        "A5": 3,
        "B5": 3,
        "LEAF": 3,
        "A6": 4,
        "B6": 4,
        "Z": 5,
    }
    assert ("A3", "A2") not in pairs(result)


@pytest.mark.parametrize("direction", list(Direction), ids=[d.value for d in Direction])
def test_depth_zero_is_the_start_alone(six: GraphStore, direction: Direction) -> None:
    result = walk(six, "A3", direction, 0)

    assert result.depth == {"A3": 0}
    assert result.edges == ()


@pytest.mark.parametrize("direction", list(Direction), ids=[d.value for d in Direction])
def test_an_item_without_edges_is_alone(six: GraphStore, direction: Direction) -> None:
    result = walk(six, "NOPE", direction, None)

    assert result.depth == {"NOPE": 0}
    assert result.edges == ()


def test_each_node_is_expanded_once_on_a_ladder_of_a_million_paths(store: GraphStore) -> None:
    rungs = 20
    dag(store, ladder(rungs))
    frontiers: list[list[str]] = []

    def work(tx: GraphReader) -> tuple[Subgraph, Subgraph]:
        def children(ids: Sequence[str]) -> list[Derivation]:
            frontiers.append(list(ids))
            return tx.children(ids)

        def parents(ids: Sequence[str]) -> list[Derivation]:
            frontiers.append(list(ids))
            return tx.parents(ids)

        down = lineage("R", Direction.DOWNSTREAM, None, parents=parents, children=children)
        up = lineage("Z", Direction.UPSTREAM, None, parents=parents, children=children)
        return down, up

    down, up = store.read(work)

    expanded = [id for frontier in frontiers for id in frontier]
    nodes = 2 * rungs + 4  # the rungs, R, Z, EXT and LEAF
    assert len(down.depth) == nodes - 1  # all but EXT
    assert len(up.depth) == nodes - 1  # all but LEAF
    assert down.depth["Z"] == rungs + 1
    assert up.depth["R"] == -(rungs + 1)
    # Each reached node sits in exactly one frontier per walk: R/Z, every rung, EXT or LEAF.
    assert len(expanded) == len(down.depth) + len(up.depth)
    assert sorted(expanded) == sorted([*down.depth, *up.depth])
    assert len(frontiers) == 2 * (rungs + 2)
    assert len(down.edges) == len(ladder(rungs)) - 1
    assert len(up.edges) == len(ladder(rungs)) - 1


def below(store: GraphStore, roots: Sequence[str]) -> dict[str, set[str]]:
    """The bases the store's `lineage(roots)` gives each item below `roots`."""

    def work(tx: GraphReader) -> dict[str, set[str]]:
        found = tx.lineage(roots)
        index = found.index()
        return {n: set(found.bases[n]) for n in set(index.names(index.below(roots))) - set(roots)}

    return store.read(work)


def test_lineage_below_an_item_holds_every_basis_of_every_descendant(six: GraphStore) -> None:
    """Bases outside the subtree (EXT of A3, R of B1) are there: a descendant is recomputed
    from all of its bases (D-12)."""
    assert below(six, ["A2"]) == {
        "A3": {"A2", "B2", "EXT"},
        "B3": {"A2", "B2"},
        **{f"{side}{k}": {f"A{k - 1}", f"B{k - 1}"} for k in (4, 5, 6) for side in "AB"},
        "LEAF": {"B4"},
        "Z": {"A6", "B6"},
    }


def test_lineage_below_several_roots_and_below_a_leaf(six: GraphStore) -> None:
    assert below(six, ["LEAF"]) == {}
    # A6 lies below B4 too, but it is a root: it is not recomputed.
    assert below(six, ["A6", "B4"]) == {
        "A5": {"A4", "B4"},
        "B5": {"A4", "B4"},
        "B6": {"A5", "B5"},
        "LEAF": {"B4"},
        "Z": {"A6", "B6"},
    }


def test_lineage_follows_edges_written_since_the_last_read(six: GraphStore) -> None:
    """A store that keeps the lineage in memory must not answer from an older graph."""
    assert "Z" not in below(six, ["LEAF"])
    six.write(lambda tx: tx.add_derivations([edge("Z", "LEAF")]))
    assert below(six, ["LEAF"]) == {"Z": {"A6", "B6", "LEAF"}}


def test_a_writer_sees_its_own_new_edges_in_the_lineage(six: GraphStore) -> None:
    def work(tx: GraphWriter) -> dict[str, set[str]]:
        tx.add_derivations([edge("Z", "LEAF")])
        found = tx.lineage(["LEAF"])
        index = found.index()
        return {n: set(found.bases[n]) for n in index.names(index.below(["LEAF"]))}

    assert below(six, ["LEAF"]) == {}  # read once, so that a cache is warm
    assert six.write(work) == {"Z": {"A6", "B6", "LEAF"}}
