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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import cached_property, partial
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from graph import rules
from graph.lazy import LazyItems, prefetch
from graph.lineage import Index, Lineage, distinct_rows, each_once, gather
from graph.model import (
    BasisCase,
    Classification,
    Item,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Organisation,
    Period,
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
class Profiles:
    """Items of a lineage grouped by what the fan-out reads of each: classification, scope,
    scope limit, status and organisation, each by identity. `of` gives each node's group by
    the numbering of `index` (-1 where not grouped); `examples` one item of each group.

    A pass in Python over 100,000 items costs tens of milliseconds, most of it in reaching
    each item in memory; the caller that loads them groups them in the one pass it makes
    (service.impact.load_world), and the fan-out and the caller read the few groups."""

    index: Index
    of: npt.NDArray[np.int64]
    examples: list[Item]


def profiles(index: Index, nodes: npt.NDArray[np.int64], items: Sequence[Item]) -> Profiles:
    """`items`, the items of `nodes` in that order, grouped (see `Profiles`)."""
    known: dict[tuple[object, ...], int] = {}
    examples: list[Item] = []
    groups: list[int] = []
    for item in items:
        # Ids are safe keys: every item, and so each value it holds, lives through the loop.
        key = (
            id(item.classification),
            id(item.scope),
            id(item.scope_limit),
            item.status,
            item.organisation_id,
        )
        group = known.get(key)
        if group is None:
            group = known[key] = len(examples)
            examples.append(item)
        groups.append(group)
    of = np.full(index.size, -1, dtype=np.int64)
    of[nodes] = groups
    return Profiles(index, of, examples)


def profiles_by_columns(
    index: Index, nodes: npt.NDArray[np.int64], items: Mapping[str, Item]
) -> Profiles | None:
    """`nodes` grouped as `profiles` groups them, from the columns of an index that keeps
    them (None otherwise): an `Item` read per group, not per node."""
    if index.columns is None:
        return None
    distinct, inverse = distinct_rows(index.columns(nodes))
    first = np.zeros(len(distinct), dtype=np.int64)
    # The first node of each group: written in reverse, so the earliest write stays.
    first[inverse[::-1]] = nodes[::-1]
    names = index.names(first)
    prefetch(items, names)
    examples = [items[name] for name in names]
    of = np.full(index.size, -1, dtype=np.int64)
    of[nodes] = inverse
    return Profiles(index, of, examples)


@dataclass(frozen=True)
class World:
    """The values the recomputation reads, keyed by id. `scope_rules` and `process_items`
    are by item id; a missing key means none. `profiles`, where given, groups the items of
    the lineage's nodes (it must agree with `items`); the fan-out groups them otherwise."""

    items: Mapping[str, Item]
    keypoints: Mapping[str, Keypoint]
    scope_rules: Mapping[str, Sequence[ScopeRule]]
    organisations: Mapping[str, Organisation]
    person_org: Mapping[str, str]
    process_items: Mapping[str, Sequence[str]]
    profiles: Profiles | None = None


def fan_out(
    lineage: Lineage | Index,
    world: World,
    *,
    changed_items: Mapping[str, Item] | None = None,
    changed_keypoints: Mapping[str, Keypoint] | None = None,
    declassified_as: ItemStatus = ItemStatus.DECLASSIFIED_WORK_SECRET,
) -> Impacts:
    """The impacts of changing `changed_items` (their new values) and `changed_keypoints`
    (their new values, e.g. declassified, X-14) on every descendant, parents first. The
    lineage may be given in arrays already (a store's `lineage_index`).

    A descendant whose bases no longer require classification is declassified, as
    `declassified_as` (a work secret unless the originator agreed to publication, X-25);
    one that keeps another classified basis is downgraded or left alone (D-12, X-13). Process
    items of every changed or impacted item get a REVIEW (X-16, X-22).
    """
    with paused_gc():
        run = _FanOut(lineage, world, changed_items or {}, changed_keypoints or {})
        return run.run(declassified_as)


def warm() -> None:
    """Loads the fan-out's compiled pass (graph.kernel), or compiles it where no cache holds
    it, so that the first analysis does not wait for it."""
    from graph import kernel

    kernel.warm()


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
    """What the rules say of a descendant with given bases, for its impact as read: the
    articles, and which bases keep it classified. The same for every descendant whose bases
    have the same values (see `_FanOut.outcome`)."""

    articles: tuple[str, ...]
    declassify_articles: tuple[str, ...]
    # Positions, among the bases in the lineage's order, of those that keep it classified.
    kept: tuple[int, ...]


_DECLASSIFY = (Action.DECLASSIFY,)
_REVIEW = (Action.REVIEW,)
# A process item derived from a changed basis is reviewed with its main item, not declassified
# while the main item stands; its other derived values follow the bases (D-12).
_REVIEW_ARTICLES = ("D-12", "X-16", "X-22")
_LEVELS = {level.rank: level for level in Level}
# An end (model.EndKey) as one number: its rank, then the day; a day's ordinal is below this.
_END_RANK = 10_000_000

# One impact as the fan-out finds it: the item, its actions, the value it must take (numbered:
# 0 for declassified; None for a process item reviewed as it is), the knowledge scope it is
# left with.
_Found = tuple[str, tuple[Action, ...], int | None, KnowledgeScope | None]
# An impact as a row (Impacts.rows): the found entry, then its path, articles and bases kept.
ImpactRow = tuple[
    str,
    tuple[Action, ...],
    int | None,
    KnowledgeScope | None,
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
]


@dataclass(frozen=True)
class Table:
    """Impacts as columns, in their order, without an `Impact` each: for a reader's counts,
    order and page over 100,000 descendants. Per impact: its item id, its layer, its actions
    (a number into `kinds`) and its group of values (a number into `examples`, one item of
    each group, as `Profiles` groups them; -1 where the caller looks the item up itself).
    `by_id` says that the impacts of each layer come in the order of their ids."""

    ids: list[str]
    layers: npt.NDArray[np.int64]
    actions: npt.NDArray[np.int64]
    kinds: list[tuple[Action, ...]]
    groups: npt.NDArray[np.int64]
    examples: list[Item]
    by_id: bool = False


# How many impacts' items iterating over a fan-out's impacts reads at once.
_BATCH = 5_000


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
        lazy = isinstance(self._run.world.items, LazyItems)
        items = self._run.world.items
        for index in range(len(self)):
            if lazy and index % _BATCH == 0:
                # Where items are read as needed (graph.lazy), those of the impacts to come
                # in one batch, not one each.
                prefetch(items, self.needs(range(index, min(index + _BATCH, len(self)))))
            yield self[index]

    def actions(self) -> Iterator[tuple[Action, ...]]:
        """Each impact's actions, without building the impacts."""
        return self._run.actions_found()

    def table(self) -> Table:
        """The impacts as columns (`Table`), without building them."""
        return self._run.table()

    def item_ids(self) -> Iterator[str]:
        """Each impact's item id, without building the impacts."""
        return self._run.item_ids_found()

    def layers(self) -> Iterator[int]:
        """Each impact's layer, without building the impacts: impacts of one layer may be
        shown in any order among themselves."""
        return self._run.layers_found()

    def rows(self) -> Iterator[ImpactRow]:
        """Each impact as a tuple, without building the impacts: its item, actions, outcome
        (a value and a scope, for `after`), path, articles and bases kept. A committed fan-out
        writes a notice of each (service.notice_rows)."""
        run = self._run
        return (run.row(run.entry(position)) for position in range(len(self)))

    def after(self, item_id: str, value: int | None, scope: KnowledgeScope | None) -> Item:
        """The item of a row as the change leaves it, from the row's outcome: the same for
        every item that holds the same values before (the row's `value` and `scope`)."""
        return self._run.after_of(item_id, value, scope)

    def changes(self, item_id: str) -> bool:
        """Whether `item_id` is one of the items the change itself changes."""
        return item_id in self._run.changed_items

    def known(self, item_id: str) -> Item | None:
        """An item of the fan-out's world as it stands (a descendant, a basis, a process
        item), for naming what an impact refers to."""
        return self._run.world.items.get(item_id)

    @property
    def items(self) -> Mapping[str, Item]:
        """The fan-out's world's items: a `graph.lazy.LazyItems` where they are read as
        needed."""
        return self._run.world.items

    def needs(self, positions: Iterable[int]) -> list[str]:
        """The ids of the items building the impacts at `positions` reads, those built
        already aside: to read them in one batch first (`graph.lazy.prefetch`)."""
        built = self._built
        wanted = [p for p in positions if built[p] is None]
        return self._run.needed_at(wanted) if wanted else []


class _FanOut:
    """One fan-out. Each descendant is recomputed from its bases as they will be once every
    notice is applied, parents before children.

    The descendants are taken a layer at a time (those whose parents below the roots are all
    done) over the lineage's `Index`, and each one's requirement is decided in numbers by one
    compiled pass over the layers (graph.kernel), as `graph.rules` decides it: every value an item
    can hold is numbered, with its level's rank, when its period ends (an unmarked period
    made explicit, X-11), its period and its scope limit; each basis gives its parent's value,
    or the keypoints its edge involves (D-7(2)..(4)), or nothing once declassified (X-13,
    X-14); scope rules give theirs (D-15). The level is the highest (D-8), the period the one
    that ends last (D-9), the scope limit what every classified basis admits (D-10). Where
    bases that end last give different periods (a date and a term ending on one day, or two
    conditions, which the rules join), the rules decide, once for each such set of basis
    values. The explanation of an impact, its articles and the bases it keeps are what
    `graph.rules` says, run when the impact is read, once per set of basis values.

    Values are numbered by identity first: the store and this fan-out share equal
    classifications, so identity finds most repeats; equal values share a number. Every value
    numbered stays referenced by `world`, `changed_*` or this object for as long as it lives,
    so no id is reused meanwhile. A parent's value is final before its children are
    recomputed."""

    def __init__(
        self,
        lineage: Lineage | Index,
        world: World,
        changed_items: Mapping[str, Item],
        changed_keypoints: Mapping[str, Keypoint],
    ) -> None:
        self.index = lineage if isinstance(lineage, Index) else lineage.index()
        self.world = world
        self.changed_items = dict(changed_items)
        self.keypoints: dict[str, Keypoint] = dict(world.keypoints)
        self.keypoints.update(changed_keypoints)
        # A keypoint reaches only descendants of the source that defines it.
        self.roots = set(changed_items) | {k.item_id for k in changed_keypoints.values()}
        self.declassified_as = ItemStatus.DECLASSIFIED_WORK_SECRET
        # Numbered values; 0 stands for "gives nothing" (declassified or never classified).
        # Per number, as a requirement is decided from it: its level's rank, when it ends,
        # its period and its scope limit (numbered), 0 / -1 for number 0.
        self.values: dict[tuple[Classification, KnowledgeScope | None], int] = {}
        self.value_ids: dict[tuple[int, int], int] = {}
        self.held: list[tuple[Classification, KnowledgeScope | None]] = []
        self.alive: list[object] = []
        self.value_level, self.value_end, self.value_period, self.value_limit = [0], [-1], [0], [0]
        self.columns = np.zeros((4, 0), dtype=np.int64)
        self.periods: dict[Period, int] = {}
        self.period_values: list[Period] = []
        self.limits: dict[KnowledgeScope, int] = {}
        self.limit_values: list[KnowledgeScope | None] = [None]
        self.joined: dict[tuple[int, ...], int] = {}
        self.results: dict[tuple[int, int, int], int] = {}
        self.ruled: dict[tuple[object, ...], int] = {}
        # (classification, scope) of items before, numbered, and what each meets.
        self.befores: dict[tuple[int, int], int] = {}
        self.before_values: list[tuple[Classification | None, KnowledgeScope]] = []
        self.follows: dict[tuple[int, int], tuple[int, int]] = {}
        self.actions: list[tuple[Action, ...]] = [_DECLASSIFY, _REVIEW]
        self.action_numbers: dict[tuple[Action, ...], int] = {_DECLASSIFY: 0, _REVIEW: 1}
        self.scopes: list[KnowledgeScope] = []
        # What the rules say of an impact as it is read, by its bases' values.
        self.outcomes: dict[tuple[object, ...], _Outcome] = {}
        # What each edge kind (lineage.Index.kinds) gives through its keypoints, where it
        # names any: rank, end, period, whether its last-ending keypoints differ in period.
        size = len(self.index.kinds)
        self.keyed = np.zeros(size, dtype=bool)
        self.kind_given = np.zeros((3, size), dtype=np.int64)
        self.kind_given[1] = -1
        self.kind_mixed = np.zeros(size, dtype=bool)
        # What each node's scope rules give, by number (0: none): rank, end, period, mixed.
        self.extra_given: list[tuple[int, int, int, bool]] = [(0, -1, 0, False)]
        # The impacts found, in order: node, actions, value, scope (-1 where none).
        self.found = np.zeros((0, 4), dtype=np.int64)
        self.layer_of_found = np.zeros(0, dtype=np.int64)
        # Per node, by number: its value as its children see it now, its own value, what it
        # meets a requirement with, its scope rules, whether it is a process item; the value
        # it must take, its actions and scope, numbered, -1 where it has none (yet).
        empty = np.zeros(0, dtype=np.int64)
        self.current = self.own = self.meets = self.extra_of = empty
        self.is_draft = np.zeros(0, dtype=bool)
        self.outcome_of = self.action_of = self.scope_of = empty
        self.below = np.zeros(0, dtype=np.int64)
        self.reviews: list[tuple[str, str]] = []  # process item, main item
        self.mains: dict[str, str] = {}
        self.paths: dict[str, tuple[str, ...]] = {}
        # By node number, where the lineage's numbers follow its ids (Index.by_id): each
        # descendant's path, the parent it is reached through (-1: none), and the numbers of
        # the descendants by id.
        self.numbered_paths: dict[int, tuple[str, ...]] = {}
        self._via: npt.NDArray[np.int64] | None = None
        self._numbers: dict[str, int] | None = None
        self.afters: dict[str, Item] = {}
        self._inside: set[str] | None = None
        self.grouped = Profiles(self.index, np.zeros(0, dtype=np.int64), [])

    def _value(self, item: Item) -> int:
        """An item's value as its children's keys hold it."""
        if item.status is not ItemStatus.CLASSIFIED or item.classification is None:
            return 0
        return self._number(item.classification, item.scope_limit)

    def _before(self, item: Item) -> int:
        """An item's classification and scope, numbered: what a requirement is met against."""
        pair = (id(item.classification), id(item.scope))
        seen = self.befores.get(pair)
        if seen is None:
            seen = self.befores[pair] = len(self.before_values)
            self.before_values.append((item.classification, item.scope))
        return seen

    def _number(self, classification: Classification, limit: KnowledgeScope | None) -> int:
        # Equal values share a number, so that descendants of different but equally marked
        # bases share a key; the object's identity is looked up first, as hashing the value
        # costs more and most items share their classification object with others.
        seen = self.value_ids.get((id(classification), id(limit)))
        if seen is not None:
            return seen
        number = self.values.get((classification, limit))
        if number is None:
            number = self.values[(classification, limit)] = len(self.held) + 1
            self.held.append((classification, limit))
            rank, end, period = self._given(classification)
            self.value_level.append(rank)
            self.value_end.append(end)
            self.value_period.append(period)
            self.value_limit.append(self._limit(limit))
        else:
            self.alive.append((classification, limit))  # keeps each id taken while it is used
        self.value_ids[(id(classification), id(limit))] = number
        return number

    def _given(self, classification: Classification) -> tuple[int, int, int]:
        """What a classification gives a requirement: its level's rank, when it ends and its
        period (numbered), with an unmarked period made explicit (D-9, X-11)."""
        explicit = classification.explicit()
        key = explicit.end_key
        end = key.rank * _END_RANK + (key.on.toordinal() if key.on is not None else 0)
        period = self.periods.get(explicit.period)
        if period is None:
            period = self.periods[explicit.period] = len(self.period_values)
            self.period_values.append(explicit.period)
        return explicit.level.rank, end, period

    def _limit(self, limit: KnowledgeScope | None) -> int:
        if limit is None:
            return 0
        number = self.limits.get(limit)
        if number is None:
            number = self.limits[limit] = len(self.limit_values)
            self.limit_values.append(limit)
        return number

    def _reduced(self, given: Sequence[Classification]) -> tuple[int, int, int, bool]:
        """What several classifications give together: the highest rank, the last end, the
        period of the first that ends last, and whether those ending last differ in period."""
        values = [self._given(c) for c in given]
        if not values:
            return (0, -1, 0, False)
        end = max(v[1] for v in values)
        periods = {v[2] for v in values if v[1] == end}
        first = next(v[2] for v in values if v[1] == end)
        return (max(v[0] for v in values), end, first, len(periods) > 1)

    def _kinds(self, kinds: npt.NDArray[np.int64]) -> None:
        """What each edge kind among `kinds` gives through its keypoints, if it names any and
        is not a copy of the whole basis (D-7): the live keypoints, not those declassified
        (X-14)."""
        for kind in kinds.tolist():
            edge = self.index.kinds[kind]
            if edge is None or edge.case is BasisCase.IDENTICAL or not edge.keypoint_ids:
                continue
            keypoints = [self.keypoints[k] for k in edge.keypoint_ids]
            rank, end, period, mixed = self._reduced(
                [k.classification for k in keypoints if not k.declassified]
            )
            self.keyed[kind] = True
            self.kind_given[:, kind] = (rank, end, period)
            self.kind_mixed[kind] = mixed

    def run(self, declassified_as: ItemStatus) -> Impacts:
        self.declassified_as = declassified_as
        index, world = self.index, self.world
        size = index.size
        below = self.below = index.below(self.roots)
        inside = np.zeros(size, dtype=bool)
        inside[below] = True
        parents = gather(index.parents, index.parent_rows, below)
        self._kinds(index.kinds_into(below))
        values = self.current = np.zeros(size + 1, dtype=np.int64)  # the last: nothing
        outside = each_once(parents[~inside[parents]], size)
        prefetch(world.items, index.names(outside))
        for number, name in zip(outside.tolist(), index.names(outside), strict=True):
            values[number] = self._value(self.item(name))

        # What each descendant brings besides its bases: its value as it stands, and its
        # classification and scope (what a requirement is met against), by its group.
        items = world.items
        grouped = world.profiles
        if grouped is None or grouped.index is not index or (grouped.of[below] < 0).any():
            names = index.names(below)
            prefetch(items, names)
            grouped = profiles(index, below, [items[node] for node in names])
        self.grouped = grouped
        group_of = grouped.of[below]
        examples = grouped.examples
        own_value = np.array([self._value(e) for e in examples], dtype=np.int64)[group_of]
        met = np.array([self._before(e) for e in examples], dtype=np.int64)[group_of]
        self.own = np.zeros(size, dtype=np.int64)
        self.own[below] = own_value
        self.meets = np.zeros(size, dtype=np.int64)
        self.meets[below] = met
        # Scope rules, with the date their terms run from (D-15).
        self.extra_of = np.zeros(size, dtype=np.int64)
        extras: dict[tuple[object, ...], int] = {}
        ruled = list(world.scope_rules)
        prefetch(items, ruled)
        for node, number in zip(ruled, index.nodes(ruled).tolist(), strict=True):
            rules_of = world.scope_rules[node]
            if rules_of and number >= 0 and inside[number]:
                issued_on = items[node].issued_on
                rules_key = (tuple(map(id, rules_of)), issued_on)
                extra = extras.get(rules_key)
                if extra is None:
                    extra = extras[rules_key] = len(self.extra_given)
                    given = [rule.classification_from(issued_on) for rule in rules_of]
                    self.extra_given.append(self._reduced(given))
                self.extra_of[number] = extra
        self.is_draft = np.zeros(size, dtype=bool)
        drafts = index.nodes(sorted({d for ds in world.process_items.values() for d in ds}))
        self.is_draft[drafts[drafts >= 0]] = True
        classified = self.own > 0

        # Layers: a descendant is ready once its parents below the roots are done; each
        # layer decided in one compiled pass. Imported here: numba takes a third of a second
        # to import, which every command of the CLI would pay.
        from graph import kernel

        order, starts = kernel.layered(
            below,
            inside,
            index.parent_rows,
            index.parents,
            index.child_rows,
            index.children,
            index.position,
        )
        if order.size != below.size:
            raise ValueError("DERIVED_FROM has a cycle below the changed items")
        self.outcome_of = np.full(size, -1, dtype=np.int64)
        self.action_of = np.full(size, -1, dtype=np.int64)
        self.scope_of = np.full(size, -1, dtype=np.int64)
        self._decide(order, starts)
        # The impacts in the order decided; layers numbered among those with a classified
        # descendant.
        layer_of = np.repeat(np.arange(starts.size - 1, dtype=np.int64), np.diff(starts))
        taken = classified[order]
        held = np.bincount(layer_of[taken], minlength=starts.size - 1) > 0
        numbered = np.cumsum(held) - 1
        acting = taken & (self.action_of[order] >= 0)
        nodes = order[acting]
        self.layer_of_found = numbered[layer_of[acting]].astype(np.int64)
        self.found = np.stack(
            [nodes, self.action_of[nodes], self.outcome_of[nodes], self.scope_of[nodes]], 1
        )
        self.reviews = list(self._reviews(nodes))
        return Impacts(self)

    def _decide(self, order: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]) -> None:
        """The value every descendant must take (0: declassified), its actions and scope,
        layer by layer in `order` (`starts`: where each layer starts), decided by the
        compiled pass; what it meets unnumbered is numbered here and the pass resumed."""
        from graph import kernel

        index = self.index
        results, pairs, follows = kernel.Memo(), kernel.Memo(), kernel.Memo()
        ruled = np.full(index.size, -1, dtype=np.int64)
        missing = np.empty(2 * order.size + 2, dtype=np.int64)
        extras = np.ascontiguousarray(np.array(self.extra_given, dtype=np.int64).reshape(-1, 4).T)
        review = self.action_numbers[_REVIEW]
        layer = 0
        while True:
            if self.columns.shape[1] != len(self.value_level):
                self.columns = np.array(
                    [self.value_level, self.value_end, self.value_period, self.value_limit],
                    dtype=np.int64,
                )
            layer, misses = kernel.decide(
                layer, order, starts, index.parent_rows, index.parents, index.edge_kinds,
                self.current, self.own, self.meets, self.extra_of, self.is_draft, self.columns,
                self.keyed, self.kind_given, self.kind_mixed, extras,
                results.keys, results.values, pairs.keys, pairs.values,
                follows.keys, follows.values, ruled,
                self.outcome_of, self.action_of, self.scope_of, review, missing,
            )  # fmt: skip
            if layer == kernel.DONE:
                return
            wanted = missing[: 2 * misses].reshape(-1, 2)
            what, keys = wanted[:, 0], wanted[:, 1]
            for key in np.unique(keys[what == 1]).tolist():
                pairs.put(key, self._join(*kernel.unpack_pair(key)))
            for key in np.unique(keys[what == 0]).tolist():
                results.put(key, self._result(*kernel.unpack_result(key)))
            for key in np.unique(keys[what == 3]).tolist():
                met, value = kernel.unpack_pair(key)
                follows.put(key, kernel.follow_value(*self._follow(met, value)))
            nodes = keys[what == 2].tolist()
            if nodes:
                rule_keys = [self._ruled_key(node) for node in nodes]
                # The rules read the items of each new set of values and of their bases: in
                # one batch.
                fresh = [n for n, k in zip(nodes, rule_keys, strict=True) if k not in self.ruled]
                if fresh:
                    prefetch(self.world.items, self.needed_by(np.array(fresh, dtype=np.int64)))
                for node, key in zip(nodes, rule_keys, strict=True):
                    ruled[node] = self._ruled(node, key)

    def _join(self, first: int, second: int) -> int:
        """The scope two scope limits (numbered) both admit, numbered (D-10): which comes
        first does not matter (model.KnowledgeScope.intersect); several are joined in pairs."""
        found = self.joined.get((first, second))
        if found is None:
            bound, other = self.limit_values[first], self.limit_values[second]
            if bound is None or other is None:
                raise ValueError("a scope limit joined is numbered 0")
            scope = bound.intersect(other, self.world.person_org)
            found = self.joined[(first, second)] = self._limit(scope)
        return found

    def _result(self, rank: int, period: int, limit: int) -> int:
        """The value numbered for a level, a period and a scope limit, all numbered."""
        found = self.results.get((rank, period, limit))
        if found is None:
            required = Classification(_LEVELS[rank], self.period_values[period])
            found = self._number(required, self.limit_values[limit])
            self.results[(rank, period, limit)] = found
        return found

    def _ruled_key(self, node: int) -> tuple[object, ...]:
        """What `_ruled` decides `node` by: its bases' values and edges, its scope rules."""
        bases = self.index.bases(self.index.name(node))
        parents = sorted(bases)
        given = self.current[self.index.nodes(parents)].tolist()
        return (
            *(
                (value, id(bases[p].case), bases[p].keypoint_ids)
                for p, value in zip(parents, given, strict=True)
            ),
            int(self.extra_of[node]),
        )

    def _ruled(self, node: int, key: tuple[object, ...]) -> int:
        """The value the rules require of `node` (`key`: `_ruled_key`'s), for bases whose
        last-ending periods differ: the rules join conditions and keep the first of equal
        ends, in the order of the bases' ids (D-9, D-15); run once for each set of values in
        that order."""
        found = self.ruled.get(key)
        if found is None:
            name = self.index.name(node)
            parents = sorted(self.index.bases(name))
            requirement = self._requirement(name, parents)
            required = requirement.classification
            found = 0 if required is None else self._number(required, requirement.scope_limit)
            self.ruled[key] = found
        return found

    def _follow(self, met: int, value: int) -> tuple[int, int]:
        """The actions (numbered; -1 for none) and the knowledge scope (numbered) it takes an
        item with classification and scope `met` to take value `value` (0: declassified)."""
        found = self.follows.get((met, value))
        if found is not None:
            return found
        current, scope = self.before_values[met]
        if not value:
            found = (self.action_numbers[_DECLASSIFY], -1)
        else:
            required, limit = self.held[value - 1]
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
        self.follows[(met, value)] = found
        return found

    def __len__(self) -> int:
        return len(self.found) + len(self.reviews)

    def needed_by(self, nodes: npt.NDArray[np.int64]) -> list[str]:
        """The items the rules read to explain `nodes` (numbered): each one's and its bases'."""
        index = self.index
        parents = gather(index.parents, index.parent_rows, nodes)
        return index.names(np.concatenate([nodes, parents]))

    def needed_at(self, positions: Sequence[int]) -> list[str]:
        """The items building the impacts at `positions` reads: each one's item and its
        bases' (a process item reviewed: its own)."""
        found = len(self.found)
        at = np.array(positions, dtype=np.int64)
        nodes = self.found[at[at < found], 0]
        drafts = [self.reviews[p - found][0] for p in at[at >= found].tolist()]
        return [*self.needed_by(nodes), *drafts]

    def entry(self, position: int) -> _Found:
        """The impact at `position`, as found: item, actions, value, scope."""
        if position >= len(self.found):
            draft, _ = self.reviews[position - len(self.found)]
            return (draft, _REVIEW, None, None)
        node, action, value, scope = self.found[position].tolist()
        return (
            self.index.name(node),
            self.actions[action],
            value if value >= 0 else None,
            self.scopes[scope] if scope >= 0 else None,
        )

    def table(self) -> Table:
        nodes = self.found[:, 0]
        reviewed = len(self.reviews)
        last = int(self.layer_of_found.max()) + 1 if len(self.layer_of_found) else 0
        # A layer is taken in node order; an index in id order makes that the ids' order.
        by_id = self.index.by_id and not self.reviews
        return Table(
            ids=[*self.index.names(nodes), *(draft for draft, _ in self.reviews)],
            layers=np.concatenate([self.layer_of_found, np.full(reviewed, last, dtype=np.int64)]),
            actions=np.concatenate(
                [self.found[:, 1], np.full(reviewed, self.action_numbers[_REVIEW], dtype=np.int64)]
            ),
            kinds=list(self.actions),
            groups=np.concatenate([self.grouped.of[nodes], np.full(reviewed, -1, dtype=np.int64)]),
            examples=self.grouped.examples,
            by_id=by_id,
        )

    def item_ids_found(self) -> Iterator[str]:
        yield from self.index.names(self.found[:, 0])
        yield from (draft for draft, _ in self.reviews)

    def layers_found(self) -> Iterator[int]:
        """Each impact's layer: every impact of a layer comes after its parents' layers; the
        process items reviewed come last, as a layer of their own."""
        yield from self.layer_of_found.tolist()
        last = int(self.layer_of_found.max()) + 1 if len(self.layer_of_found) else 0
        yield from (last for _ in self.reviews)

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
        number = self.index.node(node)
        if number is None or number >= len(self.action_of) or self.action_of[number] < 0:
            return before
        value, scope = int(self.outcome_of[number]), int(self.scope_of[number])
        after = self._after(
            (
                node,
                self.actions[self.action_of[number]],
                value if value >= 0 else None,
                self.scopes[scope] if scope >= 0 else None,
            ),
            before,
        )
        self.afters[node] = after
        return after

    def _after(self, entry: _Found, before: Item) -> Item:
        _, _, value, scope = entry
        if value is None:
            return before  # reviewed, not changed
        if not value:
            return _evolve(before, status=self.declassified_as)
        required, limit = self.held[value - 1]
        return _evolve(before, classification=required, scope=scope, scope_limit=limit)

    def _requirement(self, node: str, parents: Sequence[str]) -> rules.Requirement:
        world, keypoints = self.world, self.keypoints
        bases = self.index.bases(node)
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

    def outcome(self, node: str) -> _Outcome:
        """What the rules say of a recomputed `node`: run once for each set of values of the
        bases (with each edge's kind), the scope rules and the organisation (D-5)."""
        index, given = self.index, self.current
        number = self._node(node)
        if number is None:
            raise KeyError(node)  # an impact's node is always in its lineage
        rows = slice(int(index.parent_rows[number]), int(index.parent_rows[number + 1]))
        bases = given[index.parents[rows]]
        kinds = np.where(bases > 0, index.edge_kinds[rows], 0)
        organisation = self.world.organisations.get(self.world.items[node].organisation_id)
        key = (*bases.tolist(), *kinds.tolist(), int(self.extra_of[number]), id(organisation))
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = self._compute(node, list(index.bases(node)))
        return found

    def _compute(self, node: str, parents: list[str]) -> _Outcome:
        explanation = self._requirement(node, sorted(parents)).explanation
        kept = {
            c.via_item_id or c.ref_id
            for c in explanation.contributions
            if c.ground is not rules.Ground.SCOPE_RULE
        }
        articles = tuple(dict.fromkeys(("D-12", "D-13", *explanation.articles)))
        return _Outcome(
            articles,
            tuple(dict.fromkeys((*articles, "X-13", "X-25"))),
            tuple(i for i, parent in enumerate(parents) if parent in kept),
        )

    def impact(self, entry: _Found) -> Impact:
        """The whole `Impact` of one found entry."""
        node, actions, value, _, path, articles, kept = self.row(entry)
        before = self.world.items[node]
        if value is None:
            return Impact(node, actions, before, self.item(node), path, articles, ())
        return Impact(
            item_id=node,
            actions=actions,
            before=before,
            after=self.item(node),
            path=path,
            articles=articles,
            kept_bases=kept,
            explain=partial(self._explain, node),
        )

    def row(self, entry: _Found) -> ImpactRow:
        """What an `Impact` of one found entry holds but its items: its path, articles and
        bases kept, with the entry."""
        node, actions, value, scope = entry
        main = self.mains.get(node)
        path = (*self._path(main), node) if main is not None else self._path(node)
        if value is None:
            # Reviewed with its main item; derived from a changed basis too (D-12).
            articles: tuple[str, ...] = _REVIEW_ARTICLES if main is None else ("X-16", "X-22")
            return (node, actions, value, scope, path, articles, ())
        outcome = self.outcome(node)
        kept: tuple[str, ...] = ()
        if outcome.kept:  # the bases read only then: each read builds its edges
            parents = list(self.index.bases(node))
            kept = tuple(sorted(parents[i] for i in outcome.kept))
        articles = outcome.articles if value else outcome.declassify_articles
        return (node, actions, value, scope, path, articles, kept)

    def after_of(self, node: str, value: int | None, scope: KnowledgeScope | None) -> Item:
        """`node` as the change leaves it, for an entry with `value` and `scope`: what
        `item` gives, neither kept nor looked up by node."""
        changed = self.changed_items.get(node)
        if changed is not None:
            return changed
        return self._after((node, (), value, scope), self.world.items[node])

    def _node(self, name: str) -> int | None:
        """The number of `name` in the lineage: a descendant's from the fan-out's own
        numbers (one lookup in a dict, made once), any other node's from the index."""
        if self._numbers is None:
            below = self.below
            self._numbers = dict(zip(self.index.names(below), below.tolist(), strict=True))
        found = self._numbers.get(name)
        return found if found is not None else self.index.node(name)

    def _path(self, node: str) -> tuple[str, ...]:
        """A lineage path from a changed root to `node`, through the first parent by id
        among those recomputed or changed; each node's is kept for its children's."""
        if self.index.by_id:
            return self._numbered_path(node)
        if self._inside is None:
            self._inside = self.roots | set(self.index.names(self.below))
        paths, inside, bases = self.paths, self._inside, self.index.bases
        climb = [node]
        while climb[-1] not in paths:
            step = climb[-1]
            via = None
            if step not in self.roots:
                via = min((p for p in bases(step) if p in inside), default=None)
            if via is None:
                paths[step] = (step,)
                break
            climb.append(via)
        for i in range(len(climb) - 2, -1, -1):
            paths[climb[i]] = (*paths[climb[i + 1]], climb[i])
        return paths[node]

    def _numbered_path(self, node: str) -> tuple[str, ...]:
        """`_path` over node numbers, where they follow the ids: the first parent by id is
        the least number, found for every descendant at once (`_vias`)."""
        number = self._node(node)
        if number is None:
            return (node,)
        if self._via is None:
            self._via = self._vias()
        via, paths = self._via, self.numbered_paths
        climb = [number]
        while climb[-1] not in paths and via[climb[-1]] >= 0:
            climb.append(int(via[climb[-1]]))
        path = paths.get(climb[-1], ())
        fresh = climb if not path else climb[:-1]
        names = self.index.names(np.array(fresh[::-1], dtype=np.int64))
        for step, name in zip(fresh[::-1], names, strict=True):
            path = paths[step] = (*path, name)
        return paths[number]

    def _vias(self) -> npt.NDArray[np.int64]:
        """For every descendant, the least numbered of its parents among the descendants
        and the changed roots (-1 where it has none, and for a root)."""
        index, size = self.index, self.index.size
        below = np.zeros(size, dtype=bool)
        below[self.below] = True
        roots = index.nodes(sorted(self.roots))
        roots = roots[roots >= 0]
        inside = below.copy()
        inside[roots] = True
        owners = np.repeat(np.arange(size, dtype=np.int64), np.diff(index.parent_rows))
        parents = index.parents
        taken = below[owners] & inside[parents]
        via = np.full(size, size, dtype=np.int64)
        np.minimum.at(via, owners[taken], parents[taken])
        via[via == size] = -1
        via[roots] = -1
        return via

    def _explain(self, node: str) -> rules.Explanation:
        return self._requirement(node, sorted(self.index.bases(node))).explanation

    def _reviews(self, nodes: npt.NDArray[np.int64]) -> Iterator[tuple[str, str]]:
        """Process items of what changed are reviewed with it (X-22) and are not declassified
        while their main item stands (X-16): each process item once, with the first of its
        main items in the fan-out's order."""
        world = self.world
        if not world.process_items:
            return
        prefetch(world.items, [d for ds in world.process_items.values() for d in ds])
        found = self.index.names(nodes)
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
