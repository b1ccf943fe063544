"""Reminders (X-4): the classified items whose period ends within some days, grouped by the
organisation that must review them before then, as a query and as a daily digest written to
the log and, where one is configured, posted to a webhook.

The digest carries ids, markings and end dates, never an item's title or number: the log and
the webhook's receiver are outside every knowledge scope.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta

from graph import authority
from graph.access import SYSTEM, Actor
from graph.errors import InvalidValue
from graph.model import Item
from graph.store.base import ExpiryQuery, GraphReader, GraphStore
from service.expiry import MAX_REVIEW_DAYS
from service.usecases import today

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reminder:
    """The items one organisation must review before their periods end (X-4, X-17)."""

    organisation_id: str
    organisation_name: str
    items: list[Item]  # soonest end first


def reminders(
    store: GraphStore,
    within_days: int,
    actor: Actor,
    organisation_id: str | None = None,
    on: date | None = None,
) -> list[Reminder]:
    """What must be reviewed within `within_days` (or is overdue), by the organisation that
    decides on it now (its originator or successor, X-7), of the items `actor` may read."""
    if not 0 <= within_days <= MAX_REVIEW_DAYS:
        raise InvalidValue("withinDays", f"天数应在 0 到 {MAX_REVIEW_DAYS} 之间。")
    until = (on or today()) + timedelta(days=within_days)

    def work(tx: GraphReader) -> list[Reminder]:
        query = ExpiryQuery(until, None, None, None, actor.read_filter())
        items = tx.expiring_items(query)
        organisations = {o.id: o for o in tx.all_organisations()}
        groups: dict[str, list[Item]] = {}
        for item in items:
            groups.setdefault(authority.responsible(item, organisations), []).append(item)
        return [
            Reminder(org, organisations[org].name if org in organisations else org, listed)
            for org, listed in sorted(groups.items())
            if organisation_id is None or org == organisation_id
        ]

    return store.read(work)


def digest(store: GraphStore, within_days: int, webhook: str | None, on: date | None = None) -> int:
    """Writes the day's reminders to the log and, if configured, posts them to `webhook` as
    JSON; returns how many items they name. A webhook that fails is logged, not retried."""
    day = on or today()
    found = reminders(store, within_days, SYSTEM, on=day)
    for group in found:
        ids = "、".join(i.id for i in group.items)
        log.info(
            "保密期限届满前审核提醒（X-4）：%s（%s）有 %d 项将在 %d 天内到期：%s",
            group.organisation_name,
            group.organisation_id,
            len(group.items),
            within_days,
            ids,
        )
    if webhook and found:
        if not webhook.startswith(("http://", "https://")):  # settings check it too
            raise InvalidValue(
                "LINEAGE_REMINDER_WEBHOOK", "webhook 地址应以 http:// 或 https:// 开头。"
            )
        body = {
            "date": day.isoformat(),
            "withinDays": within_days,
            "organisations": [
                {
                    "organisationId": g.organisation_id,
                    "organisationName": g.organisation_name,
                    "items": [
                        {
                            "id": i.id,
                            "marking": i.marking,
                            "endsOn": i.classification.expiry.isoformat()
                            if i.classification and i.classification.expiry
                            else None,
                        }
                        for i in g.items
                    ],
                }
                for g in found
            ],
        }
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            webhook,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        except OSError:
            log.exception("审核提醒未能送达 webhook。")
    return sum(len(g.items) for g in found)
