"""Users, tokens, the readers filter of list queries, and the audit trail (issue 5), on every
store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from neo4j import GraphDatabase

from graph.access import Actor, Role, Token, User
from graph.errors import DuplicateId, UnknownId
from graph.model import ItemStatus, KnowledgeScope, UntilDate
from graph.store.base import ExpiryQuery, GraphStore, GraphWriter, ItemQuery
from graph.trail import AuditEvent, AuditQuery, Outcome
from service.composition import bolt_target, open_store
from tests.bolt import BoltServer
from tests.contract.builders import ORG, build, item, organisation, person

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def user(id: str, person_id: str | None = None, *roles: Role) -> User:
    return User(id, f"用户 {id}", person_id, frozenset(roles or (Role.HANDLER,)), AT)


def token(id: str, user_id: str, *, minutes: int = 0) -> Token:
    return Token(id, user_id, "ab" * 32, AT + timedelta(minutes=minutes), label="test")


@pytest.fixture
def people(store: GraphStore) -> GraphStore:
    build(store, [organisation(), organisation("O-2"), person("p-1"), person("p-2", "O-2")])
    return store


def test_users_and_tokens_come_back_as_written(people: GraphStore) -> None:
    admin = User("admin", "管理员", None, frozenset({Role.ADMINISTRATOR}), AT)
    official = User(
        "p-1",
        "责任人",
        "p-1",
        frozenset({Role.OFFICIAL, Role.SUPERVISOR}),
        AT,
        supervises=frozenset({"O-2"}),
    )
    tokens = [token("t-2", "p-1", minutes=1), token("t-1", "p-1"), token("t-3", "admin")]

    def work(tx: GraphWriter) -> None:
        tx.add_user(admin)
        tx.add_user(official)
        for t in tokens:
            tx.add_token(t)

    people.write(work)
    assert people.read(lambda tx: tx.users(["p-1", "admin", "nobody"])) == {
        "p-1": official,
        "admin": admin,
    }
    assert people.read(lambda tx: tx.all_users()) == [admin, official]
    assert [t.id for t in people.read(lambda tx: tx.tokens_of(["p-1", "admin"]))] == [
        "t-3",
        "t-1",
        "t-2",
    ]
    assert people.read(lambda tx: tx.tokens(["t-1"])) == {"t-1": tokens[1]}


def test_revocation_and_role_changes_are_kept(people: GraphStore) -> None:
    first = user("p-1", "p-1")

    def add(tx: GraphWriter) -> None:
        tx.add_user(first)
        tx.add_token(token("t-1", "p-1"))

    def revoke(tx: GraphWriter) -> None:
        tx.update_user(revoked)
        tx.update_tokens([expired])

    people.write(add)
    revoked = replace(first, roles=frozenset({Role.OFFICIAL}), revoked_at=AT)
    expired = replace(token("t-1", "p-1"), revoked_at=AT, expires_at=AT)
    people.write(revoke)
    assert people.read(lambda tx: tx.users(["p-1"]))["p-1"] == revoked
    assert people.read(lambda tx: tx.tokens(["t-1"]))["t-1"] == expired
    # Lifting a revocation stores no revocation time again (a null).
    people.write(lambda tx: tx.update_user(first))
    assert people.read(lambda tx: tx.users(["p-1"]))["p-1"].revoked_at is None


def test_a_user_needs_its_person_and_a_person_has_one_user(people: GraphStore) -> None:
    with pytest.raises(UnknownId):
        people.write(lambda tx: tx.add_user(user("ghost", "p-ghost")))
    people.write(lambda tx: tx.add_user(user("u-1", "p-1")))
    with pytest.raises(DuplicateId):
        people.write(lambda tx: tx.add_user(user("u-2", "p-1")))
    with pytest.raises(DuplicateId):
        people.write(lambda tx: tx.add_user(user("u-1", "p-2")))
    with pytest.raises(UnknownId):
        people.write(lambda tx: tx.add_token(token("t-1", "nobody")))
    with pytest.raises(UnknownId):
        people.write(lambda tx: tx.update_user(user("nobody", "p-2")))
    assert [u.id for u in people.read(lambda tx: tx.all_users())] == ["u-1"]


def reader(person_id: str | None, member_of: set[str], *roles: Role, supervised: set[str]) -> Actor:
    return Actor(
        user_id=person_id or "u",
        name="读者",
        person_id=person_id,
        organisation_id=next(iter(member_of), None),
        roles=frozenset(roles),
        member_of=frozenset(member_of),
        supervised=frozenset(supervised),
    )


@pytest.fixture
def scoped(people: GraphStore) -> GraphStore:
    ends = UntilDate(date(2026, 1, 1))
    build(
        people,
        [
            organisation("O-3"),
            person("p-10"),
            item("I-org", scope=KnowledgeScope(organisations=frozenset({ORG})), period=ends),
            item("I-p1", scope=KnowledgeScope(persons=frozenset({"p-1"})), period=ends),
            # A person whose id is a prefix of another's must not match it.
            item("I-p10", scope=KnowledgeScope(persons=frozenset({"p-10"})), period=ends),
            item(
                "I-o2",
                organisation_id="O-2",
                scope=KnowledgeScope(organisations=frozenset({"O-2"})),
                period=ends,
            ),
            item(
                "I-o3",
                organisation_id="O-3",
                scope=KnowledgeScope(organisations=frozenset({"O-3"})),
                period=ends,
            ),
        ],
    )
    return people


def listed(store: GraphStore, actor: Actor) -> tuple[list[str], list[str]]:
    items = store.read(lambda tx: tx.find_items(ItemQuery(readable=actor.read_filter(), limit=100)))
    due = store.read(
        lambda tx: tx.expiring_items(
            ExpiryQuery(until=date(2030, 1, 1), readable=actor.read_filter(), limit=None)
        )
    )
    return [i.id for i in items], sorted(i.id for i in due)


def test_list_queries_return_only_what_the_reader_may_read(scoped: GraphStore) -> None:
    everything = ["I-o2", "I-o3", "I-org", "I-p1", "I-p10"]
    assert listed(scoped, reader("p-1", {ORG}, supervised=set())) == (["I-org", "I-p1"],) * 2
    assert listed(scoped, reader("p-2", {"O-2"}, supervised=set())) == (["I-o2"],) * 2
    supervisor = reader("p-2", {"O-2"}, Role.SUPERVISOR, supervised={"O-2", "O-3"})
    assert listed(scoped, supervisor) == (["I-o2", "I-o3"],) * 2
    nobody = reader(None, set(), Role.ADMINISTRATOR, supervised=set())
    assert listed(scoped, nobody) == ([], [])
    assert listed(scoped, Actor("s", "系统", system=True)) == (everything, everything)
    # Each listed item passes the rule that single reads use, and no other does.
    for actor in (reader("p-1", {ORG}, supervised=set()), supervisor):
        found = scoped.read(lambda tx: tx.items(everything))
        assert sorted(i for i, v in found.items() if actor.can_read(v)) == listed(scoped, actor)[0]


def test_a_changed_scope_changes_who_finds_the_item(scoped: GraphStore) -> None:
    stored = scoped.read(lambda tx: tx.items(["I-org"]))["I-org"]
    narrowed = stored.decided(
        replace(
            stored, scope=KnowledgeScope(persons=frozenset({"p-2"})), status=ItemStatus.CLASSIFIED
        )
    )
    scoped.write(lambda tx: tx.update_items([narrowed]))
    p2 = reader("p-2", {"O-2"}, supervised=set())
    assert listed(scoped, p2)[0] == ["I-o2", "I-org"]
    assert listed(scoped, reader("p-1", {ORG}, supervised=set()))[0] == ["I-p1"]


def event(id: str, minutes: int, **fields: object) -> AuditEvent:
    values: dict[str, object] = {"action": "query item", "outcome": Outcome.OK}
    values.update(fields)
    return AuditEvent(id=id, at=AT + timedelta(minutes=minutes), **values)  # type: ignore[arg-type]


def test_the_audit_trail_keeps_every_event_and_finds_them_newest_first(store: GraphStore) -> None:
    events = [
        event(
            "e-1", 1, user_id="p-1", organisation_id=ORG, items=("S-1", "D-2"), address="1.2.3.4"
        ),
        event("e-2", 2, user_id="p-2", organisation_id="O-2", items=("D-2",)),
        event("e-3", 3, outcome=Outcome.UNAUTHENTICATED, detail="令牌无效"),
        event(
            "e-4",
            3,
            user_id="p-1",
            organisation_id=ORG,
            action="mutation declassify",
            outcome=Outcome.DENIED,
            items=("S-10",),
        ),
    ]
    store.append_audit(events[:2])
    store.append_audit(events[2:])

    def ids(**query: object) -> list[str]:
        found = store.audit_events(AuditQuery(**query))  # type: ignore[arg-type]
        return [e.id for e in found]

    assert store.audit_events(AuditQuery()) == events[::-1]
    assert ids(user_id="p-1") == ["e-4", "e-1"]
    assert ids(item_id="D-2") == ["e-2", "e-1"]
    assert ids(item_id="S-1") == ["e-1"]  # not S-10
    assert ids(organisations=("O-2",)) == ["e-2"]
    assert ids(organisations=()) == []
    assert ids(outcome=Outcome.DENIED) == ["e-4"]
    assert ids(since=AT + timedelta(minutes=2), until=AT + timedelta(minutes=3)) == ["e-2"]
    first = store.audit_events(AuditQuery(limit=2))
    assert [e.id for e in first] == ["e-4", "e-3"]
    assert ids(before=(first[-1].at, first[-1].id), limit=2) == ["e-2", "e-1"]


def test_a_neo4j_store_fills_in_the_readers_of_items_written_before_them(
    bolt_server: BoltServer,
) -> None:
    """Items of a database written by a version before issue 5 have no `readers`; opening
    the store gives them theirs, so that list queries find them for their readers."""
    url = bolt_server.new_database()
    try:
        first = open_store(url)
        build(first, [organisation(), person("p-1"), item("I-1")])
        first.close()
        target = bolt_target(url)
        with GraphDatabase.driver(target.uri, auth=target.auth) as driver:
            driver.execute_query("MATCH (n:Item) REMOVE n.readers", database_=target.database)
        reopened = open_store(url)
        try:
            actor = reader("p-1", {ORG}, supervised=set())
            assert listed(reopened, actor)[0] == ["I-1"]
        finally:
            reopened.close()
    finally:
        bolt_server.release(url)


def test_items_are_found_by_words_of_their_title_number_or_id(scoped: GraphStore) -> None:
    def found(text: str, actor: Actor | None = None) -> list[str]:
        query = ItemQuery(text=text, readable=actor.read_filter() if actor else None)
        return [i.id for i in scoped.read(lambda tx: tx.find_items(query))]

    assert found("事项 I-o") == ["I-o2", "I-o3", "I-org"]  # titles are 事项 <id>
    assert found("〔2024〕I-p1") == ["I-p1", "I-p10"]  # document numbers
    assert found("p10") == ["I-p10"]
    assert found("' OR 1=1 --") == []
    assert found("事项", reader("p-1", {ORG}, supervised=set())) == ["I-org", "I-p1"]
