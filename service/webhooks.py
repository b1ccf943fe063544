"""Endpoints of outbound events, registered per organisation by an administrator, and their
dead letters: what every attempt failed to deliver, read and sent again (replayed).

The secret is made here and shown once, when the endpoint is registered; the store keeps it
(signing needs it, so it cannot be kept as a digest): whoever can read the store can sign as
the service, as whoever holds LINEAGE_SECRET_KEY can make placeholders. A delivery holds its
message (references only, service.outbox): the dead-letter list shows it to the operator of
the command line, who may read everything; the administrator's role reads no item, and a view
of dead letters for it would leave the payloads out.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from graph.errors import InvalidValue, UnknownId
from graph.store.base import GraphStore, GraphWriter
from graph.store.outbound import DeliveryQuery
from graph.webhook import Delivery, DeliveryStatus, EventType, Webhook
from service import signature

MAX_PAGE = 500


def parse_events(names: Iterable[str]) -> frozenset[EventType]:
    """Event types by name (`decision.recorded`, ...); none given: all of them."""
    chosen = list(names)
    if not chosen:
        return frozenset(EventType)
    known = {e.value: e for e in EventType}
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise InvalidValue(
            "event",
            f"未知的事件类型「{'、'.join(unknown)}」：应为 {'、'.join(sorted(known))}。",
        )
    return frozenset(known[n] for n in chosen)


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValue(
            "url", f"webhook 地址「{url[:200]}」无效：应为 http:// 或 https:// 地址。"
        )
    if parts.username or parts.password:
        raise InvalidValue("url", "webhook 地址不应含用户名或密码：消息以签名认证。")
    return url.strip()


def add_webhook(
    store: GraphStore,
    organisation_id: str,
    url: str,
    events: frozenset[EventType],
    by: str = "",
) -> Webhook:
    """Registers an endpoint of `organisation_id` with a new secret (shown once: this answer
    is the only one that holds it)."""
    webhook = Webhook(
        id="wh_" + secrets.token_hex(8),
        organisation_id=organisation_id,
        url=check_url(url),
        events=events,
        secret=signature.new_secret(),
        created_at=datetime.now(UTC),
        created_by=by,
    )
    store.write(lambda tx: tx.add_webhook(webhook))
    return webhook


def list_webhooks(store: GraphStore, organisation_id: str | None = None) -> list[Webhook]:
    return store.read(lambda tx: tx.webhooks(organisation_id))


def remove_webhook(store: GraphStore, webhook_id: str) -> None:
    """Removes the endpoint and every delivery to it, dead letters included."""
    store.write(lambda tx: tx.remove_webhook(webhook_id))


def dead_letters(
    store: GraphStore, webhook_id: str | None = None, limit: int = 100
) -> list[Delivery]:
    """The deliveries every attempt of which failed, oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("limit", f"条数应在 1 到 {MAX_PAGE} 之间。")
    query = DeliveryQuery(statuses=(DeliveryStatus.DEAD,), webhook_id=webhook_id, limit=limit)
    return store.read(lambda tx: tx.find_deliveries(query))


def replay(
    store: GraphStore,
    delivery_ids: Sequence[str] = (),
    webhook_id: str | None = None,
) -> list[Delivery]:
    """Sends dead letters again, from their first attempt: those named, or every one of an
    endpoint (`webhook_id`). The message keeps its id, so a receiver that had it after all
    knows it again. A delivery that is not dead (pending or delivered) is refused."""
    at = datetime.now(UTC)

    def work(tx: GraphWriter) -> list[Delivery]:
        if delivery_ids:
            found = tx.deliveries(delivery_ids)
            for id in delivery_ids:
                if id not in found:
                    raise UnknownId("delivery", id)
                if found[id].status is not DeliveryStatus.DEAD:
                    raise InvalidValue(
                        "delivery", f"投递「{id}」不在死信列表中（{found[id].status.value}）。"
                    )
            chosen = [found[id] for id in dict.fromkeys(delivery_ids)]
        elif webhook_id is not None:
            if webhook_id not in {w.id for w in tx.webhooks()}:
                raise UnknownId("webhook", webhook_id)
            chosen = []
            after: tuple[datetime, str] | None = None
            while True:
                page = tx.find_deliveries(
                    DeliveryQuery((DeliveryStatus.DEAD,), webhook_id, after=after, limit=MAX_PAGE)
                )
                chosen += page
                if len(page) < MAX_PAGE:
                    break
                after = (page[-1].created_at, page[-1].id)
        else:
            raise InvalidValue(
                "delivery", "请指定要重发的投递，或用 --webhook 重发某一端点的全部死信。"
            )
        again = [
            replace(
                d,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=at,
                lease_owner=None,
                lease_until=None,
            )
            for d in chosen
        ]
        tx.update_deliveries(again)
        return again

    return store.write(work)


def purge(store: GraphStore, retention: timedelta, at: datetime | None = None) -> int:
    """Removes deliveries delivered `retention` or longer before `at` (now), a page a
    transaction; how many. Dead letters stay until replayed or their endpoint is removed."""
    moment = at or datetime.now(UTC)
    removed = 0
    after: tuple[datetime, str] | None = None
    while True:

        def page(
            tx: GraphWriter, after: tuple[datetime, str] | None = after
        ) -> tuple[int, tuple[datetime, str] | None]:
            query = DeliveryQuery((DeliveryStatus.DELIVERED,), after=after, limit=MAX_PAGE)
            found = tx.find_deliveries(query)
            old = [
                d.id
                for d in found
                if d.delivered_at is not None and moment - d.delivered_at >= retention
            ]
            tx.remove_deliveries(old)
            last = (found[-1].created_at, found[-1].id) if len(found) == MAX_PAGE else None
            return len(old), last

        count, after = store.write(page)
        removed += count
        if after is None:
            return removed
