"""Webhooks and their deliveries (graph.webhook) as rows and nodes: the same field names in
every store, as graph.store.codec does for the graph."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from graph.store.codec import Fields, timestamp
from graph.webhook import Delivery, DeliveryStatus, EventType, Webhook

# What an update of a delivery replaces; the rest is as it was queued.
DELIVERY_STATE = (
    "status",
    "attempts",
    "next_attempt_at",
    "lease_owner",
    "lease_until",
    "last_error",
    "delivered_at",
)


@dataclass(frozen=True)
class DeliveryQuery:
    """Deliveries by the time they were queued, then id; `after` is the (time, id) of the last
    of the previous page. With `due`, only those to be sent at that moment: PENDING, their
    next attempt due, and no lease held past it."""

    statuses: tuple[DeliveryStatus, ...] = ()
    webhook_id: str | None = None
    due: datetime | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 50


def webhook_fields(value: Webhook) -> dict[str, object]:
    return {
        "id": value.id,
        "organisation_id": value.organisation_id,
        "url": value.url,
        "events": json.dumps(sorted(e.value for e in value.events)),
        "secret": value.secret,
        "created_at": timestamp(value.created_at),
        "created_by": value.created_by,
    }


def webhook_from(fields: Fields) -> Webhook:
    return Webhook(
        id=fields["id"],
        organisation_id=fields["organisation_id"],
        url=fields["url"],
        events=frozenset(EventType(e) for e in json.loads(fields["events"])),
        secret=fields["secret"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        created_by=fields["created_by"] or "",
    )


def delivery_fields(value: Delivery) -> dict[str, object]:
    return {
        "id": value.id,
        "webhook_id": value.webhook_id,
        "message_id": value.message_id,
        "event_type": value.event_type.value,
        "payload": value.payload,
        "created_at": timestamp(value.created_at),
        "status": value.status.value,
        "attempts": value.attempts,
        "next_attempt_at": timestamp(value.next_attempt_at),
        "lease_owner": value.lease_owner,
        "lease_until": None if value.lease_until is None else timestamp(value.lease_until),
        "last_error": value.last_error,
        "delivered_at": None if value.delivered_at is None else timestamp(value.delivered_at),
    }


def delivery_from(fields: Fields) -> Delivery:
    lease = fields["lease_until"]
    delivered = fields["delivered_at"]
    return Delivery(
        id=fields["id"],
        webhook_id=fields["webhook_id"],
        message_id=fields["message_id"],
        event_type=EventType(fields["event_type"]),
        payload=fields["payload"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        status=DeliveryStatus(fields["status"]),
        attempts=int(fields["attempts"]),
        next_attempt_at=datetime.fromisoformat(fields["next_attempt_at"]),
        lease_owner=fields["lease_owner"],
        lease_until=None if lease is None else datetime.fromisoformat(lease),
        last_error=fields["last_error"],
        delivered_at=None if delivered is None else datetime.fromisoformat(delivered),
    )
