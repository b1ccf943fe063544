"""Edges: DERIVED_FROM, CONTAINS_KEYPOINT, CLASSIFIED_UNDER and PROCESS_ITEM_OF."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from graph.errors import DuplicateId, UnknownId
from graph.model import BasisCase, Citation, Derivation, ItemKind
from graph.store.base import GraphReader, GraphStore, GraphWriter
from tests.contract.builders import add, edge, item, keypoint, organisation, rule

# S-1 and S-2 are sources; D-1 derives from both, D-2 from S-1, D-3 from D-1 and D-2.
S1_D1 = Derivation("D-1", "S-1", BasisCase.INVOLVES_KEYPOINT, ("K-2", "K-1"))
S2_D1 = Derivation("D-1", "S-2", BasisCase.IDENTICAL)
S1_D2 = Derivation("D-2", "S-1", BasisCase.SUMMARY, ("K-1",))
D2_D3 = Derivation("D-3", "D-2", BasisCase.ORIGINATOR_REQUIREMENT)
D1_D3 = Derivation("D-3", "D-1", BasisCase.SUMMARY, ("K-3",))


@pytest.fixture
def lineage(store: GraphStore) -> GraphStore:
    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation(),
            item("S-1"),
            item("S-2"),
            *(item(id, kind=ItemKind.DERIVED) for id in ["D-3", "D-1", "D-2"]),
            keypoint("K-2", "S-1"),
            keypoint("K-1", "S-1"),
            keypoint("K-3", "S-2"),
        )
        tx.add_derivations([D1_D3, S1_D2])
        tx.add_derivations([S2_D1, D2_D3, S1_D1])

    store.write(work)
    return store


def test_parents_by_child_then_parent(lineage: GraphStore) -> None:
    assert lineage.read(lambda tx: tx.parents(["D-3", "D-1"])) == [S1_D1, S2_D1, D1_D3, D2_D3]
    assert lineage.read(lambda tx: tx.parents(["D-2"])) == [S1_D2]
    assert lineage.read(lambda tx: tx.parents(["D-1", "D-1"])) == [S1_D1, S2_D1]


def test_children_by_parent_then_child(lineage: GraphStore) -> None:
    assert lineage.read(lambda tx: tx.children(["S-1", "D-1"])) == [D1_D3, S1_D1, S1_D2]
    assert lineage.read(lambda tx: tx.children(["S-2", "D-2"])) == [D2_D3, S2_D1]
    assert lineage.read(lambda tx: tx.children(["S-2", "S-2"])) == [S2_D1]


def test_edges_of_nothing_are_empty(lineage: GraphStore) -> None:
    assert lineage.read(lambda tx: tx.parents(["S-1", "S-2"])) == []
    assert lineage.read(lambda tx: tx.children(["D-3"])) == []
    assert lineage.read(lambda tx: tx.parents([])) == []
    assert lineage.read(lambda tx: tx.children([])) == []
    assert lineage.read(lambda tx: tx.parents(["NOPE"])) == []
    assert lineage.read(lambda tx: tx.children(["NOPE"])) == []


def test_derivation_keeps_case_and_keypoint_ids_in_order(lineage: GraphStore) -> None:
    [first, second] = lineage.read(lambda tx: tx.parents(["D-1"]))

    assert first.case is BasisCase.INVOLVES_KEYPOINT
    assert first.keypoint_ids == ("K-2", "K-1")
    assert second.case is BasisCase.IDENTICAL
    assert second.keypoint_ids == ()


def test_acyclic_additions_are_accepted(lineage: GraphStore) -> None:
    """A shortcut to an ancestor and a new parent above an inner node close no cycle."""
    shortcut = edge("D-3", "S-1", case=BasisCase.SUMMARY)
    above = edge("D-1", "S-3")

    def work(tx: GraphWriter) -> None:
        tx.add_item(item("S-3"))
        tx.add_derivations([shortcut, above])

    lineage.write(work)

    assert lineage.read(lambda tx: tx.parents(["D-3"])) == [D1_D3, D2_D3, shortcut]
    assert lineage.read(lambda tx: tx.parents(["D-1"])) == [S1_D1, S2_D1, above]
    assert lineage.read(lambda tx: tx.children(["S-3"])) == [above]


def test_edges_are_visible_inside_the_writing_transaction(store: GraphStore) -> None:
    def work(tx: GraphWriter) -> tuple[list[Derivation], list[Derivation]]:
        add(tx, organisation(), item("S-1"), item("D-1", kind=ItemKind.DERIVED))
        tx.add_derivations([edge("D-1", "S-1")])
        return tx.parents(["D-1"]), tx.children(["S-1"])

    assert store.write(work) == ([edge("D-1", "S-1")], [edge("D-1", "S-1")])


def test_contained_keypoints_per_item_in_id_order(lineage: GraphStore) -> None:
    def work(tx: GraphWriter) -> None:
        tx.add_contained_keypoints("D-1", ["K-3", "K-2"])
        tx.add_contained_keypoints("D-1", ["K-1"])
        tx.add_contained_keypoints("D-2", ["K-1"])
        tx.add_contained_keypoints("D-3", [])

    lineage.write(work)

    def read(tx: GraphReader) -> dict[str, list[str]]:
        return tx.contained_keypoints(["D-3", "D-2", "NOPE", "D-1", "S-1"])

    assert lineage.read(read) == {"D-1": ["K-1", "K-2", "K-3"], "D-2": ["K-1"]}
    assert lineage.read(lambda tx: tx.contained_keypoints(["D-2"])) == {"D-2": ["K-1"]}
    assert lineage.read(lambda tx: tx.contained_keypoints([])) == {}


def test_containments_of_many_items_at_once(lineage: GraphStore) -> None:
    def work(tx: GraphWriter) -> None:
        tx.add_contained_keypoints("D-1", ["K-2"])
        # As an import writes them: several items, a pair repeated, one already there.
        tx.add_containments([("D-1", "K-3"), ("D-2", "K-1"), ("D-1", "K-2"), ("D-2", "K-1")])
        tx.add_containments([])

    lineage.write(work)

    def read(tx: GraphReader) -> dict[str, list[str]]:
        return tx.contained_keypoints(["D-1", "D-2", "D-3"])

    assert lineage.read(read) == {"D-1": ["K-2", "K-3"], "D-2": ["K-1"]}


def test_classified_under_in_rule_id_order(store: GraphStore) -> None:
    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation(),
            item("S-1"),
            item("S-2"),
            rule("R-3", years=5),
            rule("R-1", long_term=True),
            rule("R-2"),
        )
        tx.add_classified_under("S-1", ["R-3", "R-1"])
        tx.add_classified_under("S-2", ["R-2"])

    store.write(work)

    assert store.read(lambda tx: tx.classified_under("S-1")) == ["R-1", "R-3"]
    assert store.read(lambda tx: tx.classified_under("S-2")) == ["R-2"]
    assert store.read(lambda tx: tx.classified_under("S-3")) == []

    store.write(lambda tx: tx.add_classified_under("S-1", ["R-2"]))

    assert store.read(lambda tx: tx.classified_under("S-1")) == ["R-1", "R-2", "R-3"]


def test_process_items_and_their_main_item(store: GraphStore) -> None:
    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation(),
            item("D-1", kind=ItemKind.DERIVED),
            item("D-2", kind=ItemKind.DERIVED),
            item("X-2"),
            item("X-1"),
            item("X-3"),
        )
        tx.add_process_item_of("X-2", "D-1")
        tx.add_process_item_of("X-1", "D-1")
        tx.add_process_item_of("X-3", "D-2")

    store.write(work)

    def read(tx: GraphReader) -> dict[str, str | None]:
        return {id: tx.main_item_of(id) for id in ["X-1", "X-2", "X-3", "D-1", "NOPE"]}

    assert store.read(read) == {"X-1": "D-1", "X-2": "D-1", "X-3": "D-2", "D-1": None, "NOPE": None}
    assert store.read(lambda tx: tx.process_items_of("D-1")) == ["X-1", "X-2"]
    assert store.read(lambda tx: tx.process_items_of("D-2")) == ["X-3"]
    assert store.read(lambda tx: tx.process_items_of("X-1")) == []
    assert store.read(lambda tx: tx.process_items_of("NOPE")) == []
    assert store.read(lambda tx: tx.process_items_for(["D-2", "D-1", "X-1", "NOPE"])) == [
        ("X-1", "D-1"),
        ("X-2", "D-1"),
        ("X-3", "D-2"),
    ]
    assert store.read(lambda tx: tx.process_links(["X-3", "X-1", "D-1"])) == [
        ("X-1", "D-1"),
        ("X-3", "D-2"),
    ]


def test_removed_derivations_are_gone_from_both_directions_and_the_lineage(
    lineage: GraphStore,
) -> None:
    """A correction of the lineage (service.correction): the edge goes, the others stay; read
    again in a later transaction, through whatever the store keeps in memory."""
    assert lineage.read(lambda tx: tx.parents(["D-1"])) == [S1_D1, S2_D1]  # kept in memory
    lineage.write(lambda tx: tx.remove_derivations([("D-1", "S-2")]))

    assert lineage.read(lambda tx: tx.parents(["D-1"])) == [S1_D1]
    assert lineage.read(lambda tx: tx.children(["S-2"])) == []
    assert lineage.read(lambda tx: tx.lineage(["S-2"]).bases.get("D-1", {})) == {}
    # The edge can be added again: nothing of it is left behind.
    lineage.write(lambda tx: tx.add_derivations([S2_D1]))
    assert lineage.read(lambda tx: tx.parents(["D-1"])) == [S1_D1, S2_D1]


def test_removing_an_edge_that_is_not_there_removes_nothing(lineage: GraphStore) -> None:
    def work(tx: GraphWriter) -> None:
        tx.remove_derivations([("D-1", "S-1"), ("D-1", "D-2")])

    with pytest.raises(UnknownId):
        lineage.write(work)
    assert lineage.read(lambda tx: tx.parents(["D-1"])) == [S1_D1, S2_D1]


def test_removed_containments_are_gone_and_a_missing_pair_is_passed_over(
    lineage: GraphStore,
) -> None:
    lineage.write(lambda tx: tx.add_contained_keypoints("D-1", ["K-1", "K-2", "K-3"]))
    lineage.write(lambda tx: tx.remove_containments([("D-1", "K-2"), ("D-2", "K-3")]))

    found = lineage.read(lambda tx: tx.contained_keypoints(["D-1"]))
    assert sorted(found["D-1"]) == ["K-1", "K-3"]


def test_citations_are_their_own_edges_never_derivations(lineage: GraphStore) -> None:
    """CITES (D-14: cited, not a basis): read from either end, and no traversal of
    DERIVED_FROM, nor the lineage the fan-out reads, ever meets it."""
    at = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    cites = Citation("D-2", "S-2", "引用其公开部分的结论", None, at)
    before = lineage.read(lambda tx: (tx.parents(["D-2"]), tx.children(["S-2"])))
    lineage.write(lambda tx: tx.add_citations([cites]))

    assert lineage.read(lambda tx: tx.citations(["D-2"])) == [cites]
    assert lineage.read(lambda tx: tx.citations(["S-2", "D-2"])) == [cites]
    assert lineage.read(lambda tx: tx.citations(["S-1"])) == []
    assert lineage.read(lambda tx: (tx.parents(["D-2"]), tx.children(["S-2"]))) == before
    assert "D-2" not in lineage.read(lambda tx: tx.lineage(["S-2"]).bases)

    with pytest.raises(DuplicateId):
        lineage.write(lambda tx: tx.add_citations([cites]))
    with pytest.raises(UnknownId):
        lineage.write(lambda tx: tx.add_citations([replace(cites, cited_id="NOPE")]))
    assert lineage.read(lambda tx: tx.citations(["D-2", "NOPE"])) == [cites]
