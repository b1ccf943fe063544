"""The GraphQL side of changes: changeClassification and declassify (X-17), the notices they
send (D-12, X-13) with acknowledgeNotice, applyNotice and proposeChange, and the queries
notices, proposals, change and dueForReview. Query and Mutation of schema.py inherit these."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from graph import change as changes
from graph import model
from graph.errors import InvalidValue
from graph.phrase import Names
from graph.store.base import GraphReader, NoticeQuery
from graph.trail import Outcome
from service import expiry, metrics, notices
from service.api import types
from service.api.context import Context
from service.api.inputs import (
    Afterwards,
    PeriodInput,
    ScopeInput,
    attempt,
    decode_cursor,
    encode_cursor,
    ids,
    level_of,
)
from service.api.problems import AnyProblem
from service.change import Committed, Decision, SentNotices, commit_change, preview_change
from service.impact import ImpactReport, KeypointChange, ProposedChange
from service.redaction import Redactor
from service.usecases import now

Ctx = Info[Context, None]


@strawberry.enum(description="What a change did to its source.")
class ChangeKind(enum.Enum):
    CHANGE = "CHANGE"
    KEYPOINT_CHANGE = "KEYPOINT_CHANGE"
    DECLASSIFICATION = "DECLASSIFICATION"
    PARTIAL_DECLASSIFICATION = "PARTIAL_DECLASSIFICATION"
    EXPIRY = "EXPIRY"


@strawberry.enum(description="Why a secret is declassified: X-12 (early) or X-11 (expired).")
class DeclassificationReason(enum.Enum):
    SCOPE_RULE_ADJUSTED = "SCOPE_RULE_ADJUSTED"
    CIRCUMSTANCES_CHANGED = "CIRCUMSTANCES_CHANGED"
    PUBLICATION_REQUIRED = "PUBLICATION_REQUIRED"
    PERIOD_EXPIRED = "PERIOD_EXPIRED"


@strawberry.enum(description="Where a change notice stands.")
class NoticeStatus(enum.Enum):
    PENDING = "PENDING"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    APPLIED = "APPLIED"
    PROPOSED = "PROPOSED"
    SUPERSEDED = "SUPERSEDED"


@strawberry.type(description="A decided change or declassification of a source (D-13, X-17).")
class Change:
    id: strawberry.ID
    kind: ChangeKind
    kind_label: str
    item_id: strawberry.ID
    before: types.Item = strawberry.field(description="The source as it was.")
    after: types.Item = strawberry.field(description="The source as it became.")
    keypoints_before: list[types.Keypoint]
    keypoints_after: list[types.Keypoint]
    reason: DeclassificationReason | None
    reason_label: str | None
    basis: str = strawberry.field(description="依据和理由.")
    handler_id: strawberry.ID | None
    official_id: strawberry.ID | None
    decided_on: date
    effective_on: date
    recorded_at: datetime
    summary: str
    articles: list[str]
    approval_reference: str | None
    consulted_organisation_ids: list[strawberry.ID]
    consultation: str | None = strawberry.field(description="论证或征求意见情况 (X-20, X-21).")
    record_id: strawberry.ID | None


@strawberry.type(
    description="A change notice (变更通知): what the holder of a descendant must do, from what "
    "to what, why and by when (D-12, X-13, X-17)."
)
class Notice:
    id: strawberry.ID
    change_id: strawberry.ID = strawberry.field(description="The triggering change.")
    source_id: strawberry.ID = strawberry.field(description="The source that changed.")
    item_id: strawberry.ID
    organisation_id: strawberry.ID = strawberry.field(description="The responsible holder.")
    actions: list[types.ImpactAction]
    action_labels: list[str]
    before: types.Item = strawberry.field(description="The item when the notice was sent.")
    after: types.Item = strawberry.field(description="The item as the notice makes it.")
    marking_before: str | None
    marking_after: str | None
    classification_after: types.Classification | None = strawberry.field(
        description="The item's classification as the notice makes it (`after.classification`), "
        "as ImpactEntry.classificationAfter of the analysis that foretold it."
    )
    status_after: types.ItemStatus
    path: list[strawberry.ID] = strawberry.field(description="From the source to the item.")
    articles: list[str]
    kept_bases: list[strawberry.ID]
    text: str = strawberry.field(description="The notice in Chinese, for people.")
    due_on: date
    status: NoticeStatus
    status_label: str
    created_at: datetime
    updated_at: datetime
    acted_by: strawberry.ID | None
    record_id: strawberry.ID | None
    superseded_by: strawberry.ID | None = strawberry.field(
        description="The later change that recomputed the item."
    )
    proposal_id: strawberry.ID | None


@strawberry.type(description="A proposal to the deciding organisation (D-12, X-7, X-9).")
class Proposal:
    id: strawberry.ID
    item_id: strawberry.ID
    proposer_id: strawberry.ID
    organisation_id: strawberry.ID = strawberry.field(description="Where it is filed.")
    text: str
    created_at: datetime
    notice_id: strawberry.ID | None


def change_type(value: changes.Change) -> Change:
    return Change(
        id=strawberry.ID(value.id),
        kind=ChangeKind(value.kind.value),
        kind_label=value.kind.label,
        item_id=strawberry.ID(value.item_id),
        before=types.item(value.before),
        after=types.item(value.after),
        keypoints_before=[types.keypoint(k) for k in value.keypoints_before],
        keypoints_after=[types.keypoint(k) for k in value.keypoints_after],
        reason=DeclassificationReason(value.reason.value) if value.reason else None,
        reason_label=value.reason.label if value.reason else None,
        basis=value.basis,
        handler_id=_id(value.handler_id),
        official_id=_id(value.official_id),
        decided_on=value.decided_on,
        effective_on=value.effective_on,
        recorded_at=value.recorded_at,
        summary=value.summary,
        articles=list(value.articles),
        approval_reference=value.approval_reference,
        consulted_organisation_ids=[strawberry.ID(o) for o in value.consulted_organisation_ids],
        consultation=value.consultation,
        record_id=_id(value.record_id),
    )


def notice_type(value: changes.Notice, redactor: Redactor, names: Names) -> Notice:
    """A notice to an item the reader may read, as it may see it: the source and the items on
    the path it may not read are opaque, in its fields and in its text; `names` holds them."""

    def ref(id: str) -> strawberry.ID:
        return strawberry.ID(redactor.ref(id, names.items.get(id)))

    return Notice(
        id=strawberry.ID(value.id),
        change_id=strawberry.ID(value.change_id),
        source_id=ref(value.source_id),
        item_id=strawberry.ID(value.item_id),
        organisation_id=strawberry.ID(value.organisation_id),
        actions=[types.ImpactAction(a.value) for a in value.actions],
        action_labels=[a.label for a in value.actions],
        before=types.item(value.before),
        after=types.item(value.after),
        marking_before=value.before.marking,
        marking_after=value.after.marking,
        classification_after=types.classification(value.after.classification)
        if value.after.classification
        else None,
        status_after=types.ItemStatus(value.after.status.value),
        path=[ref(p) for p in value.path],
        articles=list(value.articles),
        kept_bases=[ref(b) for b in value.kept_bases],
        text=redactor.render(value.text, names),
        due_on=value.due_on,
        status=NoticeStatus(value.status.value),
        status_label=value.status.label,
        created_at=value.created_at,
        updated_at=value.updated_at,
        acted_by=_id(value.acted_by),
        record_id=_id(value.record_id),
        superseded_by=_id(value.superseded_by),
        proposal_id=_id(value.proposal_id),
    )


def proposal_type(value: changes.Proposal, redactor: Redactor, item: model.Item | None) -> Proposal:
    """A proposal; it is read by the organisation it is filed with, which may not read the
    item it is about (D-10): that one sees the item by its placeholder."""
    return Proposal(
        id=strawberry.ID(value.id),
        item_id=strawberry.ID(redactor.ref(value.item_id, item)),
        proposer_id=strawberry.ID(value.proposer_id),
        organisation_id=strawberry.ID(value.organisation_id),
        text=value.text,
        created_at=value.created_at,
        notice_id=_id(value.notice_id),
    )


def _id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


def _str(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


# Inputs


@strawberry.input(description="A new level or period for a keypoint of the source (D-16).")
class KeypointChangeInput:
    keypoint_id: strawberry.ID
    level: types.Level | None = None
    period: PeriodInput | None = None


@strawberry.input(
    description="A change of a source's level, period, knowledge scope or keypoints (D-13): "
    "the handler drafts, the official decides (X-17). For a level-only item kept classified, "
    "the period counts from decidedOn unless it names its start (X-19)."
)
class ChangeClassificationInput:
    item_id: strawberry.ID
    handler_id: strawberry.ID
    basis: str = strawberry.field(description="依据和理由.")
    level: types.Level | None = None
    period: PeriodInput | None = None
    scope: ScopeInput | None = None
    scope_limit: ScopeInput | None = None
    keypoints: list[KeypointChangeInput] = strawberry.field(default_factory=list)
    decided_on: date | None = strawberry.field(default=None, description="Today by default.")
    due_on: date | None = strawberry.field(
        default=None, description="When the notices are due; 30 days after by default."
    )
    approval_reference: str | None = strawberry.field(
        default=None, description="批准文号, for an extension beyond the scope rule (X-19 ¶2)."
    )
    consultation: str | None = strawberry.field(
        default=None, description="论证或征求意见情况 (X-20, X-21), for the review form."
    )
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="定密责任人: the caller itself (X-17); another is refused."
    )
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version of the source this decision was made on (Item.version, e.g. "
        "from impactAnalysis): refused with Conflict, nothing written, if it has moved on since. "
        "Left out, the source is decided on as it stands.",
    )


@strawberry.input(
    description="Declassification of a source, full or of some keypoints (X-14), early (X-12) "
    "or because its period ended (X-11); afterwards a work secret or public (X-25)."
)
class DeclassifyInput:
    item_id: strawberry.ID
    handler_id: strawberry.ID
    reason: DeclassificationReason
    basis: str = strawberry.field(description="依据和理由.")
    keypoint_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Only these keypoints (部分解密, X-14)."
    )
    afterwards: Afterwards = Afterwards.WORK_SECRET
    decided_on: date | None = None
    effective_on: date | None = strawberry.field(
        default=None,
        description="解密时间; the decision date by default. Earlier only for an expiry (X-11) "
        "or a publication (X-12: the date it was made public).",
    )
    due_on: date | None = None
    approval_reference: str | None = strawberry.field(
        default=None, description="批准文号 of the central authority, for a long-term item (X-15)."
    )
    consulted_organisation_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Co-classifiers consulted, for a joint item (X-8, X-21)."
    )
    process_item_justification: str | None = strawberry.field(
        default=None,
        description="Why a process item may be declassified while its main item stands (X-16).",
    )
    consultation: str | None = strawberry.field(
        default=None, description="论证或征求意见情况 (X-20, X-21), for the review form."
    )
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="定密责任人: the caller itself (X-17); another is refused."
    )
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version of the source this decision was made on (Item.version, e.g. "
        "from impactAnalysis): refused with Conflict, nothing written, if it has moved on since. "
        "Left out, the source is decided on as it stands.",
    )


@strawberry.input
class ApplyNoticeInput:
    notice_id: strawberry.ID
    handler_id: strawberry.ID
    official_id: strawberry.ID | None = strawberry.field(
        default=None, description="定密责任人: the caller itself (D-13); another is refused."
    )
    decided_on: date | None = None
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version of the notice's item this decision was made on (Item.version): "
        "refused with Conflict, nothing written, if it has moved on since.",
    )


@strawberry.input(description="A proposal to the deciding organisation (D-12, X-7 ¶1, X-9 ¶1).")
class ProposeChangeInput:
    item_id: strawberry.ID
    text: str
    proposer_id: strawberry.ID | None = strawberry.field(
        default=None, description="The caller itself; another person is refused."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where to file it; for an answer to a notice, the source's."
    )
    notice_id: strawberry.ID | None = None


@strawberry.input
class NoticeFilter:
    organisation_id: strawberry.ID | None = None
    item_id: strawberry.ID | None = None
    source_id: strawberry.ID | None = None
    change_id: strawberry.ID | None = None
    statuses: list[NoticeStatus] = strawberry.field(default_factory=list)


# Results


@strawberry.type(description="A committed change: its record and the notices it sent.")
class ChangeCommitted:
    change: Change
    record: types.Record
    notice_count: int = strawberry.field(
        description="How many notices the change sent, of those the caller may know of."
    )
    superseded: list[strawberry.ID] = strawberry.field(
        description="Open notices this change recomputed, now superseded."
    )
    # The notices sent, and the places among them of those the caller may read.
    sent: strawberry.Private[Sequence[changes.Notice]]
    readable: strawberry.Private[list[int]]

    @strawberry.field(description="The notices to items the caller may read (D-10).")
    async def notices(self, info: Info[Context, None]) -> list[Notice]:
        # Built when asked for: a change over 100,000 descendants answers its count cheaply.
        return await notice_views(info.context, [self.sent[i] for i in self.readable])


@strawberry.type
class NoticeSuccess:
    notice: Notice


@strawberry.type
class ApplyNoticeSuccess:
    notice: Notice
    item: types.Item
    record: types.Record


@strawberry.type
class ProposeChangeSuccess:
    proposal: Proposal


@strawberry.type
class NoticeEdge:
    cursor: str
    node: Notice


@strawberry.type
class NoticeConnection:
    edges: list[NoticeEdge]
    page_info: types.PageInfo
    counter: strawberry.Private[types.Counter]

    @strawberry.field(description=types.TOTAL_COUNT)
    async def total_count(self) -> int:
        return await self.counter()


@strawberry.type
class ProposalEdge:
    cursor: str
    node: Proposal


@strawberry.type
class ProposalConnection:
    edges: list[ProposalEdge]
    page_info: types.PageInfo
    counter: strawberry.Private[types.Counter]

    @strawberry.field(description=types.TOTAL_COUNT)
    async def total_count(self) -> int:
        return await self.counter()


Problems = AnyProblem
ChangeResult = Annotated[ChangeCommitted | Problems, strawberry.union("ChangeResult")]
NoticeResult = Annotated[NoticeSuccess | Problems, strawberry.union("NoticeResult")]
ApplyNoticeResult = Annotated[ApplyNoticeSuccess | Problems, strawberry.union("ApplyNoticeResult")]
ProposeChangeResult = Annotated[
    ProposeChangeSuccess | Problems, strawberry.union("ProposeChangeResult")
]
NoticesResult = Annotated[NoticeConnection | AnyProblem, strawberry.union("NoticesResult")]
ProposalsResult = Annotated[ProposalConnection | AnyProblem, strawberry.union("ProposalsResult")]
DueResult = Annotated[types.ItemConnection | AnyProblem, strawberry.union("DueForReviewResult")]
ImpactAnalysisResult = Annotated[
    types.ImpactAnalysis | AnyProblem, strawberry.union("ImpactAnalysisResult")
]


async def _committed(context: Context, value: Committed) -> ChangeCommitted:
    """A committed change as its decider may see it: the notices to items it may read, and
    a count of all it may know of (service.redaction)."""
    redactor = context.redactor
    # The actor read the source to decide on it (commit_change checks).
    redactor.wrote(value.change.after)
    # The notices' items are as the notices found them: nothing applied them yet.
    sent = value.notices
    if isinstance(sent, SentNotices):
        flags = sent.readable(redactor.readable)
    else:
        flags = [redactor.readable(n.before) for n in sent]
    readable = [place for place, flag in enumerate(flags) if flag]
    metrics.NOTICES.labels("decision").inc(len(sent))
    (record,) = await types.records(context, [value.record])
    return ChangeCommitted(
        change=change_type(value.change),
        record=record,
        sent=sent,
        readable=readable,
        notice_count=len(sent) if redactor.placeholders else len(readable),
        superseded=[strawberry.ID(n.id) for n in value.superseded if redactor.readable(n.before)],
    )


async def notice_views(context: Context, values: list[changes.Notice]) -> list[Notice]:
    """Notices to items the reader may read, as it may see them: the source and the items on
    the path it may not read are opaque, and the text names none of them."""
    names = await context.names(
        [n.text for n in values],
        items=[i for n in values for i in (n.source_id, *n.path, *n.kept_bases)],
    )
    redactor = context.redactor
    out = []
    for value in values:
        redactor.wrote(value.before)
        out.append(notice_type(value, redactor, names))
    return out


def _change_of(input: ChangeClassificationInput) -> tuple[ProposedChange, Decision]:
    """The change and the decision an input asks for: one reading for the commit and its
    preview."""
    proposal = ProposedChange(
        item_id=str(input.item_id),
        level=level_of(input.level),
        period=input.period.to_spec() if input.period else None,
        scope=input.scope.to_scope() if input.scope else None,
        scope_limit=input.scope_limit.to_scope() if input.scope_limit else None,
        keypoint_changes=tuple(
            KeypointChange(
                str(k.keypoint_id),
                level_of(k.level),
                k.period.to_spec() if k.period else None,
            )
            for k in input.keypoints
        ),
    )
    decision = Decision(
        handler_id=str(input.handler_id),
        official_id=_str(input.official_id),
        basis=input.basis,
        decided_on=input.decided_on,
        due_on=input.due_on,
        approval_reference=input.approval_reference,
        consultation=input.consultation,
        expected_version=input.expected_version,
    )
    return proposal, decision


def _declassification_of(input: DeclassifyInput) -> tuple[ProposedChange, Decision]:
    proposal = ProposedChange(
        item_id=str(input.item_id),
        declassify=True,
        afterwards=_afterwards(input.afterwards),
        keypoint_ids=ids(input.keypoint_ids),
    )
    decision = Decision(
        handler_id=str(input.handler_id),
        official_id=_str(input.official_id),
        basis=input.basis,
        reason=changes.DeclassificationReason(input.reason.value),
        decided_on=input.decided_on,
        effective_on=input.effective_on,
        due_on=input.due_on,
        approval_reference=input.approval_reference,
        consulted_organisation_ids=ids(input.consulted_organisation_ids),
        process_item_justification=input.process_item_justification,
        consultation=input.consultation,
        expected_version=input.expected_version,
    )
    return proposal, decision


def _report(preview: Committed) -> ImpactReport:
    change = preview.change
    return ImpactReport(change.before, change.after, change.keypoints_after, preview.impacts)


def _afterwards(value: Afterwards) -> model.ItemStatus:
    if value is Afterwards.PUBLIC:
        return model.ItemStatus.DECLASSIFIED_PUBLIC
    return model.ItemStatus.DECLASSIFIED_WORK_SECRET


def _due_cursor(item: model.Item) -> str:
    expiry = item.classification.expiry if item.classification else None
    return encode_cursor(f"{expiry.isoformat() if expiry else ''}|{item.id}", "due")


def _due_after(cursor: str) -> tuple[date, str]:
    text = decode_cursor(cursor, "due")
    day, _, item_id = text.partition("|")
    try:
        return date.fromisoformat(day), item_id
    except ValueError:
        raise InvalidValue("after", "游标（after）无效：请使用上一页返回的 endCursor。") from None


@strawberry.type
class ChangeQuery:
    @strawberry.field(
        description="Change notices by organisation, item, source, change and status, by id, "
        "paged with `first` and `after`."
    )
    async def notices(
        self,
        info: Ctx,
        filter: NoticeFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> NoticesResult:
        chosen = filter or NoticeFilter()

        async def work() -> NoticeConnection:
            query = NoticeQuery(
                organisation_id=str(chosen.organisation_id) if chosen.organisation_id else None,
                item_id=str(chosen.item_id) if chosen.item_id else None,
                source_id=str(chosen.source_id) if chosen.source_id else None,
                change_id=str(chosen.change_id) if chosen.change_id else None,
                statuses=tuple(changes.NoticeStatus(s.value) for s in chosen.statuses),
                after=decode_cursor(after, "notice") if after is not None else None,
                limit=first,
            )
            context = info.context
            page = await context.call(notices.find_notices, query, context.actor)
            views = await notice_views(context, page.notices)
            return NoticeConnection(
                edges=[
                    NoticeEdge(cursor=encode_cursor(n.id, "notice"), node=view)
                    for n, view in zip(page.notices, views, strict=True)
                ],
                page_info=types.PageInfo(
                    has_next_page=page.has_next,
                    end_cursor=encode_cursor(page.notices[-1].id, "notice")
                    if page.notices
                    else None,
                ),
                counter=lambda: context.call(notices.count_notices, query, context.actor),
            )

        return await attempt(work)

    @strawberry.field
    async def notice(self, info: Ctx, id: strawberry.ID) -> Notice | None:
        key = str(id)
        context = info.context
        found = await context.read(lambda tx: tx.notices([key]).get(key))
        if found is None or not context.redactor.readable(await context.items.load(found.item_id)):
            return None
        return (await notice_views(context, [found]))[0]

    @strawberry.field(
        description="The preview of changeClassification with the same input: refused where "
        "the commit would be, with the same problem; otherwise the source as it would become "
        "and every descendant that would get a notice, as committing would send them (D-12, "
        "D-13, X-13, X-19). Nothing is written."
    )
    async def change_impact(
        self, info: Ctx, input: ChangeClassificationInput
    ) -> ImpactAnalysisResult:
        async def work() -> types.ImpactAnalysis:
            proposal, decision = _change_of(input)
            context = info.context
            preview = await context.call(preview_change, proposal, decision, context.actor)
            return types.impact_analysis(_report(preview), context.redactor)

        return await attempt(work)

    @strawberry.field(
        description="The preview of declassify with the same input: refused where the commit "
        "would be, with the same problem; otherwise every descendant that would get a notice, "
        "as committing would send them (X-13, X-14, X-16). Nothing is written."
    )
    async def declassify_impact(self, info: Ctx, input: DeclassifyInput) -> ImpactAnalysisResult:
        async def work() -> types.ImpactAnalysis:
            proposal, decision = _declassification_of(input)
            context = info.context
            preview = await context.call(preview_change, proposal, decision, context.actor)
            return types.impact_analysis(_report(preview), context.redactor)

        return await attempt(work)

    @strawberry.field(
        description="The preview of applyNotice with the same input: refused where applying "
        "would be, with the same problem; otherwise the notice's item as it is (`item`) and "
        "as applying would leave it (`itemAfter`), and the items derived from it since that "
        "applying passes the change on to (`entries`, D-13). Nothing is written."
    )
    async def apply_notice_impact(self, info: Ctx, input: ApplyNoticeInput) -> ImpactAnalysisResult:
        async def work() -> types.ImpactAnalysis:
            context = info.context
            preview = await context.call(
                notices.preview_apply_notice,
                str(input.notice_id),
                str(input.handler_id),
                _str(input.official_id),
                input.decided_on,
                context.actor,
                input.expected_version,
            )
            return types.impact_analysis(preview.report, context.redactor)

        return await attempt(work)

    @strawberry.field(description="A decided change or declassification, with its record.")
    async def change(self, info: Ctx, id: strawberry.ID) -> Change | None:
        key = str(id)
        context = info.context
        found = await context.read(lambda tx: tx.changes([key]).get(key))
        # A change is read by those who may read its source (D-10).
        if found is None or not context.redactor.readable(await context.items.load(found.item_id)):
            return None
        context.redactor.wrote(found.after)
        return change_type(found)

    @strawberry.field(description="Proposals filed with an organisation or about an item (D-12).")
    async def proposals(
        self,
        info: Ctx,
        organisation_id: strawberry.ID | None = None,
        item_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ProposalsResult:
        async def work() -> ProposalConnection:
            page = await info.context.call(
                notices.find_proposals,
                str(organisation_id) if organisation_id else None,
                str(item_id) if item_id else None,
                decode_cursor(after, "proposal") if after is not None else None,
                first,
                info.context.actor,
            )
            items = await info.context.items.load_many([p.item_id for p in page.proposals])
            redactor = info.context.redactor
            return ProposalConnection(
                edges=[
                    ProposalEdge(
                        cursor=encode_cursor(p.id, "proposal"),
                        node=proposal_type(p, redactor, item),
                    )
                    for p, item in zip(page.proposals, items, strict=True)
                ],
                page_info=types.PageInfo(
                    has_next_page=page.has_next,
                    end_cursor=encode_cursor(page.proposals[-1].id, "proposal")
                    if page.proposals
                    else None,
                ),
                counter=lambda: info.context.call(
                    notices.count_proposals,
                    str(organisation_id) if organisation_id else None,
                    str(item_id) if item_id else None,
                    info.context.actor,
                ),
            )

        return await attempt(work)

    @strawberry.field(
        description="Classified items whose period ends within `withinDays` days (or has ended), "
        "soonest first, to be reviewed before it ends (X-4, X-17)."
    )
    async def due_for_review(
        self,
        info: Ctx,
        within_days: int,
        organisation_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> DueResult:
        async def work() -> types.ItemConnection:
            context = info.context
            page = await context.call(
                expiry.due_for_review,
                within_days,
                str(organisation_id) if organisation_id else None,
                _due_after(after) if after is not None else None,
                first,
                None,
                context.actor.read_filter(),
            )
            redactor = context.redactor
            return types.ItemConnection(
                edges=[
                    types.ItemEdge(cursor=_due_cursor(i), node=types.item(redactor.show(i)))
                    for i in page.items
                ],
                page_info=types.PageInfo(
                    has_next_page=page.has_next,
                    end_cursor=_due_cursor(page.items[-1]) if page.items else None,
                ),
                counter=lambda: context.call(
                    expiry.count_due,
                    within_days,
                    str(organisation_id) if organisation_id else None,
                    None,
                    context.actor.read_filter(),
                ),
            )

        return await attempt(work)


def _created_after(
    tx: GraphReader, organisation: str, after: tuple[datetime, str]
) -> list[changes.Notice]:
    return tx.notices_created_after(organisation, after, BURST)


# A transaction may commit a notice stamped a little earlier than one already seen; each poll
# looks this far back and skips what it has sent.
LOOKBACK = timedelta(seconds=30)
BURST = 500


@strawberry.type
class ChangeSubscription:
    @strawberry.subscription(
        description="New change notices for an organisation as they are issued (by any replica, "
        "the API or the expiry run), from `since` (the createdAt of the last one a reconnecting "
        "client saw) or from the moment of subscribing. Over WebSocket at /graphql "
        "(graphql-transport-ws); the connection is closed with 4401 once its credential no "
        "longer holds (revoked, expired, or the user's roles or organisation changed)."
    )
    async def notices_issued(
        self, info: Ctx, organisation_id: strawberry.ID, since: datetime | None = None
    ) -> AsyncGenerator[Notice, None]:
        organisation = str(organisation_id)
        context = info.context
        actor = context.actor
        if await context.read(lambda tx: tx.organisation(organisation)) is None:
            # An expected refusal, shown as it is (not masked as an internal error).
            raise GraphQLError(
                f"机关、单位「{organisation}」不存在。", extensions={"field": "organisationId"}
            )
        if not (actor.system or organisation in actor.member_of or actor.supervises(organisation)):
            await context.audit_refusal("subscription noticesIssued", Outcome.DENIED, "NOT_MEMBER")
            raise GraphQLError(
                f"只能订阅本机关、单位（或所监督的机关、单位）的变更通知，不能订阅「{organisation}」的。",
                extensions={"field": "organisationId", "requirement": "MEMBER"},
            )
        if since is not None and since.tzinfo is None:
            raise GraphQLError("since 须带时区。", extensions={"field": "since"})
        start = since or now()
        latest = start
        cursor = (start - LOOKBACK, "")
        sent: dict[str, datetime] = {}
        session = context.session
        # The connection's session ends when its credential does (service.session): checked
        # at each poll and before each message, and the connection closed; this ends with it.
        metrics.SUBSCRIPTIONS.inc()
        try:
            while session is None or session.ended is None:
                found = await context.read(
                    partial(_created_after, organisation=organisation, after=cursor)
                )
                fresh = [n for n in found if n.id not in sent and n.created_at > start]
                context.items.clear_all()  # a subscription lives long: see scopes as they stand
                items = await context.items.load_many([n.item_id for n in fresh])
                for notice, item in zip(fresh, items, strict=True):
                    sent[notice.id] = notice.created_at
                    # Only notices to items the subscriber may read (D-10), each one audited, and
                    # only while the credential stands: the trail records no read not sent.
                    if context.redactor.readable(item):
                        if session is not None and not await session.check():
                            return
                        view = (await notice_views(context, [notice]))[0]
                        await context.audit_read("subscription noticesIssued", [notice.item_id])
                        yield view
                if len(found) == BURST:  # a large fan-out: page on through it at once
                    cursor = (found[-1].created_at, found[-1].id)
                    continue
                latest = max([latest, *sent.values()])
                cursor = (latest - LOOKBACK, "")
                sent = {id: at for id, at in sent.items() if at >= cursor[0]}
                await asyncio.sleep(info.context.poll_seconds)
        finally:
            metrics.SUBSCRIPTIONS.dec()


@strawberry.type
class ChangeMutation:
    @strawberry.mutation(
        description="Changes a source's level, period, knowledge scope or keypoints and sends a "
        "change notice to every descendant that must follow (D-12, D-13, X-17, X-19)."
    )
    async def change_classification(
        self, info: Ctx, input: ChangeClassificationInput
    ) -> ChangeResult:
        async def work() -> ChangeCommitted:
            proposal, decision = _change_of(input)
            context = info.context
            committed = await context.call(commit_change, proposal, decision, context.actor)
            return await _committed(context, committed)

        return await attempt(work)

    @strawberry.mutation(
        description="Declassifies a source, wholly or some keypoints (X-14), and sends a change "
        "notice to every descendant that must follow (X-13); guarded by X-7..X-9, X-15, X-16."
    )
    async def declassify(self, info: Ctx, input: DeclassifyInput) -> ChangeResult:
        async def work() -> ChangeCommitted:
            proposal, decision = _declassification_of(input)
            context = info.context
            committed = await context.call(commit_change, proposal, decision, context.actor)
            return await _committed(context, committed)

        return await attempt(work)

    @strawberry.mutation(description="The holder has received a notice.")
    async def acknowledge_notice(
        self, info: Ctx, notice_id: strawberry.ID, person_id: strawberry.ID | None = None
    ) -> NoticeResult:
        async def work() -> NoticeSuccess:
            context = info.context
            notice = await context.call(
                notices.acknowledge_notice, str(notice_id), _str(person_id), context.actor
            )
            return NoticeSuccess(notice=(await notice_views(context, [notice]))[0])

        return await attempt(work)

    @strawberry.mutation(
        description="Applies a notice: the item changes as it says and its record is written "
        "(D-13); the holder's handler drafts and its official decides."
    )
    async def apply_notice(self, info: Ctx, input: ApplyNoticeInput) -> ApplyNoticeResult:
        async def work() -> ApplyNoticeSuccess:
            context = info.context
            applied = await context.call(
                notices.apply_notice,
                str(input.notice_id),
                str(input.handler_id),
                _str(input.official_id),
                input.decided_on,
                context.actor,
                input.expected_version,
            )
            # The actor may read the item (apply_notice checks).
            (record,) = await types.records(context, [applied.record])
            return ApplyNoticeSuccess(
                notice=(await notice_views(context, [applied.notice]))[0],
                item=types.item(context.redactor.wrote(applied.item)),
                record=record,
            )

        return await attempt(work)

    @strawberry.mutation(
        description="Files a proposal with the deciding organisation (D-12), on its own or in "
        "answer to a notice."
    )
    async def propose_change(self, info: Ctx, input: ProposeChangeInput) -> ProposeChangeResult:
        async def work() -> ProposeChangeSuccess:
            command = notices.NewProposal(
                item_id=str(input.item_id),
                proposer_id=_str(input.proposer_id),
                text=input.text,
                organisation_id=str(input.organisation_id) if input.organisation_id else None,
                notice_id=str(input.notice_id) if input.notice_id else None,
            )
            context = info.context
            proposal = await context.call(notices.propose_change, command, context.actor)
            item = await context.items.load(proposal.item_id)
            return ProposeChangeSuccess(proposal=proposal_type(proposal, context.redactor, item))

        return await attempt(work)
