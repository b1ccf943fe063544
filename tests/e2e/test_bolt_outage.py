"""The Bolt store when its server fails (issue 22, point 10): the server is killed with SIGKILL
while the service writes and reads, and started again on the same files.

Requests in flight get 503 with Retry-After and a GraphQL error STORE_UNAVAILABLE in Chinese,
never an internal error; /healthz answers throughout; a write sent again with its
Idempotency-Key once the server is back is done exactly once and answered as the first time;
the service needs no restart, and what it keeps in memory matches the database.

The server is this module's own (tests.bolt.KillableArcade), never the session's, since it is
killed: ArcadeDB's Bolt server, whatever NEO4J_URI says (an external Neo4j cannot be killed
from here). The app runs under uvicorn on loopback, in this process.

`RETRY_WAIT`, how long the store tries a transaction again while the server is away, is cut
from 10 s to 2 s here, so that the server stays down long enough to fail requests without
the test waiting as long as in production; nothing else is changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2
import pytest
import uvicorn

from graph.errors import CommitUnknown
from graph.store import neo4j as bolt
from graph.store.base import GraphStore, GraphWriter
from graph.store.neo4j import COMMIT_UNKNOWN, Neo4jStore
from service.app import create_app
from service.composition import bolt_target, open_store
from service.config import Settings
from tests.bolt import BoltServer, KillableArcade, free_port
from tests.e2e.conftest import TEST_BUREAU, enrol_tester

T = TypeVar("T")

REGISTER = """mutation($input: RegisterPersonInput!) { registerPerson(input: $input) {
  __typename ... on RegisterPersonSuccess { person { id name } } ... on Problem { message } } }"""
READ = "{ items(first: 5) { ... on ItemConnection { edges { node { id } } } } }"


@pytest.fixture(scope="module")
def server() -> Iterator[KillableArcade]:
    arcade = KillableArcade()
    patch = pytest.MonkeyPatch()
    patch.setattr(bolt, "RETRY_WAIT", 2.0)
    try:
        yield arcade
    finally:
        patch.undo()
        arcade.stop()


@dataclass
class Served:
    base: str
    token: str
    store: GraphStore
    stop: Callable[[], None]

    def send(self, body: dict[str, Any], key: str | None = None) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return httpx2.post(self.base + "/graphql", json=body, headers=headers, timeout=120)


def serve(store: GraphStore) -> Served:
    """The app on `store` under uvicorn on a free loopback port, with the tester enrolled."""
    token = enrol_tester(store)
    port = free_port()
    settings = Settings(store="sqlite:///unused.db", daily_expiry=False)
    config = uvicorn.Config(
        create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    while not instance.started:
        assert time.monotonic() - started < 30, "uvicorn did not start"
        time.sleep(0.05)

    def stop() -> None:
        instance.should_exit = True
        thread.join(timeout=30)

    return Served(base, token, store, stop)


def person(id: str) -> dict[str, Any]:
    return {
        "query": REGISTER,
        "variables": {"input": {"id": id, "name": "人员", "organisationId": TEST_BUREAU}},
    }


def unavailable(response: httpx2.Response) -> bool:
    """A 503 as the service gives it when the store is out of reach; fails on any other."""
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert "图数据库" in error["message"]
    assert "重试" in error["message"]
    return True


def registered(response: httpx2.Response, id: str) -> bool:
    assert response.status_code == 200, response.text
    answer = response.json()["data"]["registerPerson"]
    assert answer == {"__typename": "RegisterPersonSuccess", "person": {"id": id, "name": "人员"}}
    return True


def persons_named(url: str, ids: list[str]) -> dict[str, int]:
    """How many persons with each id the database holds, read by a store of its own that
    keeps nothing in memory."""
    target = bolt_target(url)
    fresh = Neo4jStore(target.uri, target.auth, target.database, cached_items=0)
    try:
        found = fresh.read(lambda tx: tx.persons(ids))
        return {id: int(id in found) for id in ids}
    finally:
        fresh.close()


@dataclass
class Sender:
    """A client that sends one write after another, each with a key of its own, and reads;
    it keeps every answer."""

    served: Served
    name: str
    answers: list[tuple[str, httpx2.Response]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        count = 0
        while not self.stopping.is_set():
            count += 1
            id = f"{self.name}-{count}"
            self.answers.append((id, self.served.send(person(id), key=id)))
            self.answers.append(("", self.served.send({"query": READ})))


def test_requests_in_flight_get_503_and_their_retries_write_once(
    server: KillableArcade,
) -> None:
    """Over a neo4j:// routing URL: ArcadeDB answers ROUTE with itself as the only router,
    reader and writer; after the restart the driver routes again by itself."""
    url = server.new_database().replace("bolt://", "neo4j://", 1)
    served = serve(open_store(url))
    try:
        senders = [Sender(served, f"p{n}") for n in range(4)]
        threads = [threading.Thread(target=s.run) for s in senders]
        for thread in threads:
            thread.start()
        while sum(len(s.answers) for s in senders) < 20:
            time.sleep(0.05)
        assert isinstance(served.store, Neo4jStore)
        memory = served.store._cache
        server.kill()
        # Down for longer than the store retries (2 s here): requests fail meanwhile.
        outage = time.monotonic()
        while time.monotonic() - outage < 6:
            health = httpx2.get(served.base + "/healthz", timeout=5)
            assert health.status_code == 200
            time.sleep(0.5)
        server.restart()
        time.sleep(1)
        for sender in senders:
            sender.stopping.set()
        for thread in threads:
            thread.join(timeout=120)
        answers = [a for s in senders for a in s.answers]
        failed = {id for id, r in answers if r.status_code != 200 and unavailable(r)}
        assert failed - {""}, "no write met the outage"
        assert "" in failed, "no read met the outage"
        for id, response in answers:
            if response.status_code == 200 and id:
                registered(response, id)
        # Each write that got no answer is sent again with its key, and gets the first
        # answer or is done now; none twice (a second would be refused: AlreadyExists).
        for id in sorted(failed - {""}):
            registered(served.send(person(id), key=id), id)
        written = [id for id, _ in answers if id]
        assert persons_named(url, written) == dict.fromkeys(written, 1)
        # The service's own store reads what a fresh one reads, and what it kept in memory
        # before the outage is gone (the server may have come back older).
        seen = served.store.read(lambda tx: tx.persons(written))
        assert sorted(seen) == sorted(written)
        assert served.store._cache is not memory
        assert served.send({"query": READ}).status_code == 200
    finally:
        served.stop()
        served.store.close()


class AimedKill(Neo4jStore):
    """The real store, which kills the real server at one moment of the next write: before
    its commit, or once it is committed. `ack_lost` stands in for the one moment a kill cannot
    be aimed at, a commit done whose acknowledgement never came: the write commits, the
    server is killed, and the store raises what it raises then (CommitUnknown)."""

    def __init__(self, url: str, server: KillableArcade) -> None:
        target = bolt_target(url)
        super().__init__(target.uri, target.auth, target.database)
        self.server = server
        self.moment: str | None = None

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        moment, self.moment = self.moment, None
        if moment == "before_commit":

            def killing(tx: GraphWriter) -> T:
                result = work(tx)
                if self.server.process.poll() is None:
                    self.server.kill()
                return result

            return super().write(killing)
        result = super().write(work)
        if moment in ("after_commit", "ack_lost"):
            self.server.kill()
        if moment == "ack_lost":
            raise CommitUnknown(COMMIT_UNKNOWN)
        return result


@pytest.mark.parametrize(
    ("moment", "committed", "replayed"),
    [("before_commit", False, False), ("after_commit", True, True), ("ack_lost", True, False)],
)
def test_a_commit_cut_off_is_resolved_by_its_key_once_the_server_is_back(
    server: KillableArcade, moment: str, committed: bool, replayed: bool
) -> None:
    url = server.new_database()
    store = AimedKill(url, server)
    served = serve(store)
    id = f"p-{moment}"
    try:
        store.moment = moment
        first = served.send(person(id), key=id)
        assert unavailable(first)
        assert first.json()["errors"][0]["extensions"]["commitUnknown"] is (moment == "ack_lost")
        server.restart()
        assert persons_named(url, [id]) == {id: int(committed)}
        again = served.send(person(id), key=id)
        assert registered(again, id)
        assert (again.headers.get("idempotent-replayed") == "true") is replayed
        assert persons_named(url, [id]) == {id: 1}
        # And once more: the answer kept is given, nothing written.
        third = served.send(person(id), key=id)
        assert registered(third, id)
        assert third.headers["idempotent-replayed"] == "true"
        assert persons_named(url, [id]) == {id: 1}
    finally:
        served.stop()
        store.close()


def test_a_neo4j_url_routes_through_the_session_server(bolt_server: BoltServer) -> None:
    """neo4j:// against the suite's Bolt server (ArcadeDB's, or the Neo4j of NEO4J_URI): the
    driver asks it for a routing table (ROUTE) and works through what it answers."""
    url = bolt_server.new_database()
    routed = url.replace("bolt://", "neo4j://", 1)
    store = open_store(routed)
    try:
        assert isinstance(store, Neo4jStore)
        store.write(lambda tx: tx.add_memo("routed", "yes"))
        assert store.read(lambda tx: tx.memo("routed")) == "yes"
        tables = store._driver._pool.routing_tables
        table = tables[bolt_target(routed).database]
        assert table.writers
        assert table.readers
        assert table.routers
    finally:
        store.close()
        bolt_server.release(url)
