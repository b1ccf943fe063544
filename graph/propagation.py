"""Fan-out: what a change or declassification of sources and keypoints means for every
descendant (D-12, D-13, X-13, X-14, X-16, X-22). Pure functions over values.

The `Lineage` holds the DERIVED_FROM edges over the changed roots, all their descendants and
every parent of those descendants (parents outside the changed subtree included: a descendant
is recomputed from all of its remaining bases).

Each descendant is recomputed once, in topological order, from its parents as they will be
once every notice is applied; the work is linear in the nodes and edges below the roots,
never in the number of paths.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import cached_property, partial
from typing import Any, overload

from graph import rules
from graph.lineage import Lineage, topological_below
from graph.model import (
    Classification,
    Item,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
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
    along which lineage path from a changed root.

    `explanation` is built when first read: a fan-out of 100,000 descendants computes every
    outcome, but a reader looks at the explanations of a page of them."""

    item_id: str
    actions: tuple[Action, ...]
    before: Item
    after: Item
    path: tuple[str, ...]
    articles: tuple[str, ...]
    kept_bases: tuple[str, ...]
    explain: Callable[[], rules.Explanation | None] = field(
        default=lambda: None, compare=False, repr=False
    )

    @cached_property
    def explanation(self) -> rules.Explanation | None:
        return self.explain()


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


def fan_out(
    lineage: Lineage,
    world: World,
    *,
    changed_items: Mapping[str, Item] | None = None,
    changed_keypoints: Mapping[str, Keypoint] | None = None,
    declassified_as: ItemStatus = ItemStatus.DECLASSIFIED_WORK_SECRET,
    order: Sequence[str] | None = None,
) -> Impacts:
    """The impacts of changing `changed_items` (their new values) and `changed_keypoints`
    (their new values, e.g. declassified, X-14) on every descendant, in topological order.

    A descendant whose bases no longer require classification is declassified, as
    `declassified_as` (a work secret unless the originator agreed to publication, X-25);
    one that keeps another classified basis is downgraded or left alone (D-12, X-13). Process
    items of every changed or impacted item get a REVIEW (X-16, X-22). `order` is
    `topological_below(lineage, roots)` where the caller has it already.
    """
    with paused_gc():
        run = _FanOut(lineage, world, changed_items or {}, changed_keypoints or {})
        return run.run(declassified_as, order)


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


@dataclass(frozen=True)
class _Outcome:
    """What the rules require of a descendant with given bases, without the names: the same
    for every descendant whose bases have the same values (see `_FanOut._outcome`)."""

    requirement: rules.Requirement
    articles: tuple[str, ...]
    declassify_articles: tuple[str, ...]
    # Positions, among the bases in the lineage's order, of those that keep it classified.
    kept: tuple[int, ...]


_UNSEEN = object()
_DECLASSIFY = (Action.DECLASSIFY,)
_REVIEW = (Action.REVIEW,)
# A process item derived from a changed basis is reviewed with its main item, not declassified
# while the main item stands; its other derived values follow the bases (D-12).
_REVIEW_ARTICLES = ("D-12", "X-16", "X-22")

# One impact as the fan-out finds it: the item, its actions, its outcome, the knowledge scope
# it is left with.
_Found = tuple[str, tuple[Action, ...], _Outcome | None, KnowledgeScope | None]


class Impacts(Sequence[Impact]):
    """The impacts of one fan-out, in topological order. Each `Impact` (its item after, its
    path, its bases kept) is built when first read: a dry run over 100,000 descendants decides
    every outcome, and a page shows a few of them."""

    def __init__(self, run: _FanOut, found: list[_Found], declassified_as: ItemStatus) -> None:
        self._run = run
        self._found = found
        self._built: list[Impact | None] = [None] * len(found)
        self._declassified_as = declassified_as

    def __len__(self) -> int:
        return len(self._found)

    @overload
    def __getitem__(self, index: int) -> Impact: ...

    @overload
    def __getitem__(self, index: slice) -> list[Impact]: ...

    def __getitem__(self, index: int | slice) -> Impact | list[Impact]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        built = self._built[index]
        if built is None:
            built = self._run.impact(self._found[index], self._declassified_as)
            self._built[index] = built
        return built

    def __iter__(self) -> Iterator[Impact]:
        for index in range(len(self._found)):
            yield self[index]

    def actions(self) -> Iterator[tuple[Action, ...]]:
        """Each impact's actions, without building the impacts."""
        return (found[1] for found in self._found)

    def ids(self) -> Iterator[str]:
        """Each impacted item's id, without building the impacts."""
        return (found[0] for found in self._found)


class _FanOut:
    """One fan-out. Each descendant is recomputed from its bases as they will be once every
    notice is applied, in topological order.

    Descendants of one change mostly have bases of equal value (a downgraded source makes its
    children alike, and theirs), so the rules run once per distinct set of basis values and
    every other descendant reuses the outcome (`_outcome`). Values are told apart by identity:
    the store and this fan-out share equal classifications, so identity finds most repeats, and
    a value equal but not identical only costs one more run of the rules. Every value whose id
    is part of a key stays referenced by `world`, `changed_*` or an outcome for as long as this
    object lives, so no id is reused meanwhile. What names the bases (the item after, its path,
    its explanation) is built when an impact is read, from the same values: a parent's value is
    final before its children are recomputed."""

    def __init__(
        self,
        lineage: Lineage,
        world: World,
        changed_items: Mapping[str, Item],
        changed_keypoints: Mapping[str, Keypoint],
    ) -> None:
        self.lineage = lineage
        self.world = world
        self.changed_items = dict(changed_items)
        self.keypoints: dict[str, Keypoint] = dict(world.keypoints)
        self.keypoints.update(changed_keypoints)
        # A keypoint reaches only descendants of the source that defines it.
        self.roots = set(changed_items) | {k.item_id for k in changed_keypoints.values()}
        self.outcomes: dict[tuple[object, ...], _Outcome] = {}
        # (scope, actions, the values whose ids make the key, kept referenced)
        self.follows: dict[tuple[int, ...], tuple[KnowledgeScope, tuple[Action, ...], object]] = {}
        # Each recomputed item's value as its children see it: the ids of its classification and
        # scope limit, or None where it gives nothing (declassified, X-13).
        self.values: dict[str, tuple[int, int] | None] = {}
        # The items recomputed, and the roots: a path runs through them. The main item each
        # process item reviewed with it (and not recomputed) follows.
        self.inside: set[str] = set(self.roots)
        self.mains: dict[str, str] = {}
        self.paths: dict[str, tuple[str, ...]] = {}
        self.found: dict[str, _Found] = {}
        self.afters: dict[str, Item] = {}
        self.declassified_as = ItemStatus.DECLASSIFIED_WORK_SECRET

    def run(self, declassified_as: ItemStatus, order: Sequence[str] | None) -> Impacts:
        self.declassified_as = declassified_as
        world, values = self.world, self.values
        drafts = {d for ds in world.process_items.values() for d in ds}
        if order is None:
            order = topological_below(self.lineage, self.roots)
        self.inside.update(order)
        found: list[_Found] = []
        # This loop runs for every descendant and its inner loop for every basis: names are
        # bound locally and the lookups of outcomes and follows are inlined.
        bases_of, items_of = self.lineage.bases, world.items
        outcomes, follows = self.outcomes, self.follows
        scope_rules_of, organisations = world.scope_rules, world.organisations
        classified = ItemStatus.CLASSIFIED
        for node in order:
            before = items_of[node]
            if before.status is not classified or before.classification is None:
                values[node] = None
                continue  # already declassified or never classified: nothing to follow
            bases = bases_of[node]
            # The outcome's key: each basis's value, case and keypoints, in the lineage's order
            # (within one fan-out a keypoint id stands for one value), its scope rules with the
            # item's date (a rule's term runs from it, D-15), and its organisation (D-5).
            key: list[object] = []
            for parent, edge in bases.items():
                value = values.get(parent, _UNSEEN)
                if value is _UNSEEN:
                    value = values[parent] = self._value(self.item(parent))
                key.append(None if value is None else (value, id(edge.case), edge.keypoint_ids))
            scope_rules = scope_rules_of.get(node)
            if scope_rules:
                key.append((tuple(map(id, scope_rules)), before.issued_on))
            key.append(id(organisations.get(before.organisation_id)))
            frozen = tuple(key)
            outcome = outcomes.get(frozen)
            if outcome is None:
                outcome = outcomes[frozen] = self._compute(node, list(bases))
            requirement = outcome.requirement
            required = requirement.classification
            if required is None:
                if node in drafts:
                    # Not declassified with its bases while its main item stands.
                    entry: _Found = (node, _REVIEW, None, None)
                    values[node] = self._value(before)
                else:
                    entry = (node, _DECLASSIFY, outcome, None)
                    values[node] = None
            else:
                limit = requirement.scope_limit
                followed = follows.get(
                    (id(before.classification), id(before.scope), id(required), id(limit))
                )
                if followed is None:
                    followed = self._follow(before, required, limit)
                scope, actions = followed[0], followed[1]
                if not actions:
                    values[node] = self._value(before)
                    continue
                entry = (node, actions, outcome, scope)
                values[node] = (id(required), id(limit))
            self.found[node] = entry
            found.append(entry)
        found.extend(self._reviews(found))
        return Impacts(self, found, declassified_as)

    @staticmethod
    def _value(item: Item) -> tuple[int, int] | None:
        """An item's value as its children's keys hold it; None where it gives nothing."""
        if item.status is not ItemStatus.CLASSIFIED or item.classification is None:
            return None
        return (id(item.classification), id(item.scope_limit))

    def item(self, node: str) -> Item:
        """`node` as the change leaves it: changed, recomputed, or as it stands."""
        changed = self.changed_items.get(node)
        if changed is not None:
            return changed
        after = self.afters.get(node)
        if after is not None:
            return after
        entry = self.found.get(node)
        before = self.world.items[node]
        if entry is None:
            return before
        after = self._after(entry, before)
        self.afters[node] = after
        return after

    def _after(self, entry: _Found, before: Item) -> Item:
        _, _, outcome, scope = entry
        if outcome is None:
            return before  # reviewed, not changed
        requirement = outcome.requirement
        if requirement.classification is None:
            return _evolve(before, status=self.declassified_as)
        return _evolve(
            before,
            classification=requirement.classification,
            scope=scope,
            scope_limit=requirement.scope_limit,
        )

    def _requirement(self, node: str, parents: Sequence[str]) -> rules.Requirement:
        world, keypoints = self.world, self.keypoints
        bases = self.lineage.bases[node]
        before = world.items[node]
        return rules.required_classification(
            [
                rules.Basis(
                    self.item(p),
                    bases[p].case,
                    tuple(keypoints[k] for k in bases[p].keypoint_ids),
                )
                for p in parents
            ],
            list(world.scope_rules.get(node, ())),
            issued_on=before.issued_on,
            organisation=world.organisations.get(before.organisation_id),
            person_org=world.person_org,
        )

    def _compute(self, node: str, parents: list[str]) -> _Outcome:
        requirement = self._requirement(node, sorted(parents))
        explanation = requirement.explanation
        kept = {
            c.via_item_id or c.ref_id
            for c in explanation.contributions
            if c.ground is not rules.Ground.SCOPE_RULE
        }
        articles = tuple(dict.fromkeys(("D-12", "D-13", *explanation.articles)))
        return _Outcome(
            requirement,
            articles,
            tuple(dict.fromkeys((*articles, "X-13", "X-25"))),
            tuple(i for i, parent in enumerate(parents) if parent in kept),
        )

    def _follow(
        self, before: Item, required: Classification, limit: KnowledgeScope | None
    ) -> tuple[KnowledgeScope, tuple[Action, ...], object]:
        """The knowledge scope the requirement leaves `before`, the actions it takes, and the
        values whose ids key it (kept referenced); remembered by those ids."""
        current = before.classification
        actions: list[Action] = []
        if current is None or current.level is not required.level:
            actions.append(Action.CHANGE_LEVEL)
        if current is None or current.period != required.period:
            actions.append(Action.CHANGE_PERIOD)
        scope = before.scope
        person_org = self.world.person_org
        if limit is not None and not scope.within(limit, person_org):
            scope = scope.intersect(limit, person_org)
            actions.append(Action.CHANGE_SCOPE)
        found = (scope, tuple(actions), (current, before.scope, required, limit))
        self.follows[(id(current), id(before.scope), id(required), id(limit))] = found
        return found

    def impact(self, entry: _Found, declassified_as: ItemStatus) -> Impact:
        """The whole `Impact` of one found entry."""
        node, actions, outcome, _ = entry
        before = self.world.items[node]
        main = self.mains.get(node)
        path = (*self._path(main), node) if main is not None else self._path(node)
        if outcome is None:
            # Reviewed with its main item; derived from a changed basis too (D-12).
            articles = _REVIEW_ARTICLES if main is None else ("X-16", "X-22")
            return Impact(node, actions, before, self.item(node), path, articles, ())
        parents = list(self.lineage.bases[node])
        kept = tuple(sorted(parents[i] for i in outcome.kept))
        declassified = outcome.requirement.classification is None
        return Impact(
            item_id=node,
            actions=actions,
            before=before,
            after=self.item(node),
            path=path,
            articles=outcome.declassify_articles if declassified else outcome.articles,
            kept_bases=kept,
            explain=partial(self._explain, node),
        )

    def _path(self, node: str) -> tuple[str, ...]:
        """A lineage path from a changed root to `node`, through the first parent by id
        among those recomputed or changed; each node's is kept for its children's."""
        paths, inside, bases = self.paths, self.inside, self.lineage.bases
        climb = [node]
        while climb[-1] not in paths:
            step = climb[-1]
            via = None
            if step not in self.roots:
                via = min((p for p in bases.get(step, ()) if p in inside), default=None)
            if via is None:
                paths[step] = (step,)
                break
            climb.append(via)
        for i in range(len(climb) - 2, -1, -1):
            paths[climb[i]] = (*paths[climb[i + 1]], climb[i])
        return paths[node]

    def _explain(self, node: str) -> rules.Explanation:
        return self._requirement(node, sorted(self.lineage.bases[node])).explanation

    def _reviews(self, found: Sequence[_Found]) -> Iterator[_Found]:
        """Process items of what changed are reviewed with it (X-22) and are not declassified
        while their main item stands (X-16)."""
        world = self.world
        mains = [*sorted(self.roots), *(entry[0] for entry in found)]
        seen: set[str] = {entry[0] for entry in found}
        for main in mains:
            for draft in world.process_items.get(main, ()):
                if draft in seen or draft not in world.items:
                    continue
                seen.add(draft)
                if not world.items[draft].is_classified:
                    continue
                self.mains[draft] = main
                yield (draft, _REVIEW, None, None)


_ITEM_FIELDS = tuple(f.name for f in fields(Item) if f.init)


def _evolve(item: Item, **changes: Any) -> Item:
    """`dataclasses.replace(item, **changes)` without its checks of each field's kind, which
    cost more than the copy itself; the fan-out copies every descendant it changes."""
    values = {name: getattr(item, name) for name in _ITEM_FIELDS}
    values.update(changes)
    return Item(**values)
