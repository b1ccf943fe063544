"""Fan-out over a lineage graph (D-12, D-13, X-13, X-14, X-16, X-22): pure, no I/O."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph import propagation, rules
from graph.index import GraphIndex
from graph.lazy import LazyItems
from graph.lineage import Lineage
from graph.model import (
    BasisCase,
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    ScopeRule,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
)
from graph.propagation import Action, World, fan_out, profiles_by_columns

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


def graph(*edges: tuple[str, str] | tuple[str, str, BasisCase, tuple[str, ...]]) -> Lineage:
    """Edges as (parent, child) or (parent, child, case, keypoint ids)."""
    return Lineage(
        Derivation(
            edge[1],
            edge[0],
            edge[2] if len(edge) > 2 else BasisCase.SUMMARY,
            edge[3] if len(edge) > 3 else (),
        )
        for edge in edges
    )


def declassified(value: Item, status: ItemStatus = ItemStatus.DECLASSIFIED_PUBLIC) -> Item:
    return replace(value, status=status)


def by_id(impacts: Sequence[propagation.Impact]) -> dict[str, propagation.Impact]:
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
    assert not fan_out(
        graph(("S", "A"), ("T", "A")), world([s, t, a]), changed_items={"S": declassified(s)}
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
    paths, but each descendant is recomputed exactly once, and the rules run once for each
    distinct set of basis values when the impacts are read (here two: the declassified source
    alone, three declassified parents); deciding the outcomes runs them not at all."""
    layers = [["S"], *[[f"L{d}-{w}" for w in range(3)] for d in range(1, 41)]]
    edges = [(p, c) for upper, lower in itertools.pairwise(layers) for p in upper for c in lower]
    nodes = [item("S", source=True), *(item(n) for layer in layers[1:] for n in layer)]
    ruled: list[int] = []
    real_rules = rules.required_classification

    def counted(*args: Any, **kwargs: Any) -> rules.Requirement:
        ruled.append(1)
        return real_rules(*args, **kwargs)

    monkeypatch.setattr(rules, "required_classification", counted)
    lineage = graph(*edges)
    impacts = fan_out(lineage, world(nodes), changed_items={"S": declassified(nodes[0])})
    assert len(impacts) == 120
    assert not ruled
    assert all(i.actions == (Action.DECLASSIFY,) for i in impacts)
    assert len(ruled) == 2
    index = graph(*edges).index()
    assert sorted(index.names(index.below(["S"]))) == sorted(n.id for n in nodes[1:])


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


# Values the random lineages draw from. Equal classifications appear both as the same object
# and as equal copies, so the fan-out's reuse of outcomes (keyed by identity) meets both.
_LEVELS = (Level.TOP_SECRET, Level.SECRET, Level.CONFIDENTIAL)
_POOL = [Classification(level, Years(years, DAY)) for level in _LEVELS for years in (5, 10)]
_POOL += [Classification(c.level, Years(c.period.years, DAY)) for c in _POOL[:3]]  # type: ignore[union-attr]
# Periods of other forms, some ending with others: a date on the day ten years from DAY ends,
# two conditions (which the rules join), long-term, and a level alone.
_POOL += [
    Classification(Level.SECRET, UntilDate(date(2034, 1, 1))),
    Classification(Level.CONFIDENTIAL, UntilCondition("甲工程完成")),
    Classification(Level.SECRET, UntilCondition("乙型号定型")),
    Classification(Level.CONFIDENTIAL, LongTerm()),
    Classification(Level.SECRET, Unmarked(DAY)),
    Classification(Level.CONFIDENTIAL, Years(20, DAY)),
]
_SCOPES = [ORG, KnowledgeScope(organisations=frozenset({"O", "P"})), None]
# O may classify up to 绝密; P only 秘密, so what it derives above that cites D-5.
_ORGANISATIONS = {
    "O": Organisation("O", "甲单位", Level.TOP_SECRET),
    "P": Organisation("P", "乙单位", Level.CONFIDENTIAL),
}
_RULES = [
    ScopeRule("R-1", "某类事项", "某保密事项范围", Level.SECRET, years=10),
    ScopeRule("R-2", "另一类事项", "某保密事项范围", Level.CONFIDENTIAL),
    ScopeRule("R-3", "又一类事项", "某保密事项范围", Level.CONFIDENTIAL, long_term=True),
]


@st.composite
def lineages(draw: st.DrawFn) -> tuple[Lineage, World, dict[str, Item], dict[str, Keypoint]]:
    """A source S with keypoints K1, K2, up to 14 items below it (each with one to three
    parents among the items before it, sometimes the classified outsider T; of organisation O
    or P, issued on one of two days, some classified under scope rules too), and a change of
    S: declassified, reclassified, or its keypoint K1 declassified."""
    count = draw(st.integers(1, 14))
    names = ["S", *(f"N{i:02}" for i in range(count))]
    values: list[Item] = []
    for name in ["T", *names]:
        value = replace(
            item(name, source=name in {"S", "T"}),
            classification=draw(st.sampled_from(_POOL)),
            scope_limit=draw(st.sampled_from(_SCOPES)),
            organisation_id=draw(st.sampled_from(sorted(_ORGANISATIONS))),
            issued_on=draw(st.sampled_from([DAY, date(2025, 6, 1)])),
        )
        if name not in {"S", "T"} and draw(st.integers(0, 5)) == 0:
            value = declassified(value)
        values.append(value)
    keypoints = [Keypoint(k, "S", f"密点 {k}", draw(st.sampled_from(_POOL))) for k in ("K1", "K2")]
    edges = []
    for i, child in enumerate(names[1:], start=1):
        parents = draw(st.sets(st.sampled_from([*names[:i], "T"]), min_size=1, max_size=3))
        if not parents & set(names[:i]):
            parents.add(names[i - 1])
        for parent in sorted(parents):
            if parent == "S" and draw(st.booleans()):
                kps = tuple(draw(st.sets(st.sampled_from(["K1", "K2"]), min_size=1)))
                edges.append(Derivation(child, parent, BasisCase.INVOLVES_KEYPOINT, kps))
            else:
                edges.append(Derivation(child, parent, draw(st.sampled_from(list(BasisCase)))))
    source = values[1]
    changed_items: dict[str, Item] = {}
    changed_keypoints: dict[str, Keypoint] = {}
    match draw(st.sampled_from(["declassify", "reclassify", "keypoint"])):
        case "declassify":
            changed_items["S"] = declassified(source)
        case "reclassify":
            changed_items["S"] = replace(source, classification=draw(st.sampled_from(_POOL)))
        case _:
            changed_keypoints["K1"] = replace(keypoints[0], declassified=True)
    scope_rules = {
        name: draw(st.lists(st.sampled_from(_RULES), min_size=1, max_size=2, unique=True))
        for name in names[1:]
        if draw(st.integers(0, 3)) == 0
    }
    values_world = replace(
        world(values, keypoints), organisations=_ORGANISATIONS, scope_rules=scope_rules
    )
    return Lineage(edges), values_world, changed_items, changed_keypoints


@given(lineages(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_reused_outcomes_equal_the_rules_run_for_every_descendant(
    case: tuple[Lineage, World, dict[str, Item], dict[str, Keypoint]], whole: bool
) -> None:
    """The fan-out runs the rules once per distinct set of basis values; the oracle here runs
    them for every descendant, in networkx's topological order, and must agree on every
    impact: actions, outcome, articles, the bases kept, and the explanation. The fan-out
    reads the lineage as a store lends it: walked (`Lineage`), or as the whole graph's array
    index (graph.index) with the descendants grouped from its columns, as
    service.impact.load_world does."""
    lineage, values, changed_items, changed_keypoints = case
    if whole:
        graph = GraphIndex.from_values(
            values.items.values(), [e for es in lineage.bases.values() for e in es.values()]
        )
        index = graph.fan_out()
        # Items read as needed, as from a store (graph.lazy): each id once, in batches; once
        # the fan-out has run, none but those `needs` names, read in one batch as a page is.
        asked: list[str] = []

        def read(ids: list[str]) -> dict[str, Item]:
            asked.extend(ids)
            return {i: values.items[i] for i in ids if i in values.items}

        lazy = LazyItems(0, read)
        grouped = profiles_by_columns(index, index.below(set(changed_items) | {"S"}), lazy)
        impacts = fan_out(
            index,
            replace(values, items=lazy, profiles=grouped),
            changed_items=changed_items,
            changed_keypoints=changed_keypoints,
        )
        assert len(asked) == len(set(asked))
        lazy.bind(None)
        lazy.load(impacts.needs(range(len(impacts))), read)
        # The paths too: through the first parent by id, found in numbers over the index.
        walked = fan_out(
            lineage, values, changed_items=changed_items, changed_keypoints=changed_keypoints
        )
        assert {i.item_id: i.path for i in impacts} == {i.item_id: i.path for i in walked}
    else:
        impacts = fan_out(
            lineage, values, changed_items=changed_items, changed_keypoints=changed_keypoints
        )
    graph = nx.DiGraph(
        (e.parent_id, e.child_id) for es in lineage.bases.values() for e in es.values()
    )
    items = {**values.items, **changed_items}
    keypoints = {**values.keypoints, **changed_keypoints}
    below = nx.descendants(graph, "S")
    expected: dict[str, tuple[object, ...]] = {}
    for node in (n for n in nx.topological_sort(graph) if n in below):
        before = values.items[node]
        if not before.is_classified:
            continue
        bases = lineage.bases[node]
        requirement = rules.required_classification(
            [
                rules.Basis(
                    items[p], bases[p].case, tuple(keypoints[k] for k in bases[p].keypoint_ids)
                )
                for p in sorted(bases)
            ],
            list(values.scope_rules.get(node, ())),
            issued_on=before.issued_on,
            organisation=values.organisations[before.organisation_id],
            person_org={},
        )
        required = requirement.classification
        if required is None:
            after = replace(before, status=ItemStatus.DECLASSIFIED_WORK_SECRET)
            actions: tuple[Action, ...] = (Action.DECLASSIFY,)
        else:
            current = before.classification
            assert current is not None
            level = (Action.CHANGE_LEVEL,) if current.level is not required.level else ()
            period = (Action.CHANGE_PERIOD,) if current.period != required.period else ()
            limit = requirement.scope_limit
            narrower = limit is not None and not before.scope.within(limit, {})
            scope = before.scope.intersect(limit, {}) if narrower and limit else before.scope
            actions = (*level, *period, *((Action.CHANGE_SCOPE,) if narrower else ()))
            after = replace(before, classification=required, scope=scope, scope_limit=limit)
        if not actions:
            continue
        items[node] = after
        explanation = requirement.explanation
        kept = tuple(
            dict.fromkeys(
                c.via_item_id or c.ref_id
                for c in explanation.contributions
                if c.ground is not rules.Ground.SCOPE_RULE
            )
        )
        articles = ("D-12", "D-13", *explanation.articles)
        if required is None:
            articles = (*articles, "X-13", "X-25")
        expected[node] = (actions, after, tuple(dict.fromkeys(articles)), kept, explanation)
    found = {
        i.item_id: (i.actions, i.after, i.articles, i.kept_bases, i.explanation) for i in impacts
    }
    assert len(found) == len(impacts)
    assert found == expected
