"""Impact analysis: what a proposed change or declassification of a source would do to every
descendant, computed exactly as the fan-out will be (graph.propagation), without writing.

The store is read in one transaction: the lineage below the changed item (see
graph.lineage: the store may answer from memory), every parent of those descendants (bases
outside the changed subtree included), their keypoints, scope rules, organisations and process
items. Over the whole graph's index (a large lineage) the descendants' items are read only as
needed (graph.lazy): a page of results asked for later is read in a transaction of its own,
refused (`StaleAnalysis`) once the items have changed since the analysis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from operator import attrgetter
from typing import Protocol

import numpy as np

from graph.access import Actor
from graph.change import ChangeKind
from graph.errors import InvalidValue, LineageError, RuleViolation, UnknownId
from graph.lazy import LazyItems
from graph.lineage import Index
from graph.model import (
    Classification,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    ScopeRule,
    Unmarked,
)
from graph.propagation import (
    Action,
    Impact,
    Impacts,
    Table,
    World,
    fan_out,
    paused_gc,
    profiles,
    profiles_by_columns,
)
from graph.store.base import GraphReader, GraphStore
from service.permissions import readable_items
from service.usecases import PeriodSpec, check_keypoint_within, check_original_period, today

DECLASSIFIED = (ItemStatus.DECLASSIFIED_WORK_SECRET, ItemStatus.DECLASSIFIED_PUBLIC)


@dataclass(frozen=True)
class KeypointChange:
    """A new level or period for a keypoint of the source (D-16)."""

    keypoint_id: str
    level: Level | None = None
    period: PeriodSpec | None = None


@dataclass(frozen=True)
class ProposedChange:
    """A change of a source's level, period, knowledge scope, scope limit or keypoints; its
    full declassification; or the declassification of some of its keypoints (X-14).

    `decided_on` is the date of the decision: a period made explicit for a level-only item
    counts from it unless the period names its start (X-19)."""

    item_id: str
    level: Level | None = None
    period: PeriodSpec | None = None
    scope: KnowledgeScope | None = None
    scope_limit: KnowledgeScope | None = None
    keypoint_changes: tuple[KeypointChange, ...] = ()
    declassify: bool = False
    afterwards: ItemStatus = ItemStatus.DECLASSIFIED_WORK_SECRET
    keypoint_ids: tuple[str, ...] = ()
    decided_on: date | None = None


@dataclass(frozen=True)
class Plan:
    """A checked change: the source before and after, the keypoints it changes."""

    kind: ChangeKind
    before: Item
    after: Item
    keypoints_before: tuple[Keypoint, ...]
    keypoints_after: tuple[Keypoint, ...]


class ImpactList(Protocol):
    """The impacts of a dry run, parents before children: a fan-out's (graph.propagation.
    Impacts), or those of it a notice applied passes on (Selected)."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Impact: ...
    def __iter__(self) -> Iterator[Impact]: ...
    def actions(self) -> Iterator[tuple[Action, ...]]: ...
    def item_ids(self) -> Iterator[str]: ...
    def layers(self) -> Iterator[int]: ...
    def known(self, item_id: str) -> Item | None: ...
    def table(self) -> Table: ...
    @property
    def items(self) -> Mapping[str, Item]: ...
    def needs(self, positions: Iterable[int]) -> list[str]: ...


class Selected(Sequence[Impact]):
    """Some impacts of a fan-out, each with its layer, built already."""

    def __init__(
        self, impacts: Sequence[Impact], layers: Sequence[int], items: Mapping[str, Item]
    ) -> None:
        self._impacts = list(impacts)
        self._layers = list(layers)
        self._items = items

    def __len__(self) -> int:
        return len(self._impacts)

    def __getitem__(self, index: int) -> Impact:  # type: ignore[override]
        return self._impacts[index]

    def __iter__(self) -> Iterator[Impact]:
        return iter(self._impacts)

    def actions(self) -> Iterator[tuple[Action, ...]]:
        return (i.actions for i in self._impacts)

    def item_ids(self) -> Iterator[str]:
        return (i.item_id for i in self._impacts)

    def layers(self) -> Iterator[int]:
        return iter(self._layers)

    def known(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    @property
    def items(self) -> Mapping[str, Item]:
        return self._items

    def needs(self, positions: Iterable[int]) -> list[str]:
        return []  # built already

    def table(self) -> Table:
        kinds = list(dict.fromkeys(i.actions for i in self._impacts))
        number = {k: n for n, k in enumerate(kinds)}
        return Table(
            ids=[i.item_id for i in self._impacts],
            layers=np.array(self._layers, dtype=np.int64),
            actions=np.array([number[i.actions] for i in self._impacts], dtype=np.int64),
            kinds=kinds,
            groups=np.full(len(self._impacts), -1, dtype=np.int64),
            examples=[],
        )


@dataclass(frozen=True)
class ImpactReport:
    """A dry run: the item decided on as it is and as it would be, the keypoints the
    decision changes or declassifies (as they would be), and what every item below would
    have to do."""

    before: Item
    after: Item
    keypoints: tuple[Keypoint, ...]
    impacts: ImpactList


def impact_analysis(store: GraphStore, change: ProposedChange, actor: Actor) -> ImpactReport:
    """The dry run of a change: every descendant that would have to act, and how. The actor
    must know the source; what it sees of each descendant is the reader's business
    (service.redaction). Decided today, as a commit without a date is: a period made explicit
    for a level-only item counts from it (X-19)."""

    def work(tx: GraphReader) -> ImpactReport:
        readable_items(tx, actor, [change.item_id])
        plan = plan_change(tx, replace(change, decided_on=change.decided_on or today()))
        impacts = fan_out_of(tx, plan).impacts
        return ImpactReport(plan.before, plan.after, plan.keypoints_after, impacts)

    report = store.read(work)
    detach(report.impacts, store)
    return report


class StaleAnalysis(LineageError):
    """The items of an analysis read lazily have changed since it was computed: what a page
    would show no longer belongs to the analysis's graph."""

    def __init__(self) -> None:
        super().__init__("影响分析所依据的事项已有变更，分析结果已过时：请重新进行影响分析。")


def detach(impacts: ImpactList, store: GraphStore | None = None) -> None:
    """The transaction that read `impacts` has ended: an item not read yet is read, where
    `store` is given, through it, in a transaction of its own that checks that the items are
    still of the generation the impacts were computed on (`StaleAnalysis` otherwise); never
    where it is not. A page is read in one batch (`read_impacts`); building the impacts one
    by one reads them in batches (graph.propagation.Impacts), a stray lookup one by one."""
    items = impacts.items
    if not isinstance(items, LazyItems):
        return
    if store is None:
        items.bind(None)
        return
    generation = items.generation

    def read(ids: list[str]) -> dict[str, Item]:
        return store.read(lambda tx: _items_of(tx, generation, ids))

    items.bind(read)


def _items_of(tx: GraphReader, generation: int | None, ids: list[str]) -> dict[str, Item]:
    """The items of `ids` as `tx` sees them, which must be of `generation` of the items."""
    if tx.generations().get("items") != generation:
        raise StaleAnalysis
    return tx.items(ids)


def unread(impacts: ImpactList, positions: Iterable[int]) -> list[str]:
    """The ids of items building the impacts at `positions` needs and has not read yet."""
    items = impacts.items
    if not isinstance(items, LazyItems):
        return []
    return items.missing(impacts.needs(positions))


def read_impacts(tx: GraphReader, impacts: ImpactList, positions: Iterable[int]) -> None:
    """Reads in `tx`, in one batch, the items that building the impacts at `positions`
    needs (a page a reader asks for, after the analysis's transaction has ended). They must
    be of the generation the analysis read: refused with `StaleAnalysis` once the items have
    changed since."""
    items = impacts.items
    if not isinstance(items, LazyItems):
        return
    wanted = items.missing(impacts.needs(positions))
    if wanted:
        items.load(wanted, lambda ids: _items_of(tx, items.generation, ids))


@dataclass(frozen=True)
class FanOut:
    """The impacts of a plan, and every item it recomputed (descendants and process items),
    whether impacted or not."""

    impacts: Impacts
    recomputed: frozenset[str]


def fan_out_of(tx: GraphReader, plan: Plan) -> FanOut:
    """What `plan` means for every descendant: the one computation of the dry run and of the
    committed change."""
    lineage, world, below = load_world(tx, [plan.before.id])
    impacts = fan_out(
        lineage,
        world,
        changed_items={plan.after.id: plan.after},
        changed_keypoints={k.id: k for k in plan.keypoints_after},
    )
    drafts = {d for ds in world.process_items.values() for d in ds}
    return FanOut(impacts, frozenset(below).union(drafts))


def plan_change(tx: GraphReader, change: ProposedChange) -> Plan:
    """Checks a proposed change against the source as it stands and gives its outcome."""
    root = source_of(tx, change.item_id)
    current = root.classification
    if current is None:  # source_of has checked; this keeps the type narrow
        raise InvalidValue("itemId", "该事项没有密级。")
    edits = (change.level, change.period, change.scope, change.scope_limit)
    if change.declassify:
        if any(e is not None for e in edits) or change.keypoint_changes:
            raise InvalidValue("declassify", "解密时不能同时变更密级、保密期限或知悉范围。")
        if change.keypoint_ids:
            before = _own_keypoints(tx, root, change.keypoint_ids)
            after = tuple(replace(k, declassified=True) for k in before)
            return Plan(ChangeKind.PARTIAL_DECLASSIFICATION, root, root, before, after)
        if change.afterwards not in DECLASSIFIED:
            raise InvalidValue("afterwards", "解密后应作为工作秘密管理或予以公开（X-25）。")
        after_item = replace(root, status=change.afterwards)
        return Plan(ChangeKind.DECLASSIFICATION, root, after_item, (), ())
    if change.keypoint_ids:
        raise InvalidValue("keypointIds", "只有解密时才能指定密点（部分解密，X-14）。")
    if all(e is None for e in edits) and not change.keypoint_changes:
        raise InvalidValue("level", "请给出变更后的密级、保密期限、知悉范围或密点，或选择解密。")
    level_only = isinstance(current.period, Unmarked)
    # A level-only item kept classified, at its level or another, gets a period and its start;
    # without a start given, the period counts from the decision.
    start = change.decided_on if level_only else None
    proposed = Classification(
        change.level or current.level,
        change.period.to_period(start or root.issued_on) if change.period else current.period,
    )
    reviewed = change.level is not None or change.period is not None
    if level_only and reviewed and isinstance(proposed.period, Unmarked):
        raise RuleViolation(
            "LEVEL_ONLY_REVIEW",
            "只标注密级的国家秘密，决定继续保密或变更密级后继续保密的，应当重新确定保密期限、"
            "解密时间或者解密条件，并说明其起算时间（X-19）。",
            ("X-19",),
        )
    if proposed != current:
        check_original_period(proposed, root.issued_on)
    scope = change.scope if change.scope is not None else root.scope
    if scope.is_empty:
        raise RuleViolation("KNOWLEDGE_SCOPE", "知悉范围不能为空（D-10）。", ("D-10",))
    limit = change.scope_limit if change.scope_limit is not None else root.scope_limit
    changed = replace(root, classification=proposed, scope=scope, scope_limit=limit)
    before_kps, after_kps = _changed_keypoints(tx, root, change.keypoint_changes, start)
    changed_kps = {k.id: k for k in after_kps}
    for keypoint in tx.keypoints_defined_by(root.id):
        keypoint = changed_kps.get(keypoint.id, keypoint)
        if not keypoint.declassified:
            # A keypoint above the new level or beyond the new period must change with it.
            check_keypoint_within(keypoint, proposed, root.issued_on)
    if changed == root and not after_kps:
        raise InvalidValue(
            "level", f"拟变更的密级、保密期限和知悉范围与现状「{current.marking}」相同。"
        )
    kind = ChangeKind.CHANGE if changed != root else ChangeKind.KEYPOINT_CHANGE
    return Plan(kind, root, changed, before_kps, after_kps)


def source_of(tx: GraphReader, item_id: str) -> Item:
    """The classified source a change is about; a derived item follows its bases (D-12)."""
    item = tx.items([item_id]).get(item_id)
    if item is None:
        raise UnknownId("item", item_id)
    if item.kind is not ItemKind.SOURCE:
        raise RuleViolation(
            "DERIVED_FOLLOWS_SOURCE",
            f"「{item_id}」是派生事项：其所依据的已定密事项没有变更或解密的，派生国家秘密不得变更或"
            "解密；其持有单位可以向原定密机关、单位提出建议（proposeChange，D-12）。",
            ("D-12",),
        )
    if not item.is_classified or item.classification is None:
        raise InvalidValue(
            "itemId", f"「{item_id}」当前为「{item.status.label}」，无可变更的密级。"
        )
    return item


def _own_keypoints(
    tx: GraphReader, root: Item, keypoint_ids: Iterable[str]
) -> tuple[Keypoint, ...]:
    """The named keypoints, each defined by `root` and not yet declassified."""
    own = {k.id: k for k in tx.keypoints_defined_by(root.id)}
    out = []
    for keypoint_id in dict.fromkeys(keypoint_ids):
        keypoint = own.get(keypoint_id)
        if keypoint is None:
            # One answer whether it is another item's keypoint or none at all: the other
            # item may be one the actor may not know (D-10).
            raise InvalidValue(
                "keypointIds", f"密点「{keypoint_id}」不是「{root.id}」所确定的密点。"
            )
        if keypoint.declassified:
            raise InvalidValue("keypointIds", f"密点「{keypoint_id}」已经解密。")
        out.append(keypoint)
    return tuple(out)


def _changed_keypoints(
    tx: GraphReader, root: Item, changes: Iterable[KeypointChange], start: date | None
) -> tuple[tuple[Keypoint, ...], tuple[Keypoint, ...]]:
    wanted = list(changes)
    before = _own_keypoints(tx, root, [c.keypoint_id for c in wanted])
    if len(before) != len(wanted):
        raise InvalidValue("keypoints", "同一密点重复出现。")
    after = []
    for keypoint, change in zip(before, wanted, strict=True):
        current = keypoint.classification
        period = change.period.to_period(start or root.issued_on) if change.period else None
        proposed = Classification(change.level or current.level, period or current.period)
        if proposed == current:
            raise InvalidValue(
                "keypoints", f"密点「{keypoint.id}」拟变更的密级和保密期限与现状相同。"
            )
        after.append(replace(keypoint, classification=proposed))
    return before, tuple(after)


def load_world(tx: GraphReader, roots: list[str]) -> tuple[Index, World, list[str]]:
    """The lineage below `roots` with every parent of every descendant (in arrays), the
    values the fan-out reads, and the descendants."""
    with paused_gc():  # many acyclic objects: see graph.propagation.paused_gc
        index = tx.lineage_index(roots)
        numbers = index.below(roots)
        # Every basis of every descendant, those outside the subtree included, and the
        # keypoints the edges into descendants involve.
        below = index.names(numbers)
        inside = np.zeros(index.size, dtype=bool)
        inside[numbers] = True
        outside = index.parents_of(numbers)
        others = [*roots, *index.names(outside[~inside[outside]])]
        keypoint_ids = index.keypoints_into(numbers)
        drafts = tx.process_items_for([*roots, *below])
        others.extend(draft for draft, _ in drafts)
        keypoints = tx.keypoints(keypoint_ids)
        keypoints.update({k.id: k for root in roots for k in tx.keypoints_defined_by(root)})
        links = tx.scope_rule_links(below)
        rules = tx.scope_rules({rule for _, rule in links})
        scope_rules: dict[str, list[ScopeRule]] = {}
        for item_id, rule_id in links:
            scope_rules.setdefault(item_id, []).append(rules[rule_id])
        # Descendants grouped by what the fan-out reads of them, from the index's columns
        # where it keeps them, else in one pass; organisations and persons come from the groups.
        items: Mapping[str, Item] = {}
        grouped = None
        if index.columns is not None:
            # The whole graph's index: its columns group the descendants, and an item is read
            # only where a value the columns do not hold is needed (graph.lazy), in batches:
            # these, an example of each group (profiles_by_columns), a page of results.
            lazy = LazyItems(tx.generations().get("items"), tx.items)
            lazy.load([*others, *scope_rules])
            items, grouped = lazy, profiles_by_columns(index, numbers, lazy)
        if grouped is None:
            # A walked lineage, small: every item in one read, grouped in one pass.
            items = tx.item_lookup([*below, *others])
            grouped = profiles(index, numbers, [items[node] for node in below])
        read = [*grouped.examples, *(items[i] for i in others if i in items)]
        organisations = tx.organisations({i.organisation_id for i in read})
        persons = _persons(read)
        process_items: dict[str, list[str]] = {}
        for draft, main in drafts:
            process_items.setdefault(main, []).append(draft)
        world = World(
            items=items,
            keypoints=keypoints,
            scope_rules=scope_rules,
            organisations=organisations,
            person_org={p.id: p.organisation_id for p in tx.persons(persons).values()},
            process_items=process_items,
            profiles=grouped,
        )
        return index, world, below


def _persons(items: Collection[Item]) -> set[str]:
    """The persons named in the items' knowledge scopes and scope limits."""
    # Items share their scope objects: each distinct object is read once.
    scopes = {id(s): s for s in map(attrgetter("scope"), items) if s.persons}
    limits = {id(s): s for s in map(attrgetter("scope_limit"), items) if s and s.persons}
    return {p for scope in [*scopes.values(), *limits.values()] for p in scope.persons}


@dataclass
class Tally:
    """How many descendants of one holding organisation would have to act, and how: counts,
    never which ones. `hidden` of `total` are outside the reader's knowledge scope. An item
    counts once in `total` and in each kind of action it takes (declassified, changed in
    level, period or scope, reviewed)."""

    organisation_id: str
    total: int = 0
    hidden: int = 0
    to_declassify: int = 0
    to_change: int = 0
    to_review: int = 0

    def add(self, actions: tuple[Action, ...], readable: bool, count: int = 1) -> None:
        self.total += count
        self.hidden += 0 if readable else count
        self.to_declassify += count if Action.DECLASSIFY in actions else 0
        self.to_change += count if any(a not in _NOT_CHANGES for a in actions) else 0
        self.to_review += count if Action.REVIEW in actions else 0


_NOT_CHANGES = (Action.DECLASSIFY, Action.REVIEW)


def tally(
    organisations: Iterable[str],
    actions: Iterable[tuple[Action, ...]],
    readable: Iterable[bool],
) -> tuple[Tally, list[Tally]]:
    """Counts over every descendant given (one organisation, actions and readability each):
    in all, and per holding organisation by id. An official who decides sees what the
    decision makes others do, where it may not read what they hold (issue 23): how many act
    and how, per organisation, and nothing of any one item."""
    # Few distinct kinds among many descendants: counted first (in C), then added up.
    return tally_counted(Counter(zip(organisations, actions, readable, strict=True)).items())


def tally_counted(
    kinds: Iterable[tuple[tuple[str, tuple[Action, ...], bool], int]],
) -> tuple[Tally, list[Tally]]:
    """`tally` of descendants counted already: how many of each organisation, actions and
    readability."""
    overall = Tally("")
    by: dict[str, Tally] = {}
    for (organisation, acts, seen), count in kinds:
        overall.add(acts, seen, count)
        by.setdefault(organisation, Tally(organisation)).add(acts, seen, count)
    return overall, [by[o] for o in sorted(by)]
