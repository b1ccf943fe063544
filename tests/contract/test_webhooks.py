"""Outbound events on every store (graph.webhook): endpoints come back as written and name an
existing organisation; a delivery offered twice is queued once; deliveries are found by
status, endpoint and due time, in the order they were queued, and a lease keeps a due one
from being found again until it ends; removing an endpoint removes its deliveries. Then the
lease as two processes use it: two dispatchers claiming from one store at once never hold the
same delivery."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from graph.errors import DuplicateId, UnknownId
from graph.store.base import GraphStore
from graph.store.outbound import DeliveryQuery
from graph.webhook import (
    Delivery,
    DeliveryStatus,
    EventType,
    Webhook,
    delivery_id,
    message_id,
)
from service.dispatcher import Dispatcher, Policy, Sent
from tests.contract.builders import ORG, build, organisation
from tests.contract.conftest import Opener

AT = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def webhook(id: str = "wh_1", organisation_id: str = ORG) -> Webhook:
    return Webhook(
        id,
        organisation_id,
        "http://127.0.0.1:9/hook",
        frozenset({EventType.NOTICE_ISSUED, EventType.DECISION_RECORDED}),
        SECRET,
        AT,
        "operator",
    )


def delivery(subject: str, webhook_id: str = "wh_1", *, minutes: int = 0) -> Delivery:
    message = message_id(EventType.NOTICE_ISSUED, subject)
    return Delivery(
        id=delivery_id(webhook_id, message),
        webhook_id=webhook_id,
        message_id=message,
        event_type=EventType.NOTICE_ISSUED,
        payload='{"type": "notice.issued", "data": {"itemId": "D-1"}}',
        created_at=AT + timedelta(minutes=minutes),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=AT + timedelta(minutes=minutes),
    )


@pytest.fixture
def world(store: GraphStore) -> GraphStore:
    build(store, [organisation(), organisation("O-2")])
    store.write(lambda tx: tx.add_webhook(webhook()))
    return store


def test_an_endpoint_comes_back_as_written_and_by_organisation(world: GraphStore) -> None:
    other = webhook("wh_2", "O-2")
    world.write(lambda tx: tx.add_webhook(other))
    assert world.read(lambda tx: tx.webhooks()) == [webhook(), other]
    assert world.read(lambda tx: tx.webhooks("O-2")) == [other]
    assert world.read(lambda tx: tx.webhooks("O-9")) == []


def test_an_endpoint_names_an_organisation_that_exists_and_an_id_of_its_own(
    world: GraphStore,
) -> None:
    with pytest.raises(UnknownId):
        world.write(lambda tx: tx.add_webhook(webhook("wh_9", "O-9")))
    with pytest.raises(DuplicateId):
        world.write(lambda tx: tx.add_webhook(webhook()))
    assert [w.id for w in world.read(lambda tx: tx.webhooks())] == ["wh_1"]


def test_a_delivery_offered_twice_is_queued_once_and_kept_as_it_was(world: GraphStore) -> None:
    first = delivery("N-1")
    world.write(lambda tx: tx.add_deliveries([first, first]))
    sent = replace(first, status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=AT)
    world.write(lambda tx: tx.update_deliveries([sent]))
    again = replace(first, payload='{"type": "other"}')
    world.write(lambda tx: tx.add_deliveries([again]))
    assert world.read(lambda tx: tx.deliveries([first.id])) == {first.id: sent}
    assert len(world.read(lambda tx: tx.find_deliveries(DeliveryQuery()))) == 1


def test_a_delivery_goes_to_an_endpoint_that_exists(world: GraphStore) -> None:
    with pytest.raises(UnknownId):
        world.write(lambda tx: tx.add_deliveries([delivery("N-1", "wh_9")]))
    assert world.read(lambda tx: tx.find_deliveries(DeliveryQuery())) == []


def test_deliveries_are_found_by_status_endpoint_and_page_in_queued_order(
    world: GraphStore,
) -> None:
    world.write(lambda tx: tx.add_webhook(webhook("wh_2", "O-2")))
    queued = [delivery(f"N-{n}", minutes=n) for n in (3, 1, 2)] + [delivery("N-4", "wh_2")]
    world.write(lambda tx: tx.add_deliveries(queued))
    dead = replace(queued[0], status=DeliveryStatus.DEAD, attempts=10, last_error="HTTP 500")
    world.write(lambda tx: tx.update_deliveries([dead]))

    def found(query: DeliveryQuery) -> list[str]:
        return [d.message_id for d in world.read(lambda tx: tx.find_deliveries(query))]

    by_time = [queued[3], queued[1], queued[2], queued[0]]
    assert found(DeliveryQuery()) == [d.message_id for d in by_time]
    assert found(DeliveryQuery(statuses=(DeliveryStatus.DEAD,))) == [dead.message_id]
    assert found(DeliveryQuery(webhook_id="wh_2")) == [queued[3].message_id]
    page = world.read(lambda tx: tx.find_deliveries(DeliveryQuery(limit=2)))
    rest = DeliveryQuery(after=(page[-1].created_at, page[-1].id))
    assert found(rest) == [d.message_id for d in by_time[2:]]
    assert world.read(lambda tx: tx.deliveries([dead.id]))[dead.id] == dead


def test_a_due_delivery_is_pending_its_time_come_and_not_leased(world: GraphStore) -> None:
    now_due, later = delivery("N-1"), delivery("N-2", minutes=10)
    world.write(lambda tx: tx.add_deliveries([now_due, later]))

    def due(at: datetime) -> list[str]:
        query = DeliveryQuery(due=at)
        return [d.id for d in world.read(lambda tx: tx.find_deliveries(query))]

    assert due(AT) == [now_due.id]
    assert due(AT + timedelta(minutes=10)) == [now_due.id, later.id]
    leased = replace(now_due, lease_owner="a", lease_until=AT + timedelta(minutes=1))
    world.write(lambda tx: tx.update_deliveries([leased]))
    assert due(AT) == []
    assert due(AT + timedelta(minutes=1)) == [now_due.id]  # the lease has run out
    delivered = replace(leased, status=DeliveryStatus.DELIVERED, lease_owner=None)
    world.write(lambda tx: tx.update_deliveries([delivered]))
    assert due(AT + timedelta(minutes=5)) == []


def test_removing_an_endpoint_removes_its_deliveries(world: GraphStore) -> None:
    world.write(lambda tx: tx.add_webhook(webhook("wh_2", "O-2")))
    kept = delivery("N-2", "wh_2")
    world.write(lambda tx: tx.add_deliveries([delivery("N-1"), kept]))
    world.write(lambda tx: tx.remove_webhook("wh_1"))
    assert [w.id for w in world.read(lambda tx: tx.webhooks())] == ["wh_2"]
    assert [d.id for d in world.read(lambda tx: tx.find_deliveries(DeliveryQuery()))] == [kept.id]
    with pytest.raises(UnknownId):
        world.write(lambda tx: tx.remove_webhook("wh_1"))
    world.write(lambda tx: tx.remove_deliveries([kept.id, "dlv_none"]))
    assert world.read(lambda tx: tx.find_deliveries(DeliveryQuery())) == []


def test_two_dispatchers_on_one_store_never_hold_one_delivery_at_once(
    opener: Opener, world: GraphStore
) -> None:
    """Two dispatchers, each on a store of its own over the same database (two processes of
    the service), claim and send 40 deliveries side by side. The sender, a fake that stands in
    for the receiver only, notes every delivery in flight: none is ever in flight twice, and
    each is sent exactly once (no lease runs out here, so at-least-once is exactly once)."""
    queued = [delivery(f"N-{n:02d}") for n in range(40)]
    world.write(lambda tx: tx.add_deliveries(queued))
    in_flight: set[str] = set()
    sent: list[str] = []
    overlaps: list[str] = []
    lock = threading.Lock()

    def send(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Sent:
        message = headers["webhook-id"]
        with lock:
            if message in in_flight:
                overlaps.append(message)
            in_flight.add(message)
        threading.Event().wait(0.01)  # long enough for the other dispatcher to try
        with lock:
            in_flight.discard(message)
            sent.append(message)
        return Sent(True)

    policy = Policy(batch=4)
    clock = lambda: AT + timedelta(minutes=1)  # noqa: E731 - every delivery due
    dispatchers = [
        Dispatcher(opener(), policy, owner=name, send=send, clock=clock)
        for name in ("first", "second")
    ]
    start = threading.Barrier(2, timeout=30)

    def run(dispatcher: Dispatcher) -> None:
        start.wait()
        while dispatcher.run_once():
            pass

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for dispatcher in dispatchers:
        dispatcher.close()
    assert overlaps == []
    assert sorted(sent) == sorted(d.message_id for d in queued)
    done = world.read(lambda tx: tx.find_deliveries(DeliveryQuery(limit=100)))
    assert {d.status for d in done} == {DeliveryStatus.DELIVERED}
    assert all(d.attempts == 1 and d.lease_owner is None for d in done)
