"""Requests that widen who may read (graph.grant, issue 21 item 7), on every store: they come
back as written, their decision replaces only what a decision sets, they name only what
exists, and they are listed by status in the order they were filed. Then the one approval
use case on each store: the change and the decision are written together, or neither."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from graph.access import EVERY_ORGANISATION, SYSTEM, Actor, Role, User, actor_of
from graph.errors import AccessDenied, DuplicateId, InvalidValue, UnknownId
from graph.grant import OPERATOR, Grant, GrantKind, GrantStatus
from graph.store.base import GraphStore, GraphWriter
from service.grants import approve_grant, request_supervision
from tests.contract.builders import ORG, build, organisation, person

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def succession(id: str, *, minutes: int = 0, organisation_id: str = "O-2") -> Grant:
    return Grant(
        id,
        GrantKind.SUCCESSION,
        "admin",
        AT + timedelta(minutes=minutes),
        organisation_id=organisation_id,
        target_id=ORG,
    )


@pytest.fixture
def world(store: GraphStore) -> GraphStore:
    build(store, [organisation(), organisation("O-2"), organisation("O-3"), person("p-1")])
    store.write(lambda tx: tx.add_user(User("u-1", "用户", "p-1", frozenset({Role.HANDLER}), AT)))
    return store


def test_grants_come_back_as_written(world: GraphStore) -> None:
    written = [
        succession("G-1"),
        Grant(
            "G-2",
            GrantKind.SUPERIOR,
            OPERATOR,
            AT + timedelta(minutes=2),
            organisation_id="O-3",
            target_id="O-2",
        ),
        Grant(
            "G-3",
            GrantKind.SUPERVISION,
            "system",
            AT + timedelta(minutes=1),
            user_id="u-1",
            supervises=frozenset({"O-2", "O-3"}),
        ),
        Grant(
            "G-4",
            GrantKind.SUPERVISION,
            "system",
            AT + timedelta(minutes=3),
            user_id="u-1",
            supervises=frozenset({EVERY_ORGANISATION}),
            status=GrantStatus.APPROVED,
            decided_by="system",
            decided_at=AT + timedelta(minutes=3),
            reason="首位",
        ),
    ]

    def add(tx: GraphWriter) -> None:
        for grant in written:
            tx.add_grant(grant)

    world.write(add)
    assert world.read(lambda tx: tx.grants(["G-1", "G-3", "G-4", "G-none"])) == {
        "G-1": written[0],
        "G-3": written[2],
        "G-4": written[3],
    }
    # Oldest first, by the time filed; by status.
    assert [g.id for g in world.read(lambda tx: tx.find_grants())] == ["G-1", "G-3", "G-2", "G-4"]
    pending = world.read(lambda tx: tx.find_grants([GrantStatus.PENDING]))
    assert pending == [written[0], written[2], written[1]]
    assert [g.id for g in world.read(lambda tx: tx.find_grants([GrantStatus.PENDING], 2))] == [
        "G-1",
        "G-3",
    ]
    decided = [GrantStatus.APPROVED, GrantStatus.REJECTED]
    assert world.read(lambda tx: tx.find_grants(decided)) == [written[3]]


def test_a_decision_replaces_only_what_a_decision_sets(world: GraphStore) -> None:
    filed = succession("G-1")
    world.write(lambda tx: tx.add_grant(filed))
    rejected = replace(
        filed,
        status=GrantStatus.REJECTED,
        decided_by="p-1",
        decided_at=AT + timedelta(hours=1),
        reason="未见撤并文件。",
        # Not a decision's to change: stays as filed.
        organisation_id="O-3",
        requested_by="someone-else",
    )
    world.write(lambda tx: tx.update_grant(rejected))
    read = world.read(lambda tx: tx.grants(["G-1"]))["G-1"]
    assert read == replace(rejected, organisation_id="O-2", requested_by="admin")
    assert world.read(lambda tx: tx.find_grants([GrantStatus.PENDING])) == []


def test_a_grant_names_only_what_exists_and_writes_nothing_when_refused(
    world: GraphStore,
) -> None:
    world.write(lambda tx: tx.add_grant(succession("G-1")))
    for refused, error in (
        (succession("G-1", minutes=1), DuplicateId),
        (succession("G-2", organisation_id="O-nowhere"), UnknownId),
        (
            Grant("G-3", GrantKind.SUPERIOR, "admin", AT, organisation_id="O-2", target_id="O-9"),
            UnknownId,
        ),
        (Grant("G-4", GrantKind.SUPERVISION, "system", AT, user_id="nobody"), UnknownId),
    ):

        def work(tx: GraphWriter, grant: Grant = refused) -> None:
            tx.add_grant(succession("G-ok", minutes=5))  # written first, rolled back with it
            tx.add_grant(grant)

        with pytest.raises(error):
            world.write(work)
    assert [g.id for g in world.read(lambda tx: tx.find_grants())] == ["G-1"]
    with pytest.raises(UnknownId):
        world.write(lambda tx: tx.update_grant(succession("G-nowhere")))


def supervisor_of_all(store: GraphStore) -> Actor:
    """The founding supervisor (on a store with none, it needs no second person), as the
    service would see it."""
    build(store, [person("p-sup")])
    store.write(lambda tx: tx.add_user(User("sup", "监督", "p-sup", frozenset(), AT)))
    user, founded = store.write(
        lambda tx: request_supervision(tx, "sup", frozenset({EVERY_ORGANISATION}))
    )
    assert founded is not None
    assert founded.status is GrantStatus.APPROVED
    assert user.roles == {Role.SUPERVISOR}
    return actor_of(user, ORG, store.read(lambda tx: tx.all_organisations()))


def test_an_approval_applies_the_change_with_its_decision_or_neither(world: GraphStore) -> None:
    decider = supervisor_of_all(world)
    world.write(lambda tx: tx.add_grant(succession("G-1")))
    with pytest.raises(AccessDenied):
        approve_grant(world, "G-1", SYSTEM)  # the operator does not approve
    approved = approve_grant(world, "G-1", decider)
    assert (approved.grant.status, approved.grant.decided_by) == (GrantStatus.APPROVED, "sup")
    assert world.read(lambda tx: tx.organisation("O-2")).successor_id == ORG  # type: ignore[union-attr]
    # A second request that would now close a loop of successors is refused at approval, and
    # neither its change nor its decision is written.
    looping = Grant("G-2", GrantKind.SUCCESSION, "admin", AT, organisation_id=ORG, target_id="O-2")
    world.write(lambda tx: tx.add_grant(looping))
    with pytest.raises(InvalidValue):
        approve_grant(world, "G-2", decider)
    assert world.read(lambda tx: tx.grants(["G-2"]))["G-2"] == looping
    assert world.read(lambda tx: tx.organisation(ORG)).successor_id is None  # type: ignore[union-attr]
