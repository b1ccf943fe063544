"""Fan-out: what a change or declassification of sources and keypoints means for every
descendant (D-12, D-13, X-13, X-14, X-16, X-22). Pure functions over a networkx DiGraph.

The graph holds DERIVED_FROM as edges parent -> child, with the attributes `case` (BasisCase)
and `keypoint_ids` (tuple of ids), over the changed roots, all their descendants and every
parent of those descendants (parents outside the changed subtree included: a descendant is
recomputed from all of its remaining bases).

Each descendant is recomputed once, in topological order, from its parents as they will be
once every notice is applied; the work is linear in the nodes and edges below the roots,
never in the number of paths.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

import networkx as nx

from graph import rules
from graph.model import (
    Item,
    ItemStatus,
    Keypoint,
    Organisation,
    ScopeRule,
)


class Action(Enum):
    """What a change notice asks of the holder of a descendant."""

    CHANGE_LEVEL = "CHANGE_LEVEL"
    CHANGE_PERIOD = "CHANGE_PERIOD"
    CHANGE_SCOPE = "CHANGE_SCOPE"
    DECLASSIFY = "DECLASSIFY"
    REVIEW = "REVIEW"

    @property
    def label(self) -> str:
        return _ACTION_LABEL[self]


_ACTION_LABEL = {
    Action.CHANGE_LEVEL: "变更密级",
    Action.CHANGE_PERIOD: "变更保密期限",
    Action.CHANGE_SCOPE: "变更知悉范围",
    Action.DECLASSIFY: "解密",
    Action.REVIEW: "审核",
}


@dataclass(frozen=True)
class Impact:
    """One descendant (or process item) that must act: from `before` to `after`, why, and
    along which lineage path from a changed root."""

    item_id: str
    actions: tuple[Action, ...]
    before: Item
    after: Item
    path: tuple[str, ...]
    articles: tuple[str, ...]
    explanation: rules.Explanation | None
    kept_bases: tuple[str, ...]


@dataclass(frozen=True)
class World:
    """The values the recomputation reads, keyed by id. `scope_rules` and `process_items`
    are by item id; a missing key means none."""

    items: Mapping[str, Item]
    keypoints: Mapping[str, Keypoint]
    scope_rules: Mapping[str, Sequence[ScopeRule]]
    organisations: Mapping[str, Organisation]
    person_org: Mapping[str, str]
    process_items: Mapping[str, Sequence[str]]


def descendants(lineage: nx.DiGraph, roots: Iterable[str]) -> set[str]:
    """Every node below any of `roots` (the roots excluded unless below another root), each
    visited once: one breadth-first pass from all roots together."""
    seen: set[str] = set()
    queue = deque(r for r in roots if r in lineage)
    while queue:
        node = queue.popleft()
        for child in lineage.successors(node):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def fan_out(
    lineage: nx.DiGraph,
    world: World,
    *,
    changed_items: Mapping[str, Item] | None = None,
    changed_keypoints: Mapping[str, Keypoint] | None = None,
    declassified_as: ItemStatus = ItemStatus.DECLASSIFIED_WORK_SECRET,
) -> list[Impact]:
    """The impacts of changing `changed_items` (their new values) and `changed_keypoints`
    (their new values, e.g. declassified, X-14) on every descendant, in topological order.

    A descendant whose bases no longer require classification is declassified, as
    `declassified_as` (a work secret unless the originator agreed to publication, X-25);
    one that keeps another classified basis is downgraded or left alone (D-12, X-13). Process
    items of every changed or impacted item get a REVIEW (X-16, X-22).
    """
    with paused_gc():
        return _fan_out(lineage, world, changed_items, changed_keypoints, declassified_as)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pauses the cyclic garbage collector while many acyclic values are built, and resumes it
    afterwards unless it was off already. A fan-out or a load of 100,000 descendants creates
    millions of objects, none in a reference cycle, and the collector would traverse the
    growing heap again and again: a third to a half of their time (BENCHMARKS.md, issue 4).
    Reference counting still frees what is dropped; other threads see the collector paused
    for as long."""
    resume = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if resume:
            gc.enable()


def _fan_out(
    lineage: nx.DiGraph,
    world: World,
    changed_items: Mapping[str, Item] | None,
    changed_keypoints: Mapping[str, Keypoint] | None,
    declassified_as: ItemStatus,
) -> list[Impact]:
    items: dict[str, Item] = dict(world.items)
    items.update(changed_items or {})
    keypoints: dict[str, Keypoint] = dict(world.keypoints)
    keypoints.update(changed_keypoints or {})
    # A keypoint reaches only descendants of the source that defines it.
    roots = set(changed_items or {}) | {k.item_id for k in (changed_keypoints or {}).values()}
    drafts = {d for ds in world.process_items.values() for d in ds}
    paths: dict[str, tuple[str, ...]] = {root: (root,) for root in roots}
    impacts: list[Impact] = []
    predecessors = lineage.pred
    for node in _topological_below(lineage, roots):
        before = world.items[node]
        parents = predecessors[node]
        via = min((p for p in parents if p in paths), default=None)
        path = (*paths[via], node) if via is not None else (node,)
        paths[node] = path
        impact = _recompute(parents, node, before, items, keypoints, world, declassified_as, path)
        if impact is None:
            continue
        if node in drafts and Action.DECLASSIFY in impact.actions:
            # A process item is not declassified with its bases: it is reviewed.
            impact = replace(
                impact,
                actions=(Action.REVIEW,),
                after=before,
                articles=(*impact.articles, "X-16", "X-22"),
            )
        items[node] = impact.after
        impacts.append(impact)
    impacts.extend(_reviews(roots, impacts, items, world, paths))
    return impacts


def _topological_below(lineage: nx.DiGraph, roots: Iterable[str]) -> list[str]:
    """Every node below `roots` (what `descendants` finds), each after all of its parents
    below the roots: a breadth-first pass that counts each node's parents within the subtree,
    then Kahn's algorithm over the same edges. Linear in the nodes and edges below the roots."""
    successors = lineage.successors
    start = sorted(r for r in roots if r in lineage)
    pending: dict[str, int] = dict.fromkeys(start, 0)
    queue = deque(start)
    while queue:
        for child in successors(queue.popleft()):
            count = pending.get(child)
            if count is None:
                pending[child] = 1
                queue.append(child)
            else:
                pending[child] = count + 1
    below = sum(1 for count in pending.values() if count)
    ready = deque(node for node, count in pending.items() if not count)
    order: list[str] = []
    while ready:
        for child in successors(ready.popleft()):
            count = pending[child] - 1
            pending[child] = count
            if not count:
                ready.append(child)
                order.append(child)
    if len(order) != below:
        raise ValueError("DERIVED_FROM has a cycle below the changed items")
    return order


def _bases(
    parents: Mapping[str, Mapping[str, Any]],
    items: Mapping[str, Item],
    keypoints: Mapping[str, Keypoint],
) -> list[rules.Basis]:
    bases = []
    for parent in sorted(parents):
        data = parents[parent]
        ids = data.get("keypoint_ids", ())
        involved = tuple(keypoints[k] for k in ids) if ids else ()
        bases.append(rules.Basis(items[parent], data["case"], involved))
    return bases


def _recompute(
    parents: Mapping[str, Mapping[str, Any]],
    node: str,
    before: Item,
    items: Mapping[str, Item],
    keypoints: Mapping[str, Keypoint],
    world: World,
    declassified_as: ItemStatus,
    path: tuple[str, ...],
) -> Impact | None:
    if not before.is_classified:
        return None  # already declassified or never classified: nothing to follow
    requirement = rules.required_classification(
        _bases(parents, items, keypoints),
        list(world.scope_rules.get(node, ())),
        issued_on=before.issued_on,
        organisation=world.organisations.get(before.organisation_id),
        person_org=world.person_org,
    )
    after, actions = _follow(before, requirement, world.person_org, declassified_as)
    if not actions:
        return None
    explanation = requirement.explanation
    kept = tuple(
        dict.fromkeys(
            c.via_item_id or c.ref_id
            for c in explanation.contributions
            if c.ground is not rules.Ground.SCOPE_RULE
        )
    )
    articles = ("D-12", "D-13", *explanation.articles)
    if Action.DECLASSIFY in actions:
        articles = (*articles, "X-13", "X-25")
    return Impact(
        item_id=node,
        actions=actions,
        before=before,
        after=after,
        path=path,
        articles=tuple(dict.fromkeys(articles)),
        explanation=explanation,
        kept_bases=kept,
    )


def _follow(
    before: Item,
    requirement: rules.Requirement,
    person_org: Mapping[str, str],
    declassified_as: ItemStatus,
) -> tuple[Item, tuple[Action, ...]]:
    """The item as the requirement makes it, and the actions that takes."""
    required = requirement.classification
    if required is None:
        return _evolve(before, status=declassified_as), (Action.DECLASSIFY,)
    current = before.classification
    actions: list[Action] = []
    if current is None or current.level is not required.level:
        actions.append(Action.CHANGE_LEVEL)
    if current is None or current.period != required.period:
        actions.append(Action.CHANGE_PERIOD)
    scope = before.scope
    limit = requirement.scope_limit
    if limit is not None and not scope.within(limit, person_org):
        scope = scope.intersect(limit, person_org)
        actions.append(Action.CHANGE_SCOPE)
    after = _evolve(before, classification=required, scope=scope, scope_limit=limit)
    return after, tuple(actions)


_ITEM_FIELDS = tuple(f.name for f in fields(Item) if f.init)


def _evolve(item: Item, **changes: Any) -> Item:
    """`dataclasses.replace(item, **changes)` without its checks of each field's kind, which
    cost more than the copy itself; the fan-out copies every descendant it changes."""
    values = {name: getattr(item, name) for name in _ITEM_FIELDS}
    values.update(changes)
    return Item(**values)


def _reviews(
    roots: set[str],
    impacts: Sequence[Impact],
    items: Mapping[str, Item],
    world: World,
    paths: Mapping[str, tuple[str, ...]],
) -> Iterator[Impact]:
    """Process items of what changed are reviewed with it (X-22) and are not declassified
    while their main item stands (X-16)."""
    mains = [*sorted(roots), *(i.item_id for i in impacts)]
    seen: set[str] = {i.item_id for i in impacts}
    for main in mains:
        for draft in world.process_items.get(main, ()):
            if draft in seen or draft not in world.items:
                continue
            seen.add(draft)
            before = world.items[draft]
            if not before.is_classified:
                continue
            yield Impact(
                item_id=draft,
                actions=(Action.REVIEW,),
                before=before,
                after=items.get(draft, before),
                path=(*paths.get(main, (main,)), draft),
                articles=("X-16", "X-22"),
                explanation=None,
                kept_bases=(),
            )
