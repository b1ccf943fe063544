"""Users and their tokens in the API, for a system administrator (系统管理员): the use cases
of service.administration, which the command line calls too. Query and Mutation of schema.py
inherit these.

A token's secret is in the answer of the mutation that issues it, once, and nowhere else:
not in the store (a digest), not in the trail (the token's id), not in the log, and not kept
for a retry either: a request that issues one may not carry an Idempotency-Key, whose answer
the store would keep (service.idempotency). A client that loses the answer issues another
token and revokes the lost one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph import access
from graph.access import EVERY_ORGANISATION
from graph.errors import InvalidValue
from graph.grant import Grant as GrantValue
from graph.grant import GrantStatus
from service import administration, grants, idempotency
from service.accounts import NewUser
from service.api.access import Role
from service.api.context import Context
from service.api.grants import Grant, grant
from service.api.inputs import attempt, decode_cursor, encode_cursor, paged
from service.api.problems import AnyProblem
from service.api.types import PageInfo
from service.auditing import account_event, grant_event
from service.usecases import MAX_PAGE, now

Ctx = Info[Context, None]
CURSOR = "token"


@strawberry.type(
    description="A bearer token of a user, as the store keeps it: its metadata, never its "
    "secret (only a digest of it is stored; the secret was shown once, when issued)."
)
class Token:
    id: strawberry.ID
    user_id: strawberry.ID
    label: str = strawberry.field(description="A note on where the token is used.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool = strawberry.field(description="Neither revoked nor expired now.")


@strawberry.type
class TokenEdge:
    cursor: str
    node: Token


@strawberry.type
class TokenConnection:
    edges: list[TokenEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many tokens the filter selects.")


@strawberry.input(description="Which of a user's tokens to list.")
class TokenFilter:
    active: bool | None = strawberry.field(
        default=None, description="Only those in force (true) or only those not (false)."
    )


@strawberry.type(
    name="User",
    description="An account, for an administrator (or the user itself): its roles in force "
    "(a supervisor's waits for approval, 两人规则) and its tokens.",
)
class UserAccount:
    id: strawberry.ID
    name: str
    person_id: strawberry.ID | None = strawberry.field(
        description="The person it acts for; none for an administrator or auditor."
    )
    organisation_id: strawberry.ID | None = strawberry.field(
        description="The organisation of its person."
    )
    roles: list[Role]
    role_labels: list[str] = strawberry.field(
        description="承办人, 定密责任人, 监督检查人员, 系统管理员, 安全审计员."
    )
    supervises_all: bool
    supervised_organisation_ids: list[strawberry.ID] = strawberry.field(
        description="What a supervisor supervises beyond its own organisation (and those below "
        "each)."
    )
    created_at: datetime
    active: bool = strawberry.field(description="Not deactivated.")
    deactivated_at: datetime | None

    @strawberry.field(description="The user's tokens, oldest first, paged.")
    async def tokens(
        self,
        info: Ctx,
        filter: TokenFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> TokenConnection:
        user_id = str(self.id)

        async def work() -> TokenConnection:
            if not 1 <= first <= MAX_PAGE:
                raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
            start = decode_cursor(after, CURSOR) if after is not None else None
            found = await info.context.read(lambda tx: administration.tokens_of(tx, user_id))
            moment = now()
            wanted = filter.active if filter is not None else None
            chosen = [t for t in found if wanted is None or t.valid_at(moment) == wanted]
            offset = 0
            if start is not None:
                ids = [t.id for t in chosen]
                if start not in ids:
                    raise InvalidValue("after", "游标（after）无效：请使用上一页返回的 endCursor。")
                offset = ids.index(start) + 1
            page = chosen[offset : offset + first]
            return TokenConnection(
                edges=[
                    TokenEdge(cursor=encode_cursor(t.id, CURSOR), node=token(t, moment))
                    for t in page
                ],
                page_info=PageInfo(
                    has_next_page=offset + first < len(chosen),
                    end_cursor=encode_cursor(page[-1].id, CURSOR) if page else None,
                ),
                total_count=len(chosen),
            )

        return await paged(work)


def user(value: access.User, organisation_id: str | None) -> UserAccount:
    roles = sorted(value.roles, key=lambda r: r.value)
    return UserAccount(
        id=strawberry.ID(value.id),
        name=value.name,
        person_id=None if value.person_id is None else strawberry.ID(value.person_id),
        organisation_id=None if organisation_id is None else strawberry.ID(organisation_id),
        roles=[Role(r.value) for r in roles],
        role_labels=[r.label for r in roles],
        supervises_all=EVERY_ORGANISATION in value.supervises,
        supervised_organisation_ids=[
            strawberry.ID(o) for o in sorted(value.supervises - {EVERY_ORGANISATION})
        ],
        created_at=value.created_at,
        active=value.active,
        deactivated_at=value.revoked_at,
    )


async def account(context: Context, value: access.User) -> UserAccount:
    """The user as the API shows it, with the organisation of its person."""
    person_id = value.person_id
    if person_id is None:
        return user(value, None)
    found = await context.read(lambda tx: tx.persons([person_id]))
    person = found.get(person_id)
    return user(value, None if person is None else person.organisation_id)


def token(value: access.Token, moment: datetime) -> Token:
    return Token(
        id=strawberry.ID(value.id),
        user_id=strawberry.ID(value.user_id),
        label=value.label,
        created_at=value.created_at,
        expires_at=value.expires_at,
        revoked_at=value.revoked_at,
        active=value.valid_at(moment),
    )


@strawberry.input(description="A new user and what its first token is.")
class AddUserInput:
    id: strawberry.ID
    roles: list[Role] = strawberry.field(
        description="Administrator, auditor and supervisor are each held alone (三员分立). The "
        "supervisor's role is asked for, not given: it waits for another supervisor's approval "
        "(`grant`, 两人规则 D-10)."
    )
    person_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The person of an organisation it acts for; none for an administrator, "
        "never for an auditor.",
    )
    name: str | None = strawberry.field(default=None, description="Defaults to the person's.")
    supervises_all: bool = strawberry.field(
        default=False, description="A supervisor to supervise every organisation."
    )
    supervised_organisation_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="A supervisor's organisations beyond its own (with those below each).",
    )
    token_label: str = strawberry.field(default="", description="A note on its first token.")
    token_expires_in_days: int | None = strawberry.field(
        default=None, description="Its first token expires after this many days."
    )


@strawberry.type(
    description="The user is added. `bearer` is its first token's secret, shown this once and "
    "never again; `grant`, for a supervisor, the request for its role."
)
class UserAdded:
    user: UserAccount
    token: Token
    bearer: str
    grant: Grant | None


@strawberry.type(
    description="The user as it now stands. `grant`: the request for a supervisor's role, "
    "pending until another supervisor approves it (null when nothing waits)."
)
class UserChanged:
    user: UserAccount
    grant: Grant | None = None


@strawberry.type(description="A token is issued: `bearer` is its secret, shown this once.")
class TokenIssued:
    user: UserAccount
    token: Token
    bearer: str


@strawberry.type(description="The token is revoked; a request signed with it is refused at once.")
class TokenRevoked:
    token: Token


AddUserResult = Annotated[UserAdded | AnyProblem, strawberry.union("AddUserResult")]
UserChangeResult = Annotated[UserChanged | AnyProblem, strawberry.union("UserChangeResult")]
IssueTokenResult = Annotated[TokenIssued | AnyProblem, strawberry.union("IssueTokenResult")]
RevokeTokenResult = Annotated[TokenRevoked | AnyProblem, strawberry.union("RevokeTokenResult")]


def _supervises(every: bool, ids: list[strawberry.ID]) -> frozenset[str]:
    named = frozenset(str(o) for o in ids)
    return named | {EVERY_ORGANISATION} if every else named


def _days(days: int | None) -> timedelta | None:
    if days is None:
        return None
    if not 1 <= days <= 3650:
        raise InvalidValue("expiresInDays", "令牌有效期应为 1 到 3650 天。")
    return timedelta(days=days)


def _shown_once(context: Context) -> None:
    """Refuses an Idempotency-Key on a request whose answer holds a secret (see the module)."""
    if isinstance(context.store, idempotency.Claiming):
        error = InvalidValue(
            "Idempotency-Key",
            "签发令牌的请求不能带幂等键（Idempotency-Key）：令牌只显示一次，其答复不能保存以备重发。"
            "未收到答复时，请重新签发令牌并吊销未收到的那个。",
        )
        context.refusals.append(error)
        raise error


async def _described(context: Context, found: GrantValue | None) -> Grant | None:
    if found is None:
        return None
    described = await context.read(lambda tx: grants.describe(tx, found))
    return grant(described)


async def _audit_grant(context: Context, found: GrantValue | None) -> None:
    if found is not None and found.status is GrantStatus.PENDING:
        await context.audit_events(grant_event(context.actor, "request", found, context.address))


def _roles(values: list[Role]) -> frozenset[access.Role]:
    return frozenset(access.Role(r.value) for r in values)


def _names(roles: frozenset[access.Role]) -> str:
    return ",".join(sorted(r.value for r in roles)) or "-"


@strawberry.type
class AccountQuery:
    @strawberry.field(
        description="A user, for an administrator (or the user itself); null for anyone else, "
        "as for an id that does not exist."
    )
    async def user(self, info: Ctx, id: strawberry.ID) -> UserAccount | None:
        context = info.context
        found = await context.call(administration.readable_user, str(id), context.actor)
        return None if found is None else await account(context, found)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Adds a user for a person of an organisation, with its roles and its first "
        "token (the secret shown once). Administrators only; 三员分立 holds; a supervisor's role "
        "is a request another supervisor approves (approveGrant). Not with an Idempotency-Key."
    )
    async def add_user(self, info: Ctx, input: AddUserInput) -> AddUserResult:
        context = info.context

        async def work() -> UserAdded:
            _shown_once(context)
            roles = _roles(input.roles)
            command = NewUser(
                id=str(input.id),
                roles=roles,
                person_id=str(input.person_id) if input.person_id is not None else None,
                name=input.name,
                supervises=_supervises(input.supervises_all, input.supervised_organisation_ids),
                label=input.token_label,
                expires_in=_days(input.token_expires_in_days),
            )
            issued = await context.call(administration.add_user, command, context.actor)
            added = await context.read(lambda tx: tx.users([command.id])[command.id])
            await context.audit_events(
                account_event(
                    context.actor,
                    "user add",
                    f"user {added.id} roles {_names(roles)} person {added.person_id or '-'} "
                    f"token {issued.token.id}",
                    context.address,
                )
            )
            await _audit_grant(context, issued.grant)
            return UserAdded(
                user=await account(context, added),
                token=token(issued.token, now()),
                bearer=issued.bearer,
                grant=await _described(context, issued.grant),
            )

        return await attempt(work)

    @strawberry.mutation(
        description="Gives a user a role. The supervisor's role (with what it is to supervise, "
        "in place of what it supervises now) is a request another supervisor approves "
        "(approveGrant, 两人规则 D-10), unless it only narrows. Administrators only, never "
        "for themselves (三员分立)."
    )
    async def grant_role(
        self,
        info: Ctx,
        user_id: strawberry.ID,
        role: Role,
        supervises_all: bool = False,
        supervised_organisation_ids: list[strawberry.ID] | None = None,
    ) -> UserChangeResult:
        context = info.context

        async def work() -> UserChanged:
            wanted = access.Role(role.value)
            supervises = _supervises(supervises_all, supervised_organisation_ids or [])
            changed, filed = await context.call(
                administration.grant_role, str(user_id), wanted, supervises, context.actor
            )
            asked = f": {filed.id} {filed.status.value}" if filed is not None else ""
            await context.audit_events(
                account_event(
                    context.actor,
                    "user role grant",
                    f"user {changed.id} +{wanted.value}{asked}",
                    context.address,
                )
            )
            await _audit_grant(context, filed)
            return UserChanged(
                user=await account(context, changed), grant=await _described(context, filed)
            )

        return await attempt(work)

    @strawberry.mutation(
        description="Takes a role from a user, at once. Administrators only, never from "
        "themselves (三员分立)."
    )
    async def remove_role(self, info: Ctx, user_id: strawberry.ID, role: Role) -> UserChangeResult:
        context = info.context

        async def work() -> UserChanged:
            wanted = access.Role(role.value)
            changed = await context.call(
                administration.remove_role, str(user_id), wanted, context.actor
            )
            await context.audit_events(
                account_event(
                    context.actor,
                    "user role remove",
                    f"user {changed.id} -{wanted.value}",
                    context.address,
                )
            )
            return UserChanged(user=await account(context, changed))

        return await attempt(work)

    @strawberry.mutation(
        description="Issues a token for an active user; its secret (`bearer`) is shown this once. "
        "With `revokeOthers`, the user's other tokens are revoked (rotation). By an "
        "administrator, for anyone but a supervisor or an auditor (三员分立), or by a user for "
        "itself (to rotate the token it was handed). Not with an Idempotency-Key."
    )
    async def issue_token(
        self,
        info: Ctx,
        user_id: strawberry.ID,
        label: str = "",
        expires_in_days: int | None = None,
        revoke_others: bool = False,
    ) -> IssueTokenResult:
        context = info.context

        async def work() -> TokenIssued:
            _shown_once(context)
            expires_in = _days(expires_in_days)
            issued = await context.call(
                lambda store: administration.issue_token(
                    store,
                    str(user_id),
                    context.actor,
                    label=label,
                    expires_in=expires_in,
                    revoke_others=revoke_others,
                )
            )
            rotated = ", others revoked" if revoke_others else ""
            await context.audit_events(
                account_event(
                    context.actor,
                    "token issue",
                    f"user {issued.token.user_id} token {issued.token.id}{rotated}",
                    context.address,
                )
            )
            holder = await context.read(lambda tx: tx.users([issued.token.user_id]))
            return TokenIssued(
                user=await account(context, holder[issued.token.user_id]),
                token=token(issued.token, now()),
                bearer=issued.bearer,
            )

        return await attempt(work)

    @strawberry.mutation(
        description="Revokes a token, at once and for good: a request signed with it is refused "
        "(401), and a WebSocket session signed in with it ends. Administrators only."
    )
    async def revoke_token(self, info: Ctx, id: strawberry.ID) -> RevokeTokenResult:
        context = info.context

        async def work() -> TokenRevoked:
            revoked = await context.call(administration.revoke_token, str(id), context.actor)
            await context.audit_events(
                account_event(
                    context.actor,
                    "token revoke",
                    f"user {revoked.user_id} token {revoked.id}",
                    context.address,
                )
            )
            return TokenRevoked(token=token(revoked, now()))

        return await attempt(work)

    @strawberry.mutation(
        description="Deactivates a user with all its tokens, at once and for good: its requests "
        "are refused (401) and its WebSocket sessions end. Administrators only, never "
        "themselves."
    )
    async def deactivate_user(self, info: Ctx, id: strawberry.ID) -> UserChangeResult:
        context = info.context

        async def work() -> UserChanged:
            deactivated = await context.call(administration.deactivate_user, str(id), context.actor)
            await context.audit_events(
                account_event(
                    context.actor,
                    "user deactivate",
                    f"user {deactivated.id} and its tokens",
                    context.address,
                )
            )
            return UserChanged(user=await account(context, deactivated))

        return await attempt(work)
