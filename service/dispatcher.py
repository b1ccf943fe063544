"""Sends the queued deliveries of outbound events (service.outbox), signed (service.signature),
retried with exponential back-off and jitter, and after the last attempt left DEAD for an
administrator to read and replay (service.webhooks).

**Sent once, with several replicas.** Every process of the service runs a dispatcher on the
same store. A dispatcher claims a few due deliveries in one write transaction, which sets a
lease on each (its own name, until a moment past the longest send), and sends only what it
claimed; writers take turns on both stores (SQLite's write lock; the `WriteTurn` on Neo4j),
so two dispatchers never claim one delivery while its lease holds. The result is written
back only while the lease is still the sender's. What is promised is at-least-once: a process
that dies after the receiver took a message and before it wrote so leaves the lease to run
out, and another dispatcher sends the message again, with the same `webhook-id` (a new
timestamp and signature): receivers deduplicate on `webhook-id`. Deliveries are not ordered:
each is sent when due.

A receiver's answer 2xx is success; anything else (another status, a redirect, which is not
followed, a refused connection, a timeout) is a failed attempt. After attempt n the next is
due after min(cap, base * 2^(n-1)) seconds, the second half of it drawn at random (so that
the deliveries of one fan-out that failed together do not come back together).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from graph.store.base import GraphStore, GraphWriter
from graph.store.outbound import DeliveryQuery
from graph.trail import Outcome
from graph.webhook import Delivery, DeliveryStatus, Webhook
from service import signature
from service.auditing import event
from service.outbox import reader_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    attempts: int = 10  # then DEAD
    backoff_seconds: float = 30.0  # before the second attempt
    cap_seconds: float = 6 * 3600.0  # the longest wait between two attempts
    timeout_seconds: float = 10.0  # for one request
    batch: int = 8  # claimed at once, and sent side by side

    @property
    def lease(self) -> timedelta:
        # A batch is sent side by side, each request within its timeout: the lease outlasts
        # the slowest with room to write the results.
        return timedelta(seconds=self.timeout_seconds * 2 + 30)


def backoff(attempts: int, policy: Policy, draw: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `attempts` failed attempts: half of the exponential step fixed,
    half drawn in [0, 1)."""
    step = min(policy.cap_seconds, policy.backoff_seconds * 2.0 ** max(0, attempts - 1))
    return step / 2 + step / 2 * draw()


@dataclass(frozen=True)
class Sent:
    ok: bool
    error: str | None = None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Sent:
    """POSTs `body`; a 2xx answer is success. Redirects are not followed: an endpoint is the
    URL its administrator registered."""
    request = urllib.request.Request(  # noqa: S310 - http(s) only (graph.webhook.Webhook)
        url,
        data=body,
        headers={
            **headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "lineage-webhooks",
        },
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
        error.close()
    except (OSError, ValueError) as error:  # refused, reset, timed out, unreachable
        return Sent(False, f"{type(error).__name__}: {error}"[:300])
    return Sent(True) if 200 <= status < 300 else Sent(False, f"HTTP {status}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)

Sender = Callable[[str, bytes, dict[str, str], float], Sent]


class Dispatcher:
    """One process's sender. `owner` names its leases (unique per dispatcher)."""

    def __init__(
        self,
        store: GraphStore,
        policy: Policy | None = None,
        *,
        owner: str | None = None,
        send: Sender = post,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.policy = policy or Policy()
        self.owner = owner or f"dispatcher-{uuid.uuid4().hex[:12]}"
        self._send = send
        self._clock = clock
        self._pool = ThreadPoolExecutor(self.policy.batch, thread_name_prefix="webhook")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def claim(self) -> list[Delivery]:
        """Leases up to a batch of due deliveries to this dispatcher; none another holds."""
        moment = self._clock()
        query = DeliveryQuery(due=moment, limit=self.policy.batch)
        if not self.store.read(lambda tx: tx.find_deliveries(query)):
            return []  # nothing due: no write, no turn taken

        def work(tx: GraphWriter) -> list[Delivery]:
            due = tx.find_deliveries(query)  # again, now that it is this writer's turn
            leased = [
                replace(d, lease_owner=self.owner, lease_until=moment + self.policy.lease)
                for d in due
            ]
            tx.update_deliveries(leased)
            return leased

        return self.store.write(work)

    def run_once(self) -> int:
        """Claims, sends and settles one batch; how many it sent."""
        claimed = self.claim()
        if not claimed:
            return 0
        hooks = {w.id: w for w in self.store.read(lambda tx: tx.webhooks())}
        results = list(self._pool.map(lambda d: self._attempt(d, hooks.get(d.webhook_id)), claimed))
        self._settle(claimed, results, hooks)
        return len(claimed)

    def _attempt(self, delivery: Delivery, hook: Webhook | None) -> Sent:
        if hook is None:
            return Sent(False, "endpoint removed")
        body = delivery.payload.encode()
        stamp = int(time.time())
        headers = signature.headers(hook.secret, delivery.message_id, stamp, body)
        try:
            return self._send(hook.url, body, headers, self.policy.timeout_seconds)
        except Exception as error:  # a sender's bug must not stop the others
            log.exception("webhook 投递出错：%s", delivery.id)
            return Sent(False, f"{type(error).__name__}"[:300])

    def _settle(
        self, claimed: list[Delivery], results: list[Sent], hooks: dict[str, Webhook]
    ) -> None:
        moment = self._clock()

        def work(tx: GraphWriter) -> list[Delivery]:
            now_held = tx.deliveries([d.id for d in claimed])
            settled: list[Delivery] = []
            for delivery, sent in zip(claimed, results, strict=True):
                held = now_held.get(delivery.id)
                if held is None or held.lease_owner != self.owner:
                    continue  # removed, or its lease ran out and another took it
                attempts = held.attempts + 1
                if sent.ok:
                    settled.append(
                        replace(
                            held,
                            status=DeliveryStatus.DELIVERED,
                            attempts=attempts,
                            delivered_at=moment,
                            lease_owner=None,
                            lease_until=None,
                            last_error=None,
                        )
                    )
                    continue
                dead = attempts >= self.policy.attempts
                wait = timedelta(seconds=backoff(attempts, self.policy))
                settled.append(
                    replace(
                        held,
                        status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
                        attempts=attempts,
                        next_attempt_at=moment if dead else moment + wait,
                        lease_owner=None,
                        lease_until=None,
                        last_error=sent.error,
                    )
                )
            tx.update_deliveries(settled)
            return settled

        settled = self.store.write(work)
        self._record(settled, hooks)

    def _record(self, settled: list[Delivery], hooks: dict[str, Webhook]) -> None:
        """What left the service, in the audit trail: per endpoint, the items its delivered
        messages named (every read of an item's content is recorded; these hold references,
        and the trail says which went where)."""
        by_hook: dict[str, list[Delivery]] = {}
        for delivery in settled:
            if delivery.status is DeliveryStatus.DELIVERED:
                by_hook.setdefault(delivery.webhook_id, []).append(delivery)
        if not by_hook:
            return
        organisations = {o.id: o for o in self.store.read(lambda tx: tx.all_organisations())}
        events = []
        for hook_id, delivered in by_hook.items():
            hook = hooks.get(hook_id)
            if hook is None:
                continue
            items = [_item_of(d.payload) for d in delivered]
            events.append(
                event(
                    reader_of(hook, organisations),
                    "webhook deliver",
                    Outcome.OK,
                    items=[i for i in dict.fromkeys(items) if i],
                    detail=f"{len(delivered)} 条事件送达 {hook.id}："
                    + "、".join(d.message_id for d in delivered[:20]),
                )
            )
        try:
            self.store.append_audit(events)
        except Exception:  # delivered is delivered; the failure is in the log
            log.exception("未能记录 webhook 的投递。")


def _item_of(payload: str) -> str:
    data = json.loads(payload).get("data")
    return str(data.get("itemId") or "") if isinstance(data, dict) else ""


async def dispatch_forever(
    store: GraphStore, stopping: asyncio.Event, policy: Policy, poll_seconds: float
) -> None:
    """The service's dispatcher: a batch after another while there are due deliveries, then a
    look every `poll_seconds`, until `stopping` is set; a batch under way ends first."""
    dispatcher = Dispatcher(store, policy)
    try:
        while not stopping.is_set():
            try:
                sent = await run_in_threadpool(dispatcher.run_once)
            except Exception:
                log.exception("webhook 投递轮次失败，稍后重试。")
                sent = 0
            if sent:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), poll_seconds)
    finally:
        await run_in_threadpool(dispatcher.close)
