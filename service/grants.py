"""Requests that widen who may read (graph.grant): checking them when filed, deciding them,
and listing them for those who may decide.

A request is checked when it is filed and again when it is approved, in the approving
transaction, against the store as it then stands: what was true when it was filed may not be
any more (an organisation merged meanwhile, a chain of superiors that would now close a loop,
a user revoked). The approval applies the change and records the decision in one
transaction; a refusal writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from graph.access import EVERY_ORGANISATION, Actor, Role, User, actor_of, check_duties
from graph.errors import AccessDenied, InvalidValue, UnknownId
from graph.grant import (
    OPERATOR,
    Grant,
    GrantKind,
    GrantStatus,
    World,
    check_decider,
    requested_supervision,
    require_supervisor,
    widened,
)
from graph.model import Organisation, check_text
from graph.store.base import GraphReader, GraphStore, GraphWriter

MAX_LISTED = 500


def now() -> datetime:
    return datetime.now(UTC)


def new_grant_id() -> str:
    return f"G-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Described:
    """A request with what it would widen as the store now stands (None: every organisation)
    and a sentence that says so."""

    grant: Grant
    reach: frozenset[str] | None
    summary: str


def requester_of(actor: Actor) -> str:
    return OPERATOR if actor.system else actor.user_id


# Checks, when a request is filed and again when it is approved


def check_succession(tx: GraphReader, organisation_id: str, successor_id: str) -> Organisation:
    """The organisation that would be succeeded, if `successor_id` may take it over (X-7 ¶2)."""
    if organisation_id == successor_id:
        raise InvalidValue("successorId", "承继机关、单位不能是其自身。")
    found = tx.organisations([organisation_id, successor_id])
    for id in (organisation_id, successor_id):
        if id not in found:
            raise UnknownId("organisation", id)
    organisation = found[organisation_id]
    if organisation.successor_id is not None:
        raise InvalidValue(
            "organisationId",
            f"{organisation.name}已由「{organisation.successor_id}」承继，不能再次登记（X-7）。",
        )
    # A chain of successors must end: the new successor may not lead back to this one.
    successors = {o.id: o.successor_id for o in tx.all_organisations()}
    if _loops(organisation_id, successor_id, successors):
        raise InvalidValue("successorId", "承继关系不能成环（X-7）。")
    return organisation


def check_superior(tx: GraphReader, organisation_id: str, superior_id: str) -> Organisation:
    """The organisation that would get `superior_id` as its superior (X-9)."""
    if organisation_id == superior_id:
        raise InvalidValue("superiorId", "机关、单位不能是其自身的上级。")
    organisations = {o.id: o for o in tx.all_organisations()}
    for id in (organisation_id, superior_id):
        if id not in organisations:
            raise UnknownId("organisation", id)
    organisation = organisations[organisation_id]
    if organisation.superior_id is not None:
        raise InvalidValue(
            "superiorId",
            f"{organisation.name}已有上级「{organisation.superior_id}」，不能再登记另一个（X-9）。",
        )
    # Superiors form a tree: the new superior may not lie below this organisation.
    if _loops(organisation_id, superior_id, {o.id: o.superior_id for o in organisations.values()}):
        raise InvalidValue("superiorId", "上下级关系不能成环（X-9）。")
    return organisation


def _loops(organisation_id: str, linked: str, link: Mapping[str, str | None]) -> bool:
    """Whether linking `organisation_id` to `linked` closes a loop: following `link` from
    `linked` comes back to it, or runs in a circle."""
    current: str | None = linked
    seen = {organisation_id}
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = link.get(current)
    return False


def check_supervision(tx: GraphReader, user_id: str, supervises: frozenset[str]) -> User:
    """The user that would supervise `supervises` (beyond its own organisation)."""
    user = tx.users([user_id]).get(user_id)
    if user is None:
        raise UnknownId("user", user_id)
    if not user.active:
        raise InvalidValue("user", f"用户「{user_id}」已被吊销。")
    if user.person_id is None:
        raise InvalidValue("person", "监督检查人员须对应本系统登记的一名人员。")
    check_duties(user.roles | {Role.SUPERVISOR})
    named = sorted(supervises - {EVERY_ORGANISATION})
    found = tx.organisations(named)
    for id in named:
        if id not in found:
            raise UnknownId("organisation", id)
    return user


def refuse_pending_twin(tx: GraphReader, grant: Grant) -> None:
    """One pending request at a time for the same organisation's succession or superior, or
    for the same user's supervision."""
    for other in tx.find_grants([GrantStatus.PENDING]):
        if other.kind is grant.kind and (other.organisation_id, other.user_id) == (
            grant.organisation_id,
            grant.user_id,
        ):
            raise InvalidValue(
                "grant",
                f"已有待批准的同类申请「{other.id}」（{other.kind.label}）：请待其批准或驳回后再申请。",
            )


def file(tx: GraphWriter, grant: Grant) -> Grant:
    """Files a pending request, checked as it would be applied."""
    _check(tx, grant)
    refuse_pending_twin(tx, grant)
    tx.add_grant(grant)
    return grant


def request_supervision(
    tx: GraphWriter, user_id: str, supervises: frozenset[str], requested_by: str = OPERATOR
) -> tuple[User, Grant | None]:
    """Asks that a user supervise `supervises` (beyond its own organisation; `*` for all), in
    place of what it supervises now. A change that widens nothing (it only narrows) is made
    at once, with no request; so is the founding one, while no user has ever held the
    supervisor role, since no one could approve it, but only from the command line (the
    operator, `requested_by` OPERATOR): an administrator in the API may not found it, or the
    API would let one person widen reading alone. Anything else is filed, pending."""
    wanted = requested_supervision(supervises)
    user = check_supervision(tx, user_id, wanted)
    grant = Grant(
        new_grant_id(),
        GrantKind.SUPERVISION,
        requested_by,
        now(),
        user_id=user.id,
        supervises=wanted,
    )
    refuse_pending_twin(tx, grant)
    if Role.SUPERVISOR in user.roles and widened(grant, world_of(tx, grant)) == frozenset():
        narrowed = replace(user, supervises=wanted)
        tx.update_user(narrowed)
        return narrowed, None
    if not any(Role.SUPERVISOR in u.roles for u in tx.all_users()):
        if requested_by != OPERATOR:
            raise AccessDenied(
                "OPERATOR",
                "本系统尚无监督检查人员，无人能够批准这项申请：首位监督检查人员只能由运维人员在"
                "命令行设立（lineage users add --role supervisor），此后每一项扩大知悉范围的申请"
                "都须另一名监督检查人员批准（两人规则，D-10）。",
                ("D-10",),
            )
        founded = replace(
            grant,
            status=GrantStatus.APPROVED,
            decided_by=OPERATOR,
            decided_at=grant.requested_at,
            reason=FOUNDING,
        )
        tx.add_grant(founded)
        _apply(tx, founded)
        return tx.users([user.id])[user.id], founded
    tx.add_grant(grant)
    return user, grant


# The reason recorded on the one request that takes effect without a second person.
FOUNDING = (
    "首位监督检查人员：本系统此前没有任何监督检查人员，无人能够批准，由运维人员设立；"
    "此后每一项扩大知悉范围的申请都须另一名监督检查人员批准。"
)


def world_of(tx: GraphReader, grant: Grant) -> World:
    organisations = {o.id: o for o in tx.all_organisations()}
    if grant.user_id is None:
        return World(organisations)
    user = tx.users([grant.user_id]).get(grant.user_id)
    organisation_id = None
    if user is not None and user.person_id is not None:
        person = tx.persons([user.person_id]).get(user.person_id)
        organisation_id = person.organisation_id if person else None
    return World(organisations, user, organisation_id)


def describe(tx: GraphReader, grant: Grant) -> Described:
    world = world_of(tx, grant)
    reach = widened(grant, world)
    return Described(grant, reach, summary(grant, world, reach))


def summary(grant: Grant, world: World, reach: frozenset[str] | None) -> str:
    """What the request does, in a sentence, with the organisations by name."""

    def name(id: str | None) -> str:
        found = world.organisations.get(id or "")
        return f"{found.name}（{id}）" if found else f"「{id}」"

    match grant.kind:
        case GrantKind.SUCCESSION:
            return (
                f"{name(grant.organisation_id)}撤销或合并，由{name(grant.target_id)}承继：批准后，"
                f"承继者的人员知悉知悉范围列明前者的事项，并由承继者负责前者所定事项的变更和解密"
                "（X-7, D-10）。"
            )
        case GrantKind.SUPERIOR:
            return (
                f"{name(grant.target_id)}登记为{name(grant.organisation_id)}的上级：批准后，上级的"
                "监督检查人员知悉该机关、单位及其下级所持有的事项，上级可以变更、解密其所定事项"
                "（X-9, D-10）。"
            )
        case GrantKind.SUPERVISION:
            user = world.user
            who = f"用户「{grant.user_id}」" + (f"（{user.name}）" if user else "")
            if EVERY_ORGANISATION in grant.supervises:
                scope = "所有机关、单位"
            else:
                named = "、".join(name(o) for o in sorted(grant.supervises))
                scope = "本单位及其下级" + (f"，以及{named}及其下级" if named else "")
            gained = (
                "所有机关、单位"
                if reach is None
                else "、".join(name(o) for o in sorted(reach)) or "（无新增）"
            )
            return (
                f"{who}担任监督检查人员，监督{scope}：批准后新知悉{gained}"
                "所持有的全部事项（D-10）。"
            )


def _check(tx: GraphReader, grant: Grant) -> None:
    match grant.kind:
        case GrantKind.SUCCESSION:
            check_succession(tx, grant.organisation_id or "", grant.target_id or "")
        case GrantKind.SUPERIOR:
            check_superior(tx, grant.organisation_id or "", grant.target_id or "")
        case GrantKind.SUPERVISION:
            check_supervision(tx, grant.user_id or "", grant.supervises)


def _apply(tx: GraphWriter, grant: Grant) -> None:
    """The change a request asks for, checked against the store as it stands now."""
    match grant.kind:
        case GrantKind.SUCCESSION:
            succeeded = check_succession(tx, grant.organisation_id or "", grant.target_id or "")
            tx.update_organisation(replace(succeeded, successor_id=grant.target_id))
        case GrantKind.SUPERIOR:
            below = check_superior(tx, grant.organisation_id or "", grant.target_id or "")
            tx.update_organisation(replace(below, superior_id=grant.target_id))
        case GrantKind.SUPERVISION:
            user = check_supervision(tx, grant.user_id or "", grant.supervises)
            tx.update_user(
                replace(user, roles=user.roles | {Role.SUPERVISOR}, supervises=grant.supervises)
            )


# Deciding


def approve_grant(store: GraphStore, grant_id: str, actor: Actor) -> Described:
    """Applies a pending request and records its approval, in one transaction; refused
    unless the actor may decide it (graph.grant.check_decider) and it still applies."""

    def work(tx: GraphWriter) -> Described:
        grant, decider = _decidable(tx, grant_id, actor)
        before = describe(tx, grant)  # what it widened: once applied, it widens nothing more
        _apply(tx, grant)
        decided = replace(
            grant, status=GrantStatus.APPROVED, decided_by=decider.user_id, decided_at=now()
        )
        tx.update_grant(decided)
        return replace(before, grant=decided)

    return store.write(work)


def reject_grant(store: GraphStore, grant_id: str, reason: str, actor: Actor) -> Described:
    """Records the rejection of a pending request, with its reason; nothing else changes."""
    because = check_text(reason, "reason", limit=500)

    def work(tx: GraphWriter) -> Described:
        grant, decider = _decidable(tx, grant_id, actor)
        decided = replace(
            grant,
            status=GrantStatus.REJECTED,
            decided_by=decider.user_id,
            decided_at=now(),
            reason=because,
        )
        tx.update_grant(decided)
        return describe(tx, decided)

    return store.write(work)


def _decidable(tx: GraphReader, grant_id: str, actor: Actor) -> tuple[Grant, Actor]:
    """The pending request and the decider as the store stands now (its roles and what it
    supervises may have changed since it signed in); refused unless it may decide."""
    decider = current_actor(tx, actor)
    require_supervisor(decider)
    grant = tx.grants([grant_id]).get(grant_id)
    if grant is None:
        raise UnknownId("grant", grant_id)
    if grant.status is not GrantStatus.PENDING:
        raise InvalidValue(
            "id",
            f"申请「{grant.id}」已于 {grant.decided_at:%Y-%m-%d %H:%M} 由「{grant.decided_by}」"
            f"{grant.status.label}，不能再决定。",
        )
    check_decider(decider, grant, widened(grant, world_of(tx, grant)))
    return grant, decider


def current_actor(tx: GraphReader, actor: Actor) -> Actor:
    if actor.system:
        return actor
    user = tx.users([actor.user_id]).get(actor.user_id)
    if user is None or not user.active:
        raise AccessDenied("USER", f"用户「{actor.user_id}」不存在或已被吊销。")
    organisation_id = None
    if user.person_id is not None:
        person = tx.persons([user.person_id]).get(user.person_id)
        organisation_id = person.organisation_id if person else None
    return actor_of(user, organisation_id, tx.all_organisations())


# Reading


def decidable_grants(store: GraphStore, actor: Actor) -> list[Described]:
    """The pending requests the actor may decide, oldest first (supervisors only)."""
    require_supervisor(actor)

    def work(tx: GraphReader) -> list[Described]:
        decider = current_actor(tx, actor)
        found = []
        for grant in tx.find_grants([GrantStatus.PENDING], MAX_LISTED):
            described = describe(tx, grant)
            try:
                check_decider(decider, grant, described.reach)
            except AccessDenied:
                continue
            found.append(described)
        return found

    return store.read(work)


def readable_grant(store: GraphStore, grant_id: str, actor: Actor) -> Described | None:
    """A request as its requester, an auditor, the operator, or a supervisor of what it
    widens (or of all) may read it; None for anyone else, as for one that does not exist."""

    def work(tx: GraphReader) -> Described | None:
        grant = tx.grants([grant_id]).get(grant_id)
        if grant is None:
            return None
        described = describe(tx, grant)
        if actor.system or Role.AUDITOR in actor.roles or grant.requested_by == actor.user_id:
            return described
        if Role.SUPERVISOR in actor.roles:
            supervised = current_actor(tx, actor).supervised
            reach = described.reach
            if supervised is None or (reach is not None and reach <= supervised):
                return described
        return None

    return store.read(work)


def all_grants(store: GraphStore, statuses: tuple[GrantStatus, ...] = ()) -> list[Described]:
    """Every request in `statuses` (any when none), oldest first: for the operator."""
    return store.read(lambda tx: [describe(tx, g) for g in tx.find_grants(statuses)])
