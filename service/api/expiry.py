"""The GraphQL side of time as a question (issue 23, point 2): `expiryPreview(asOf)`, what the
expiry run would declassify on a date to come and which notices it would send (X-11, X-13),
computed by the run itself and rolled back (service.expiry.preview), as the reader may see it.
Query of schema.py inherits this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from graph import change as changes
from graph.errors import InvalidValue
from graph.model import Item
from graph.phrase import Names
from service import expiry
from service.api import types
from service.api.context import Context
from service.api.inputs import attempt, decode_cursor, encode_cursor, paged
from service.api.problems import AnyProblem
from service.change import Committed
from service.redaction import Redactor
from service.usecases import MAX_PAGE

Ctx = Info[Context, None]
T = TypeVar("T")


@strawberry.type(
    description="An item whose period would end by the date, or keypoints of a source whose "
    "own periods would (X-11, X-14): declassified by itself as of its end. For an item the "
    "reader may not read, a placeholder that tells only that it is there (D-10)."
)
class Expiration:
    id: strawberry.ID = strawberry.field(description="The item's id, or a placeholder's.")
    redacted: bool
    item: types.Item | None = strawberry.field(
        description="The item as it is now; null for a placeholder."
    )
    ended_on: date | None = strawberry.field(
        description="When its period ends: the declassification dates from then (X-11)."
    )
    keypoint_ids: list[strawberry.ID] = strawberry.field(
        description="Only these keypoints of the source expire, the rest stays classified; "
        "empty when the whole item does."
    )
    summary: str | None = strawberry.field(description="What happens, for people.")
    articles: list[str]


@strawberry.type
class ExpirationEdge:
    cursor: str
    node: Expiration


@strawberry.type
class ExpirationConnection:
    edges: list[ExpirationEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(
        description="Of those the reader may know of: placeholders included, none left out."
    )


@strawberry.type(
    description="A change notice the run would send (X-13, D-12): to the holder of a "
    "descendant of what expires. For a descendant the reader may not read, a placeholder."
)
class ExpiryNotice:
    id: strawberry.ID = strawberry.field(
        description="The descendant's id, or a placeholder's (not a notice id: nothing is "
        "written, so the notice has none)."
    )
    redacted: bool
    source_id: strawberry.ID = strawberry.field(
        description="The item whose expiry sends it (a placeholder's id where the reader may "
        "not read it)."
    )
    item: types.Item | None = strawberry.field(description="The descendant as it is now.")
    organisation_id: strawberry.ID | None = strawberry.field(description="Its holder.")
    actions: list[types.ImpactAction]
    action_labels: list[str]
    status_after: types.ItemStatus | None
    marking_after: str | None
    path: list[strawberry.ID]
    articles: list[str]
    kept_bases: list[strawberry.ID]
    text: str | None = strawberry.field(description="The notice as its holder would read it.")
    due_on: date | None
    superseded_in_run: bool = strawberry.field(
        description="A later expiry of the same run recomputes the item and supersedes it."
    )


@strawberry.type
class ExpiryNoticeEdge:
    cursor: str
    node: ExpiryNotice


@strawberry.type
class ExpiryNoticeConnection:
    edges: list[ExpiryNoticeEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(
        description="Of those the reader may know of: placeholders included, none left out."
    )


@dataclass(frozen=True)
class _Shown:
    """One entry as the reader may see it: its key (in the ids the reader sees, so that a
    placeholder's place says nothing of the id it stands for) and whether it may read it."""

    key: str
    readable: bool


@strawberry.type(
    description="What `lineage expire` would do if it ran on `asOf`, on the graph as it stands "
    "now (X-11, X-13): nothing is written. `expire --as-of` with the same date prints the same."
)
class ExpiryPreview:
    as_of: date
    kept_count: int = strawberry.field(
        description="Derived items whose own period would end but which an open notice extends "
        "(left to that notice, D-12); of those the reader may know of."
    )
    run: strawberry.Private[expiry.ExpiryRun]
    organisation_id: strawberry.Private[str | None]
    redactor: strawberry.Private[Redactor]

    @strawberry.field(
        description="The items and keypoints it would declassify, by id (placeholders by "
        "theirs), with `first` (at most 500) and `after`."
    )
    async def expirations(
        self, info: Ctx, first: int = 50, after: str | None = None
    ) -> ExpirationConnection:
        async def work() -> ExpirationConnection:
            rows = [
                (_shown(self.redactor, c.change.item_id, c.change.before), c)
                for c in self.run.expired
                if self.organisation_id in (None, c.change.before.organisation_id)
            ]
            page, has_next, total = _page(self.redactor, rows, first, after, "expiration")
            return ExpirationConnection(
                edges=[
                    ExpirationEdge(
                        cursor=encode_cursor(shown.key, "expiration"),
                        node=_expiration(self.redactor, shown, c),
                    )
                    for shown, c in page
                ],
                page_info=types.PageInfo(
                    has_next_page=has_next,
                    end_cursor=encode_cursor(page[-1][0].key, "expiration") if page else None,
                ),
                total_count=total,
            )

        return await paged(work)

    @strawberry.field(
        description="The notices it would send, by the item whose expiry sends them, then by "
        "the descendant (placeholders by their ids), with `first` (at most 500) and `after`."
    )
    async def notices(
        self, info: Ctx, first: int = 50, after: str | None = None
    ) -> ExpiryNoticeConnection:
        context = info.context

        async def work() -> ExpiryNoticeConnection:
            superseded = {n.id for c in self.run.expired for n in c.superseded}
            rows = []
            for committed in self.run.expired:
                source = _shown(self.redactor, committed.change.item_id, committed.change.before)
                for notice in committed.notices:
                    if self.organisation_id not in (None, notice.organisation_id):
                        continue
                    own = _shown(self.redactor, notice.item_id, notice.before)
                    key = f"{source.key}|{own.key}"
                    rows.append((_Shown(key, own.readable), (source, notice)))
            page, has_next, total = _page(self.redactor, rows, first, after, "expiry-notice")
            read = [n for shown, (_, n) in page if shown.readable]
            names = await context.names(
                [n.text for n in read],
                items=[i for n in read for i in (n.source_id, *n.path, *n.kept_bases)],
            )
            edges = []
            for shown, (source, notice) in page:
                if shown.readable:
                    node = _notice(self.redactor, names, source, notice, notice.id in superseded)
                else:
                    node = _placeholder_notice(self.redactor, source, notice, superseded)
                edges.append(
                    ExpiryNoticeEdge(cursor=encode_cursor(shown.key, "expiry-notice"), node=node)
                )
            return ExpiryNoticeConnection(
                edges=edges,
                page_info=types.PageInfo(
                    has_next_page=has_next,
                    end_cursor=encode_cursor(page[-1][0].key, "expiry-notice") if page else None,
                ),
                total_count=total,
            )

        return await paged(work)


ExpiryPreviewResult = Annotated[ExpiryPreview | AnyProblem, strawberry.union("ExpiryPreviewResult")]


def _shown(redactor: Redactor, item_id: str, item: Item) -> _Shown:
    readable = redactor.readable(item)
    return _Shown(item_id if readable else redactor.opaque(item_id), readable)


def _page(
    redactor: Redactor,
    rows: Sequence[tuple[_Shown, T]],
    first: int,
    after: str | None,
    kind: str,
) -> tuple[list[tuple[_Shown, T]], bool, int]:
    """A page of `rows` by key after the cursor, whether more follow, and how many the reader
    may know of: placeholders only where the deployment shows them (service.redaction)."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    start = decode_cursor(after, kind) if after is not None else None
    known = [row for row in rows if row[0].readable or redactor.placeholders]
    ordered = sorted(known, key=lambda row: row[0].key)
    rest = [row for row in ordered if start is None or row[0].key > start]
    return rest[:first], len(rest) > first, len(ordered)


def _expiration(redactor: Redactor, shown: _Shown, committed: Committed) -> Expiration:
    change = committed.change
    if not shown.readable:
        return Expiration(
            id=strawberry.ID(shown.key),
            redacted=True,
            item=None,
            ended_on=None,
            keypoint_ids=[],
            summary=None,
            articles=[],
        )
    return Expiration(
        id=strawberry.ID(change.item_id),
        redacted=False,
        item=types.item(redactor.show(change.before)),
        ended_on=change.effective_on,
        keypoint_ids=[strawberry.ID(k.id) for k in change.keypoints_before],
        summary=change.summary,
        articles=list(change.articles),
    )


def _notice(
    redactor: Redactor,
    names: Names,
    source: _Shown,
    value: changes.Notice,
    superseded: bool,
) -> ExpiryNotice:
    def ref(id: str) -> strawberry.ID:
        return strawberry.ID(redactor.ref(id, names.items.get(id)))

    item = redactor.show(value.before)
    return ExpiryNotice(
        id=strawberry.ID(value.item_id),
        redacted=False,
        source_id=strawberry.ID(source.key),
        item=types.item(item),
        organisation_id=strawberry.ID(value.organisation_id),
        actions=[types.ImpactAction(a.value) for a in value.actions],
        action_labels=[a.label for a in value.actions],
        status_after=types.ItemStatus(value.after.status.value),
        marking_after=value.after.marking,
        path=[ref(p) for p in value.path],
        articles=list(value.articles),
        kept_bases=[ref(b) for b in value.kept_bases],
        text=redactor.render(value.text, names),
        due_on=value.due_on,
        superseded_in_run=superseded,
    )


def _placeholder_notice(
    redactor: Redactor, source: _Shown, value: changes.Notice, superseded: set[str]
) -> ExpiryNotice:
    return ExpiryNotice(
        id=strawberry.ID(redactor.opaque(value.item_id)),
        redacted=True,
        source_id=strawberry.ID(source.key),
        item=None,
        organisation_id=None,
        actions=[],
        action_labels=[],
        status_after=None,
        marking_after=None,
        path=[],
        articles=[],
        kept_bases=[],
        text=None,
        due_on=None,
        superseded_in_run=value.id in superseded,
    )


@strawberry.type
class ExpiryPreviewQuery:
    @strawberry.field(
        description="What the expiry run (`lineage expire`, and the service's daily run) would "
        "declassify on `asOf`, today or a date to come, and which notices it would send (X-11, "
        "X-13), on the graph as it stands now: the run itself, rolled back, so nothing is "
        "written. With `organisationId`: what its items and its notices are. Items the caller "
        "may not read are placeholders (D-10)."
    )
    async def expiry_preview(
        self, info: Ctx, as_of: date, organisation_id: strawberry.ID | None = None
    ) -> ExpiryPreviewResult:
        context = info.context
        chosen = str(organisation_id) if organisation_id else None

        async def work() -> ExpiryPreview:
            run = await context.call(expiry.preview, as_of)
            kept = await context.items.load_many(run.kept)
            known = [
                i
                for i in kept
                if i is not None
                and chosen in (None, i.organisation_id)
                and (context.redactor.placeholders or context.redactor.readable(i))
            ]
            return ExpiryPreview(
                as_of=as_of,
                kept_count=len(known),
                run=run,
                organisation_id=chosen,
                redactor=context.redactor,
            )

        return await attempt(work)
