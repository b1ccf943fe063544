"""Outbound events: the endpoints an organisation registers for them (webhooks) and the
deliveries of each event to each endpoint, with their attempts. Pure values; the service
enqueues, signs and sends them (service.outbox, service.dispatcher).

A delivery is one message to one endpoint. Its `message_id` is the event's, the same for
every endpoint and every attempt (the `webhook-id` a receiver deduplicates on); its `id` is
derived from the endpoint and the message, so that the same event is queued once per
endpoint however often it is offered. A delivery is PENDING until it is DELIVERED or, after
its last attempt, DEAD (the dead-letter list an administrator reads and replays). While a
dispatcher sends it, it holds a lease (`lease_owner` until `lease_until`): no other
dispatcher claims it before the lease ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from graph.errors import InvalidValue


class EventType(Enum):
    DECISION_RECORDED = "decision.recorded"  # a written record (D-11, D-13, X-17)
    NOTICE_ISSUED = "notice.issued"  # a change notice to a holder (D-12, X-13)
    FINDING_DETECTED = "finding.detected"  # improper derived classification (D-21)

    @property
    def label(self) -> str:
        return _LABEL[self]


_LABEL = {
    EventType.DECISION_RECORDED: "定密决定的书面记录",
    EventType.NOTICE_ISSUED: "变更通知",
    EventType.FINDING_DETECTED: "派生定密不当的审计发现",
}


class DeliveryStatus(Enum):
    PENDING = "PENDING"  # to be sent, now or after its back-off
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    DEAD = "DEAD"  # every attempt failed: waits for an administrator to replay it


@dataclass(frozen=True)
class Webhook:
    """An endpoint an organisation's events are posted to, signed with `secret` (Standard
    Webhooks: `whsec_` and the base64 of the key)."""

    id: str
    organisation_id: str
    url: str
    events: frozenset[EventType]
    secret: str
    created_at: datetime
    created_by: str = ""

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise InvalidValue("url", "webhook 地址应以 http:// 或 https:// 开头。")
        if not self.events:
            raise InvalidValue("events", "webhook 至少应订阅一种事件。")
        if not self.secret.startswith("whsec_"):
            raise InvalidValue("secret", "webhook 密钥应以 whsec_ 开头。")
        if self.created_at.tzinfo is None:
            raise InvalidValue("createdAt", "时间须带时区。")


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    message_id: str
    event_type: EventType
    payload: str  # the JSON body, as it is signed and sent on every attempt
    created_at: datetime
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None


def delivery_id(webhook_id: str, message_id: str) -> str:
    """The id of a message's delivery to an endpoint: one per pair, whoever offers it."""
    return "dlv_" + hashlib.sha256(f"{webhook_id}\x00{message_id}".encode()).hexdigest()[:32]


def message_id(event_type: EventType, subject: str) -> str:
    """The id of the event about `subject` (a record's id, a notice's, an item and a case):
    the same whenever and wherever it is made, so that an event is one message."""
    digest = hashlib.sha256(f"{event_type.value}\x00{subject}".encode()).hexdigest()
    return "msg_" + digest[:32]
