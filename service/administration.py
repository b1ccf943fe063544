"""Users and their tokens as a system administrator (系统管理员) keeps them: one use case each,
for the API (an administrator) and the command line (the operator, graph.access.SYSTEM),
which bootstraps the first administrator.

Each checks the caller's role before anything is read, so that a caller without it learns
nothing of the users (not even whether one exists), then writes in one transaction; a
refusal writes nothing. 三员分立 holds as graph.access.check_duties keeps it: the
administrator, the auditor and the supervisor are three persons, and an administrator changes
no role of its own and does not deactivate itself (it would grant itself, or leave the
service without the one who runs it, on its own word). The supervisor's role widens reading:
it is never given here, only asked for, and held once another supervisor approves
(service.grants, 两人规则 D-10), exactly as `lineage users supervise` asks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from graph.access import Actor, Role, Token, User, check_duties
from graph.errors import AccessDenied, InvalidValue
from graph.grant import Grant, GrantKind, GrantStatus
from graph.store.base import GraphReader, GraphStore, GraphWriter
from service import accounts
from service.accounts import Issued, NewUser
from service.grants import request_supervision, requester_of
from service.permissions import require_role

# The two officers beside the administrator (三员分立), whose tokens it does not issue.
OTHER_OFFICERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})


def add_user(store: GraphStore, command: NewUser, actor: Actor) -> Issued:
    """A new user for a person of an organisation (or, for an administrator or auditor, for
    none), with its first token; the supervisor's role is filed as a request."""
    require_role(actor, Role.ADMINISTRATOR)
    return accounts.add_user(store, command, requester_of(actor))


def grant_role(
    store: GraphStore, user_id: str, role: Role, supervises: frozenset[str], actor: Actor
) -> tuple[User, Grant | None]:
    """Gives a user a role. The supervisor's is asked for (`supervises`: beyond its own
    organisation, `*` for all; for a supervisor, in place of what it supervises now): pending
    until another supervisor approves, unless it only narrows."""
    require_role(actor, Role.ADMINISTRATOR)
    _not_self(actor, user_id, "授予自己角色")

    def work(tx: GraphWriter) -> tuple[User, Grant | None]:
        user = accounts.active_user(tx, user_id)
        if role is Role.SUPERVISOR:
            return request_supervision(tx, user.id, supervises, requester_of(actor))
        if supervises:
            raise InvalidValue("supervises", "只有监督检查人员才能指定监督的机关、单位。")
        if role in user.roles:
            raise InvalidValue("role", f"用户「{user.id}」已是{role.label}。")
        # A supervision that waits for approval counts as held: approving it later must not
        # find two of the three officers in one person.
        check_duties(user.roles | {role} | _pending_supervision(tx, user.id))
        changed = replace(user, roles=user.roles | {role})
        tx.update_user(changed)
        return changed, None

    return store.write(work)


def remove_role(store: GraphStore, user_id: str, role: Role, actor: Actor) -> User:
    """Takes a role from a user, at once: narrowing what one may do needs no second person.
    A supervisor's role goes with what it supervised."""
    require_role(actor, Role.ADMINISTRATOR)
    _not_self(actor, user_id, "取消自己的角色")

    def work(tx: GraphWriter) -> User:
        user = accounts.active_user(tx, user_id)
        if role not in user.roles:
            raise InvalidValue("role", f"用户「{user.id}」没有{role.label}角色。")
        left = user.roles - {role}
        if user.person_id is None and not left:
            raise InvalidValue(
                "role",
                f"用户「{user.id}」不对应任何人员，不能没有角色：不再需要它时请停用该用户"
                "（deactivateUser）。",
            )
        supervises = frozenset() if role is Role.SUPERVISOR else user.supervises
        changed = replace(user, roles=left, supervises=supervises)
        tx.update_user(changed)
        return changed

    return store.write(work)


def issue_token(
    store: GraphStore,
    user_id: str,
    actor: Actor,
    *,
    label: str = "",
    expires_in: timedelta | None = None,
    revoke_others: bool = True,
) -> Issued:
    """A new token for an active user, its secret in the answer only: by an administrator,
    or by the user for itself (to rotate the first token an administrator handed it). An
    administrator issues none for a supervisor or an auditor, nor for a user whose
    supervision waits for approval: it would then approve what widens reading, or read the
    trail, in their name (三员分立); their tokens come from the operator or from themselves."""
    if actor.system or actor.user_id != user_id:
        require_role(actor, Role.ADMINISTRATOR)

    def vet(tx: GraphReader, user: User) -> None:
        if actor.system or actor.user_id == user.id:
            return
        held = (user.roles | _pending_supervision(tx, user.id)) & OTHER_OFFICERS
        if held:
            names = "、".join(r.label for r in sorted(held, key=lambda r: r.value))
            raise AccessDenied(
                "THREE_OFFICERS",
                f"三员分立：系统管理员不能为{names}签发令牌，否则可以其身份批准扩大知悉范围或"
                "阅读审计记录；其令牌由本人签发（issueToken 给自己，轮换管理员交付的首个令牌），"
                "或由运维人员在命令行签发（lineage users token）（两人规则，D-10）。",
                ("D-10",),
            )

    return accounts.issue_token(
        store,
        user_id,
        label=label,
        expires_in=expires_in,
        revoke_others=revoke_others,
        vet=vet,
    )


def revoke_token(store: GraphStore, token_id: str, actor: Actor) -> Token:
    """Revokes one token, at once and for good."""
    require_role(actor, Role.ADMINISTRATOR)
    return accounts.revoke_token(store, token_id)


def deactivate_user(store: GraphStore, user_id: str, actor: Actor) -> User:
    """Deactivates a user with all of its tokens, at once and for good. A WebSocket session
    it holds ends at its next check (service.session), as for a revoked token."""
    require_role(actor, Role.ADMINISTRATOR)
    _not_self(actor, user_id, "停用自己")
    return accounts.revoke_user(store, user_id)


def readable_user(store: GraphStore, user_id: str, actor: Actor) -> User | None:
    """A user for an administrator, or for itself; None for anyone else, as for an id that
    does not exist."""
    if not (actor.has(Role.ADMINISTRATOR) or actor.user_id == user_id):
        return None
    return store.read(lambda tx: tx.users([user_id]).get(user_id))


def tokens_of(tx: GraphReader, user_id: str) -> list[Token]:
    """A user's tokens, oldest first (metadata: the store holds no secret)."""
    return sorted(tx.tokens_of([user_id]), key=lambda t: (t.created_at, t.id))


def _not_self(actor: Actor, user_id: str, what: str) -> None:
    if not actor.system and actor.user_id == user_id:
        raise AccessDenied(
            "NOT_SELF",
            f"三员分立：系统管理员不能{what}；须由另一名系统管理员办理（监督检查人员的角色还须"
            "另一名监督检查人员批准，两人规则，D-10）。",
            ("D-10",),
        )


def _pending_supervision(tx: GraphReader, user_id: str) -> frozenset[Role]:
    pending = tx.find_grants([GrantStatus.PENDING])
    waiting = any(g.kind is GrantKind.SUPERVISION and g.user_id == user_id for g in pending)
    return frozenset({Role.SUPERVISOR}) if waiting else frozenset()
