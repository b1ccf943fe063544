"""Committed changes and declassifications of sources: the X-17 procedure (the handler
drafts, the classification official decides, then notices go out), the guards of D-12,
X-7..X-9, X-15, X-16 and X-19, and the fan-out written as change notices in the same
transaction as the change itself, so a change and all of its notices exist, or none do.

A preview (preview_change: the changeImpact and declassifyImpact queries) runs the same
checks and the same computation (`foresee`) in a read transaction, so it is refused where the
commit would be and lists the notices committing will send; impactAnalysis, the fan-out
alone, uses the same fan-out (service.impact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import overload

from graph import authority
from graph.access import Actor
from graph.change import (
    Change,
    ChangeKind,
    DeclassificationReason,
    Notice,
    NoticeStatus,
)
from graph.errors import InvalidValue, RuleViolation, UnknownId
from graph.lazy import prefetch
from graph.model import (
    DecisionRecord,
    Item,
    LongTerm,
    Organisation,
    RecordKind,
    Unmarked,
    check_id,
    check_text,
    chinese_date,
)
from graph.phrase import Phrase, item_id, item_title, join
from graph.propagation import Action, Impact, Impacts, fan_out, paused_gc
from graph.store.base import GraphReader, GraphStore, GraphWriter, NoticeQuery
from service.impact import (
    Plan,
    ProposedChange,
    Selected,
    detach,
    fan_out_of,
    load_world,
    plan_change,
)
from service.notice_rows import NoticeRow, notice_rows
from service.permissions import deciding_official, readable_items, require_handler
from service.usecases import check_decision_makers, new_id, now, require_version, today

# The regulations set no term for a derived item to follow its source; a month mirrors the
# thirty days of X-19 ¶2 and can be set per change.
NOTICE_DAYS = 30
OPEN = (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED, NoticeStatus.PROPOSED)
# A declassification dates from when the period ended or the item was published.
BACKDATED = (DeclassificationReason.PERIOD_EXPIRED, DeclassificationReason.PUBLICATION_REQUIRED)


@dataclass(frozen=True)
class Decision:
    """Who decided, why and when (X-17): the handler drafted, the official decided."""

    handler_id: str
    # The classification official: the actor itself; None names the actor.
    official_id: str | None
    basis: str
    reason: DeclassificationReason | None = None
    decided_on: date | None = None
    effective_on: date | None = None
    due_on: date | None = None
    approval_reference: str | None = None
    consulted_organisation_ids: tuple[str, ...] = ()
    process_item_justification: str | None = None
    # 论证或征求意见情况, for the review form.
    consultation: str | None = None
    # The version of the source the decision was made on; None: whatever is current.
    expected_version: int | None = None


@dataclass(frozen=True)
class Committed:
    """A decision's change, its record, the notices it sends, the open notices it supersedes,
    and the fan-out they come from: as written (commit_change), or as committing would write
    them (preview_change: nothing written, the ids and times its own)."""

    change: Change
    record: DecisionRecord
    notices: Sequence[Notice]
    superseded: list[Notice]
    impacts: Impacts


class SentNotices(Sequence[Notice]):
    """The notices of a fan-out, each built when read: a change over 100,000 descendants
    writes them as rows (`rows`, service.notice_rows), and its answer reads those it shows.
    Their ids are drawn once, so a notice read is the one written."""

    def __init__(self, change: Change, source: Item, impacts: Impacts, due_on: date) -> None:
        self._change = change
        self._source = source
        self._impacts = impacts
        self._due_on = due_on
        self._ids = [new_id("N") for _ in range(len(impacts))]

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Notice: ...

    @overload
    def __getitem__(self, index: slice) -> list[Notice]: ...

    def __getitem__(self, index: int | slice) -> Notice | list[Notice]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        impact = self._impacts[index]  # checks the index
        id = self._ids[index]
        return _notice(self._change, self._source, impact, self._due_on, id)

    def __iter__(self) -> Iterator[Notice]:
        for index in range(len(self)):
            yield self[index]

    def readable(self, may_read: Callable[[Item | None], bool]) -> list[bool]:
        """Whether a reader may read each notice (`may_read` of its item as the notice found
        it), without building the notices: decided once per group of items with equal
        values (Impacts.table), which is what reading depends on."""
        table = self._impacts.table()
        by_group = [may_read(example) for example in table.examples]
        known = self._impacts.known
        return [
            by_group[group] if group >= 0 else may_read(known(item_id))
            for group, item_id in zip(table.groups.tolist(), table.ids, strict=True)
        ]

    def rows(self) -> Iterator[NoticeRow]:
        """Each notice as a row (codec.NOTICE_COLUMNS), without building the notices."""
        return notice_rows(self._change, self._source, self._impacts, self._due_on, self._ids)


@dataclass(frozen=True)
class _Checked:
    """A decision's own fields, checked before the graph is read."""

    decision: Decision
    official_id: str
    basis: str
    decided_on: date
    effective_on: date
    due_on: date
    approval: str | None
    justification: str | None
    consultation: str | None
    consulted: tuple[str, ...]


def commit_change(
    store: GraphStore, proposal: ProposedChange, decision: Decision, actor: Actor
) -> Committed:
    """Decides a change or declassification of a source and sends its notices, in one
    transaction; refused with the article it breaks, writing nothing. The actor is the
    classification official who decides, and must know the source (D-10)."""
    checked = _check(decision, actor)

    def work(tx: GraphWriter) -> Committed:
        plan, change, due_on = _decide(tx, proposal, checked, actor)
        return write_change(tx, plan, change, due_on)

    return store.write(work)


def preview_change(
    store: GraphStore, proposal: ProposedChange, decision: Decision, actor: Actor
) -> Committed:
    """What `commit_change` would decide and send, refused where it would be refused, for
    the same reasons: the same checks and the same computation, in a read transaction that
    writes nothing."""
    checked = _check(decision, actor)

    def work(tx: GraphReader) -> Committed:
        plan, change, due_on = _decide(tx, proposal, checked, actor)
        return foresee(tx, plan, change, due_on)

    return store.read(work)


def _check(decision: Decision, actor: Actor) -> _Checked:
    official_id = deciding_official(actor, decision.official_id)
    basis = check_text(decision.basis, "basis", limit=2000)
    on = today()
    decided_on = decision.decided_on or on
    effective_on = decision.effective_on or decided_on
    if decided_on > on or effective_on > on:
        raise InvalidValue(
            "effectiveOn",
            "决定日期和生效日期不能晚于今天：决定作出并生效时再登记（预定的变更尚不支持）。",
        )
    if effective_on < decided_on and decision.reason not in BACKDATED:
        raise InvalidValue(
            "effectiveOn",
            "生效日期不能早于决定日期；只有保密期限届满（X-11）或依法公开（X-12）的解密以届满之时"
            "或公开之日为准。",
        )
    due_on = decision.due_on or max(effective_on, decided_on) + timedelta(days=NOTICE_DAYS)
    if due_on < decided_on:
        raise InvalidValue("dueOn", "通知的处理期限不能早于决定日期。")
    return _Checked(
        decision=decision,
        official_id=official_id,
        basis=basis,
        decided_on=decided_on,
        effective_on=effective_on,
        due_on=due_on,
        approval=_optional_text(decision.approval_reference, "approvalReference"),
        justification=_optional_text(
            decision.process_item_justification, "processItemJustification"
        ),
        consultation=optional_text(decision.consultation, "consultation", limit=2000),
        consulted=tuple(
            check_id(o, "consultedOrganisationIds") for o in decision.consulted_organisation_ids
        ),
    )


def _decide(
    tx: GraphReader, proposal: ProposedChange, checked: _Checked, actor: Actor
) -> tuple[Plan, Change, date]:
    """The change a decision makes, checked against the graph as it stands (D-10, D-12,
    X-7..X-9, X-15..X-19), not yet written."""
    decision = checked.decision
    official_id = checked.official_id
    source = readable_items(tx, actor, [proposal.item_id])[proposal.item_id]
    require_version(source, decision.expected_version)
    plan = plan_change(tx, replace(proposal, decided_on=checked.decided_on))
    if checked.effective_on < plan.before.issued_on:
        raise InvalidValue("effectiveOn", "生效日期不能早于事项的制发日期。")
    official = tx.persons([official_id]).get(official_id)
    if official is None:
        raise UnknownId("person", official_id)
    deciding = check_decision_makers(tx, official.organisation_id, decision.handler_id, official_id)
    require_handler(tx, actor, decision.handler_id)
    grant = decision_authority(tx, deciding, plan.before)
    justification = checked.justification
    articles = _guard(
        tx, plan, decision, checked.approval, justification, checked.consulted, checked.effective_on
    )
    basis = checked.basis
    change = Change(
        id=new_id("C"),
        kind=plan.kind,
        item_id=plan.before.id,
        before=plan.before,
        after=plan.after,
        keypoints_before=plan.keypoints_before,
        keypoints_after=plan.keypoints_after,
        reason=decision.reason,
        basis=(
            f"{basis}（过程稿先于主事项解密的理由：{justification.rstrip('。')}，X-16）"
            if justification
            else basis
        ),
        handler_id=decision.handler_id,
        official_id=official_id,
        decided_on=checked.decided_on,
        effective_on=checked.effective_on,
        recorded_at=now(),
        summary=_summary(plan, deciding, grant),
        articles=tuple(dict.fromkeys((*articles, grant.ground.article))),
        approval_reference=checked.approval,
        consulted_organisation_ids=checked.consulted,
        consultation=checked.consultation,
    )
    return plan, change, checked.due_on


def foresee(
    tx: GraphReader,
    plan: Plan,
    change: Change,
    due_on: date,
    record: DecisionRecord | None = None,
) -> Committed:
    """What a decided change writes: the source and keypoints as they become, its record,
    the change, its fan-out as notices, and the open notices it recomputes, superseded. The
    one computation of the preview and of the commit. `record`: the written record where the
    decision writes its own (a correction of the lineage cites its bases, service.correction);
    by default the change's."""
    fanned = fan_out_of(tx, plan)
    record = record or _record(plan, change)
    # Every decision moves the source's version on, one that keeps it as it is (keypoints
    # only) too.
    after = plan.before.decided(plan.after)
    change = replace(change, after=after, record_id=record.id)
    # A notice per impact: the items they name in one read, not one each (graph.lazy).
    prefetch(fanned.impacts.items, fanned.impacts.needs(range(len(fanned.impacts))))
    notices = SentNotices(change, plan.before, fanned.impacts, due_on)
    detach(fanned.impacts)
    of_source = NoticeQuery(source_id=plan.before.id, statuses=OPEN, limit=None)
    # Open notices of the source's earlier changes, of every item recomputed now, and of the
    # changed item itself (a derived item that expired by itself has nothing left to apply).
    recomputed = [*fanned.recomputed, plan.before.id]
    # A change may supersede 100,000 notices, millions of values none in a cycle: paused_gc.
    with paused_gc():
        reached = [n for n in tx.notices_of(recomputed, OPEN) if n.status in OPEN]
        sent = [n for n in reached if n.source_id == plan.before.id]
        # The source's notices are most often all to items recomputed now, read already:
        # they are read again only when some are not.
        if tx.count_notices(of_source) == len(sent):
            stale = [*sent, *(n for n in reached if n.source_id != plan.before.id)]
        else:
            stale = [n for n in [*tx.find_notices(of_source), *reached] if n.status in OPEN]
        superseded = [
            replace(n, status=NoticeStatus.SUPERSEDED, superseded_by=change.id, updated_at=now())
            for n in {n.id: n for n in stale}.values()
        ]
    return Committed(change, record, notices, superseded, fanned.impacts)


def write_change(
    tx: GraphWriter,
    plan: Plan,
    change: Change,
    due_on: date,
    record: DecisionRecord | None = None,
) -> Committed:
    """Writes a decided change as `foresee` says."""
    done = foresee(tx, plan, change, due_on, record)
    tx.update_items([done.change.after])
    if plan.keypoints_after:
        tx.update_keypoints(plan.keypoints_after)
    tx.add_record(done.record)
    tx.add_change(done.change)
    if done.superseded:
        tx.update_notices(done.superseded)
    if isinstance(done.notices, SentNotices):
        # Millions of strings and tuples, none in a cycle: see paused_gc.
        with paused_gc():
            tx.add_notice_rows(done.notices.rows())
    elif done.notices:
        tx.add_notices(done.notices)
    return done


def _optional_text(value: str | None, what: str) -> str | None:
    return optional_text(value, what, limit=500)


def optional_text(value: str | None, what: str, limit: int) -> str | None:
    """A text that may be left out; blank counts as left out."""
    if value is None or not value.strip():
        return None
    return check_text(value, what, limit=limit)


def organisation_chains(tx: GraphReader, ids: Iterable[str]) -> dict[str, Organisation]:
    """The organisations named and every successor and superior above them (X-7, X-9)."""
    found: dict[str, Organisation] = {}
    wanted = set(ids)
    while wanted:
        batch = tx.organisations(wanted)
        found.update(batch)
        wanted = {
            o
            for org in batch.values()
            for o in (org.successor_id, org.superior_id)
            if o is not None and o not in found
        }
    return found


def decision_authority(tx: GraphReader, deciding: Organisation, item: Item) -> authority.Authority:
    organisations = organisation_chains(tx, [item.organisation_id, deciding.id])
    grant = authority.authority_of(deciding.id, item, organisations)
    if grant is None:
        raise authority.refusal(deciding, item, organisations)
    return grant


def _guard(
    tx: GraphReader,
    plan: Plan,
    decision: Decision,
    approval: str | None,
    justification: str | None,
    consulted: Sequence[str],
    effective_on: date,
) -> tuple[str, ...]:
    """The guards of a declassification or change; returns the articles that it follows."""
    source = plan.before
    current = source.classification
    declassifying = plan.kind in (
        ChangeKind.DECLASSIFICATION,
        ChangeKind.PARTIAL_DECLASSIFICATION,
    )
    missing = authority.missing_consultations(source, frozenset(consulted))
    if declassifying and missing:
        raise RuleViolation(
            "JOINT_CONSULTATION",
            f"「{source.id}」由多个机关、单位共同确定：解密时应当征求 {'、'.join(missing)} 的意见"
            "（consultedOrganisationIds，X-8, X-21）。",
            ("X-8", "X-21"),
        )
    if not declassifying:
        if decision.reason is not None:
            raise InvalidValue("reason", "解密理由只用于解密（X-12）；变更请在 basis 中说明依据。")
        level_only = current is not None and isinstance(current.period, Unmarked)
        reviewed = ("X-19",) if level_only and plan.after.classification != current else ()
        return ("D-13", *reviewed, *_extension_articles(tx, plan, approval))
    if decision.reason is None:
        raise RuleViolation(
            "DECLASSIFICATION_REASON",
            "解密须说明理由：保密事项范围调整、形势条件变化、依法应予公开（X-12），"
            "或保密期限已满（X-11）。",
            ("X-11", "X-12"),
        )
    if decision.reason is DeclassificationReason.PERIOD_EXPIRED:
        expiry = current.expiry if current else None
        if expiry is None or expiry > effective_on:
            raise RuleViolation(
                "PERIOD_NOT_ENDED",
                f"「{source.id}」的保密期限（{source.marking}）到 {effective_on.isoformat()} "
                "尚未届满：提前解密应说明 X-12 的理由。",
                ("X-11", "X-12"),
            )
    long_term = isinstance(current.period, LongTerm) if current else False
    rules = tx.scope_rules(tx.classified_under(source.id))
    if (long_term or any(r.long_term for r in rules.values())) and approval is None:
        raise RuleViolation(
            "LONG_TERM_APPROVAL",
            f"「{source.id}」的保密期限为长期：不得擅自解密，须报规定该保密事项范围的中央和国家机关"
            "批准，并填写批准文号（approvalReference，X-15）。",
            ("X-15",),
        )
    main = tx.main_item_of(source.id)
    if main is not None and plan.kind is ChangeKind.DECLASSIFICATION:
        main_item = tx.items([main]).get(main)
        if main_item is not None and main_item.is_classified and justification is None:
            raise RuleViolation(
                "PROCESS_ITEM_FIRST",
                f"「{source.id}」是「{main}」产生过程中形成的相关涉密事项，「{main}」尚未解密：不得"
                "解密，除非原定密机关、单位认为确有必要且解密后不影响国家秘密保密，并说明理由"
                "（processItemJustification，X-16）。",
                ("X-16",),
            )
    articles = ["X-17", decision.reason.article.split("(")[0]]
    if plan.kind is ChangeKind.PARTIAL_DECLASSIFICATION:
        articles.append("X-14")
    if approval is not None and (long_term or any(r.long_term for r in rules.values())):
        articles.append("X-15")
    if source.joint_organisation_ids:
        articles.append("X-8")
    if main is not None:
        articles.append("X-16")
    articles.append("X-25")
    return tuple(dict.fromkeys(articles))


def _extension_articles(tx: GraphReader, plan: Plan, approval: str | None) -> tuple[str, ...]:
    """A period extended beyond what the item's scope rules allow needs the approval of the
    central authority that set them (X-19 ¶2)."""
    before, after = plan.before.classification, plan.after.classification
    if before is None or after is None or after.end_key <= before.explicit().end_key:
        return ()
    rules = tx.scope_rules(tx.classified_under(plan.before.id)).values()
    limits = [r.classification_from(plan.before.issued_on).explicit().end_key for r in rules]
    if not limits or after.explicit().end_key <= max(limits):
        return ()
    if approval is None:
        raise RuleViolation(
            "EXTENSION_APPROVAL",
            "延长保密期限使累计保密期限超过保密事项范围的规定：应当报制定该保密事项范围的中央和"
            "国家机关批准，并填写批准文号（approvalReference，X-19）。",
            ("X-19",),
        )
    return ("X-19",)


def _summary(plan: Plan, deciding: Organisation, grant: authority.Authority) -> str:
    source = plan.before
    by = {
        authority.Ground.ORIGINATOR: "原定密机关、单位",
        authority.Ground.SUCCESSOR: "承继其职能的机关、单位",
        authority.Ground.SUPERIOR: "上级机关、单位",
    }[grant.ground]
    what = describe(plan)
    return f"{deciding.name}（{by}）决定：「{source.title}」{what}。"


def describe(plan: Plan) -> str:
    """What a change does to its source, for people."""
    before, after = plan.before, plan.after
    match plan.kind:
        case ChangeKind.EXPIRY if plan.keypoints_before:
            names = "、".join(f"「{k.title}」" for k in plan.keypoints_before)
            return f"密点 {names} 保密期限届满自行解密，其余内容继续保密（{before.marking}）"
        case ChangeKind.DECLASSIFICATION | ChangeKind.EXPIRY:
            return f"解密（原标志 {before.marking}），{after.status.label}"
        case ChangeKind.PARTIAL_DECLASSIFICATION:
            names = "、".join(f"「{k.title}」" for k in plan.keypoints_before)
            return f"部分解密：密点 {names} 解密，其余内容继续保密（{before.marking}）"
        case ChangeKind.KEYPOINT_CHANGE:
            return "变更密点：" + "；".join(
                f"「{b.title}」{b.classification.marking} → {a.classification.marking}"
                for b, a in zip(plan.keypoints_before, plan.keypoints_after, strict=True)
            )
        case ChangeKind.CHANGE:
            parts = []
            if before.marking != after.marking:
                parts.append(f"{before.marking} → {after.marking}")
            if before.scope != after.scope or before.scope_limit != after.scope_limit:
                parts.append("变更知悉范围")
            parts.extend(
                f"密点「{b.title}」{b.classification.marking} → {a.classification.marking}"
                for b, a in zip(plan.keypoints_before, plan.keypoints_after, strict=True)
            )
            return "变更：" + "；".join(parts)


def _record(plan: Plan, change: Change) -> DecisionRecord:
    after = plan.after
    kind = {
        ChangeKind.DECLASSIFICATION: RecordKind.DECLASSIFICATION,
        ChangeKind.PARTIAL_DECLASSIFICATION: RecordKind.DECLASSIFICATION,
        ChangeKind.EXPIRY: RecordKind.EXPIRY,
    }.get(plan.kind, RecordKind.CHANGE)
    return DecisionRecord(
        id=new_id("R"),
        item_id=after.id,
        kind=kind,
        handler_id=change.handler_id,
        official_id=change.official_id,
        decided_on=change.decided_on,
        recorded_at=change.recorded_at,
        status=after.status,
        classification=after.classification,
        scope=after.scope,
        bases=(),
        # The change names its own source only: words do.
        summary=Phrase.of(f"{change.summary}依据和理由：{change.basis}"),
        articles=change.articles,
        effective_on=change.effective_on,
        reasoning=change.basis or None,
        consultation=change.consultation,
    )


@dataclass(frozen=True)
class PassedOn:
    """What applying a notice passes on (D-13): the impacts, with their paths from the
    changed source, and the notices that carry them."""

    impacts: Selected
    notices: list[Notice]


def passed_on(tx: GraphReader, notice: Notice, after: Item) -> PassedOn:
    """The notices of `notice`'s change for what was derived from its item after the change
    was decided, which the change's fan-out could not reach, or whose notice of the change a
    later change superseded: applying the notice passes the change on to them (D-13), along
    the notice's path. An item with a notice of the change still in force already has what
    the change means for it. Read before the item is written."""
    lineage, world, _ = load_world(tx, [after.id])
    impacts = fan_out(lineage, world, changed_items={after.id: after}, changed_keypoints={})
    prefetch(world.items, impacts.needs(range(len(impacts))))
    if not impacts:
        return PassedOn(Selected([], [], world.items), [])
    reached = tx.find_notices(NoticeQuery(change_id=notice.change_id, limit=None))
    # A notice of the change that a later change superseded no longer carries it: the later
    # change recomputed its item from this notice's item as it stood, before this notice.
    covered = {n.item_id for n in reached if n.status is not NoticeStatus.SUPERSEDED}
    change = tx.changes([notice.change_id])[notice.change_id]
    source = tx.items([notice.source_id])[notice.source_id]
    kept = [
        (replace(i, path=(*notice.path[:-1], *i.path)), layer)
        for i, layer in zip(impacts, impacts.layers(), strict=True)
        if i.item_id not in covered
    ]
    detach(impacts)  # built: what is read of them later is read already
    return PassedOn(
        Selected([i for i, _ in kept], [layer for _, layer in kept], world.items),
        [_notice(change, source, i, notice.due_on) for i, _ in kept],
    )


def _notice(
    change: Change, source: Item, impact: Impact, due_on: date, id: str | None = None
) -> Notice:
    created = change.recorded_at
    return Notice(
        id=id or new_id("N"),
        change_id=change.id,
        source_id=source.id,
        item_id=impact.item_id,
        organisation_id=impact.before.organisation_id,
        actions=impact.actions,
        before=impact.before,
        after=impact.after,
        path=impact.path,
        articles=impact.articles,
        kept_bases=impact.kept_bases,
        text=notice_text(change, source, impact, due_on),
        due_on=due_on,
        status=NoticeStatus.PENDING,
        created_at=created,
        updated_at=created,
    )


def notice_text(change: Change, source: Item, impact: Impact, due_on: date) -> Phrase:
    """The notice as its recipient reads it (X-17(三)): what changed upstream, what to do to
    which item, along which path, under which articles, by when. The source and the path are
    named by reference: the recipient may not know them (D-10)."""
    item = impact.before
    actions = "、".join(a.label for a in impact.actions)
    if Action.DECLASSIFY in impact.actions:
        outcome = impact.after.status.label
    elif Action.REVIEW in impact.actions:
        outcome = "与其主事项一并审核，主事项尚未解密的不得解密"
    else:
        outcome = impact.after.marking or ""
    text = Phrase.of(
        "因「",
        item_title(source.id),
        "」（",
        item_id(source.id),
        f"）已于{chinese_date(change.effective_on)}{change.kind.label}，派生事项「",
        item_title(item.id),
        "」（",
        item_id(item.id),
        f"，现标志 {item.marking}）须{actions}：{outcome}。派生路径：",
        join(" → ", map(item_id, impact.path)),
        "。",
    )
    if impact.kept_bases and Action.DECLASSIFY not in impact.actions:
        text += Phrase.of("仍依据：", join("、", map(item_id, impact.kept_bases)), "，不予解密。")
    return text + f"依据：{'、'.join(impact.articles)}。请于{chinese_date(due_on)}前处理。"


def expiry_change_id(item_id: str, ended_on: date) -> str:
    """The same id for the expiry of the same item on the same date on every replica, so a
    second run (or a second replica) cannot write it twice."""
    digest = hashlib.sha256(f"{item_id}|{ended_on.isoformat()}".encode()).hexdigest()[:20]
    return f"EXP-{ended_on.isoformat()}-{digest}"
