"""Requests that widen who may read, and the second person who approves them (two-person
rule, 三员分立). Pure values and functions; service.grants files and decides them.

Three changes let more people read an organisation's items, and none takes effect on one
person's word:

- a succession or merger (X-7 ¶2): the successor's persons read what the knowledge scopes
  give the organisation merged into it (and what they gave those merged into that one), and
  it decides on what they classified;
- a superior (X-9): the superior's supervisors read the items of the organisation and of
  every one below it;
- a supervision grant (D-10): a user becomes a supervisor, or supervises more organisations,
  and reads every item they hold.

Each is filed as a `Grant`, PENDING, and applied only when a supervisor of every
organisation whose items would be read more widely (or one of all), who is not the one who
asked, approves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from graph.access import (
    EVERY_ORGANISATION,
    Actor,
    Role,
    User,
    actor_of,
    predecessors,
    subordinates,
)
from graph.errors import AccessDenied, InvalidValue
from graph.model import Organisation


class GrantKind(Enum):
    SUCCESSION = "SUCCESSION"  # organisation_id dissolved or merged into target_id (X-7 ¶2)
    SUPERIOR = "SUPERIOR"  # target_id becomes organisation_id's superior
    SUPERVISION = "SUPERVISION"  # user_id supervises `supervises` (D-10)

    @property
    def label(self) -> str:
        return _KIND_LABEL[self]

    @property
    def articles(self) -> tuple[str, ...]:
        """The articles under which the change widens reading or deciding."""
        return _KIND_ARTICLES[self]


_KIND_LABEL = {
    GrantKind.SUCCESSION: "登记承继（撤销或合并）",
    GrantKind.SUPERIOR: "登记上级机关、单位",
    GrantKind.SUPERVISION: "授予监督检查权限",
}
_KIND_ARTICLES = {
    GrantKind.SUCCESSION: ("X-7", "D-10"),
    GrantKind.SUPERIOR: ("X-9", "D-10"),
    GrantKind.SUPERVISION: ("D-10",),
}


class GrantStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]


_STATUS_LABEL = {
    GrantStatus.PENDING: "待批准",
    GrantStatus.APPROVED: "已批准",
    GrantStatus.REJECTED: "已驳回",
}

# `requested_by` / `decided_by` of the operator at the command line (graph.access.SYSTEM).
OPERATOR = "system"


@dataclass(frozen=True)
class Grant:
    """A request to widen who may read, as filed and as decided. `requested_by` and
    `decided_by` are user ids (`system` for the operator). A succession or superior names
    `organisation_id` and `target_id` (the successor, the superior); a supervision names
    `user_id` and the organisations it is to supervise beyond its own (`*` for all), which
    replace those it supervises now. `reason` is a rejection's."""

    id: str
    kind: GrantKind
    requested_by: str
    requested_at: datetime
    organisation_id: str | None = None
    target_id: str | None = None
    user_id: str | None = None
    supervises: frozenset[str] = frozenset()
    status: GrantStatus = GrantStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        organisational = self.kind in (GrantKind.SUCCESSION, GrantKind.SUPERIOR)
        if organisational != (self.organisation_id is not None and self.target_id is not None):
            raise InvalidValue("grant", "承继、上级申请须指明机关、单位及其承继者或上级。")
        if (self.kind is GrantKind.SUPERVISION) != (self.user_id is not None):
            raise InvalidValue("grant", "监督授权申请须指明用户。")
        if self.supervises and self.kind is not GrantKind.SUPERVISION:
            raise InvalidValue("grant", "只有监督授权申请才指明监督的机关、单位。")
        if self.organisation_id is not None and self.organisation_id == self.target_id:
            raise InvalidValue("grant", "机关、单位不能是其自身的承继者或上级。")
        decided = self.status is not GrantStatus.PENDING
        if decided != (self.decided_at is not None):
            raise InvalidValue("grant", "已决定的申请须有决定时间，待批准的没有。")
        for moment in (self.requested_at, self.decided_at):
            if moment is not None and moment.tzinfo is None:
                raise InvalidValue("grant", "时间须带时区。")


@dataclass(frozen=True)
class World:
    """What deciding on a grant looks at, as the store stands: every organisation, and for a
    supervision the user and its person's organisation."""

    organisations: Mapping[str, Organisation]
    user: User | None = None
    user_organisation_id: str | None = None


def widened(grant: Grant, world: World) -> frozenset[str] | None:
    """The organisations whose items more people would read once `grant` is applied; None:
    every organisation (a supervisor of all)."""
    organisations = world.organisations
    match grant.kind:
        case GrantKind.SUCCESSION:
            start = grant.organisation_id or ""
            return frozenset({start, *predecessors(start, organisations)})
        case GrantKind.SUPERIOR:
            start = grant.organisation_id or ""
            return frozenset({start, *subordinates({start}, organisations)})
        case GrantKind.SUPERVISION:
            user = world.user
            if user is None:
                return frozenset()
            before = supervised_by(user, world)
            after = supervised_by(
                replace(user, roles=user.roles | {Role.SUPERVISOR}, supervises=grant.supervises),
                world,
            )
            if before is None:
                return frozenset()
            if after is None:
                return None
            return after - before


def supervised_by(user: User, world: World) -> frozenset[str] | None:
    """The organisations whose items a user reads as a supervisor (None: all)."""
    if Role.SUPERVISOR not in user.roles:
        return frozenset()
    actor = actor_of(user, world.user_organisation_id, world.organisations.values())
    return actor.supervised


def check_decider(actor: Actor, grant: Grant, reach: frozenset[str] | None) -> None:
    """Refuses a decider other than a supervisor of every organisation in `reach` (what
    `widened` gives), or of all, who is neither the one who asked nor the one who would
    gain (AccessDenied, citing the articles)."""
    articles = grant.kind.articles
    cited = ", ".join(articles)
    require_supervisor(actor, articles)
    if actor.user_id == grant.requested_by:
        raise AccessDenied(
            "SECOND_PERSON",
            f"申请「{grant.id}」是您提出的：扩大知悉范围须由另一人批准或驳回（两人规则，{cited}）。",
            articles,
        )
    if grant.user_id is not None and actor.user_id == grant.user_id:
        raise AccessDenied(
            "SECOND_PERSON",
            f"申请「{grant.id}」扩大的是您自己的监督范围：须由另一名监督检查人员决定"
            f"（两人规则，{cited}）。",
            articles,
        )
    if actor.supervised is None:
        return
    if reach is None:
        raise AccessDenied(
            "SUPERVISES",
            f"申请「{grant.id}」使其用户监督所有机关、单位：只有监督所有机关、单位的监督检查人员"
            f"才能决定（{cited}）。",
            articles,
        )
    outside = sorted(reach - actor.supervised)
    if outside:
        raise AccessDenied(
            "SUPERVISES",
            f"申请「{grant.id}」将使更多人员知悉{'、'.join(sorted(reach))}的事项：只有监督这些机关、"
            f"单位（或监督所有机关、单位）的监督检查人员才能决定，而您不监督{'、'.join(outside)}"
            f"（{cited}）。",
            articles,
        )


def require_supervisor(actor: Actor, articles: tuple[str, ...] = ("D-10",)) -> None:
    """Only a supervisor, signed in to the service, decides on what widens reading."""
    if actor.system or Role.SUPERVISOR not in actor.roles:
        raise AccessDenied(
            "ROLE:SUPERVISOR",
            "扩大知悉范围的申请只能由监督检查人员在本系统中批准或驳回，命令行（运维人员）不能"
            f"（两人规则，{', '.join(articles)}）。",
            articles,
        )


def requested_supervision(supervises: frozenset[str]) -> frozenset[str]:
    """The organisations named for a supervisor, `*` alone when it is to supervise all."""
    return frozenset({EVERY_ORGANISATION}) if EVERY_ORGANISATION in supervises else supervises
