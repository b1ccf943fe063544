"""What the holder of a derived item does with a change notice: acknowledge it, apply it
(the item changes and its record is written, D-13), or answer it with a proposal to the
organisation that decides on the source (D-12, X-7); and the lists of notices and proposals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from graph import authority
from graph.access import Actor, Role
from graph.change import Notice, NoticeStatus, Proposal
from graph.errors import InvalidValue, NotVisible, RuleViolation, UnknownId
from graph.model import DecisionRecord, Item, RecordKind, check_id, check_text
from graph.phrase import Phrase
from graph.propagation import Action
from graph.store.base import GraphReader, GraphStore, GraphWriter, NoticeQuery
from service.change import OPEN, organisation_chains, passed_on
from service.impact import ImpactReport, Selected
from service.permissions import (
    acting_person,
    deciding_official,
    readable_item,
    require_handler,
    require_role,
)
from service.usecases import (
    MAX_PAGE,
    assigned_id,
    check_decision_makers,
    new_id,
    now,
    require_version,
    today,
)


@dataclass(frozen=True)
class Applied:
    notice: Notice
    item: Item
    record: DecisionRecord
    # The notices of the same change to what was derived from the item since (D-13).
    passed_on: tuple[Notice, ...] = ()


@dataclass(frozen=True)
class NoticePage:
    notices: list[Notice]
    has_next: bool


@dataclass(frozen=True)
class ProposalPage:
    proposals: list[Proposal]
    has_next: bool


def visible_notice(tx: GraphReader, notice_id: str, actor: Actor) -> Notice:
    """A notice whose item the actor may read (D-10); any other reads as not there."""
    notice = tx.notices([notice_id]).get(notice_id)
    item = tx.items([notice.item_id]).get(notice.item_id) if notice else None
    if notice is None or item is None or not actor.can_read(item):
        raise UnknownId("notice", notice_id) if actor.system else NotVisible("notice", notice_id)
    return notice


def _open_notice(tx: GraphReader, notice_id: str, actor: Actor) -> Notice:
    notice = visible_notice(tx, notice_id, actor)
    if notice.status not in OPEN:
        then = (
            f"：请处理取代它的变更「{notice.superseded_by}」所发的通知。"
            if notice.superseded_by
            else "。"
        )
        raise RuleViolation(
            "NOTICE_CLOSED",
            f"通知「{notice_id}」{notice.status.label}，不能再处理{then}",
            ("D-12", "D-13"),
        )
    return notice


def _holder(tx: GraphReader, notice: Notice, person_id: str) -> None:
    """Only the organisation that holds the item, or the one that took over its functions,
    acts on its notice."""
    person = tx.persons([person_id]).get(person_id)
    if person is None:
        raise UnknownId("person", person_id)
    chain = organisation_chains(tx, [notice.organisation_id])
    holders = authority.successors(notice.organisation_id, chain)
    if person.organisation_id not in holders:
        raise RuleViolation(
            "NOTICE_HOLDER",
            f"「{person.name}」不属于通知所送达的机关、单位「{notice.organisation_id}」：变更通知由"
            "派生事项的持有单位处理（D-12, D-13）。",
            ("D-12", "D-13"),
        )


def acknowledge_notice(
    store: GraphStore, notice_id: str, person_id: str | None, actor: Actor
) -> Notice:
    """The holder has received the notice (X-17(三)); acknowledging twice changes nothing.
    The actor acknowledges in its own name."""
    require_role(actor, Role.HANDLER, Role.OFFICIAL)
    person_id = acting_person(actor, person_id, "签收人")

    def work(tx: GraphWriter) -> Notice:
        notice = _open_notice(tx, check_id(notice_id, "noticeId"), actor)
        _holder(tx, notice, person_id)
        if notice.status is not NoticeStatus.PENDING:
            return notice
        acknowledged = replace(
            notice, status=NoticeStatus.ACKNOWLEDGED, acted_by=person_id, updated_at=now()
        )
        tx.update_notices([acknowledged])
        return acknowledged

    return store.write(work)


def apply_notice(
    store: GraphStore,
    notice_id: str,
    handler_id: str,
    official_id: str | None,
    decided_on: date | None,
    actor: Actor,
    expected_version: int | None = None,
) -> Applied:
    """Changes the item as its notice says and writes its record (D-13): the handler drafts,
    the official of the holding organisation, the actor, decides; on the item's version
    `expected_version`, if given. The change passes on to what was derived from the item
    since (service.change.passed_on)."""
    official_id = deciding_official(actor, official_id)
    on = _decided_on(decided_on)

    def work(tx: GraphWriter) -> Applied:
        applying = _applying(tx, notice_id, handler_id, official_id, on, actor, expected_version)
        applied = applying.applied
        tx.update_items([applied.item])
        tx.add_record(applied.record)
        tx.update_notices([applied.notice])
        if applied.passed_on:
            tx.add_notices(applied.passed_on)
        return applied

    return store.write(work)


@dataclass(frozen=True)
class ApplyPreview:
    """What applying a notice would write (`applied`: ids and times its own), and the
    same as a dry run (`report`): the item as it is and would be, and what applying passes
    on."""

    applied: Applied
    report: ImpactReport


def preview_apply_notice(
    store: GraphStore,
    notice_id: str,
    handler_id: str,
    official_id: str | None,
    decided_on: date | None,
    actor: Actor,
    expected_version: int | None = None,
) -> ApplyPreview:
    """What `apply_notice` would do to the item and pass on (D-13), refused where it would
    be, for the same reasons: the same checks and computation in a read transaction that
    writes nothing."""
    official_id = deciding_official(actor, official_id)
    on = _decided_on(decided_on)

    def work(tx: GraphReader) -> ApplyPreview:
        applying = _applying(tx, notice_id, handler_id, official_id, on, actor, expected_version)
        applied = applying.applied
        report = ImpactReport(applying.before, applied.item, (), applying.impacts)
        return ApplyPreview(applied, report)

    return store.read(work)


def _decided_on(decided_on: date | None) -> date:
    on = decided_on or today()
    if on > today():
        raise InvalidValue("decidedOn", "决定日期不能晚于今天。")
    return on


@dataclass(frozen=True)
class _Applying:
    applied: Applied
    before: Item
    impacts: Selected


def _applying(
    tx: GraphReader,
    notice_id: str,
    handler_id: str,
    official_id: str,
    on: date,
    actor: Actor,
    expected_version: int | None,
) -> _Applying:
    """A notice applied, checked against the graph as it stands, not yet written: the
    one computation of the preview and of applying."""
    notice = _open_notice(tx, check_id(notice_id, "noticeId"), actor)
    _holder(tx, notice, official_id)
    official = tx.persons([official_id])[official_id]
    check_decision_makers(tx, official.organisation_id, handler_id, official_id)
    require_handler(tx, actor, handler_id)
    item = tx.items([notice.item_id]).get(notice.item_id)
    if item is None:
        raise UnknownId("item", notice.item_id)
    require_version(item, expected_version)
    if _state(item) != _state(notice.before):
        raise RuleViolation(
            "NOTICE_OUTDATED",
            f"「{item.id}」在通知发出后已有变更（现为 {item.marking}，{item.status.label}）："
            "本通知已过时，不能执行。",
            ("D-13",),
        )
    changed = replace(
        item,
        status=notice.after.status,
        classification=notice.after.classification,
        scope=notice.after.scope,
        scope_limit=notice.after.scope_limit,
    )
    # Applied, a notice is a decision on the item even where it leaves it as it was.
    after = item.decided(changed)
    declassified = Action.DECLASSIFY in notice.actions
    actions = "、".join(a.label for a in notice.actions)
    record = DecisionRecord(
        id=new_id("R"),
        item_id=item.id,
        kind=RecordKind.DECLASSIFICATION if declassified else RecordKind.CHANGE,
        handler_id=handler_id,
        official_id=official_id,
        decided_on=on,
        recorded_at=now(),
        status=after.status,
        classification=after.classification,
        scope=after.scope,
        bases=(),
        summary=Phrase.of(f"执行变更通知 {notice.id}（{actions}）：", notice.text),
        articles=notice.articles,
        effective_on=on,
    )
    applied = replace(
        notice,
        status=NoticeStatus.APPLIED,
        acted_by=official_id,
        record_id=record.id,
        updated_at=record.recorded_at,
    )
    followers = passed_on(tx, notice, after) if changed != item else None
    return _Applying(
        Applied(applied, after, record, tuple(followers.notices) if followers else ()),
        item,
        followers.impacts if followers else Selected([], [], {}),
    )


def _state(item: Item) -> tuple[object, ...]:
    return (item.status, item.classification, item.scope, item.scope_limit)


@dataclass(frozen=True)
class NewProposal:
    item_id: str
    proposer_id: str | None
    text: str
    organisation_id: str | None = None
    notice_id: str | None = None
    id: str | None = None


def propose_change(store: GraphStore, command: NewProposal, actor: Actor) -> Proposal:
    """Records a proposal to the organisation that decides (D-12, X-7 ¶1, X-9 ¶1). Answering a
    notice addresses it to the originator of the changed source, and marks the notice. The
    actor proposes in its own name, about an item it may read."""
    require_role(actor, Role.HANDLER, Role.OFFICIAL)
    proposer_id = acting_person(actor, command.proposer_id, "建议人")
    proposal_id = assigned_id(command.id, "P", actor)
    text = check_text(command.text, "text", limit=2000)

    def work(tx: GraphWriter) -> Proposal:
        item = readable_item(tx, actor, command.item_id)
        proposer = tx.persons([proposer_id]).get(proposer_id)
        if proposer is None:
            raise UnknownId("person", proposer_id)
        notice = None
        addressed = command.organisation_id
        if command.notice_id is not None:
            notice = _open_notice(tx, command.notice_id, actor)
            if notice.item_id != item.id:
                raise InvalidValue("noticeId", f"通知「{notice.id}」不是发给「{item.id}」的。")
            _holder(tx, notice, proposer.id)
            source = tx.items([notice.source_id])[notice.source_id]
            addressed = addressed or source.organisation_id
        if addressed is None:
            raise InvalidValue("organisationId", "请指明建议提交的机关、单位（原定密机关、单位）。")
        if tx.organisation(addressed) is None:
            raise UnknownId("organisation", addressed)
        if addressed == proposer.organisation_id:
            raise InvalidValue("organisationId", "建议应提交给原定密机关、单位，而不是本单位。")
        proposal = Proposal(
            id=proposal_id,
            item_id=item.id,
            proposer_id=proposer.id,
            organisation_id=addressed,
            text=text,
            created_at=now(),
            notice_id=notice.id if notice else None,
        )
        tx.add_proposal(proposal)
        if notice is not None:
            tx.update_notices(
                [
                    replace(
                        notice,
                        status=NoticeStatus.PROPOSED,
                        acted_by=proposer.id,
                        proposal_id=proposal.id,
                        updated_at=proposal.created_at,
                    )
                ]
            )
        return proposal

    return store.write(work)


def find_notices(store: GraphStore, query: NoticeQuery, actor: Actor) -> NoticePage:
    """A page of the notices whose items the actor may read (D-10)."""
    limit = query.limit or 0
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")

    def work(tx: GraphReader) -> list[Notice]:
        if query.source_id is not None and not actor.system:
            # A source the reader may not know filters as one that does not exist (D-10): its
            # notices to items the reader holds show it only by a placeholder.
            source = tx.items([query.source_id]).get(query.source_id)
            if source is None or not actor.can_read(source):
                return []

        def fetch(after: str | None, size: int) -> list[Notice]:
            return tx.find_notices(replace(query, after=after, limit=size))

        def keep(batch: list[Notice]) -> list[Notice]:
            items = tx.items({n.item_id for n in batch})
            return [n for n in batch if n.item_id in items and actor.can_read(items[n.item_id])]

        return visible_page(fetch, keep, lambda n: n.id, query.after, limit + 1, actor.system)

    found = store.read(work)
    return NoticePage(found[:limit], len(found) > limit)


def count_notices(store: GraphStore, query: NoticeQuery, actor: Actor) -> int:
    """How many notices find_notices pages through for `query`: of the items the actor may
    read, counted by the store."""

    def work(tx: GraphReader) -> int:
        if query.source_id is not None and not actor.system:
            source = tx.items([query.source_id]).get(query.source_id)
            if source is None or not actor.can_read(source):
                return 0  # as find_notices: a source it may not know has none
        return tx.count_notices(query, None if actor.system else actor.read_filter())

    return store.read(work)


T = TypeVar("T")


def visible_page(
    fetch: Callable[[str | None, int], list[T]],
    keep: Callable[[list[T]], list[T]],
    key: Callable[[T], str],
    after: str | None,
    wanted: int,
    everything: bool,
) -> list[T]:
    """Up to `wanted` rows that `keep` lets through, read in batches after `after`, so that a
    page of what a reader may see is full whenever enough rows follow."""
    if everything:
        return fetch(after, wanted)
    out: list[T] = []
    size = max(wanted, 100)
    while len(out) < wanted:
        batch = fetch(after, size)
        out.extend(keep(batch))
        if len(batch) < size:
            break
        after = key(batch[-1])
        size = min(size * 2, 5000)
    return out[:wanted]


def visible_proposal(
    actor: Actor, proposal: Proposal, item: Item | None, proposer: str | None
) -> bool:
    """A proposal is read by the organisation it is filed with and by the proposer's, and by
    those who may read its item."""
    if actor.system:
        return True
    if proposal.organisation_id in actor.member_of or proposer in actor.member_of:
        return True
    if actor.supervises(proposal.organisation_id):
        return True
    return item is not None and actor.can_read(item)


def find_proposals(
    store: GraphStore,
    organisation_id: str | None,
    item_id: str | None,
    after: str | None,
    limit: int,
    actor: Actor,
) -> ProposalPage:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")

    def work(tx: GraphReader) -> list[Proposal]:
        return _visible_proposals(tx, organisation_id, item_id, actor, after, limit + 1)

    found = store.read(work)
    return ProposalPage(found[:limit], len(found) > limit)


def _visible_proposals(
    tx: GraphReader,
    organisation_id: str | None,
    item_id: str | None,
    actor: Actor,
    after: str | None,
    limit: int,
) -> list[Proposal]:
    """Up to `limit` proposals after `after`, of those the actor may see, by id."""

    def fetch(start: str | None, size: int) -> list[Proposal]:
        return tx.find_proposals(organisation_id, item_id, start, size)

    def keep(batch: list[Proposal]) -> list[Proposal]:
        items = tx.items({p.item_id for p in batch})
        persons = tx.persons({p.proposer_id for p in batch})
        return [
            p
            for p in batch
            if visible_proposal(
                actor,
                p,
                items.get(p.item_id),
                persons[p.proposer_id].organisation_id if p.proposer_id in persons else None,
            )
        ]

    return visible_page(fetch, keep, lambda p: p.id, after, limit, actor.system)


# Proposals are few (one an item at the most of the time): counted as they are read.
ALL_PROPOSALS = 1_000_000


def count_proposals(
    store: GraphStore, organisation_id: str | None, item_id: str | None, actor: Actor
) -> int:
    """How many proposals find_proposals pages through, of those the actor may see."""

    def work(tx: GraphReader) -> int:
        return len(_visible_proposals(tx, organisation_id, item_id, actor, None, ALL_PROPOSALS))

    return store.read(work)
