"""The GraphQL side of supervision (issue 7): the D-21 audit (`auditFindings`) and the
reminders of X-4 (`reminders`), over what the caller may read. Query of schema.py inherits
these."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from graph import model
from graph.audit import Case as CaseValue
from graph.audit import Finding
from graph.errors import InvalidValue
from graph.phrase import Names
from service.api import types
from service.api.context import Context
from service.api.inputs import attempt, decode_cursor, encode_cursor
from service.api.problems import AnyProblem
from service.catalogue import as_csv, catalogue
from service.findings import Audit, audit
from service.redaction import Redactor
from service.reminders import Reminder, reminders
from service.statistics import annual_statistics
from service.statistics import as_csv as statistics_csv
from service.usecases import MAX_PAGE

Ctx = Info[Context, None]


@strawberry.enum(description="The cases of D-21: improper derived classification.")
class AuditCase(enum.Enum):
    UNDER_CLASSIFIED = "UNDER_CLASSIFIED"
    OVER_CLASSIFIED = "OVER_CLASSIFIED"
    PROCEDURE = "PROCEDURE"
    MARKING = "MARKING"
    NOT_CHANGED = "NOT_CHANGED"
    WRONGLY_DECLASSIFIED = "WRONGLY_DECLASSIFIED"
    NOT_DECLASSIFIED = "NOT_DECLASSIFIED"
    OTHER = "OTHER"


@strawberry.type(description="One improper derived classification found in the graph (D-21).")
class AuditFinding:
    item_id: strawberry.ID
    item: types.Item
    case: AuditCase
    case_number: int = strawberry.field(description="The item of D-21, 1 to 8.")
    case_label: str
    organisation_id: strawberry.ID = strawberry.field(description="Who must correct it.")
    explanation: str
    path: list[strawberry.ID] = strawberry.field(
        description="The lineage path: the governing basis, or from the changed source."
    )
    articles: list[str]


@strawberry.type
class AuditFindingEdge:
    cursor: str
    node: AuditFinding


@strawberry.type
class AuditFindingConnection:
    edges: list[AuditFindingEdge]
    total: int = strawberry.field(
        description="How many findings match, on every page.",
        deprecation_reason="Use `totalCount`, as on every connection.",
    )
    page_info: types.PageInfo
    total_count: int = strawberry.field(description=types.TOTAL_COUNT)


@strawberry.input
class AuditFindingFilter:
    organisation_id: strawberry.ID | None = None
    item_id: strawberry.ID | None = None
    cases: list[AuditCase] = strawberry.field(default_factory=list)


AuditFindingsResult = Annotated[
    AuditFindingConnection | AnyProblem, strawberry.union("AuditFindingsResult")
]


def _finding(value: Finding, found: Audit, redactor: Redactor, names: Names) -> AuditFinding:
    """A finding on an item the reader may read; the bases and path it names that the reader
    may not read are opaque (service.redaction)."""
    return AuditFinding(
        item_id=strawberry.ID(value.item_id),
        item=types.item(redactor.show(found.named[value.item_id])),
        case=AuditCase(value.case.name),
        case_number=value.case.value,
        case_label=value.case.label,
        organisation_id=strawberry.ID(value.organisation_id),
        explanation=redactor.render(value.explanation, names),
        path=[strawberry.ID(redactor.ref(p, names.items.get(p))) for p in value.path],
        articles=list(value.articles),
    )


def _key(value: Finding) -> str:
    return f"{value.item_id}|{value.case.value}"


@strawberry.type
class FindingQuery:
    @strawberry.field(
        description="Improper derived classifications (D-21, cases 1 to 8) among the items the "
        "caller may read, by item then case: for scheduled checks and supervision."
    )
    async def audit_findings(
        self,
        info: Ctx,
        filter: AuditFindingFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditFindingsResult:
        context = info.context
        chosen = filter or AuditFindingFilter()

        async def work() -> AuditFindingConnection:
            if not 1 <= first <= MAX_PAGE:
                raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
            start = decode_cursor(after, "finding") if after is not None else None
            found = await context.call(
                lambda store: audit(
                    store,
                    context.actor,
                    organisation_id=str(chosen.organisation_id) if chosen.organisation_id else None,
                    item_id=str(chosen.item_id) if chosen.item_id else None,
                    cases=[CaseValue[c.value] for c in chosen.cases],
                )
            )
            ordered = sorted(found.findings, key=lambda f: (f.item_id, f.case.value))
            rest = [f for f in ordered if start is None or _key(f) > start]
            page = rest[:first]
            names = await context.names(
                [f.explanation for f in page], items=[p for f in page for p in f.path]
            )
            return AuditFindingConnection(
                edges=[
                    AuditFindingEdge(
                        cursor=encode_cursor(_key(f), "finding"),
                        node=_finding(f, found, context.redactor, names),
                    )
                    for f in page
                ],
                total=len(ordered),
                total_count=len(ordered),
                page_info=types.PageInfo(
                    has_next_page=len(rest) > first,
                    end_cursor=encode_cursor(_key(page[-1]), "finding") if page else None,
                ),
            )

        return await attempt(work)


def _due_key(item: model.Item) -> str:
    # Soonest end first, then by id, as the reminders order them.
    expiry = item.classification.expiry if item.classification else None
    return f"{expiry.isoformat() if expiry else ''}|{item.id}"


@strawberry.type(description="What one organisation must review before the periods end (X-4).")
class ReminderGroup:
    organisation_id: strawberry.ID
    organisation_name: str
    count: int = strawberry.field(description="How many items it must review: dueItems' total.")
    due: strawberry.Private[list[model.Item]]

    @strawberry.field(
        description="Soonest end first.",
        deprecation_reason="Use `dueItems(first, after)`, a connection as every list is.",
    )
    def items(self, info: Ctx) -> list[types.Item]:
        return [types.item(info.context.redactor.show(i)) for i in self.due]

    @strawberry.field(
        description="The items it must review, soonest end first, a page of `first` after `after`."
    )
    def due_items(
        self, info: Ctx, first: int = 50, after: str | None = None
    ) -> types.ItemConnection:
        try:
            if not 1 <= first <= MAX_PAGE:
                raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
            start = decode_cursor(after, "due") if after is not None else None
        except InvalidValue as error:
            # A field of an answer, not a root: its problem is an error of the request.
            raise GraphQLError(error.message, extensions={"field": error.field}) from error
        rest = [i for i in self.due if start is None or _due_key(i) > start]
        page = rest[:first]
        cursors = [encode_cursor(_due_key(i), "due") for i in page]
        redactor = info.context.redactor
        return types.ItemConnection(
            edges=[
                types.ItemEdge(cursor=c, node=types.item(redactor.show(i)))
                for c, i in zip(cursors, page, strict=True)
            ],
            page_info=types.PageInfo(
                has_next_page=len(rest) > first, end_cursor=cursors[-1] if cursors else None
            ),
            counter=types.counted(len(self.due)),
        )


@strawberry.type
class ReminderGroupEdge:
    cursor: str
    node: ReminderGroup


@strawberry.type
class ReminderGroupConnection:
    edges: list[ReminderGroupEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description=types.TOTAL_COUNT)


ReminderGroupsResult = Annotated[
    ReminderGroupConnection | AnyProblem, strawberry.union("ReminderGroupsResult")
]


def _groups(found: list[Reminder]) -> list[ReminderGroup]:
    return [
        ReminderGroup(
            organisation_id=strawberry.ID(g.organisation_id),
            organisation_name=g.organisation_name,
            count=len(g.items),
            due=g.items,
        )
        for g in found
    ]


@strawberry.type
class ReminderQuery:
    @strawberry.field(
        description="Classified items whose period ends within `withinDays` days (or has "
        "ended), grouped by the organisation that decides on them now, to be reviewed before "
        "then (X-4, X-17); of the items the caller may read.",
        deprecation_reason="Use `reminderGroups(withinDays, organisationId, first, after)`, a "
        "connection as every list is.",
    )
    async def reminders(
        self, info: Ctx, within_days: int, organisation_id: strawberry.ID | None = None
    ) -> list[ReminderGroup]:
        context = info.context
        try:
            found = await context.call(
                lambda store: reminders(
                    store,
                    within_days,
                    context.actor,
                    str(organisation_id) if organisation_id else None,
                )
            )
        except InvalidValue as error:
            raise GraphQLError(error.message, extensions={"field": error.field}) from error
        return _groups(found)

    @strawberry.field(
        description="Classified items whose period ends within `withinDays` days (or has "
        "ended), grouped by the organisation that decides on them now (by its id, a page of "
        "`first` groups after `after`), to be reviewed before then (X-4, X-17); of the items "
        "the caller may read."
    )
    async def reminder_groups(
        self,
        info: Ctx,
        within_days: int,
        organisation_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ReminderGroupsResult:
        context = info.context

        async def work() -> ReminderGroupConnection:
            if not 1 <= first <= MAX_PAGE:
                raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
            start = decode_cursor(after, "reminder") if after is not None else None
            found = await context.call(
                lambda store: reminders(
                    store,
                    within_days,
                    context.actor,
                    str(organisation_id) if organisation_id else None,
                )
            )
            groups = _groups(found)
            rest = [g for g in groups if start is None or str(g.organisation_id) > start]
            page = rest[:first]
            return ReminderGroupConnection(
                edges=[
                    ReminderGroupEdge(
                        cursor=encode_cursor(str(g.organisation_id), "reminder"), node=g
                    )
                    for g in page
                ],
                page_info=types.PageInfo(
                    has_next_page=len(rest) > first,
                    end_cursor=encode_cursor(str(page[-1].organisation_id), "reminder")
                    if page
                    else None,
                ),
                total_count=len(groups),
            )

        return await attempt(work)


@strawberry.type(description="One item declassified to the public (X-24), without its old marking.")
class CatalogueEntry:
    item_id: strawberry.ID
    title: str
    document_number: str
    organisation_id: strawberry.ID
    organisation_name: str
    declassified_on: date
    reason: str
    articles: list[str]


@strawberry.type(description="The catalogue of declassified items made public (X-24).")
class DeclassifiedCatalogue:
    since: date
    until: date
    entries: list[CatalogueEntry]
    csv: str = strawberry.field(description="The same as CSV (UTF-8 with a byte-order mark).")


DeclassifiedCatalogueResult = Annotated[
    DeclassifiedCatalogue | AnyProblem, strawberry.union("DeclassifiedCatalogueResult")
]


@strawberry.type
class CatalogueQuery:
    @strawberry.field(
        description="The items declassified to the public from `since` to `until`, for "
        "publication (X-24): nothing that stayed a work secret, and no secret marking (X-25)."
    )
    async def declassified_catalogue(
        self,
        info: Ctx,
        since: date,
        until: date,
        organisation_id: strawberry.ID | None = None,
    ) -> DeclassifiedCatalogueResult:
        context = info.context

        async def work() -> DeclassifiedCatalogue:
            found = await context.call(
                lambda store: catalogue(
                    store, since, until, str(organisation_id) if organisation_id else None
                )
            )
            return DeclassifiedCatalogue(
                since=since,
                until=until,
                entries=[
                    CatalogueEntry(
                        item_id=strawberry.ID(e.item_id),
                        title=e.title,
                        document_number=e.document_number,
                        organisation_id=strawberry.ID(e.organisation_id),
                        organisation_name=e.organisation_name,
                        declassified_on=e.declassified_on,
                        reason=e.reason,
                        articles=list(e.articles),
                    )
                    for e in found
                ],
                csv=as_csv(found),
            )

        return await attempt(work)


@strawberry.type(description="A count of declassifications for one reason.")
class ReasonCount:
    reason: str
    count: int


@strawberry.type(description="One organisation's year of classification work (X-26).")
class OrganisationYear:
    organisation_id: strawberry.ID
    organisation_name: str
    year: int
    classified: int = strawberry.field(description="Registered by their originator (原定密).")
    derived: int
    changed: int
    declassified: int
    declassified_by_reason: list[ReasonCount]
    made_public: int = strawberry.field(description="Of those declassified, made public.")
    notices_received: int
    notices_pending: int = strawberry.field(description="At the end of the year, or today.")
    notices_overdue: int


@strawberry.type(description="The annual statistics (X-26) of the organisations one may see.")
class AnnualStatistics:
    year: int
    organisations: list[OrganisationYear]
    csv: str = strawberry.field(description="The same as CSV (UTF-8 with a byte-order mark).")


AnnualStatisticsResult = Annotated[
    AnnualStatistics | AnyProblem, strawberry.union("AnnualStatisticsResult")
]


@strawberry.type
class StatisticsQuery:
    @strawberry.field(
        description="Per organisation and year: items classified, derived, changed, "
        "declassified by reason, notices received, pending and overdue (X-26); of the "
        "organisations the caller belongs to or supervises."
    )
    async def annual_statistics(
        self, info: Ctx, year: int, organisation_id: strawberry.ID | None = None
    ) -> AnnualStatisticsResult:
        context = info.context

        async def work() -> AnnualStatistics:
            rows = await context.call(
                lambda store: annual_statistics(
                    store, year, context.actor, str(organisation_id) if organisation_id else None
                )
            )
            return AnnualStatistics(
                year=year,
                organisations=[
                    OrganisationYear(
                        organisation_id=strawberry.ID(r.organisation_id),
                        organisation_name=r.organisation_name,
                        year=r.year,
                        classified=r.classified,
                        derived=r.derived,
                        changed=r.changed,
                        declassified=r.declassified_total,
                        declassified_by_reason=[
                            ReasonCount(reason=k, count=v) for k, v in r.declassified.items()
                        ],
                        made_public=r.made_public,
                        notices_received=r.notices_received,
                        notices_pending=r.notices_pending,
                        notices_overdue=r.notices_overdue,
                    )
                    for r in rows
                ],
                csv=statistics_csv(rows),
            )

        return await attempt(work)
