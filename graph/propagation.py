"""Fan-out: what a change or declassification of sources and keypoints means for every
descendant (D-12, D-13, X-13, X-14, X-16, X-22). Pure functions over values.

The `Lineage` holds the DERIVED_FROM edges over the changed roots, all their descendants and
every parent of those descendants (parents outside the changed subtree included: a descendant
is recomputed from all of its remaining bases).

Each descendant is recomputed once, after its parents, from its parents as they will be once
every notice is applied; the work is linear in the nodes and edges below the roots (and a
sort of each layer of them), never in the number of paths.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import cached_property, partial
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from graph import rules
from graph.lineage import Lineage, gather
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
) -> Impacts:
    """The impacts of changing `changed_items` (their new values) and `changed_keypoints`
    (their new values, e.g. declassified, X-14) on every descendant, parents first.

    A descendant whose bases no longer require classification is declassified, as
    `declassified_as` (a work secret unless the originator agreed to publication, X-25);
    one that keeps another classified basis is downgraded or left alone (D-12, X-13). Process
    items of every changed or impacted item get a REVIEW (X-16, X-22).
    """
    with paused_gc():
        run = _FanOut(lineage, world, changed_items or {}, changed_keypoints or {})
        return run.run(declassified_as)


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
    for every descendant whose bases have the same values (see `_FanOut`)."""

    requirement: rules.Requirement
    articles: tuple[str, ...]
    declassify_articles: tuple[str, ...]
    # Positions, among the bases in the lineage's order, of those that keep it classified.
    kept: tuple[int, ...]


_DECLASSIFY = (Action.DECLASSIFY,)
_REVIEW = (Action.REVIEW,)
# A process item derived from a changed basis is reviewed with its main item, not declassified
# while the main item stands; its other derived values follow the bases (D-12).
_REVIEW_ARTICLES = ("D-12", "X-16", "X-22")

# One impact as the fan-out finds it: the item, its actions, its outcome, the knowledge scope
# it is left with.
_Found = tuple[str, tuple[Action, ...], _Outcome | None, KnowledgeScope | None]


class Impacts(Sequence[Impact]):
    """The impacts of one fan-out, parents before children. Each `Impact` (its item after,
    its path, its bases kept) is built when first read: a dry run over 100,000 descendants
    decides every outcome, and a page shows a few of them."""

    def __init__(self, run: _FanOut) -> None:
        self._run = run
        self._built: list[Impact | None] = [None] * len(run)

    def __len__(self) -> int:
        return len(self._built)

    @overload
    def __getitem__(self, index: int) -> Impact: ...

    @overload
    def __getitem__(self, index: slice) -> list[Impact]: ...

    def __getitem__(self, index: int | slice) -> Impact | list[Impact]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        built = self._built[index]
        if built is None:
            built = self._built[index] = self._run.impact(self._run.entry(index))
        return built

    def __iter__(self) -> Iterator[Impact]:
        for index in range(len(self)):
            yield self[index]

    def actions(self) -> Iterator[tuple[Action, ...]]:
        """Each impact's actions, without building the impacts."""
        return self._run.actions_found()

    def item_ids(self) -> Iterator[str]:
        """Each impact's item id, without building the impacts."""
        return self._run.item_ids_found()

    def known(self, item_id: str) -> Item | None:
        """An item of the fan-out's world as it stands (a descendant, a basis, a process
        item), for naming what an impact refers to."""
        return self._run.world.items.get(item_id)


class _FanOut:
    """One fan-out. Each descendant is recomputed from its bases as they will be once every
    notice is applied, parents before children.

    Descendants of one change mostly have bases of equal value (a downgraded source makes its
    children alike, and theirs), so the rules run once per distinct set of basis values and
    every other descendant reuses the outcome. The descendants are taken a layer at a time
    (those whose parents below the roots are all done), in arrays over the lineage's `Index`:
    each descendant's key is the value of each basis in the lineage's order with the edge's
    case and keypoints, then its scope rules, date and organisation; the layer's distinct
    keys are found at once, and only those reach Python and the rules (`graph.rules`).

    Values are numbered by identity: the store and this fan-out share equal classifications,
    so identity finds most repeats, and a value equal but not identical only costs one more
    run of the rules. Every value numbered stays referenced by `world`, `changed_*` or an
    outcome for as long as this object lives, so no id is reused meanwhile. What names the
    bases (the item after, its path, its explanation) is built when an impact is read, from
    the same values: a parent's value is final before its children are recomputed."""

    def __init__(
        self,
        lineage: Lineage,
        world: World,
        changed_items: Mapping[str, Item],
        changed_keypoints: Mapping[str, Keypoint],
    ) -> None:
        self.lineage = lineage
        self.index = lineage.index()
        self.world = world
        self.changed_items = dict(changed_items)
        self.keypoints: dict[str, Keypoint] = dict(world.keypoints)
        self.keypoints.update(changed_keypoints)
        # A keypoint reaches only descendants of the source that defines it.
        self.roots = set(changed_items) | {k.item_id for k in changed_keypoints.values()}
        self.declassified_as = ItemStatus.DECLASSIFIED_WORK_SECRET
        # Numbered values; 0 stands for "gives nothing" (declassified or never classified).
        self.values: dict[tuple[Classification, KnowledgeScope | None], int] = {}
        self.value_ids: dict[tuple[int, int], int] = {}
        self.held: list[tuple[Classification, KnowledgeScope | None]] = []
        # Outcomes by number: whether each declassifies, the value it gives children.
        self.outcomes: list[_Outcome] = []
        self.outcome_gone: list[bool] = []
        self.outcome_value: list[int] = []
        self.outcome_numbers: dict[tuple[int, ...], int] = {}
        # (classification, scope) of items before, numbered, and what each meets.
        self.befores: dict[tuple[int, int], int] = {}
        self.before_values: list[tuple[Classification | None, KnowledgeScope]] = []
        self.follows: dict[tuple[int, int], tuple[int, int]] = {}
        self.actions: list[tuple[Action, ...]] = [_DECLASSIFY, _REVIEW]
        self.action_numbers: dict[tuple[Action, ...], int] = {_DECLASSIFY: 0, _REVIEW: 1}
        self.scopes: list[KnowledgeScope] = []
        # The impacts found, in order: node, actions, outcome (-1 for a review), scope (-1).
        self.found = np.zeros((0, 4), dtype=np.int64)
        # Per node, by number: its value as its children see it now, its own value, what it
        # meets a requirement with, what else its key holds, whether it is a process item; its
        # outcome, actions and scope, numbered, -1 where it has none (yet).
        empty = np.zeros(0, dtype=np.int64)
        self.current = self.own = self.meets = self.extra_of = empty
        self.is_draft = np.zeros(0, dtype=bool)
        self.outcome_of = self.action_of = self.scope_of = empty
        self.below = np.zeros(0, dtype=np.int64)
        self.reviews: list[tuple[str, str]] = []  # process item, main item
        self.mains: dict[str, str] = {}
        self.paths: dict[str, tuple[str, ...]] = {}
        self.afters: dict[str, Item] = {}
        self._inside: set[str] | None = None

    def _value(self, item: Item) -> int:
        """An item's value as its children's keys hold it."""
        if item.status is not ItemStatus.CLASSIFIED or item.classification is None:
            return 0
        return self._number(item.classification, item.scope_limit)

    def _result(self, outcome: _Outcome) -> int:
        """The value a descendant with this outcome gives its children, once changed."""
        required = outcome.requirement.classification
        if required is None:
            return 0
        return self._number(required, outcome.requirement.scope_limit)

    def _number(self, classification: Classification, limit: KnowledgeScope | None) -> int:
        # Equal values share a number, so that descendants of different but equally marked
        # bases share a key; the object's identity is looked up first, as hashing the value
        # costs more and most items share their classification object with others.
        seen = self.value_ids.get((id(classification), id(limit)))
        if seen is not None:
            return seen
        number = self.values.get((classification, limit))
        if number is None:
            number = self.values[(classification, limit)] = len(self.values) + 1
        self.value_ids[(id(classification), id(limit))] = number
        self.held.append((classification, limit))  # keeps each id taken while it is used
        return number

    def run(self, declassified_as: ItemStatus) -> Impacts:
        self.declassified_as = declassified_as
        index, world = self.index, self.world
        ids, size = index.ids, len(index.ids)
        below = self.below = index.below(self.roots)
        inside = np.zeros(size, dtype=bool)
        inside[below] = True
        degree = np.diff(index.parent_rows)
        parents = gather(index.parents, index.parent_rows, below)
        values = self.current = np.zeros(size, dtype=np.int64)
        for number in np.unique(parents[~inside[parents]]).tolist():
            values[number] = self._value(self.item(ids[number]))

        # What each descendant brings besides its bases: whether it is classified, its value
        # as it stands, its classification and scope (what a requirement is met against),
        # and its scope rules with its date (a rule's term runs from it, D-15) and its
        # organisation (D-5).
        items, organisations = world.items, world.organisations
        extras: dict[tuple[object, ...], int] = {}
        own_value, met, extra = [], [], []
        value_of, befores, before_values = self._value, self.befores, self.before_values
        for node in index.names(below):  # the one pass in Python over every descendant
            item = items[node]
            own_value.append(value_of(item))
            pair = (id(item.classification), id(item.scope))
            seen = befores.get(pair)
            if seen is None:
                seen = befores[pair] = len(before_values)
                before_values.append((item.classification, item.scope))
            met.append(seen)
            organisation = (id(organisations.get(item.organisation_id)),)
            extra.append(extras.setdefault(organisation, len(extras)))
        self.own = np.zeros(size, dtype=np.int64)
        self.own[below] = own_value
        self.meets = np.zeros(size, dtype=np.int64)
        self.meets[below] = met
        self.extra_of = np.zeros(size, dtype=np.int64)
        self.extra_of[below] = extra
        for node, rules_of in world.scope_rules.items():
            number = index.number.get(node)
            if rules_of and number is not None and inside[number]:
                item = items[node]
                key = (
                    id(organisations.get(item.organisation_id)),
                    tuple(map(id, rules_of)),
                    item.issued_on,
                )
                self.extra_of[number] = extras.setdefault(key, len(extras))
        self.is_draft = np.zeros(size, dtype=bool)
        drafts = {d for ds in world.process_items.values() for d in ds}
        self.is_draft[[index.number[d] for d in drafts if d in index.number]] = True
        classified = self.own > 0

        # Layers: a descendant is ready once its parents below the roots are done.
        owners = np.repeat(below, degree[below])
        pending = np.bincount(owners[inside[parents]], minlength=size)
        layer = below[pending[below] == 0]
        outcome_of = self.outcome_of = np.full(size, -1, dtype=np.int64)
        action_of = self.action_of = np.full(size, -1, dtype=np.int64)
        scope_of = self.scope_of = np.full(size, -1, dtype=np.int64)
        found: list[npt.NDArray[np.int64]] = []
        done = 0
        while layer.size:
            layer = layer[np.argsort(index.position[layer], kind="stable")]
            done += layer.size
            values[layer[~classified[layer]]] = 0
            ready = layer[classified[layer]]
            if ready.size:
                self._layer(ready)
                self._follow_layer(ready)
                found.append(ready[action_of[ready] >= 0])
            reached = gather(index.children, index.child_rows, layer)
            reached, counts = np.unique(reached[inside[reached]], return_counts=True)
            pending[reached] -= counts
            layer = reached[pending[reached] == 0]
        if done != below.size:
            raise ValueError("DERIVED_FROM has a cycle below the changed items")
        nodes = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        self.found = np.stack([nodes, action_of[nodes], outcome_of[nodes], scope_of[nodes]], 1)
        self.reviews = list(self._reviews(nodes))
        return Impacts(self)

    def _layer(self, ready: npt.NDArray[np.int64]) -> None:
        """The outcome of every descendant of a layer, by its key: one run of the rules for
        each key not met before."""
        index, ids, values, outcome_of = self.index, self.index.ids, self.current, self.outcome_of
        degree = np.diff(index.parent_rows)[ready]
        for count in np.unique(degree).tolist():
            group = ready[degree == count]
            bases = gather(index.parents, index.parent_rows, group).reshape(group.size, count)
            kinds = gather(index.edge_kinds, index.parent_rows, group).reshape(group.size, count)
            given = values[bases]
            keys = np.empty((group.size, 2 * count + 1), dtype=np.int64)
            keys[:, 0 : 2 * count : 2] = given
            keys[:, 1 : 2 * count : 2] = np.where(given == 0, 0, kinds)  # nothing, any case
            keys[:, 2 * count] = self.extra_of[group]
            distinct, first, inverse = np.unique(
                keys, axis=0, return_index=True, return_inverse=True
            )
            numbers = np.empty(len(distinct), dtype=np.int64)
            for row, key in enumerate(distinct.tolist()):
                number = self.outcome_numbers.get(tuple(key))
                if number is None:
                    node = ids[int(group[first[row]])]
                    number = len(self.outcomes)
                    outcome = self._compute(node, list(self.lineage.bases[node]))
                    self.outcomes.append(outcome)
                    self.outcome_gone.append(outcome.requirement.classification is None)
                    self.outcome_value.append(self._result(outcome))
                    self.outcome_numbers[tuple(key)] = number
                numbers[row] = number
            outcome_of[group] = numbers[inverse.reshape(-1)]
        chosen = outcome_of[ready]
        gone = np.array(self.outcome_gone, dtype=bool)[chosen]
        result = np.array(self.outcome_value, dtype=np.int64)
        # Not declassified with its bases while its main item stands: reviewed.
        draft = self.is_draft[ready]
        reviewed = ready[gone & draft]
        outcome_of[reviewed] = -1
        values[reviewed] = self.own[reviewed]
        values[ready[gone & ~draft]] = 0
        values[ready[~gone]] = result[chosen[~gone]]

    def _follow_layer(self, ready: npt.NDArray[np.int64]) -> None:
        """The actions each descendant of a layer takes to meet its outcome; one that needs
        none keeps its value."""
        outcome_of, action_of, scope_of = self.outcome_of, self.action_of, self.scope_of
        chosen = outcome_of[ready]
        reviewed = ready[chosen < 0]
        action_of[reviewed] = self.action_numbers[_REVIEW]
        kept = ready[chosen >= 0]
        if not kept.size:
            return
        pairs = np.stack([self.meets[kept], outcome_of[kept]], 1)
        distinct, inverse = np.unique(pairs, axis=0, return_inverse=True)
        actions = np.empty(len(distinct), dtype=np.int64)
        scopes = np.empty(len(distinct), dtype=np.int64)
        for row, (met, outcome) in enumerate(distinct.tolist()):
            actions[row], scopes[row] = self._follow(met, outcome)
        inverse = inverse.reshape(-1)
        action_of[kept] = actions[inverse]
        scope_of[kept] = scopes[inverse]
        unchanged = kept[action_of[kept] < 0]
        self.current[unchanged] = self.own[unchanged]

    def _follow(self, met: int, number: int) -> tuple[int, int]:
        """The actions (numbered; -1 for none) and the knowledge scope (numbered) it takes an
        item with classification and scope `met` to meet outcome `number`."""
        found = self.follows.get((met, number))
        if found is not None:
            return found
        current, scope = self.before_values[met]
        requirement = self.outcomes[number].requirement
        required, limit = requirement.classification, requirement.scope_limit
        if required is None:
            found = (self.action_numbers[_DECLASSIFY], -1)
        else:
            actions: list[Action] = []
            if current is None or current.level is not required.level:
                actions.append(Action.CHANGE_LEVEL)
            if current is None or current.period != required.period:
                actions.append(Action.CHANGE_PERIOD)
            person_org = self.world.person_org
            if limit is not None and not scope.within(limit, person_org):
                scope = scope.intersect(limit, person_org)
                actions.append(Action.CHANGE_SCOPE)
            taken = tuple(actions)
            if taken and taken not in self.action_numbers:
                self.action_numbers[taken] = len(self.actions)
                self.actions.append(taken)
            found = (self.action_numbers[taken] if taken else -1, len(self.scopes))
            self.scopes.append(scope)
        self.follows[(met, number)] = found
        return found

    def __len__(self) -> int:
        return len(self.found) + len(self.reviews)

    def entry(self, position: int) -> _Found:
        """The impact at `position`, as found: item, actions, outcome, scope."""
        if position >= len(self.found):
            draft, _ = self.reviews[position - len(self.found)]
            return (draft, _REVIEW, None, None)
        node, action, outcome, scope = self.found[position].tolist()
        return (
            self.index.ids[node],
            self.actions[action],
            self.outcomes[outcome] if outcome >= 0 else None,
            self.scopes[scope] if scope >= 0 else None,
        )

    def item_ids_found(self) -> Iterator[str]:
        ids = self.index.ids
        yield from (ids[n] for n in self.found[:, 0].tolist())
        yield from (draft for draft, _ in self.reviews)

    def actions_found(self) -> Iterator[tuple[Action, ...]]:
        actions = self.actions
        yield from (actions[a] for a in self.found[:, 1].tolist())
        yield from (_REVIEW for _ in self.reviews)

    def item(self, node: str) -> Item:
        """`node` as the change leaves it: changed, recomputed, or as it stands."""
        changed = self.changed_items.get(node)
        if changed is not None:
            return changed
        after = self.afters.get(node)
        if after is not None:
            return after
        before = self.world.items[node]
        number = self.index.number.get(node)
        if number is None or number >= len(self.action_of) or self.action_of[number] < 0:
            return before
        outcome, scope = self.outcome_of[number], self.scope_of[number]
        after = self._after(
            (
                node,
                self.actions[self.action_of[number]],
                self.outcomes[outcome] if outcome >= 0 else None,
                self.scopes[scope] if scope >= 0 else None,
            ),
            before,
        )
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

    def impact(self, entry: _Found) -> Impact:
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
        if self._inside is None:
            ids = self.index.ids
            self._inside = self.roots | {ids[n] for n in self.below.tolist()}
        paths, inside, bases = self.paths, self._inside, self.lineage.bases
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

    def _reviews(self, nodes: npt.NDArray[np.int64]) -> Iterator[tuple[str, str]]:
        """Process items of what changed are reviewed with it (X-22) and are not declassified
        while their main item stands (X-16): each process item once, with the first of its
        main items in the fan-out's order."""
        world = self.world
        if not world.process_items:
            return
        found = [self.index.ids[n] for n in nodes.tolist()]
        seen = set(found)
        for main in [*sorted(self.roots), *found]:
            for draft in world.process_items.get(main, ()):
                if draft in seen or draft not in world.items:
                    continue
                seen.add(draft)
                if not world.items[draft].is_classified:
                    continue
                self.mains[draft] = main
                yield (draft, main)


_ITEM_FIELDS = tuple(f.name for f in fields(Item) if f.init)


def _evolve(item: Item, **changes: Any) -> Item:
    """`dataclasses.replace(item, **changes)` without its checks of each field's kind, which
    cost more than the copy itself; the fan-out copies every descendant it changes."""
    values = {name: getattr(item, name) for name in _ITEM_FIELDS}
    values.update(changes)
    return Item(**values)
