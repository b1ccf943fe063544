"""The use cases of users and tokens (service.administration) on every store, as the API and
the command line call them: each writes in one transaction, and a refusal, whatever checks
it at whichever step, leaves users, tokens and requests as they were."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from graph.access import SYSTEM, Actor, Role, User
from graph.errors import AccessDenied, InvalidValue
from graph.grant import GrantStatus
from graph.store.base import GraphReader, GraphStore, GraphWriter
from service import administration
from service.accounts import NewUser, authenticate
from tests.contract.builders import build, organisation, person

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ADMIN = Actor(user_id="admin", name="系统管理员", roles=frozenset({Role.ADMINISTRATOR}))


def secret_of(bearer: str) -> str:
    """The secret of `lin_<id>_<secret>` (which may itself hold `_`)."""
    return bearer.removeprefix("lin_").partition("_")[2]


def state(store: GraphStore) -> tuple[object, ...]:
    def work(tx: GraphReader) -> tuple[object, ...]:
        users = tx.all_users()
        tokens = sorted(tx.tokens_of(u.id for u in users), key=lambda t: t.id)
        return tuple(users), tuple(tokens), tuple(tx.find_grants())

    return store.read(work)


@pytest.fixture
def world(store: GraphStore) -> GraphStore:
    build(store, [organisation(), person("p-1"), person("p-2"), person("p-sup")])
    users = [
        User("admin", "系统管理员", None, frozenset({Role.ADMINISTRATOR}), AT),
        User("sup", "监督", "p-sup", frozenset({Role.SUPERVISOR}), AT),
    ]

    def work(tx: GraphWriter) -> None:
        for user in users:
            tx.add_user(user)

    store.write(work)
    return store


def test_a_user_added_signs_in_and_a_deactivated_one_does_not(world: GraphStore) -> None:
    issued = administration.add_user(
        world, NewUser("u-1", frozenset({Role.HANDLER}), person_id="p-1"), ADMIN
    )
    assert issued.grant is None
    assert authenticate(world, issued.bearer).roles == {Role.HANDLER}
    stored = world.read(lambda tx: tx.tokens([issued.token.id]))[issued.token.id]
    assert secret_of(issued.bearer) not in repr(stored)  # a digest only
    administration.deactivate_user(world, "u-1", ADMIN)
    tokens = world.read(lambda tx: tx.tokens_of(["u-1"]))
    assert all(t.revoked_at is not None for t in tokens)


def test_refusals_write_nothing(world: GraphStore) -> None:
    administration.add_user(
        world, NewUser("u-1", frozenset({Role.HANDLER}), person_id="p-1"), ADMIN
    )
    before = state(world)
    handler = Actor(user_id="u-1", name="承办人", person_id="p-1", roles=frozenset({Role.HANDLER}))
    refusals: list[tuple[type[Exception], Callable[[], object]]] = [
        # Refused before the transaction: the role, the caller itself.
        (AccessDenied, lambda: administration.deactivate_user(world, "u-1", handler)),
        (
            AccessDenied,
            lambda: administration.remove_role(world, "admin", Role.ADMINISTRATOR, ADMIN),
        ),
        # Refused inside it, after reads: 三员分立, a supervisor's token, a duplicate person.
        (
            InvalidValue,
            lambda: administration.grant_role(world, "u-1", Role.AUDITOR, frozenset(), ADMIN),
        ),
        (AccessDenied, lambda: administration.issue_token(world, "sup", ADMIN)),
        (
            InvalidValue,
            lambda: administration.add_user(
                world, NewUser("u-3", frozenset({Role.AUDITOR}), person_id="p-2"), ADMIN
            ),
        ),
        # The supervisor's role for a handler: refused when the request is checked.
        (
            InvalidValue,
            lambda: administration.grant_role(world, "u-1", Role.SUPERVISOR, frozenset(), ADMIN),
        ),
    ]
    for error, attempt in refusals:
        with pytest.raises(error):
            attempt()
        assert state(world) == before


def test_a_supervisors_role_is_filed_in_the_administrators_name(world: GraphStore) -> None:
    user, grant = administration.grant_role(world, "sup", Role.SUPERVISOR, frozenset({"*"}), ADMIN)
    assert grant is not None
    assert (grant.status, grant.requested_by) == (GrantStatus.PENDING, "admin")
    assert user.supervises == frozenset()
    # The command line files it as the operator's.
    administration.add_user(world, NewUser("u-2", frozenset(), person_id="p-2"), SYSTEM)
    _, other = administration.grant_role(world, "u-2", Role.SUPERVISOR, frozenset(), SYSTEM)
    assert other is not None
    assert other.requested_by == "system"
