"""The GraphQL side of the pick lists (service.picklists): paged, filterable lists of
organisations, persons, users, roles and scope rules, and of the handlers and officials the
caller may name in a decision, each a Relay connection with `totalCount`. Query of schema.py
inherits these."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from graph.access import PERSONLESS_ROLES, SOLE_ROLES
from graph.access import Role as RoleValue
from graph.model import Organisation as OrganisationValue
from graph.model import Person as PersonValue
from graph.model import ScopeRule as ScopeRuleValue
from graph.store.base import ScopeRuleQuery
from service import picklists
from service.api import accounts, types
from service.api.access import Role
from service.api.context import Context
from service.api.inputs import attempt, decode_cursor, encode_cursor, level_of
from service.api.problems import AnyProblem

Ctx = Info[Context, None]
N = TypeVar("N")
V = TypeVar("V")


# Filters


@strawberry.input(description="Organisations to offer: every condition given must hold.")
class OrganisationFilter:
    text: str | None = strawberry.field(
        default=None,
        description="Words of the name or the id, separated by spaces: each must occur "
        "(Latin letters in any case).",
    )
    authority: types.Level | None = strawberry.field(
        default=None, description="Those with this original classification authority (D-5)."
    )
    superior_id: strawberry.ID | None = strawberry.field(
        default=None, description="Those directly below this superior (X-9)."
    )
    dissolved: bool | None = strawberry.field(
        default=None,
        description="true: those dissolved or merged (with a successor, X-7); false: the others.",
    )


@strawberry.input(description="Persons to offer: every condition given must hold.")
class PersonFilter:
    text: str | None = strawberry.field(
        default=None, description="Words of the name or the id (as OrganisationFilter.text)."
    )
    organisation_id: strawberry.ID | None = None


@strawberry.input(description="Users to list: every condition given must hold.")
class UserFilter:
    text: str | None = strawberry.field(
        default=None, description="Words of the name or the id (as OrganisationFilter.text)."
    )
    role: Role | None = strawberry.field(default=None, description="Those holding this role.")
    organisation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Those whose person belongs to this organisation."
    )
    active: bool | None = strawberry.field(
        default=None, description="true: those not revoked; false: the revoked."
    )


@strawberry.input(description="Scope rules to offer: every condition given must hold.")
class ScopeRuleFilter:
    text: str | None = strawberry.field(
        default=None,
        description="Words of the title, the document or the id (as OrganisationFilter.text).",
    )
    issuer: str | None = strawberry.field(
        default=None, description="The issuing authority's name, whole (ScopeRule.issuer)."
    )
    level: types.Level | None = None


@strawberry.enum(
    description="Whom a decision names (D-11, X-17): HANDLER 承办人, who drafts and proposes; "
    "OFFICIAL 定密责任人, who decides."
)
class DecisionMakerRole(enum.Enum):
    HANDLER = "HANDLER"
    OFFICIAL = "OFFICIAL"


# Nodes that only the lists show


@strawberry.type(description="A role a user may hold, for a select of roles.")
class RoleOption:
    role: Role
    label: str = strawberry.field(
        description="承办人, 定密责任人, 监督检查人员, 系统管理员, 安全审计员."
    )
    held_alone: bool = strawberry.field(
        description="三员分立: a user holding it holds no other role."
    )
    needs_person: bool = strawberry.field(
        description="A user holding it must act for a registered person of an organisation "
        "(an administrator may or may not; an auditor never does)."
    )


# Connections


@strawberry.type
class OrganisationEdge:
    cursor: str
    node: types.Organisation


@strawberry.type
class OrganisationConnection:
    edges: list[OrganisationEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description="How many match, on every page.")


@strawberry.type
class PersonEdge:
    cursor: str
    node: types.Person


@strawberry.type
class PersonConnection:
    edges: list[PersonEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description="How many match, on every page.")


@strawberry.type
class UserEdge:
    cursor: str
    node: accounts.UserAccount


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description="How many match, on every page.")


@strawberry.type
class RoleOptionEdge:
    cursor: str
    node: RoleOption


@strawberry.type
class RoleOptionConnection:
    edges: list[RoleOptionEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description="How many match, on every page.")


@strawberry.type
class ScopeRuleEdge:
    cursor: str
    node: types.ScopeRule


@strawberry.type
class ScopeRuleConnection:
    edges: list[ScopeRuleEdge]
    page_info: types.PageInfo
    total_count: int = strawberry.field(description="How many match, on every page.")


OrganisationsResult = Annotated[
    OrganisationConnection | AnyProblem, strawberry.union("OrganisationsResult")
]
PersonsResult = Annotated[PersonConnection | AnyProblem, strawberry.union("PersonsResult")]
DecisionMakersResult = Annotated[
    PersonConnection | AnyProblem, strawberry.union("DecisionMakersResult")
]
UsersResult = Annotated[UserConnection | AnyProblem, strawberry.union("UsersResult")]
RolesResult = Annotated[RoleOptionConnection | AnyProblem, strawberry.union("RolesResult")]
ScopeRulesResult = Annotated[ScopeRuleConnection | AnyProblem, strawberry.union("ScopeRulesResult")]


async def _listed(
    kind: str,
    after: str | None,
    fetch: Callable[[str | None], Awaitable[picklists.Page[V]]],
    key: Callable[[V], str],
    edge: Callable[[str, V], object],
    connection: Callable[..., N],
) -> N:
    """The page after the cursor `after` (of this list's `kind`: a cursor of another list is
    refused), as a connection whose cursors are the ids of its nodes."""
    page = await fetch(None if after is None else decode_cursor(after, kind))
    cursors = [encode_cursor(key(v), kind) for v in page.nodes]
    return connection(
        edges=[edge(c, v) for c, v in zip(cursors, page.nodes, strict=True)],
        page_info=types.PageInfo(
            has_next_page=page.has_next, end_cursor=cursors[-1] if cursors else None
        ),
        total_count=page.total,
    )


def _id(value: strawberry.ID | None) -> str | None:
    return None if value is None else str(value)


def _organisation_edge(cursor: str, value: OrganisationValue) -> OrganisationEdge:
    return OrganisationEdge(cursor=cursor, node=types.organisation(value))


def _person_edge(cursor: str, value: PersonValue) -> PersonEdge:
    return PersonEdge(cursor=cursor, node=types.person(value))


def _scope_rule_edge(cursor: str, value: ScopeRuleValue) -> ScopeRuleEdge:
    return ScopeRuleEdge(cursor=cursor, node=types.scope_rule(value))


def _user_edge(cursor: str, value: picklists.UserEntry) -> UserEdge:
    return UserEdge(cursor=cursor, node=accounts.user(value.user, value.organisation_id))


def _role_edge(cursor: str, value: RoleValue) -> RoleOptionEdge:
    return RoleOptionEdge(
        cursor=cursor,
        node=RoleOption(
            role=Role(value.value),
            label=value.label,
            held_alone=value in SOLE_ROLES,
            needs_person=value not in PERSONLESS_ROLES,
        ),
    )


def _persons_filter(chosen: PersonFilter | None) -> picklists.PersonFilter:
    chosen = chosen or PersonFilter()
    return picklists.PersonFilter(picklists.words_of(chosen.text), _id(chosen.organisation_id))


@strawberry.type
class PickListQuery:
    @strawberry.field(
        description="Organisations to pick from (for `organisationId`, a knowledge scope, a "
        "superior or successor), by id, with their authority, superior and successor."
    )
    async def organisations(
        self,
        info: Ctx,
        filter: OrganisationFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> OrganisationsResult:
        context = info.context
        chosen = filter or OrganisationFilter()
        wanted = picklists.OrganisationFilter(
            picklists.words_of(chosen.text),
            level_of(chosen.authority),
            _id(chosen.superior_id),
            chosen.dissolved,
        )

        async def fetch(key: str | None) -> picklists.Page[OrganisationValue]:
            return await context.call(picklists.find_organisations, wanted, key, first)

        return await attempt(
            lambda: _listed(
                "organisation",
                after,
                fetch,
                lambda o: o.id,
                _organisation_edge,
                OrganisationConnection,
            )
        )

    @strawberry.field(
        description="Persons to pick from (for a knowledge scope, D-10), by id. The handler "
        "and official of a decision come from `decisionMakers`."
    )
    async def persons(
        self,
        info: Ctx,
        filter: PersonFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> PersonsResult:
        context = info.context
        wanted = _persons_filter(filter)

        async def fetch(key: str | None) -> picklists.Page[PersonValue]:
            return await context.call(picklists.find_persons, wanted, key, first)

        return await attempt(
            lambda: _listed("person", after, fetch, lambda p: p.id, _person_edge, PersonConnection)
        )

    @strawberry.field(
        description="The persons the caller may name as handler (handlerId) or official "
        "(officialId) of a decision it makes (registerSource, deriveItem, changeClassification, "
        "declassify, recordReview, applyNotice): exactly those the mutation accepts. "
        "The official is the caller itself, holding the 定密责任人 role (D-6, D-11); the "
        "handler another person of its organisation whose user holds the 承办人 role (D-11, "
        "X-17). AccessDenied, as the mutation, for a caller who may not decide."
    )
    async def decision_makers(
        self,
        info: Ctx,
        role: DecisionMakerRole,
        filter: PersonFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> DecisionMakersResult:
        context = info.context
        wanted = _persons_filter(filter)

        async def fetch(key: str | None) -> picklists.Page[PersonValue]:
            return await context.call(
                picklists.decision_makers, context.actor, role.value, wanted, key, first
            )

        return await attempt(
            lambda: _listed(
                f"decision-{role.value.lower()}",
                after,
                fetch,
                lambda p: p.id,
                _person_edge,
                PersonConnection,
            )
        )

    @strawberry.field(
        description="Users, by id: every user for an administrator (系统管理员) and a "
        "supervisor of all; for a supervisor of some organisations, the users whose persons "
        "belong to those. AccessDenied for anyone else, the auditor included (三员分立)."
    )
    async def users(
        self,
        info: Ctx,
        filter: UserFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> UsersResult:
        context = info.context
        chosen = filter or UserFilter()
        wanted = picklists.UserFilter(
            picklists.words_of(chosen.text),
            None if chosen.role is None else RoleValue(chosen.role.value),
            _id(chosen.organisation_id),
            chosen.active,
        )

        async def fetch(key: str | None) -> picklists.Page[picklists.UserEntry]:
            return await context.call(picklists.find_users, context.actor, wanted, key, first)

        return await attempt(
            lambda: _listed("user", after, fetch, lambda e: e.user.id, _user_edge, UserConnection)
        )

    @strawberry.field(
        description="The roles a user may hold, with their Chinese names and the rules of "
        "三员分立; for those who see users (`users`), AccessDenied for anyone else."
    )
    async def roles(self, info: Ctx, first: int = 50, after: str | None = None) -> RolesResult:
        context = info.context

        async def fetch(key: str | None) -> picklists.Page[RoleValue]:
            # Through the store's call, only so that a refusal is recorded as any other.
            return await context.call(lambda _: picklists.list_roles(context.actor, key, first))

        return await attempt(
            lambda: _listed(
                "role", after, fetch, lambda r: r.value, _role_edge, RoleOptionConnection
            )
        )

    @strawberry.field(
        description="Scope-of-secrets rules to pick from (scopeRuleIds, D-15), by id; the "
        "store filters a catalogue of any size."
    )
    async def scope_rules(
        self,
        info: Ctx,
        filter: ScopeRuleFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ScopeRulesResult:
        context = info.context
        chosen = filter or ScopeRuleFilter()
        query = ScopeRuleQuery(
            issuer=chosen.issuer,
            level=level_of(chosen.level),
            words=picklists.words_of(chosen.text),
        )

        async def fetch(key: str | None) -> picklists.Page[ScopeRuleValue]:
            return await context.call(picklists.find_scope_rules, query, key, first)

        return await attempt(
            lambda: _listed(
                "scope-rule", after, fetch, lambda r: r.id, _scope_rule_edge, ScopeRuleConnection
            )
        )
