"""Fan-out over a lineage graph (D-12, D-13, X-13, X-14, X-16, X-22): pure, no I/O."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date

import networkx as nx
import pytest

from graph import propagation, rules
from graph.model import (
    BasisCase,
    Classification,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Years,
)
from graph.propagation import Action, World, fan_out

DAY = date(2024, 1, 1)
ORG = KnowledgeScope(organisations=frozenset({"O"}))


def item(id: str, level: Level = Level.SECRET, years: int = 20, *, source: bool = False) -> Item:
    return Item(
        id=id,
        kind=ItemKind.SOURCE if source else ItemKind.DERIVED,
        title=f"事项 {id}",
        document_number="",
        organisation_id="O",
        issued_on=DAY,
        status=ItemStatus.CLASSIFIED,
        classification=Classification(level, Years(years, DAY)),
        scope=ORG,
    )


def keypoint(id: str, source: str, level: Level, years: int) -> Keypoint:
    return Keypoint(id, source, f"密点 {id}", Classification(level, Years(years, DAY)))


def world(
    items: list[Item],
    keypoints: list[Keypoint] | None = None,
    process_items: dict[str, list[str]] | None = None,
) -> World:
    return World(
        items={i.id: i for i in items},
        keypoints={k.id: k for k in keypoints or []},
        scope_rules={},
        organisations={},
        person_org={},
        process_items=process_items or {},
    )


def graph(*edges: tuple[str, str] | tuple[str, str, BasisCase, tuple[str, ...]]) -> nx.DiGraph:
    """Edges as (parent, child) or (parent, child, case, keypoint ids)."""
    lineage = nx.DiGraph()
    for edge in edges:
        parent, child = edge[0], edge[1]
        case = edge[2] if len(edge) > 2 else BasisCase.SUMMARY
        kps = edge[3] if len(edge) > 3 else ()
        lineage.add_edge(parent, child, case=case, keypoint_ids=kps)
    return lineage


def declassified(value: Item, status: ItemStatus = ItemStatus.DECLASSIFIED_PUBLIC) -> Item:
    return replace(value, status=status)


def by_id(impacts: list[propagation.Impact]) -> dict[str, propagation.Impact]:
    found = {i.item_id: i for i in impacts}
    assert len(found) == len(impacts), "each item is impacted at most once"
    return found


def test_x13_declassifying_a_source_declassifies_the_whole_chain() -> None:
    s, a, b, c = item("S", source=True), item("A"), item("B"), item("C")
    impacts = fan_out(
        graph(("S", "A"), ("A", "B"), ("B", "C")),
        world([s, a, b, c]),
        changed_items={"S": declassified(s)},
    )
    assert [i.item_id for i in impacts] == ["A", "B", "C"]
    assert all(i.actions == (Action.DECLASSIFY,) for i in impacts)
    assert [i.path for i in impacts] == [("S", "A"), ("S", "A", "B"), ("S", "A", "B", "C")]
    # derived items become work secrets unless the originator agreed to publish them.
    assert all(i.after.status is ItemStatus.DECLASSIFIED_WORK_SECRET for i in impacts)
    assert all({"D-12", "X-13", "X-25"} <= set(i.articles) for i in impacts)


def test_d12_a_descendant_keeping_another_basis_is_downgraded_not_declassified() -> None:
    s, t = item("S", Level.TOP_SECRET, 30, source=True), item("T", Level.CONFIDENTIAL, 10)
    a = item("A", Level.TOP_SECRET, 30)
    impacts = fan_out(
        graph(("S", "A"), ("T", "A")), world([s, t, a]), changed_items={"S": declassified(s)}
    )
    [impact] = impacts
    assert impact.actions == (Action.CHANGE_LEVEL, Action.CHANGE_PERIOD)
    assert impact.after.status is ItemStatus.CLASSIFIED
    assert impact.after.classification == Classification(Level.CONFIDENTIAL, Years(10, DAY))
    assert impact.kept_bases == ("T",)


def test_a_descendant_whose_other_basis_already_governs_is_left_alone() -> None:
    s, t = item("S", Level.CONFIDENTIAL, 10, source=True), item("T", Level.SECRET, 20)
    a = item("A", Level.SECRET, 20)
    assert (
        fan_out(
            graph(("S", "A"), ("T", "A")), world([s, t, a]), changed_items={"S": declassified(s)}
        )
        == []
    )


def test_diamonds_give_one_notice_per_descendant_recomputed_from_all_parents() -> None:
    s = item("S", source=True)
    a, b, c = item("A"), item("B"), item("C")
    lower = replace(s, classification=Classification(Level.CONFIDENTIAL, Years(20, DAY)))
    impacts = by_id(
        fan_out(
            graph(("S", "A"), ("S", "B"), ("A", "C"), ("B", "C")),
            world([s, a, b, c]),
            changed_items={"S": lower},
        )
    )
    assert set(impacts) == {"A", "B", "C"}
    assert impacts["C"].actions == (Action.CHANGE_LEVEL,)
    assert impacts["C"].path in {("S", "A", "C"), ("S", "B", "C")}


def test_d9_a_shorter_source_term_shortens_every_descendant() -> None:
    s, a, b = item("S", source=True), item("A"), item("B")
    shorter = replace(s, classification=Classification(Level.SECRET, Years(5, DAY)))
    impacts = fan_out(graph(("S", "A"), ("A", "B")), world([s, a, b]), changed_items={"S": shorter})
    assert [(i.item_id, i.actions) for i in impacts] == [
        ("A", (Action.CHANGE_PERIOD,)),
        ("B", (Action.CHANGE_PERIOD,)),
    ]
    assert impacts[-1].after.classification == Classification(Level.SECRET, Years(5, DAY))


def test_x14_partial_declassification_reaches_only_items_involving_the_keypoint() -> None:
    s = item("S", source=True)
    k1 = keypoint("K1", "S", Level.SECRET, 20)
    k2 = keypoint("K2", "S", Level.CONFIDENTIAL, 10)
    only_k2, only_k1, both = item("A", Level.CONFIDENTIAL, 10), item("B"), item("C")
    lineage = graph(
        ("S", "A", BasisCase.INVOLVES_KEYPOINT, ("K2",)),
        ("S", "B", BasisCase.INVOLVES_KEYPOINT, ("K1",)),
        ("S", "C", BasisCase.INVOLVES_KEYPOINT, ("K1", "K2")),
    )
    impacts = fan_out(
        lineage,
        world([s, only_k2, only_k1, both], [k1, k2]),
        changed_keypoints={"K2": replace(k2, declassified=True)},
    )
    assert [(i.item_id, i.actions) for i in impacts] == [("A", (Action.DECLASSIFY,))]
    assert "X-14" in impacts[0].articles


def test_a_declassified_descendant_is_not_touched_again() -> None:
    s, a, b = item("S", source=True), declassified(item("A")), item("B")
    impacts = fan_out(
        graph(("S", "A"), ("A", "B")), world([s, a, b]), changed_items={"S": declassified(s)}
    )
    assert [i.item_id for i in impacts] == ["B"]


def test_x16_x22_process_items_are_reviewed_with_their_main_item() -> None:
    s, a, draft = item("S", source=True), item("A"), item("A-DRAFT")
    impacts = by_id(
        fan_out(
            graph(("S", "A")),
            world([s, a, draft], process_items={"A": ["A-DRAFT"], "S": ["A-DRAFT"]}),
            changed_items={"S": declassified(s)},
        )
    )
    review = impacts["A-DRAFT"]
    assert review.actions == (Action.REVIEW,)
    assert review.after.status is ItemStatus.CLASSIFIED  # not declassified with it
    assert review.articles == ("X-16", "X-22")


def test_cost_is_linear_in_nodes_not_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lattice 40 layers deep, 3 wide, every node joined to all of the layer above: 3^39
    paths, but each descendant is recomputed exactly once."""
    layers = [["S"], *[[f"L{d}-{w}" for w in range(3)] for d in range(1, 41)]]
    edges = [(p, c) for upper, lower in itertools.pairwise(layers) for p in upper for c in lower]
    nodes = [item("S", source=True), *(item(n) for layer in layers[1:] for n in layer)]
    calls: list[int] = []
    real = rules.required_classification

    def counted(*args: object, **kwargs: object) -> rules.Requirement:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rules, "required_classification", counted)
    impacts = fan_out(graph(*edges), world(nodes), changed_items={"S": declassified(nodes[0])})
    assert len(impacts) == 120
    assert len(calls) == 120
    assert propagation.descendants(graph(*edges), ["S"]) == {n.id for n in nodes[1:]}


def test_x16_a_process_item_derived_from_the_source_is_reviewed_not_declassified() -> None:
    s, main, draft = item("S", source=True), item("A"), item("A-DRAFT")
    impacts = by_id(
        fan_out(
            graph(("S", "A"), ("S", "A-DRAFT")),
            world([s, main, draft], process_items={"A": ["A-DRAFT"]}),
            changed_items={"S": declassified(s)},
        )
    )
    assert impacts["A"].actions == (Action.DECLASSIFY,)
    assert impacts["A-DRAFT"].actions == (Action.REVIEW,)
    assert impacts["A-DRAFT"].after.status is ItemStatus.CLASSIFIED
    assert {"X-16", "X-22"} <= set(impacts["A-DRAFT"].articles)
