"""The GraphQL side of the two-person rule (graph.grant): requests that widen who may read,
as the mutations that file them answer, and the queries and mutations by which a supervisor
decides them. Query and Mutation of schema.py inherit these."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.access import EVERY_ORGANISATION
from graph.errors import InvalidValue
from service import grants, usecases
from service.api import types
from service.api.context import Context
from service.api.inputs import attempt, decode_cursor, encode_cursor
from service.api.problems import AnyProblem
from service.auditing import grant_event

Ctx = Info[Context, None]


@strawberry.enum(description="What a request would widen.")
class GrantKind(enum.Enum):
    SUCCESSION = strawberry.enum_value(
        "SUCCESSION", description="An organisation dissolved or merged into another (X-7)."
    )
    SUPERIOR = strawberry.enum_value(
        "SUPERIOR", description="An organisation placed under a superior (X-9)."
    )
    SUPERVISION = strawberry.enum_value(
        "SUPERVISION", description="A user made supervisor, or supervising more (D-10)."
    )


@strawberry.enum(description="Where a request stands.")
class GrantStatus(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.type(
    description="A request that widens who may read (两人规则): filed by one person, in force "
    "only once a supervisor of every organisation whose items it opens to more readers (or a "
    "supervisor of all), who did not file it, approves it."
)
class Grant:
    id: strawberry.ID
    kind: GrantKind
    kind_label: str
    status: GrantStatus
    status_label: str = strawberry.field(description="待批准, 已批准, 已驳回.")
    summary: str = strawberry.field(description="What it does once approved, with the articles.")
    articles: list[str]
    requested_by: strawberry.ID = strawberry.field(
        description="The user who filed it; `system` for the command line (the operator)."
    )
    requested_at: datetime
    organisation_id: strawberry.ID | None = strawberry.field(
        description="SUCCESSION, SUPERIOR: the organisation succeeded, or placed under another."
    )
    target_id: strawberry.ID | None = strawberry.field(
        description="SUCCESSION: the successor; SUPERIOR: the superior."
    )
    user_id: strawberry.ID | None = strawberry.field(description="SUPERVISION: the user.")
    supervises_all: bool = strawberry.field(
        description="SUPERVISION: the user is to supervise every organisation."
    )
    supervised_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="SUPERVISION: what it is to supervise beyond its own organisation (and "
        "those below each), in place of what it supervises now."
    )
    widens_all: bool = strawberry.field(
        description="Approving it opens every organisation's items to more readers."
    )
    widened_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="The organisations whose items more people read once it is approved, as "
        "the store now stands; its decider must supervise each of them."
    )
    decided_by: strawberry.ID | None
    decided_at: datetime | None
    reason: str = strawberry.field(description="Why it was rejected.")


@strawberry.type(description="The request is filed and waits for a supervisor's approval.")
class GrantRequested:
    grant: Grant


@strawberry.type(description="The request is approved (and in force) or rejected.")
class GrantDecided:
    grant: Grant


@strawberry.type
class GrantList:
    grants: list[Grant]


RecordSuccessionResult = Annotated[
    GrantRequested | AnyProblem, strawberry.union("RecordSuccessionResult")
]
GrantDecisionResult = Annotated[GrantDecided | AnyProblem, strawberry.union("GrantDecisionResult")]
PendingGrantsResult = Annotated[GrantList | AnyProblem, strawberry.union("PendingGrantsResult")]


@strawberry.type
class GrantEdge:
    cursor: str
    node: Grant


@strawberry.type
class GrantConnection:
    edges: list[GrantEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description=types.TOTAL_COUNT)


GrantsToDecideResult = Annotated[
    GrantConnection | AnyProblem, strawberry.union("GrantsToDecideResult")
]


def _grant_key(value: grants.Described) -> str:
    # Oldest first, as decidable_grants orders them: the time it was filed, then its id.
    return f"{value.grant.requested_at.isoformat()}|{value.grant.id}"


def grant(value: grants.Described) -> Grant:
    g = value.grant
    return Grant(
        id=strawberry.ID(g.id),
        kind=GrantKind(g.kind.value),
        kind_label=g.kind.label,
        status=GrantStatus(g.status.value),
        status_label=g.status.label,
        summary=value.summary,
        articles=list(g.kind.articles),
        requested_by=strawberry.ID(g.requested_by),
        requested_at=g.requested_at,
        organisation_id=_id(g.organisation_id),
        target_id=_id(g.target_id),
        user_id=_id(g.user_id),
        supervises_all=EVERY_ORGANISATION in g.supervises,
        supervised_organisation_ids=[
            strawberry.ID(o) for o in sorted(g.supervises - {EVERY_ORGANISATION})
        ],
        widens_all=value.reach is None,
        widened_organisation_ids=[strawberry.ID(o) for o in sorted(value.reach or ())],
        decided_by=_id(g.decided_by),
        decided_at=g.decided_at,
        reason=g.reason,
    )


def _id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


@strawberry.type
class GrantQuery:
    @strawberry.field(
        description="The pending requests the caller may decide, oldest first: for a supervisor, "
        "those that widen reading only of organisations it supervises (any, for a supervisor "
        "of all) and that it did not file.",
        deprecation_reason="Use `grantsToDecide(first, after)`, a connection as every list is.",
    )
    async def pending_grants(self, info: Ctx) -> PendingGrantsResult:
        context = info.context

        async def work() -> GrantList:
            found = await context.call(grants.decidable_grants, context.actor)
            return GrantList(grants=[grant(d) for d in found])

        return await attempt(work)

    @strawberry.field(
        description="The pending requests the caller may decide, oldest first, a page of "
        "`first` after `after`: for a supervisor, those that widen reading only of "
        "organisations it supervises (any, for a supervisor of all) and that it did not file."
    )
    async def grants_to_decide(
        self, info: Ctx, first: int = 50, after: str | None = None
    ) -> GrantsToDecideResult:
        context = info.context

        async def work() -> GrantConnection:
            if not 1 <= first <= usecases.MAX_PAGE:
                raise InvalidValue("first", f"每页条数应在 1 到 {usecases.MAX_PAGE} 之间。")
            start = decode_cursor(after, "grant") if after is not None else None
            found = await context.call(grants.decidable_grants, context.actor)
            rest = [d for d in found if start is None or _grant_key(d) > start]
            page = rest[:first]
            return GrantConnection(
                edges=[
                    GrantEdge(cursor=encode_cursor(_grant_key(d), "grant"), node=grant(d))
                    for d in page
                ],
                page_info=types.PageInfo(
                    has_next_page=len(rest) > first,
                    end_cursor=encode_cursor(_grant_key(page[-1]), "grant") if page else None,
                ),
                total_count=len(found),
            )

        return await attempt(work)

    @strawberry.field(
        description="One request, for the one who filed it, an auditor, or a supervisor of what "
        "it widens; null for anyone else, as for an id that does not exist."
    )
    async def grant(self, info: Ctx, id: strawberry.ID) -> Grant | None:
        context = info.context
        found = await context.call(grants.readable_grant, str(id), context.actor)
        return None if found is None else grant(found)


@strawberry.type
class GrantMutation:
    @strawberry.mutation(
        description="Asks to record that an organisation was dissolved or merged into "
        "`successorId`, which would then read what it read and decide on what it classified "
        "(X-7 ¶2, D-10). Filed by an administrator or a supervisor; in force once another "
        "supervisor of the organisation approves it (approveGrant)."
    )
    async def record_succession(
        self, info: Ctx, organisation_id: strawberry.ID, successor_id: strawberry.ID
    ) -> RecordSuccessionResult:
        context = info.context

        async def work() -> GrantRequested:
            filed = await context.call(
                usecases.record_succession, str(organisation_id), str(successor_id), context.actor
            )
            await context.audit_events(
                grant_event(context.actor, "request", filed.grant, context.address)
            )
            return GrantRequested(grant=grant(filed))

        return await attempt(work)

    @strawberry.mutation(
        description="Approves a pending request and applies it, in one transaction, checked "
        "again against the store as it now stands. Only a supervisor of every organisation it "
        "widens (or of all), who did not file it, may (两人规则)."
    )
    async def approve_grant(self, info: Ctx, id: strawberry.ID) -> GrantDecisionResult:
        context = info.context

        async def work() -> GrantDecided:
            decided = await context.call(grants.approve_grant, str(id), context.actor)
            await context.audit_events(
                grant_event(context.actor, "approve", decided.grant, context.address)
            )
            return GrantDecided(grant=grant(decided))

        return await attempt(work)

    @strawberry.mutation(
        description="Rejects a pending request, with the reason; nothing else changes. The "
        "same persons may reject as may approve."
    )
    async def reject_grant(self, info: Ctx, id: strawberry.ID, reason: str) -> GrantDecisionResult:
        context = info.context

        async def work() -> GrantDecided:
            decided = await context.call(grants.reject_grant, str(id), reason, context.actor)
            await context.audit_events(
                grant_event(context.actor, "reject", decided.grant, context.address)
            )
            return GrantDecided(grant=grant(decided))

        return await attempt(work)
