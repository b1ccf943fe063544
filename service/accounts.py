"""Users and their bearer tokens: adding, listing, rotating and revoking them (`lineage users`),
and authenticating a request, by one of our tokens or by a JWT from single sign-on.

A token is `lin_<id>_<secret>`; only the SHA-256 digest of the secret is stored, so a copy of
the store gives no one a working token. The secret is 32 random bytes: no slow hash is needed
against guessing, as it would be for a password.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from graph.access import EVERY_ORGANISATION, Actor, Role, Token, User, actor_of, check_duties
from graph.errors import InvalidValue, UnknownId
from graph.grant import OPERATOR, Grant
from graph.model import check_id, check_text
from graph.store.base import GraphReader, GraphStore, GraphWriter
from service.directory import GroupMap
from service.grants import request_supervision
from service.sso import JwtSettings

log = logging.getLogger(__name__)

PREFIX = "lin_"


def now() -> datetime:
    return datetime.now(UTC)


class Unauthenticated(Exception):
    """The request carries no valid credentials; the message says why, for the client."""


@dataclass(frozen=True)
class Issued:
    """A new token and its bearer text, which is shown once and kept nowhere; for a new
    supervisor, the request for its supervision (service.grants)."""

    token: Token
    bearer: str
    grant: Grant | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token(user_id: str, label: str, expires_at: datetime | None) -> Issued:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = Token(token_id, user_id, _digest(secret), now(), label, expires_at)
    return Issued(token, f"{PREFIX}{token_id}_{secret}")


@dataclass(frozen=True)
class NewUser:
    id: str
    roles: frozenset[Role]
    person_id: str | None = None
    name: str | None = None
    supervises: frozenset[str] = frozenset()
    label: str = ""
    expires_in: timedelta | None = None


def add_user(store: GraphStore, command: NewUser, requested_by: str = OPERATOR) -> Issued:
    """Adds a user and issues its first token. The supervisor role is not given at once: it
    lets the user read every item of the organisations it supervises, so it is asked for
    (service.grants.request_supervision, filed in `requested_by`'s name) and held once
    another supervisor approves."""
    user_id = check_id(command.id, "id")
    check_duties(command.roles)

    def work(tx: GraphWriter) -> Issued:
        name = command.name
        if command.person_id is not None:
            person = tx.persons([command.person_id]).get(command.person_id)
            if person is None:
                raise UnknownId("person", command.person_id)
            name = name or person.name
        _require_organisations(tx, command.supervises - {EVERY_ORGANISATION})
        user = User(
            id=user_id,
            name=check_text(name or user_id, "name", limit=100),
            person_id=command.person_id,
            roles=command.roles,
            created_at=now(),
            supervises=command.supervises,
        )
        supervisor = Role.SUPERVISOR in user.roles
        if supervisor:
            user = replace(user, roles=user.roles - {Role.SUPERVISOR}, supervises=frozenset())
        tx.add_user(user)
        grant = (
            request_supervision(tx, user.id, command.supervises, requested_by)[1]
            if supervisor
            else None
        )
        issued = _new_token(user.id, _label(command.label), _expiry(command.expires_in))
        tx.add_token(issued.token)
        return replace(issued, grant=grant)

    return store.write(work)


def issue_token(
    store: GraphStore,
    user_id: str,
    *,
    label: str = "",
    expires_in: timedelta | None = None,
    revoke_others: bool = True,
    vet: Callable[[GraphReader, User], None] | None = None,
) -> Issued:
    """A new token for a user; by default its other tokens are revoked (rotation). `vet`
    may refuse the user as the transaction reads it (service.administration)."""

    def work(tx: GraphWriter) -> Issued:
        user = active_user(tx, user_id)
        if vet is not None:
            vet(tx, user)
        moment = now()
        if revoke_others:
            tx.update_tokens(
                [
                    replace(t, revoked_at=moment)
                    for t in tx.tokens_of([user.id])
                    if t.valid_at(moment)
                ]
            )
        issued = _new_token(user.id, _label(label), _expiry(expires_in))
        tx.add_token(issued.token)
        return issued

    return store.write(work)


def revoke_user(store: GraphStore, user_id: str) -> User:
    """Revokes a user and all of its tokens, at once and for good."""

    def work(tx: GraphWriter) -> User:
        user = active_user(tx, user_id)
        moment = now()
        revoked = replace(user, revoked_at=moment)
        tx.update_user(revoked)
        tx.update_tokens(
            [replace(t, revoked_at=moment) for t in tx.tokens_of([user.id]) if t.revoked_at is None]
        )
        return revoked

    return store.write(work)


def revoke_token(store: GraphStore, token_id: str) -> Token:
    def work(tx: GraphWriter) -> Token:
        token = tx.tokens([token_id]).get(token_id)
        if token is None:
            raise UnknownId("token", token_id)
        if token.revoked_at is not None:
            raise InvalidValue(
                "token", f"令牌「{token_id}」已于 {token.revoked_at:%Y-%m-%d %H:%M} 吊销。"
            )
        revoked = replace(token, revoked_at=now())
        tx.update_tokens([revoked])
        return revoked

    return store.write(work)


def list_users(store: GraphStore) -> list[tuple[User, list[Token]]]:
    def work(tx: GraphReader) -> list[tuple[User, list[Token]]]:
        users = tx.all_users()
        tokens: dict[str, list[Token]] = {}
        for token in tx.tokens_of(u.id for u in users):
            tokens.setdefault(token.user_id, []).append(token)
        return [(u, tokens.get(u.id, [])) for u in users]

    return store.read(work)


def authenticate(store: GraphStore, bearer: str, sso: JwtSettings | None = None) -> Actor:
    """The actor a bearer credential stands for; Unauthenticated if it stands for no one."""
    if bearer.startswith(PREFIX):
        token_id, _, secret = bearer.removeprefix(PREFIX).partition("_")

        def by_token(tx: GraphReader) -> Actor:
            token = tx.tokens([token_id]).get(token_id) if token_id else None
            # Compared in constant time, and the same answer for an unknown id.
            digest = token.digest if token is not None else _digest("")
            if not hmac.compare_digest(digest, _digest(secret)) or token is None:
                raise Unauthenticated("令牌无效。")
            if not token.valid_at(now()):
                raise Unauthenticated("令牌已吊销或已过期。")
            return _actor(tx, token.user_id)

        return store.read(by_token)
    if sso is not None and bearer.count(".") == 2:
        user_id, claims = _verified_user(bearer, sso)
        if sso.groups is None:
            return store.read(lambda tx: _actor(tx, user_id))
        groups = sso.groups
        return store.read(lambda tx: _actor_in_groups(tx, user_id, groups, claims))
    raise Unauthenticated("令牌无效。")


def _verified_user(bearer: str, sso: JwtSettings) -> tuple[str, dict[str, Any]]:
    """The user a JWT names, and its claims, once its signature (by an algorithm of the key's
    family only), issuer, audience and period are checked. Whatever is wrong with it, and
    whatever PyJWT makes of it, it is Unauthenticated: a token is the caller's input, never
    our fault."""
    try:
        key, algorithms = sso.verifying(bearer)
        claims = jwt.decode(
            bearer,
            key,
            algorithms=algorithms,
            issuer=sso.issuer,
            audience=sso.audience,
            leeway=sso.leeway_seconds,
            options={
                "require": ["exp", "iss", "aud", sso.user_claim],
                "enforce_minimum_key_length": True,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("JWT 已过期。") from None
    except jwt.PyJWTError:
        raise Unauthenticated("JWT 无效：签名、算法、签发者或受众不符。") from None
    except Exception:  # PyJWT failed on it in a way it does not declare: still no sign-in
        log.warning("PyJWT 未能解析一个 JWT，已按无效令牌拒绝。", exc_info=True)
        raise Unauthenticated("JWT 无效：签名、算法、签发者或受众不符。") from None
    user_id = claims.get(sso.user_claim)
    if not isinstance(user_id, str) or not user_id:
        raise Unauthenticated("JWT 未指明用户。")
    return user_id, claims


def _actor(tx: GraphReader, user_id: str) -> Actor:
    user = tx.users([user_id]).get(user_id)
    if user is None or not user.active:
        raise Unauthenticated("用户不存在或已被吊销。")
    return actor_in(tx, user)


def _actor_in_groups(
    tx: GraphReader, user_id: str, groups: GroupMap, claims: Mapping[str, Any]
) -> Actor:
    """The actor of a JWT's user with only the roles it holds here that its groups also allow
    (service.directory: the directory narrows, never widens)."""
    user = tx.users([user_id]).get(user_id)
    if user is None or not user.active:
        raise Unauthenticated("用户不存在或已被吊销。")
    person = tx.persons([user.person_id]).get(user.person_id) if user.person_id else None
    roles = user.roles & groups.roles(claims, person.organisation_id if person else None)
    if not roles:
        raise Unauthenticated(
            "JWT 所列的用户组没有给该用户留下任何角色：其在本系统中的角色须同时由身份提供方的"
            "用户组（LINEAGE_OIDC_GROUP_MAP）允许。"
        )
    kept = user.supervises if Role.SUPERVISOR in roles else frozenset()
    return actor_in(tx, replace(user, roles=roles, supervises=kept))


def actor_in(tx: GraphReader, user: User) -> Actor:
    """A user's actor as the store stands: its person's organisation, the organisations merged
    into it, those it supervises."""
    organisation_id = None
    if user.person_id is not None:
        person = tx.persons([user.person_id]).get(user.person_id)
        if person is None:
            raise Unauthenticated("用户对应的人员不存在。")
        organisation_id = person.organisation_id
    return actor_of(user, organisation_id, tx.all_organisations())


def actor_of_person(store: GraphStore, person_id: str) -> Actor:
    """The actor of the active user acting for a person, for tools and tests."""

    def work(tx: GraphReader) -> Actor:
        for user in tx.all_users():
            if user.person_id == person_id and user.active:
                return actor_in(tx, user)
        raise UnknownId("user_of_person", person_id)

    return store.read(work)


def roles_of(tx: GraphReader, person_ids: Iterable[str]) -> dict[str, frozenset[Role]]:
    """The roles of the active users of the given persons; a person without one has none."""
    wanted = set(person_ids)
    return {
        u.person_id: u.roles
        for u in tx.all_users()
        if u.person_id in wanted and u.active and u.person_id is not None
    }


def active_user(tx: GraphReader, user_id: str) -> User:
    user = tx.users([user_id]).get(user_id)
    if user is None:
        raise UnknownId("user", user_id)
    if not user.active:
        raise InvalidValue("user", f"用户「{user_id}」已被吊销。")
    return user


def _require_organisations(tx: GraphReader, ids: Iterable[str]) -> None:
    wanted = sorted(ids)
    found = tx.organisations(wanted)
    for id in wanted:
        if id not in found:
            raise UnknownId("organisation", id)


def _label(label: str) -> str:
    return check_text(label, "label", limit=100, required=False)


def _expiry(expires_in: timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    if expires_in <= timedelta(0):
        raise InvalidValue("expiresIn", "令牌有效期应为正数。")
    return now() + expires_in


def parse_roles(names: Sequence[str]) -> frozenset[Role]:
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.upper()))
        except ValueError:
            known = "、".join(r.value.lower() for r in Role)
            raise InvalidValue("role", f"未知角色「{name}」：应为 {known}。") from None
    return frozenset(roles)
