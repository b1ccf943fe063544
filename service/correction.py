"""Corrections of the lineage: a basis added to a derived item, or one removed, with the
reason (依据和理由), decided by the holder's handler and classification official as every
other decision on the item (D-6, D-11, D-13).

After the edit the item's required classification is computed again from all of its bases
(graph.rules, D-7..D-10, D-15), and the holder's decision is checked as at derivation
(rules.check_proposal): a proposed level or period other than what the bases now require is
refused with its article, so a basis of a higher level cannot be added while the item keeps
its lower one (D-8, D-9, D-21 case 1); by default the item takes the requirement. Where the
item's classification (status, level, period, knowledge scope, scope limit) stays as it is,
the correction is recorded (a CHANGE record citing the bases, D-11, D-13) and nothing else
moves. Where it changes, it is a change of the item decided by its holder (D-13): the record,
the change and the notices to its descendants are written by service.change.write_change,
the one fan-out of changeClassification (D-12, X-13).

The last basis of a derived item cannot be removed: an item that takes neither content nor
keypoints from a classified item is not derived-classified at all (D-14), and whether it is
a secret is then for the scope rules to say, as an original classification. Add the right
basis first, then remove the wrong one.

A citation that uses no content (D-14: an item cited, not a basis) is recorded apart, as a
CITES edge that the lineage shows and nothing else reads.

Everything is checked before anything is written, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from graph import rules
from graph.access import Actor, Role
from graph.change import Change as ChangeValue
from graph.change import ChangeKind
from graph.cycle import cycle_path
from graph.errors import CycleClosed, DuplicateId, InvalidValue, RuleViolation, UnknownId
from graph.model import (
    Citation,
    Classification,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    RecordKind,
    ScopeRule,
    check_id,
    check_text,
)
from graph.phrase import Phrase, item_id, item_title
from graph.store.base import GraphStore, GraphWriter
from service.change import NOTICE_DAYS, Committed, write_change
from service.impact import Plan
from service.permissions import (
    acting_person,
    deciding_official,
    readable_items,
    require_handler,
    require_role,
)
from service.redaction import Redactor, names_in
from service.rehearsal import rehearse
from service.usecases import (
    BasisSpec,
    PeriodSpec,
    _basis,
    _citations,
    _involved_keypoints,
    _person_orgs,
    _require_scope_members,
    check_decision_makers,
    new_id,
    now,
    require_version,
    today,
)


@dataclass(frozen=True)
class CorrectBasis:
    """Add `add` to the item's bases, or remove the basis on `remove_parent_id`: one of the
    two. Level, period and scope as deriveItem takes them: None keeps what the rules require
    (the level and period) or what the item has (the scope)."""

    item_id: str
    handler_id: str
    official_id: str | None
    reason: str
    add: BasisSpec | None = None
    remove_parent_id: str | None = None
    level: Level | None = None
    period: PeriodSpec | None = None
    originator_consultation: str | None = None
    scope: KnowledgeScope | None = None
    decided_on: date | None = None
    due_on: date | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class Corrected:
    """The item as the correction left it, its record, what the rules now require, and the
    change with its notices where the item's classification moved (None where it held)."""

    item: Item
    record: DecisionRecord
    requirement: rules.Requirement
    committed: Committed | None
    before: Item


def correct_basis(
    store: GraphStore, command: CorrectBasis, actor: Actor, redactor: Redactor
) -> Corrected:
    """Adds or removes a basis of a derived item and decides what that means for it, in one
    transaction; refused with the article it breaks, writing nothing. The actor is the
    holder's classification official who decides, and must know the item and every basis it
    has after the correction (D-10, D-11)."""
    return store.write(_correction(command, actor, redactor))


def preview_correction(
    store: GraphStore, command: CorrectBasis, actor: Actor, redactor: Redactor
) -> Corrected:
    """What `correct_basis` would decide and send, refused where it would be, for the same
    reasons: the correction itself, rehearsed (service.rehearsal), since its fan-out reads the
    lineage as corrected. Nothing is written."""
    return rehearse(store, _correction(command, actor, redactor))


def _correction(
    command: CorrectBasis, actor: Actor, redactor: Redactor
) -> Callable[[GraphWriter], Corrected]:
    """The correction's checks of the command alone, then its unit of work."""
    official_id = deciding_official(actor, command.official_id)
    if (command.add is None) == (command.remove_parent_id is None):
        raise InvalidValue("basis", "请给出要增加的依据或要删除的依据，二者取其一。")
    reason = check_text(command.reason, "reason", limit=2000)
    on = today()
    decided_on = command.decided_on or on
    if decided_on > on:
        raise InvalidValue("decidedOn", "决定日期不能晚于今天。")
    due_on = command.due_on or decided_on + timedelta(days=NOTICE_DAYS)
    if due_on < decided_on:
        raise InvalidValue("dueOn", "通知的处理期限不能早于决定日期。")
    consultation = (command.originator_consultation or "").strip() or None
    target = check_id(command.item_id, "itemId")

    def work(tx: GraphWriter) -> Corrected:
        item = readable_items(tx, actor, [target])[target]
        if item.kind is not ItemKind.DERIVED:
            raise RuleViolation(
                "NOT_DERIVED_ITEM",
                f"「{item.id}」是原定密事项：其定密依据是保密事项范围，没有派生依据可以更正"
                "（D-11, D-14）。",
                ("D-11", "D-14"),
            )
        require_version(item, command.expected_version)
        organisation = check_decision_makers(
            tx, item.organisation_id, command.handler_id, official_id
        )
        require_handler(tx, actor, command.handler_id)
        edges = tx.parents([item.id])
        kept, added = _edit(tx, item, edges, command, actor, redactor)
        parent_ids = [e.parent_id for e in kept] + ([added.parent_id] if added else [])
        parents = tx.items(parent_ids)
        if not all(p in parents and actor.can_read(parents[p]) for p in parent_ids):
            # Which one is not said: the caller may not know of it (D-10).
            raise RuleViolation(
                "BASIS_NOT_KNOWN",
                f"「{item.id}」的依据中有您知悉范围以外的事项：决定其密级须知悉其全部依据，"
                "请由知悉全部依据的定密责任人决定（D-10, D-11）。",
                ("D-10", "D-11"),
            )
        contained = tx.contained_keypoints(parent_ids)
        keypoint_map = tx.keypoints(k for e in kept for k in e.keypoint_ids)
        bases = [
            rules.Basis(
                parents[e.parent_id], e.case, tuple(keypoint_map[k] for k in e.keypoint_ids)
            )
            for e in kept
        ]
        if command.add is not None:
            names = names_in(tx, keypoints=[k for ids in contained.values() for k in ids])
            bases.append(
                _basis(tx, command.add, parents[command.add.parent_id], contained, names, redactor)
            )
        if added is not None:
            # The keypoints as checked, by their own ids (the caller may name them by
            # placeholders).
            added = replace(added, keypoint_ids=tuple(k.id for k in bases[-1].keypoints))
        scope = command.scope if command.scope is not None else item.scope
        person_org = _require_scope_members(tx, scope, None)
        person_org |= _person_orgs(tx, (b.parent.scope_limit for b in bases))
        rule_map = tx.scope_rules(tx.classified_under(item.id))
        requirement = rules.required_classification(
            bases,
            list(rule_map.values()),
            issued_on=item.issued_on,
            organisation=organisation,
            person_org=person_org,
        )
        proposed_period = (
            command.period.to_period(item.issued_on) if command.period is not None else None
        )
        chosen = rules.check_proposal(
            requirement,
            level=command.level,
            period=proposed_period,
            scope=scope,
            person_org=person_org,
            originator_consultation=consultation,
        )
        changed = _outcome(item, chosen, scope, requirement.scope_limit)
        record = _record(
            item, changed, command, official_id, decided_on, bases, rule_map, requirement
        )
        record = replace(record, reasoning=reason, consultation=consultation)
        # The lineage as corrected, then the decision on the item: the fan-out reads the item
        # as it becomes, and its descendants' other bases as they are.
        if added is not None:
            tx.add_derivations([added])
        else:
            tx.remove_derivations([(item.id, command.remove_parent_id or "")])
        _contain(tx, item.id, bases, contained)
        if _state(changed) == _state(item):
            after = item.decided(changed)
            tx.update_items([after])
            tx.add_record(record)
            return Corrected(after, record, requirement, None, item)
        declassifying = not changed.is_classified and item.is_classified
        plan = Plan(
            ChangeKind.DECLASSIFICATION if declassifying else ChangeKind.CHANGE,
            item,
            changed,
            (),
            (),
        )
        change = ChangeValue(
            id=new_id("C"),
            kind=plan.kind,
            item_id=item.id,
            before=item,
            after=changed,
            keypoints_before=(),
            keypoints_after=(),
            reason=None,
            basis=reason,
            handler_id=command.handler_id,
            official_id=official_id,
            decided_on=decided_on,
            effective_on=decided_on,
            recorded_at=record.recorded_at,
            summary=(
                f"{organisation.name}（持有单位）更正派生依据后决定：「{item.title}」"
                f"{_movement(item, changed)}。"
            ),
            articles=record.articles,
            consultation=consultation,
        )
        committed = write_change(tx, plan, change, due_on, record)
        return Corrected(committed.change.after, record, requirement, committed, item)

    return work


def _edit(
    tx: GraphWriter,
    item: Item,
    edges: Sequence[Derivation],
    command: CorrectBasis,
    actor: Actor,
    redactor: Redactor,
) -> tuple[list[Derivation], Derivation | None]:
    """The item's bases that stay, and the edge added (None for a removal), checked."""
    if command.add is not None:
        spec = command.add
        parent_id = check_id(spec.parent_id, "basis.parentId")
        parent = readable_items(tx, actor, [parent_id])[parent_id]
        if any(e.parent_id == parent_id for e in edges):
            raise DuplicateId("derivation", f"{item.id} -> {parent_id}")
        path = cycle_path(item.id, parent_id, tx.parents)
        if path is not None:
            seen = tx.items(path)
            raise CycleClosed(tuple(redactor.ref(p, seen.get(p)) for p in path))
        if item.issued_on < parent.issued_on:
            raise InvalidValue(
                "basis.parentId",
                f"「{item.id}」的制发日期 {item.issued_on.isoformat()} 早于依据「{parent.id}」的"
                f"制发日期 {parent.issued_on.isoformat()}：派生事项产生于执行或者办理已定密事项"
                "之后（D-3）。",
            )
        # The keypoints are checked with the other bases (usecases._basis); the edge carries
        # them by their own ids once they are.
        return list(edges), Derivation(item.id, parent_id, spec.case, ())
    parent_id = check_id(command.remove_parent_id or "", "removeParentId")
    readable_items(tx, actor, [parent_id])
    kept = [e for e in edges if e.parent_id != parent_id]
    if len(kept) == len(edges):
        raise InvalidValue("removeParentId", f"「{parent_id}」不是「{item.id}」的派生依据。")
    if not kept:
        raise RuleViolation(
            "LAST_BASIS",
            f"「{parent_id}」是「{item.id}」唯一的派生依据，不能删除：未采用任何已定密事项的内容或"
            "密点的事项不是派生国家秘密，是否定密应当依照保密事项范围判断（D-7, D-14）。请先增加"
            "正确的依据，再删除错误的依据。",
            ("D-7", "D-14"),
        )
    return kept, None


def _outcome(
    item: Item,
    chosen: Classification | None,
    scope: KnowledgeScope,
    scope_limit: KnowledgeScope | None,
) -> Item:
    """The item as the decision makes it. Bases that no longer require a classification
    declassify a classified item (D-14, X-25: a work secret until decided otherwise); one that
    was not (or no longer) a secret stays as it is, with its scope."""
    if chosen is not None:
        return replace(
            item,
            status=ItemStatus.CLASSIFIED,
            classification=chosen,
            scope=scope,
            scope_limit=scope_limit,
        )
    if item.is_classified:
        return replace(item, status=ItemStatus.DECLASSIFIED_WORK_SECRET, scope=scope)
    return replace(item, scope=scope)


def _state(item: Item) -> tuple[object, ...]:
    return (item.status, item.classification, item.scope, item.scope_limit)


def _movement(before: Item, after: Item) -> str:
    if before.status is not after.status and not after.is_classified:
        return f"解密（原标志 {before.marking}），{after.status.label}"
    parts = []
    if before.marking != after.marking:
        parts.append(f"{before.marking or before.status.label} → {after.marking}")
    if before.scope != after.scope or before.scope_limit != after.scope_limit:
        parts.append("变更知悉范围")
    return "变更：" + "；".join(parts)


def _record(
    item: Item,
    changed: Item,
    command: CorrectBasis,
    official_id: str,
    decided_on: date,
    bases: Sequence[rules.Basis],
    rule_map: dict[str, ScopeRule],
    requirement: rules.Requirement,
) -> DecisionRecord:
    """The written record of the correction (D-11, D-13): what was added or removed, named by
    reference (a reader of the item may not know the basis, D-10), the bases it now rests on,
    and what the rules make of them."""
    if command.add is not None:
        edit = Phrase.of(
            "更正派生依据：增加依据「",
            item_title(command.add.parent_id),
            "」（",
            item_id(command.add.parent_id),
            "）。",
        )
    else:
        removed = command.remove_parent_id or ""
        edit = Phrase.of(
            "更正派生依据：删除依据「", item_title(removed), "」（", item_id(removed), "）。"
        )
    if _state(changed) == _state(item):
        outcome = Phrase.of(f"现有密级和保密期限（{item.marking or item.status.label}）仍然成立。")
    else:
        outcome = Phrase.of(f"据此{_movement(item, changed)}，并通知其派生事项（D-12, D-13）。")
    articles = ("D-11", "D-13", *requirement.explanation.articles)
    declassifying = not changed.is_classified and item.is_classified
    return DecisionRecord(
        id=new_id("R"),
        item_id=item.id,
        kind=RecordKind.DECLASSIFICATION if declassifying else RecordKind.CHANGE,
        handler_id=command.handler_id,
        official_id=official_id,
        decided_on=decided_on,
        recorded_at=now(),
        status=changed.status,
        classification=changed.classification,
        scope=changed.scope,
        bases=_citations(bases, rule_map, item.issued_on),
        summary=edit + requirement.explanation.summary + outcome,
        articles=tuple(dict.fromkeys(articles)),
        effective_on=decided_on,
    )


def _contain(
    tx: GraphWriter, item: str, bases: Sequence[rules.Basis], contained: dict[str, list[str]]
) -> None:
    """CONTAINS_KEYPOINT of the item as its bases now give it (usecases._involved_keypoints):
    what a new basis brings is added, what only a removed one brought is taken away."""
    wanted = set(_involved_keypoints(bases, contained))
    has = set(tx.contained_keypoints([item]).get(item, []))
    if wanted - has:
        tx.add_contained_keypoints(item, sorted(wanted - has))
    if has - wanted:
        tx.remove_containments([(item, k) for k in sorted(has - wanted)])


@dataclass(frozen=True)
class CiteItem:
    """`item_id` cites `cited_id` without taking its content or keypoints (D-14)."""

    item_id: str
    cited_id: str
    note: str
    person_id: str | None = None


def record_citation(store: GraphStore, command: CiteItem, actor: Actor) -> Citation:
    """Records a citation that uses no content (D-14): an edge of its own kind, shown in the
    lineage and never read by the rules, the fan-out or impact analysis. Recorded by a handler
    or official of the citing item's holder, in its own name, who reads both items (D-10)."""
    require_role(actor, Role.HANDLER, Role.OFFICIAL)
    person_id = acting_person(actor, command.person_id, "登记人")
    note = check_text(command.note, "note", limit=500)
    item_id = check_id(command.item_id, "itemId")
    cited_id = check_id(command.cited_id, "citedId")
    if item_id == cited_id:
        raise InvalidValue("citedId", "事项不能引用其自身。")

    def work(tx: GraphWriter) -> Citation:
        found = readable_items(tx, actor, [item_id, cited_id])
        person = tx.persons([person_id]).get(person_id)
        if person is None:
            raise UnknownId("person", person_id)
        holder = found[item_id].organisation_id
        if person.organisation_id != holder:
            raise RuleViolation(
                "CITATION_HOLDER",
                f"「{person.name}」不属于「{item_id}」的持有单位：其引用情况由持有单位登记"
                "（D-11, D-14）。",
                ("D-11", "D-14"),
            )
        if any(e.parent_id == cited_id for e in tx.parents([item_id])):
            raise InvalidValue(
                "citedId",
                f"「{cited_id}」已是「{item_id}」的派生依据：采用了其内容或密点的，不是单纯引用"
                "（D-7, D-14）。",
            )
        citation = Citation(item_id, cited_id, note, person_id, now())
        tx.add_citations([citation])
        return citation

    return store.write(work)
