"""Pick lists: the organisations, persons, users, roles and scope rules a form offers, and the
handlers and officials an actor may name in a decision (D-6, D-11, X-17), paged by id with
the count of every page, so that no form needs an id typed by hand.

Organisations, persons and users are few by nature (a deployment holds a thousand
organisations at most, and every request reads all of them and every user already to work
out its actor, graph.access.actor_of): they are read whole and filtered here. Scope rules are
a catalogue that may hold thousands of entries: the store filters and counts them
(ScopeRuleQuery).

What each list shows is what the caller may know already: organisations, persons and scope
rules are the register every form names (`organisation(id)`, `scopeRule(id)` answer anyone);
users and their roles are for those who keep or supervise them (三员分立): the administrator,
and a supervisor for the organisations it supervises. The auditor reads the trail, not the
register of users.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from graph.access import Actor, Role, User
from graph.errors import InvalidValue
from graph.model import Level, Organisation, Person, ScopeRule
from graph.search import MAX_WORDS
from graph.store.base import GraphReader, GraphStore, ScopeRuleQuery
from service.accounts import roles_of
from service.permissions import deciding_official, require_role
from service.usecases import MAX_PAGE

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a pick list, in id order, and how many match on every page."""

    nodes: list[T]
    has_next: bool
    total: int


def words_of(text: str | None) -> tuple[str, ...]:
    """The words of a filter's text: each must occur (Latin letters in any case)."""
    if text is None:
        return ()
    return tuple(dict.fromkeys(text[:100].split()))[:MAX_WORDS]


def check_first(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")


def _holds(words: tuple[str, ...], *texts: str) -> bool:
    # Lower case of Latin letters only, as the stores' LIKE and the item search do.
    folded = [_ascii_lower(t) for t in texts]
    return all(any(_ascii_lower(w) in t for t in folded) for w in words)


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _paged(values: Sequence[T], key: Callable[[T], str], after: str | None, first: int) -> Page[T]:
    """The page of `values` in the order of `key` after the key `after`. Sorted here, not as
    the store sorted them: the cursor compares keys as Python does."""
    check_first(first)
    rest = sorted((v for v in values if after is None or key(v) > after), key=key)
    return Page(rest[:first], len(rest) > first, len(values))


# Organisations


@dataclass(frozen=True)
class OrganisationFilter:
    words: tuple[str, ...] = ()  # each in the name or the id
    authority: Level | None = None
    superior_id: str | None = None  # the organisations directly below it
    dissolved: bool | None = None  # with a successor, or without


def find_organisations(
    store: GraphStore, chosen: OrganisationFilter, after: str | None, first: int
) -> Page[Organisation]:
    check_first(first)
    found = [
        o
        for o in store.read(lambda tx: tx.all_organisations())
        if _holds(chosen.words, o.name, o.id)
        and (chosen.authority is None or o.authority is chosen.authority)
        and (chosen.superior_id is None or o.superior_id == chosen.superior_id)
        and (chosen.dissolved is None or (o.successor_id is not None) == chosen.dissolved)
    ]
    return _paged(found, lambda o: o.id, after, first)


# Persons


@dataclass(frozen=True)
class PersonFilter:
    words: tuple[str, ...] = ()  # each in the name or the id
    organisation_id: str | None = None


def _persons(tx: GraphReader, chosen: PersonFilter) -> list[Person]:
    return [
        p
        for p in tx.all_persons()
        if _holds(chosen.words, p.name, p.id)
        and (chosen.organisation_id is None or p.organisation_id == chosen.organisation_id)
    ]


def find_persons(
    store: GraphStore, chosen: PersonFilter, after: str | None, first: int
) -> Page[Person]:
    check_first(first)
    return _paged(store.read(lambda tx: _persons(tx, chosen)), lambda p: p.id, after, first)


class DecisionRole:
    HANDLER = "HANDLER"
    OFFICIAL = "OFFICIAL"


def decision_makers(
    store: GraphStore, actor: Actor, role: str, chosen: PersonFilter, after: str | None, first: int
) -> Page[Person]:
    """The persons the actor may name as `role` in a decision it makes: exactly those its
    mutations accept (service.permissions, service.usecases.check_decision_makers).

    The classification official is the actor itself, holding the role (D-6, D-11): the one
    person it may name. The handler who drafts (D-11, X-17) is another person of the
    official's organisation whose active user holds the handler role. Which organisation
    decides on an item (X-7..X-9) is checked against the item; who drafts and decides for it
    is not, so the list needs no item."""
    check_first(first)
    # Refused as the decision would be: without the role, or without a person (D-6).
    official_id = deciding_official(actor, None)

    def work(tx: GraphReader) -> list[Person]:
        official = tx.persons([official_id]).get(official_id)
        if official is None or chosen.organisation_id not in (None, official.organisation_id):
            return []
        if role == DecisionRole.OFFICIAL:
            return [official] if _holds(chosen.words, official.name, official.id) else []
        colleagues = [
            p
            for p in _persons(tx, PersonFilter(chosen.words, official.organisation_id))
            if p.id != official.id
        ]
        roles = roles_of(tx, [p.id for p in colleagues])
        return [p for p in colleagues if Role.HANDLER in roles.get(p.id, frozenset())]

    return _paged(store.read(work), lambda p: p.id, after, first)


# Users and roles


@dataclass(frozen=True)
class UserEntry:
    """A user as the list shows it: with the organisation of its person."""

    user: User
    organisation_id: str | None


@dataclass(frozen=True)
class UserFilter:
    words: tuple[str, ...] = ()  # each in the name or the id
    role: Role | None = None
    organisation_id: str | None = None  # of its person
    active: bool | None = None


def find_users(
    store: GraphStore, actor: Actor, chosen: UserFilter, after: str | None, first: int
) -> Page[UserEntry]:
    """Users for an administrator (who keeps them) and a supervisor (who approves what widens
    reading, graph.grant); a supervisor of some organisations sees the users whose persons
    belong to them, as it reads the trail of those (service.auditing). Anyone else, the
    auditor included, is refused (三员分立)."""
    require_role(actor, Role.ADMINISTRATOR, Role.SUPERVISOR)
    check_first(first)

    def work(tx: GraphReader) -> list[UserEntry]:
        users = tx.all_users()
        persons = tx.persons({u.person_id for u in users if u.person_id is not None})
        return [
            UserEntry(u, persons[u.person_id].organisation_id if u.person_id in persons else None)
            for u in users
        ]

    found = [
        e
        for e in store.read(work)
        if _sees_user(actor, e)
        and _holds(chosen.words, e.user.name, e.user.id)
        and (chosen.role is None or chosen.role in e.user.roles)
        and (chosen.organisation_id is None or e.organisation_id == chosen.organisation_id)
        and (chosen.active is None or e.user.active == chosen.active)
    ]
    return _paged(found, lambda e: e.user.id, after, first)


def _sees_user(actor: Actor, entry: UserEntry) -> bool:
    if actor.has(Role.ADMINISTRATOR) or actor.supervised is None:
        return True
    return entry.organisation_id is not None and entry.organisation_id in actor.supervised


def list_roles(actor: Actor, after: str | None, first: int) -> Page[Role]:
    """The roles a user may hold, for those who see users (find_users)."""
    require_role(actor, Role.ADMINISTRATOR, Role.SUPERVISOR)
    return _paged(sorted(Role, key=lambda r: r.value), lambda r: r.value, after, first)


# Scope rules


def find_scope_rules(
    store: GraphStore, query: ScopeRuleQuery, after: str | None, first: int
) -> Page[ScopeRule]:
    """A page of the rules matching `query` (its own page ignored), counted in the same
    transaction so that the count and the page agree."""
    check_first(first)
    page = replace(query, after=after, limit=first + 1)

    def work(tx: GraphReader) -> Page[ScopeRule]:
        found = tx.find_scope_rules(page)
        return Page(found[:first], len(found) > first, tx.count_scope_rules(query))

    return store.read(work)
