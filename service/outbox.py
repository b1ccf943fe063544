"""Outbound events enter a durable outbox in the transaction of what caused them.

**Why in the same transaction, not by tailing.** Every decision and every notice is written
through `GraphStore.write(work)`, and `work` gets the transaction. `Outbox` wraps the store:
it hands `work` the transaction through a thin recorder that notes the written records
(`add_record(s)`) and notices (`add_notices`), and before the transaction commits it queues
one delivery per subscribed endpoint (`add_deliveries`) in that same transaction. So an event
is queued if and only if what caused it commits, and exactly once: a transaction rolled back,
or run again by the store after a transient failure, queues nothing of its failed run. A
dispatcher tailing the records and notices after a stored cursor would have had to trust
creation times: a transaction stamped early and committed late (a fan-out may take a minute),
or a replica whose clock runs behind, falls behind the cursor and is never sent, unless every
pass read back over the longest transaction's length again. Findings (D-21) are not stored
anywhere: the daily run computes them and queues the new ones (`queue_findings`); a finding's
message id is its item and case, so one found again is not queued again while its delivery
is kept.

What goes through `Outbox` is what the service decides: the API and the daily expiry (the
app's `state.outbox`; `state.store` stays the bare store for everything else), and `lineage
expire`. `lineage import`, `restore` and `demo` bring history or demo data, not events, and
write through the bare store.

**Which reader a webhook is.** An endpoint belongs to one organisation and reads as that
organisation, no more: an actor with no person and no role whose `member_of` is the
organisation and those merged into it (X-7). It reads an item whose knowledge scope names one
of them (D-10), not one known only to named persons of it, nor what its supervisors may read.
An event is offered to the endpoints of the organisation it is addressed to (a record: the
organisation that holds the item; a notice: its addressee; a finding: the organisation that
must correct it), or of its successor, and only when that reader may read the item: an event
about any other item does not exist for it, as such an id answers in the API. A payload
holds references and no content: ids, kinds, dates, markings, statuses, articles; another
item it names (a notice's source) is the reader's opaque placeholder (service.redaction)
unless the organisation may read it. No title, number, keypoint or text is ever sent. The body
is made when the event is queued, as the organisation could read the item then, and every
attempt sends the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from graph.access import SYSTEM, Actor, predecessors
from graph.audit import Finding
from graph.change import Notice
from graph.model import DecisionRecord, Item, Organisation
from graph.store.base import GraphStore, GraphWriter, Wrapping
from graph.store.codec import NOTICE_COLUMNS, Defaults, notice_from
from graph.webhook import (
    Delivery,
    DeliveryStatus,
    EventType,
    Webhook,
    delivery_id,
    message_id,
)
from service.findings import audit
from service.redaction import Mode, Redactor
from service.webhooks import purge

T = TypeVar("T")


def reader_of(webhook: Webhook, organisations: dict[str, Organisation]) -> Actor:
    """The reader an endpoint acts as: its organisation and those merged into it."""
    org = webhook.organisation_id
    return Actor(
        user_id=f"webhook:{webhook.id}",
        name=f"webhook {webhook.id}",
        organisation_id=org,
        member_of=frozenset({org, *predecessors(org, organisations)}),
    )


class _Recorder:
    """The transaction `work` writes in, noting the records and notices it writes (under
    names no reader method has: `records` and `notices` are the transaction's own)."""

    def __init__(self, tx: GraphWriter) -> None:
        self._tx = tx
        self.written_records: list[DecisionRecord] = []
        self.written_notices: list[Notice] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def add_record(self, record: DecisionRecord) -> None:
        self._tx.add_record(record)
        self.written_records.append(record)

    def add_records(self, records: Sequence[DecisionRecord]) -> None:
        self._tx.add_records(records)
        self.written_records.extend(records)

    def add_notices(self, notices: Sequence[Notice]) -> None:
        self._tx.add_notices(notices)
        self.written_notices.extend(notices)

    def add_notice_rows(self, rows: Iterable[tuple[object, ...]]) -> None:
        if not self._tx.webhooks():
            # No endpoint to offer them to: `queue` offers nothing, and a change over
            # 100,000 descendants builds no notice for it.
            self._tx.add_notice_rows(rows)
            return
        noted = self.written_notices

        def noting() -> Iterator[tuple[object, ...]]:
            for row in rows:
                noted.append(notice_from(Defaults(dict(zip(NOTICE_COLUMNS, row, strict=True)))))
                yield row

        self._tx.add_notice_rows(noting())


class Outbox(Wrapping):
    """A store whose writes queue the deliveries of the events they cause, in the same
    transaction. `key` makes the placeholders of items a webhook may not read (as
    LINEAGE_SECRET_KEY does for the API's readers)."""

    def __init__(self, store: GraphStore, key: bytes) -> None:
        super().__init__(store)
        self.key = key

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        def recorded(tx: GraphWriter) -> T:
            recorder = _Recorder(tx)  # a new one each run: a run again starts afresh
            result = work(cast(GraphWriter, recorder))
            if recorder.written_records or recorder.written_notices:
                queue(tx, self.key, recorder.written_records, recorder.written_notices, ())
            return result

        return self.store.write(recorded)


@dataclass(frozen=True)
class _Event:
    type: EventType
    subject: str  # what the message id is made of
    organisation_id: str  # to whom it is addressed
    item_id: str
    data: Callable[[Redactor, Item], dict[str, object]]


def queue(
    tx: GraphWriter,
    key: bytes,
    records: Sequence[DecisionRecord],
    notices: Sequence[Notice],
    findings: Sequence[Finding],
    at: datetime | None = None,
) -> int:
    """Queues, in `tx`, the deliveries of these events to the endpoints they concern; how many
    were offered (one queued before is kept as it was)."""
    webhooks = tx.webhooks()
    if not webhooks:
        return 0
    moment = at or datetime.now(UTC)
    subjects = {r.item_id for r in records} | {n.item_id for n in notices}
    subjects |= {f.item_id for f in findings}
    items = tx.items(subjects | {n.source_id for n in notices})
    events = [_record_event(r, items) for r in records]
    events += [_notice_event(n, items) for n in notices]
    events += [_finding_event(f, moment.date()) for f in findings]
    organisations = {o.id: o for o in tx.all_organisations()}
    out: list[Delivery] = []
    for webhook in webhooks:
        reader = reader_of(webhook, organisations)
        redactor = Redactor(reader, Mode.PLACEHOLDER, key)
        for event in events:
            item = items.get(event.item_id)
            if (
                event.type not in webhook.events
                or event.organisation_id not in reader.member_of
                or item is None
                or not reader.can_read(item)
            ):
                continue
            message = message_id(event.type, event.subject)
            body = {
                "type": event.type.value,
                "timestamp": moment.isoformat(timespec="seconds"),
                "data": event.data(redactor, item),
            }
            out.append(
                Delivery(
                    id=delivery_id(webhook.id, message),
                    webhook_id=webhook.id,
                    message_id=message,
                    event_type=event.type,
                    payload=json.dumps(body, ensure_ascii=False, sort_keys=True),
                    created_at=moment,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=moment,
                )
            )
    tx.add_deliveries(out)
    return len(out)


def _record_event(record: DecisionRecord, items: dict[str, Item]) -> _Event:
    holder = items[record.item_id].organisation_id if record.item_id in items else ""

    def data(redactor: Redactor, item: Item) -> dict[str, object]:
        return {
            "organisationId": item.organisation_id,
            "recordId": record.id,
            "itemId": redactor.show(item).id,
            "kind": record.kind.value,
            "status": record.status.value,
            "marking": record.classification.marking if record.classification else None,
            "decidedOn": record.decided_on.isoformat(),
            "effectiveOn": record.effective.isoformat(),
            "recordedAt": record.recorded_at.isoformat(),
            "articles": list(record.articles),
        }

    return _Event(EventType.DECISION_RECORDED, record.id, holder, record.item_id, data)


def _notice_event(notice: Notice, items: dict[str, Item]) -> _Event:
    def data(redactor: Redactor, item: Item) -> dict[str, object]:
        return {
            "organisationId": notice.organisation_id,
            "noticeId": notice.id,
            "itemId": redactor.show(item).id,
            "changeId": notice.change_id,
            "sourceId": redactor.ref(notice.source_id, items.get(notice.source_id)),
            "actions": [a.value for a in notice.actions],
            "markingBefore": notice.before.marking,
            "markingAfter": notice.after.marking,
            "statusAfter": notice.after.status.value,
            "dueOn": notice.due_on.isoformat(),
            "createdAt": notice.created_at.isoformat(),
            "articles": list(notice.articles),
        }

    return _Event(EventType.NOTICE_ISSUED, notice.id, notice.organisation_id, notice.item_id, data)


def _finding_event(finding: Finding, on: date) -> _Event:
    def data(redactor: Redactor, item: Item) -> dict[str, object]:
        return {
            "organisationId": finding.organisation_id,
            "itemId": redactor.show(item).id,
            "case": finding.case.value,
            "caseName": finding.case.name,
            "marking": item.marking,
            "status": item.status.value,
            "foundOn": on.isoformat(),
            "articles": list(finding.articles),
        }

    subject = f"{finding.item_id}\x00{finding.case.value}"
    return _Event(
        EventType.FINDING_DETECTED, subject, finding.organisation_id, finding.item_id, data
    )


def queue_findings(store: GraphStore, key: bytes, on: date | None = None) -> int:
    """The daily run: the D-21 findings over every item, queued to the endpoints that take
    them (those found before and still kept are not queued again); how many were offered."""
    wanted = store.read(
        lambda tx: any(EventType.FINDING_DETECTED in w.events for w in tx.webhooks())
    )
    if not wanted:
        return 0
    found = audit(store, SYSTEM, on=on).findings
    if not found:
        return 0
    return store.write(lambda tx: queue(tx, key, (), (), found))


def daily(store: Outbox, retention: timedelta) -> tuple[int, int]:
    """The daily run's part: the new findings queued, the deliveries past `retention`
    removed (how many of each)."""
    return queue_findings(store, store.key), purge(store, retention)
