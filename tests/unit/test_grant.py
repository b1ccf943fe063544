"""The two-person rule as pure functions (graph.grant, issue 21 item 7): what each request
would open to more readers, who may decide it, and 三员分立's roles (graph.access)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from graph.access import EVERY_ORGANISATION, SYSTEM, Actor, Role, User, actor_of, check_duties
from graph.errors import AccessDenied, InvalidValue
from graph.grant import Grant, GrantKind, GrantStatus, World, check_decider, widened
from graph.model import Level, Organisation, Years
from tests.unit.builders import scope, source

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# A ministry above a bureau above an institute; a county on its own; an old office merged into
# the bureau.
ORGANISATIONS = {
    o.id: o
    for o in (
        Organisation("ministry", "部", None),
        Organisation("bureau", "局", None, superior_id="ministry"),
        Organisation("institute", "所", None, superior_id="bureau"),
        Organisation("county", "县", None),
        Organisation("old-office", "原办", None, successor_id="bureau"),
    )
}


def grant(kind: GrantKind, **fields: object) -> Grant:
    return Grant("G-1", kind, "admin", AT, **fields)  # type: ignore[arg-type]


def supervisor(user_id: str, organisation: str, *supervises: str) -> Actor:
    user = User(
        user_id, user_id, f"p-{user_id}", frozenset({Role.SUPERVISOR}), AT, frozenset(supervises)
    )
    return actor_of(user, organisation, ORGANISATIONS.values())


def test_each_kind_widens_what_it_opens_to_more_readers() -> None:
    world = World(ORGANISATIONS)
    # X-7 ¶2: the successor reads what named the bureau, and what named the office merged in.
    merged = grant(GrantKind.SUCCESSION, organisation_id="bureau", target_id="county")
    assert widened(merged, world) == frozenset({"bureau", "old-office"})
    # the superior's supervisors read the organisation and everything below it.
    placed = grant(GrantKind.SUPERIOR, organisation_id="bureau", target_id="county")
    assert widened(placed, world) == frozenset({"bureau", "institute"})


def test_a_supervision_widens_what_it_adds_and_nothing_it_had() -> None:
    person_user = User("u", "u", "p-u", frozenset(), AT)
    world = World(ORGANISATIONS, person_user, "bureau")
    new = grant(GrantKind.SUPERVISION, user_id="u", supervises=frozenset({"county"}))
    assert widened(new, world) == frozenset({"bureau", "old-office", "institute", "county"})
    already = replace(person_user, roles=frozenset({Role.SUPERVISOR}))
    more = World(ORGANISATIONS, already, "bureau")
    assert widened(new, more) == frozenset({"county"})
    narrower = grant(GrantKind.SUPERVISION, user_id="u")
    assert widened(narrower, more) == frozenset()
    every = grant(GrantKind.SUPERVISION, user_id="u", supervises=frozenset({EVERY_ORGANISATION}))
    assert widened(every, more) is None
    of_all = replace(already, supervises=frozenset({EVERY_ORGANISATION}))
    assert widened(new, World(ORGANISATIONS, of_all, "bureau")) == frozenset()


def test_only_a_second_person_who_supervises_what_it_opens_decides() -> None:
    merged = grant(GrantKind.SUCCESSION, organisation_id="bureau", target_id="county")
    reach = widened(merged, World(ORGANISATIONS))
    # The ministry's supervisor supervises the bureau below it, but the office merged into
    # the bureau only if named: merging is not a superior link.
    with pytest.raises(AccessDenied, match="old-office"):
        check_decider(supervisor("m", "ministry"), merged, reach)
    ministry = supervisor("m", "ministry", "old-office")
    check_decider(ministry, merged, reach)
    check_decider(supervisor("all", "county", EVERY_ORGANISATION), merged, reach)
    # The bureau's own supervisor does not supervise the office merged into it: not its call.
    for refused, requirement in (
        (supervisor("b", "institute", "bureau"), "SUPERVISES"),
        (supervisor("c", "county"), "SUPERVISES"),
        (replace(ministry, user_id="admin"), "SECOND_PERSON"),  # the one who filed it
        (SYSTEM, "ROLE:SUPERVISOR"),  # the operator
        (Actor("admin-2", "管理员", roles=frozenset({Role.ADMINISTRATOR})), "ROLE:SUPERVISOR"),
    ):
        with pytest.raises(AccessDenied) as error:
            check_decider(refused, merged, reach)
        assert error.value.requirement == requirement, refused.user_id
        assert "X-7" in error.value.articles
    # A grant that would make someone a supervisor of all needs a supervisor of all; the
    # one who would gain never decides it.
    every = grant(GrantKind.SUPERVISION, user_id="u", supervises=frozenset({EVERY_ORGANISATION}))
    with pytest.raises(AccessDenied, match="所有机关"):
        check_decider(ministry, every, None)
    with pytest.raises(AccessDenied) as own:
        check_decider(supervisor("u", "county", EVERY_ORGANISATION), every, None)
    assert own.value.requirement == "SECOND_PERSON"


def test_a_grant_is_whole_as_a_value() -> None:
    for fields in (
        {"kind": GrantKind.SUCCESSION, "organisation_id": "bureau"},
        {"kind": GrantKind.SUPERVISION, "organisation_id": "bureau", "target_id": "county"},
        {"kind": GrantKind.SUCCESSION, "organisation_id": "bureau", "target_id": "bureau"},
        {"kind": GrantKind.SUPERIOR, "organisation_id": "a", "target_id": "b", "user_id": "u"},
    ):
        kind = fields.pop("kind")
        with pytest.raises(InvalidValue):
            grant(kind, **fields)  # type: ignore[arg-type]
    merged = grant(GrantKind.SUCCESSION, organisation_id="bureau", target_id="county")
    with pytest.raises(InvalidValue):
        replace(merged, status=GrantStatus.APPROVED)  # decided, but not when


def test_the_three_officers_are_three_persons() -> None:
    for alone in (Role.ADMINISTRATOR, Role.AUDITOR, Role.SUPERVISOR):
        check_duties(frozenset({alone}))
        for other in Role:
            if other is not alone:
                with pytest.raises(InvalidValue, match="三员分立"):
                    check_duties(frozenset({alone, other}))
    check_duties(frozenset({Role.HANDLER, Role.OFFICIAL}))
    with pytest.raises(InvalidValue, match="安全审计员不对应"):
        User("a", "审计", "p-a", frozenset({Role.AUDITOR}), AT)


def test_an_auditor_reads_no_item() -> None:
    auditor = User("a", "审计", None, frozenset({Role.AUDITOR}), AT)
    actor = actor_of(auditor, None, ORGANISATIONS.values())
    # Even an actor built with a person and an organisation (say, by a future caller).
    stretched = replace(actor, person_id="p-a", member_of=frozenset({"county"}))
    held = source("S-1", Level.SECRET, Years(10, AT.date()), organisation_id="county")
    named = replace(held, scope=scope(("p-a",), ("county",)))
    for reader in (actor, stretched):
        assert not reader.can_read(named)
        readable = reader.read_filter()
        assert readable is not None
        assert (readable.keys, readable.holders) == ((), ())
