"""The GraphQL side of access (issue 5): who the caller is (`me`), and the audit trail for
auditors and supervisors (`auditTrail`). Query of schema.py inherits these."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.access import Role as RoleValue
from graph.errors import InvalidValue
from graph.trail import AuditEvent as AuditEventValue
from graph.trail import AuditQuery
from graph.trail import Outcome as OutcomeValue
from service.api.context import Context
from service.api.inputs import attempt, decode_cursor, encode_cursor
from service.api.problems import AnyProblem
from service.api.types import TOTAL_COUNT, Counter, PageInfo, counted
from service.auditing import count_trail, read_trail

Ctx = Info[Context, None]


@strawberry.enum(description="What a user may do.")
class Role(enum.Enum):
    HANDLER = "HANDLER"
    OFFICIAL = "OFFICIAL"
    SUPERVISOR = "SUPERVISOR"
    ADMINISTRATOR = "ADMINISTRATOR"
    AUDITOR = "AUDITOR"


@strawberry.enum(description="How a request recorded in the audit trail ended.")
class Outcome(enum.Enum):
    OK = "OK"
    REFUSED = "REFUSED"
    DENIED = "DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    ERROR = "ERROR"


@strawberry.type(description="The authenticated caller.")
class Viewer:
    user_id: strawberry.ID
    name: str
    person_id: strawberry.ID | None
    organisation_id: strawberry.ID | None
    roles: list[Role]
    role_labels: list[str] = strawberry.field(
        description="承办人, 定密责任人, 监督检查人员, 系统管理员, 安全审计员."
    )
    supervises_all: bool = strawberry.field(
        description="A supervisor of every organisation (保密行政管理部门)."
    )
    supervised_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="The organisations whose items a supervisor reads (empty when all)."
    )


@strawberry.type(description="One entry of the audit trail: who, what, when, from where, outcome.")
class AuditEvent:
    id: strawberry.ID
    at: datetime
    action: str = strawberry.field(description="What was asked, e.g. `query lineage`.")
    outcome: Outcome
    outcome_label: str
    user_id: strawberry.ID | None
    person_id: strawberry.ID | None
    organisation_id: strawberry.ID | None
    address: str = strawberry.field(description="The client's address and port.")
    item_ids: list[strawberry.ID] = strawberry.field(
        description="The items whose content was shown or written."
    )
    asked_ids: list[strawberry.ID] = strawberry.field(
        description="The ids the request named (its ID arguments and input fields), whether "
        "or not anything came of them: a read that asked and was shown nothing has these and "
        "no `itemIds` (detail NOTHING_SHOWN)."
    )
    detail: str = strawberry.field(
        description="The rule or reason of a refusal; NOTHING_SHOWN for a read that named ids "
        "and showed no item's content."
    )
    request_id: str = strawberry.field(
        description="The id of the HTTP request or WebSocket connection (its X-Request-Id, "
        "echoed in the answer and on its log lines); empty for the command line and the "
        "daily run."
    )


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    counter: strawberry.Private[Counter]

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self) -> int:
        return await self.counter()


@strawberry.input
class AuditFilter:
    user_id: strawberry.ID | None = None
    item_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Events that showed or wrote the item (`itemIds`), or whose request named "
        "it (`askedIds`): a read of it, a write, and a probe for it alike.",
    )
    organisation_id: strawberry.ID | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None


AuditTrailResult = Annotated[
    AuditEventConnection | AnyProblem, strawberry.union("AuditTrailResult")
]


def audit_event(value: AuditEventValue, shown: Callable[[str], str]) -> AuditEvent:
    """An event as its reader sees it: `shown` gives the id the reader sees of each item."""
    return AuditEvent(
        id=strawberry.ID(value.id),
        at=value.at,
        action=value.action,
        outcome=Outcome(value.outcome.value),
        outcome_label=value.outcome.label,
        user_id=_id(value.user_id),
        person_id=_id(value.person_id),
        organisation_id=_id(value.organisation_id),
        address=value.address,
        item_ids=[strawberry.ID(shown(i)) for i in value.items],
        asked_ids=[strawberry.ID(shown(i)) for i in value.asked],
        detail=value.detail,
        request_id=value.request_id,
    )


async def _knows(context: Context, item_id: str) -> bool:
    """Whether the trail may be filtered by `item_id` for this reader: by any id for one who
    reads everything (it may look for probes of ids that never were), otherwise only by an
    item it may read; the rest, hidden or never there, alike find nothing (D-10)."""
    if context.actor.read_filter() is None:
        return True
    return context.redactor.readable(await context.items.load(item_id))


async def _trail_ids(context: Context, ids: list[str]) -> Callable[[str], str]:
    """The ids a reader of the trail sees of the items its events name: their own where it may
    read them, their placeholders elsewhere (D-10). The trail names what it recorded; its
    reader, an auditor who reads no item, or a supervisor of some organisations, still may not
    learn what a hidden item is called: a placeholder names one item for it in every event."""
    actor, redactor = context.actor, context.redactor
    if actor.read_filter() is None:  # reads everything
        return lambda id: id
    if actor.person_id is None and not actor.member_of and RoleValue.SUPERVISOR not in actor.roles:
        return redactor.opaque  # reads nothing: no item need be looked up
    wanted = list(dict.fromkeys(ids))
    items = dict(zip(wanted, await context.items.load_many(wanted), strict=True))
    return lambda id: redactor.ref(id, items.get(id))


def _id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


def _cursor(value: AuditEventValue) -> str:
    return encode_cursor(f"{value.at.isoformat()}|{value.id}", "audit")


def _before(cursor: str) -> tuple[datetime, str]:
    at, _, id = decode_cursor(cursor, "audit").partition("|")
    try:
        return datetime.fromisoformat(at), id
    except ValueError:
        raise InvalidValue("after", "游标（after）无效：请使用上一页返回的 endCursor。") from None


@strawberry.type
class AccessQuery:
    @strawberry.field(description="The caller: its user, person, organisation and roles.")
    def me(self, info: Ctx) -> Viewer:
        actor = info.context.actor
        return Viewer(
            user_id=strawberry.ID(actor.user_id),
            name=actor.name,
            person_id=_id(actor.person_id),
            organisation_id=_id(actor.organisation_id),
            roles=[Role(r.value) for r in sorted(actor.roles, key=lambda r: r.value)],
            role_labels=[r.label for r in sorted(actor.roles, key=lambda r: r.value)],
            supervises_all=RoleValue.SUPERVISOR in actor.roles and actor.supervised is None,
            supervised_organisation_ids=[strawberry.ID(o) for o in sorted(actor.supervised or ())]
            if RoleValue.SUPERVISOR in actor.roles
            else [],
        )

    @strawberry.field(
        description="The audit trail, newest first: every event for an auditor (安全审计员); for "
        "a supervisor, the events of the organisations it supervises (of every request, for a "
        "supervisor of all). No one else reads it, the administrator included. Nothing in the "
        "API alters or deletes an event."
    )
    async def audit_trail(
        self,
        info: Ctx,
        filter: AuditFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditTrailResult:
        context = info.context
        chosen = filter or AuditFilter()

        async def work() -> AuditEventConnection:
            query = AuditQuery(
                user_id=str(chosen.user_id) if chosen.user_id else None,
                item_id=str(chosen.item_id) if chosen.item_id else None,
                organisations=(str(chosen.organisation_id),) if chosen.organisation_id else None,
                outcome=OutcomeValue(chosen.outcome.value) if chosen.outcome else None,
                since=chosen.since,
                until=chosen.until,
                before=_before(after) if after is not None else None,
                limit=first + 1,
            )
            if query.item_id is not None and not await _knows(context, query.item_id):
                # An item the reader may not read filters as one that never was (D-10).
                return AuditEventConnection(
                    edges=[],
                    page_info=PageInfo(has_next_page=False, end_cursor=None),
                    counter=counted(0),
                )
            found = await context.call(read_trail, context.actor, query)
            page = found[:first]
            named = [i for e in page for i in (*e.items, *e.asked)]
            shown = await _trail_ids(context, named)
            return AuditEventConnection(
                edges=[AuditEventEdge(cursor=_cursor(e), node=audit_event(e, shown)) for e in page],
                page_info=PageInfo(
                    has_next_page=len(found) > first,
                    end_cursor=_cursor(page[-1]) if page else None,
                ),
                counter=lambda: context.call(count_trail, context.actor, query),
            )

        return await attempt(work)
