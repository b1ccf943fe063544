"""Who may see and do what: users and their roles, bearer tokens, and the actor a request acts
as, with the one rule for reading an item's content (D-10: its knowledge scope, or a
supervising role). Pure values and functions; the service authenticates and enforces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache

from graph.errors import InvalidValue
from graph.model import Item, KnowledgeScope, Organisation


class Role(Enum):
    HANDLER = "HANDLER"  # 承办人: drafts and proposes (D-11, X-17)
    OFFICIAL = "OFFICIAL"  # 定密责任人: decides (D-6, D-11, X-17)
    SUPERVISOR = "SUPERVISOR"  # 保密行政管理部门 or a superior organisation: reads, audits and
    # approves what widens reading (graph.grant)
    ADMINISTRATOR = "ADMINISTRATOR"  # 系统管理员: registers organisations, persons and scope rules
    AUDITOR = "AUDITOR"  # 安全审计员: reads the audit trail, and no item

    @property
    def label(self) -> str:
        return _ROLE_LABEL[self]


_ROLE_LABEL = {
    Role.HANDLER: "承办人",
    Role.OFFICIAL: "定密责任人",
    Role.SUPERVISOR: "监督检查人员",
    Role.ADMINISTRATOR: "系统管理员",
    Role.AUDITOR: "安全审计员",
}

# 三员分立: the administrator who runs the system, the auditor who reads what everyone did,
# and the supervisor who approves what widens reading are three persons, and none of them
# drafts or decides on items: each of these roles is held alone.
SOLE_ROLES = (Role.ADMINISTRATOR, Role.AUDITOR, Role.SUPERVISOR)
# Roles that act for no person of an organisation: no knowledge scope admits them by name.
PERSONLESS_ROLES = frozenset({Role.ADMINISTRATOR, Role.AUDITOR})


def check_duties(roles: frozenset[Role]) -> None:
    """Refuses roles that 三员分立 keeps apart (InvalidValue naming both)."""
    for role in SOLE_ROLES:
        if role in roles and len(roles) > 1:
            others = "、".join(r.label for r in sorted(roles - {role}, key=lambda r: r.value))
            raise InvalidValue(
                "role",
                f"三员分立：{role.label}须由专人担任，不能兼任{others}。系统管理员、安全审计员、"
                "监督检查人员是三个不同的人，也都不承办或决定定密事项。",
            )


# In `User.supervises`: every organisation (保密行政管理部门 of the whole jurisdiction).
EVERY_ORGANISATION = "*"


@dataclass(frozen=True)
class User:
    """An account. A user acting for a person of an organisation carries `person_id`; an
    administrator may have none, and an auditor has none. A supervisor supervises its own
    organisation and every one below it (superior links, X-9), and the organisations in
    `supervises` with theirs. `roles` are those in force: a user whose only role waits for a
    second person's approval (graph.grant) has none until then."""

    id: str
    name: str
    person_id: str | None
    roles: frozenset[Role]
    created_at: datetime
    supervises: frozenset[str] = frozenset()
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.person_id is None and not (self.roles and self.roles <= PERSONLESS_ROLES):
            raise InvalidValue(
                "person",
                "除系统管理员、安全审计员外，用户须对应本系统登记的一名人员（--person）。",
            )
        if self.person_id is not None and Role.AUDITOR in self.roles:
            raise InvalidValue(
                "person",
                "安全审计员不对应本系统登记的人员：它只读审计记录，不进入任何知悉范围（D-10）。",
            )
        if self.supervises and Role.SUPERVISOR not in self.roles:
            raise InvalidValue("supervises", "只有监督检查人员才能指定监督的机关、单位。")
        if self.created_at.tzinfo is None:
            raise InvalidValue("createdAt", "时间须带时区。")

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Token:
    """A bearer token of a user; only the SHA-256 digest of its secret is kept."""

    id: str
    user_id: str
    digest: str
    created_at: datetime
    label: str = ""
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or moment < self.expires_at)


@dataclass(frozen=True)
class Actor:
    """Who a request acts as, with what its rule of reading needs already worked out.

    `member_of` holds the organisation of its person and every organisation merged into that
    one (X-7 ¶2), through which a knowledge scope naming an organisation admits the person.
    `supervised` holds the organisations whose items a supervisor reads; None means all. The
    system actor (the command line, the daily expiry) acts for the operator of the service."""

    user_id: str
    name: str
    person_id: str | None = None
    organisation_id: str | None = None
    roles: frozenset[Role] = frozenset()
    member_of: frozenset[str] = frozenset()
    supervised: frozenset[str] | None = frozenset()
    system: bool = False

    def has(self, role: Role) -> bool:
        return self.system or role in self.roles

    def can_read(self, item: Item) -> bool:
        """Inside the item's knowledge scope (D-10), by person or organisation, or
        supervising the organisation that holds it. An auditor reads no item."""
        if self.system:
            return True
        if Role.AUDITOR in self.roles:
            return False
        if self.person_id is not None and self.person_id in item.scope.persons:
            return True
        if self.member_of and not self.member_of.isdisjoint(item.scope.organisations):
            return True
        return self.supervises(item.organisation_id)

    def supervises(self, organisation_id: str) -> bool:
        if self.system:
            return True
        if Role.SUPERVISOR not in self.roles:
            return False
        return self.supervised is None or organisation_id in self.supervised

    def read_filter(self) -> ReadFilter | None:
        """The same rule for a store's list queries; None: everything."""
        if self.system or (Role.SUPERVISOR in self.roles and self.supervised is None):
            return None
        if Role.AUDITOR in self.roles:
            return ReadFilter((), ())
        keys = [*(organisation_key(o) for o in sorted(self.member_of))]
        if self.person_id is not None:
            keys.insert(0, person_key(self.person_id))
        holders = sorted(self.supervised or ()) if Role.SUPERVISOR in self.roles else []
        return ReadFilter(tuple(keys), tuple(holders))


SYSTEM = Actor(user_id="system", name="系统", system=True)


@dataclass(frozen=True)
class ReadFilter:
    """Items a reader may read, as a store filters them: those whose `readers` field holds one
    of `keys`, or that an organisation of `holders` holds."""

    keys: tuple[str, ...]
    holders: tuple[str, ...]


def person_key(person_id: str) -> str:
    return f"|p:{person_id}|"


def organisation_key(organisation_id: str) -> str:
    return f"|o:{organisation_id}|"


@lru_cache(maxsize=1 << 16)  # as codec.scope_json: few scopes, many items
def readers(scope: KnowledgeScope) -> str:
    """The knowledge scope as one text that a substring test searches in SQL and in Cypher:
    `|p:alice|o:org-a|`. Ids never hold `|` (graph.model.check_id)."""
    parts = [f"p:{p}" for p in sorted(scope.persons)]
    parts += [f"o:{o}" for o in sorted(scope.organisations)]
    return "|" + "|".join(parts) + "|" if parts else ""


def actor_of(
    user: User, organisation_id: str | None, organisations: Iterable[Organisation]
) -> Actor:
    """The actor of an active user whose person belongs to `organisation_id`; `organisations`
    must hold every organisation (for the links of succession and superiority)."""
    by_id = {o.id: o for o in organisations}
    member_of: frozenset[str] = frozenset()
    if organisation_id is not None and Role.AUDITOR not in user.roles:
        member_of = frozenset({organisation_id, *predecessors(organisation_id, by_id)})
    supervised: frozenset[str] | None = frozenset()
    if Role.SUPERVISOR in user.roles:
        if EVERY_ORGANISATION in user.supervises:
            supervised = None
        else:
            tops = set(user.supervises) | set(member_of)
            supervised = frozenset(tops | subordinates(tops, by_id))
    return Actor(
        user_id=user.id,
        name=user.name,
        person_id=user.person_id,
        organisation_id=organisation_id,
        roles=user.roles,
        member_of=member_of,
        supervised=supervised,
    )


def predecessors(organisation_id: str, organisations: Mapping[str, Organisation]) -> set[str]:
    """Every organisation whose functions passed, directly or through others, to this one."""
    return _closure({organisation_id}, {o.id: o.successor_id for o in organisations.values()})


def subordinates(tops: Iterable[str], organisations: Mapping[str, Organisation]) -> set[str]:
    """Every organisation below the given ones along superior links."""
    return _closure(set(tops), {o.id: o.superior_id for o in organisations.values()})


def _closure(start: set[str], up: Mapping[str, str | None]) -> set[str]:
    below: dict[str, list[str]] = {}
    for child, parent in up.items():
        if parent is not None:
            below.setdefault(parent, []).append(child)
    found: set[str] = set()
    frontier = list(start)
    while frontier:
        current = frontier.pop()
        for child in below.get(current, ()):
            if child not in found and child not in start:
                found.add(child)
                frontier.append(child)
    return found
