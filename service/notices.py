"""What the holder of a derived item does with a change notice: acknowledge it, apply it
(the item changes and its record is written, D-13), or answer it with a proposal to the
organisation that decides on the source (D-12, X-7); and the lists of notices and proposals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from graph import authority
from graph.change import Notice, NoticeStatus, Proposal
from graph.errors import InvalidValue, RuleViolation, UnknownId
from graph.model import DecisionRecord, Item, RecordKind, check_id, check_text
from graph.propagation import Action
from graph.store.base import GraphReader, GraphStore, GraphWriter, NoticeQuery
from service.change import OPEN, organisation_chains
from service.usecases import MAX_PAGE, check_decision_makers, new_id, now, today


@dataclass(frozen=True)
class Applied:
    notice: Notice
    item: Item
    record: DecisionRecord


@dataclass(frozen=True)
class NoticePage:
    notices: list[Notice]
    has_next: bool


@dataclass(frozen=True)
class ProposalPage:
    proposals: list[Proposal]
    has_next: bool


def _open_notice(tx: GraphReader, notice_id: str) -> Notice:
    notice = tx.notices([notice_id]).get(notice_id)
    if notice is None:
        raise UnknownId("notice", notice_id)
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


def acknowledge_notice(store: GraphStore, notice_id: str, person_id: str) -> Notice:
    """The holder has received the notice (X-17(三)); acknowledging twice changes nothing."""

    def work(tx: GraphWriter) -> Notice:
        notice = _open_notice(tx, check_id(notice_id, "noticeId"))
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
    official_id: str,
    decided_on: date | None = None,
) -> Applied:
    """Changes the item as its notice says and writes its record (D-13): the handler drafts,
    the official of the holding organisation decides."""
    on = decided_on or today()
    if on > today():
        raise InvalidValue("decidedOn", "决定日期不能晚于今天。")

    def work(tx: GraphWriter) -> Applied:
        notice = _open_notice(tx, check_id(notice_id, "noticeId"))
        _holder(tx, notice, official_id)
        official = tx.persons([official_id])[official_id]
        check_decision_makers(tx, official.organisation_id, handler_id, official_id)
        item = tx.items([notice.item_id]).get(notice.item_id)
        if item is None:
            raise UnknownId("item", notice.item_id)
        if _state(item) != _state(notice.before):
            raise RuleViolation(
                "NOTICE_OUTDATED",
                f"「{item.id}」在通知发出后已有变更（现为 {item.marking}，{item.status.label}）："
                "本通知已过时，不能执行。",
                ("D-13",),
            )
        after = replace(
            item,
            status=notice.after.status,
            classification=notice.after.classification,
            scope=notice.after.scope,
            scope_limit=notice.after.scope_limit,
        )
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
            summary=f"执行变更通知 {notice.id}（{actions}）：{notice.text}",
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
        if after != item:
            tx.update_items([after])
        tx.add_record(record)
        tx.update_notices([applied])
        return Applied(applied, after, record)

    return store.write(work)


def _state(item: Item) -> tuple[object, ...]:
    return (item.status, item.classification, item.scope, item.scope_limit)


@dataclass(frozen=True)
class NewProposal:
    item_id: str
    proposer_id: str
    text: str
    organisation_id: str | None = None
    notice_id: str | None = None
    id: str | None = None


def propose_change(store: GraphStore, command: NewProposal) -> Proposal:
    """Records a proposal to the organisation that decides (D-12, X-7 ¶1, X-9 ¶1). Answering a
    notice addresses it to the originator of the changed source, and marks the notice."""
    proposal_id = check_id(command.id or new_id("P"), "id")
    text = check_text(command.text, "text", limit=2000)

    def work(tx: GraphWriter) -> Proposal:
        item = tx.items([command.item_id]).get(command.item_id)
        if item is None:
            raise UnknownId("item", command.item_id)
        proposer = tx.persons([command.proposer_id]).get(command.proposer_id)
        if proposer is None:
            raise UnknownId("person", command.proposer_id)
        notice = None
        addressed = command.organisation_id
        if command.notice_id is not None:
            notice = _open_notice(tx, command.notice_id)
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


def find_notices(store: GraphStore, query: NoticeQuery) -> NoticePage:
    limit = query.limit or 0
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    found = store.read(lambda tx: tx.find_notices(replace(query, limit=limit + 1)))
    return NoticePage(found[:limit], len(found) > limit)


def find_proposals(
    store: GraphStore,
    organisation_id: str | None,
    item_id: str | None,
    after: str | None,
    limit: int,
) -> ProposalPage:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    found = store.read(lambda tx: tx.find_proposals(organisation_id, item_id, after, limit + 1))
    return ProposalPage(found[:limit], len(found) > limit)
