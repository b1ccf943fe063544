"""Expiry (X-11, X-4): a classified item whose period has ended is declassified by itself, as
of its end date, and the change fans out like any other. Also the items due for review
before their period ends, and an item's classification on a past date.

`preview` asks the same of a date to come: the run itself, rolled back, so that what it says
is what the run will do if the graph stays as it is (issue 23).

A run is idempotent: what it declassified is no longer classified, and the change of an
expiry has an id made of the item and the end date, so a second run, or a second replica
running at the same moment, writes nothing again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Any, TypeVar

from graph.access import Actor, ReadFilter
from graph.change import Change, ChangeKind, DeclassificationReason
from graph.errors import DuplicateId, InvalidValue
from graph.model import Item, ItemKind, ItemStatus, Keypoint
from graph.store.base import ExpiryQuery, GraphReader, GraphStore, GraphWriter
from service.change import OPEN, Committed, describe, expiry_change_id, write_change
from service.impact import Plan
from service.rehearsal import rehearse
from service.usecases import MAX_PAGE, now, today

log = logging.getLogger(__name__)
T = TypeVar("T")

# The regulations leave the term to follow an expiry open; as for changes, a month.
EXPIRY_NOTICE_DAYS = 30
MAX_REVIEW_DAYS = 3660


@dataclass
class ExpiryRun:
    as_of: date
    expired: list[Committed] = field(default_factory=list)
    # Derived items whose own period ended while an open notice extends it: left to that
    # notice (and to the audit, D-21(5), (7)).
    kept: list[str] = field(default_factory=list)

    @property
    def notices(self) -> int:
        return sum(len(c.notices) for c in self.expired)


def expire(store: GraphStore, as_of: date | None = None) -> ExpiryRun:
    """Declassifies every item and keypoint whose period ended on or before `as_of` (today by
    default; never a future date), one transaction per item, sources before derived items."""
    on = as_of or today()
    if on > today():
        raise InvalidValue(
            "asOf", "不能按将来的日期执行到期解密：保密期限届满之时方自行解密（X-11）。"
        )
    run = _run(on, store.read, store.write)
    log.info(
        "到期解密：截至 %s，解密 %d 项，发出变更通知 %d 份，保留 %d 项。",
        on.isoformat(),
        len(run.expired),
        run.notices,
        len(run.kept),
    )
    return run


def preview(store: GraphStore, as_of: date) -> ExpiryRun:
    """What `expire(store, as_of)` would declassify and which notices it would send, were it
    run on `as_of` (today or later) on the graph as it stands now; nothing is written.

    It is the run itself, step by step as `expire` takes them, in one transaction that is
    rolled back at the end: each step reads what the steps before it wrote, as each of the
    real run's transactions reads those committed before it, so the preview cannot drift from
    the run. The stores read their own writes inside a transaction and keep nothing of one
    rolled back (graph.store.base); a wrapper that adds to writes (an outbox, an idempotency
    key) is passed by, since nothing of the preview is to be kept."""
    if as_of < today():
        raise InvalidValue(
            "asOf",
            f"预览只看今天及以后：{as_of.isoformat()} 已经过去，到期应解密的事项由每日到期解密"
            "处理（X-11）。",
        )

    def work(tx: GraphWriter) -> ExpiryRun:
        def within(step: Callable[[GraphWriter], T]) -> T:
            return step(tx)

        return _run(as_of, within, within)

    return rehearse(store, work)


def _run(
    on: date,
    read: Callable[[Callable[[GraphReader], list[Any]]], list[Any]],
    write: Callable[[Callable[[GraphWriter], Committed | None]], Committed | None],
) -> ExpiryRun:
    """The one computation of the run and of its preview: `read` and `write` run a step in a
    transaction (its own, or the preview's one)."""
    run = ExpiryRun(on)
    items: list[Item] = read(lambda tx: tx.expiring_items(ExpiryQuery(until=on, limit=None)))
    keypoints: list[Keypoint] = read(lambda tx: tx.expiring_keypoints(on))
    by_source: dict[str, list[Keypoint]] = {}
    for keypoint in keypoints:
        by_source.setdefault(keypoint.item_id, []).append(keypoint)
    expired_items = {i.id for i in items}
    for source_id, own in sorted(by_source.items()):
        if source_id not in expired_items:  # the whole item expiring takes its keypoints along
            _attempt(write, run, partial(_keypoints, source_id=source_id, keypoints=own, on=on))
    ordered = sorted(items, key=lambda i: (i.kind is not ItemKind.SOURCE, i.id))
    for item in ordered:
        _attempt(write, run, partial(_item, item_id=item.id, on=on, run=run))
    return run


def _attempt(
    write: Callable[[Callable[[GraphWriter], Committed | None]], Committed | None],
    run: ExpiryRun,
    work: Callable[[GraphWriter], Committed | None],
) -> None:
    try:
        committed = write(work)
    except DuplicateId as error:
        if error.kind != "change":
            raise
        return  # another replica expired the same item on the same date first
    if committed is not None:
        run.expired.append(committed)


def _item(tx: GraphWriter, item_id: str, on: date, run: ExpiryRun) -> Committed | None:
    item = tx.items([item_id]).get(item_id)
    if item is None or not item.is_classified or item.classification is None:
        return None
    ended = item.classification.expiry
    if ended is None or ended > on:
        return None
    if item.kind is ItemKind.DERIVED and _extension_pending(tx, item_id, on):
        run.kept.append(item_id)
        return None
    change_id = expiry_change_id(item_id, ended)
    if tx.changes([change_id]):
        return None
    after = replace(item, status=ItemStatus.DECLASSIFIED_WORK_SECRET)
    plan = Plan(ChangeKind.EXPIRY, item, after, (), ())
    return write_change(tx, plan, _change(change_id, plan, ended, on), _due(on))


def _extension_pending(tx: GraphWriter, item_id: str, on: date) -> bool:
    """A derived item's marked period ends by itself (X-11) unless it was extended: a basis
    whose period grew has sent it an open notice that keeps it classified past `on`."""
    for notice in tx.notices_of([item_id]):
        after = notice.after.classification
        if notice.status not in OPEN or not notice.after.is_classified or after is None:
            continue
        if after.expiry is None or after.expiry > on:
            return True
    return False


def _keypoints(
    tx: GraphWriter, source_id: str, keypoints: Sequence[Keypoint], on: date
) -> Committed | None:
    source = tx.items([source_id]).get(source_id)
    current = tx.keypoints([k.id for k in keypoints])
    ended = [k for k in current.values() if not k.declassified and _ended(k, on)]
    if source is None or not source.is_classified or not ended:
        return None
    ended.sort(key=lambda k: k.id)
    last = max(k.classification.expiry or on for k in ended)
    change_id = expiry_change_id(f"{source_id}#{','.join(k.id for k in ended)}", last)
    if tx.changes([change_id]):
        return None
    after = tuple(replace(k, declassified=True) for k in ended)
    plan = Plan(ChangeKind.EXPIRY, source, source, tuple(ended), after)
    return write_change(tx, plan, _change(change_id, plan, last, on), _due(on))


def _ended(keypoint: Keypoint, on: date) -> bool:
    expiry = keypoint.classification.expiry
    return expiry is not None and expiry <= on


def _due(on: date) -> date:
    return on + timedelta(days=EXPIRY_NOTICE_DAYS)


def _change(change_id: str, plan: Plan, ended: date, on: date) -> Change:
    return Change(
        id=change_id,
        kind=ChangeKind.EXPIRY,
        item_id=plan.before.id,
        before=plan.before,
        after=plan.after,
        keypoints_before=plan.keypoints_before,
        keypoints_after=plan.keypoints_after,
        reason=DeclassificationReason.PERIOD_EXPIRED,
        basis=f"保密期限届满，于{ended.isoformat()}自行解密（{on.isoformat()} 到期解密检查）。",
        handler_id=None,
        official_id=None,
        decided_on=ended,
        effective_on=ended,
        recorded_at=now(),
        summary=f"「{plan.before.title}」{describe(plan)}。",
        articles=("X-11", "X-13", "X-25"),
    )


@dataclass(frozen=True)
class DuePage:
    items: list[Item]
    has_next: bool


def due_for_review(
    store: GraphStore,
    within_days: int,
    organisation_id: str | None = None,
    after: tuple[date, str] | None = None,
    limit: int = 50,
    as_of: date | None = None,
    readable: ReadFilter | None = None,
) -> DuePage:
    """Classified items whose period ends within `within_days` (or has ended), soonest first:
    they are to be reviewed before their period ends (X-4, X-17)."""
    if not 0 <= within_days <= MAX_REVIEW_DAYS:
        raise InvalidValue("withinDays", f"天数应在 0 到 {MAX_REVIEW_DAYS} 之间。")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    until = (as_of or today()) + timedelta(days=within_days)
    query = ExpiryQuery(until, organisation_id, after, limit + 1, readable)
    found = store.read(lambda tx: tx.expiring_items(query))
    return DuePage(found[:limit], len(found) > limit)


def count_due(
    store: GraphStore,
    within_days: int,
    organisation_id: str | None = None,
    as_of: date | None = None,
    readable: ReadFilter | None = None,
) -> int:
    """How many items due_for_review pages through, counted by the store."""
    until = (as_of or today()) + timedelta(days=within_days)
    query = ExpiryQuery(until, organisation_id, None, None, readable)
    return store.read(lambda tx: tx.count_expiring_items(query))


def item_as_of(store: GraphStore, item_id: str, on: date, actor: Actor) -> Item | None:
    """The item as it stood on `on`: the values of its last record in effect by that date;
    None before its first record (it was not yet classified or registered), and None for an
    item the actor may not read now."""

    def work(tx: GraphReader) -> Item | None:
        item = tx.items([item_id]).get(item_id)
        if item is None or not actor.can_read(item):
            return None
        records = sorted(tx.records(item_id), key=lambda r: (r.effective, r.recorded_at, r.id))
        in_effect = [r for r in records if r.effective <= on]
        if not in_effect:
            return None if records or on < item.issued_on else item
        last = in_effect[-1]
        return replace(
            item, status=last.status, classification=last.classification, scope=last.scope
        )

    return store.read(work)
