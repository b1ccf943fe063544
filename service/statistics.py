"""The annual count of classification and declassification per organisation (X-26), from the
written records and the change notices: how many items each organisation classified, derived
and changed in a year, how many it declassified and why, and how many change notices it
received and had pending or overdue at the end of the year (or today, for the current year).

Counts only, never an item: an organisation reports them to the secrecy administration of
its level every year (X-26)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from graph.access import Actor
from graph.errors import InvalidValue
from graph.model import ItemStatus, RecordKind
from graph.store.base import GraphReader, GraphStore, ItemQuery, NoticeQuery
from service.sheets import csv_text
from service.usecases import today

PAGE = 500
FOLLOWED = "随所依据的已定密事项解密（X-13）"
EXPIRED = "保密期限已满、解密时间已到或者解密条件达成（X-11）"


@dataclass(frozen=True)
class OrganisationYear:
    organisation_id: str
    organisation_name: str
    year: int
    classified: int = 0  # registered by their originator (原定密)
    derived: int = 0
    changed: int = 0  # level, period or knowledge scope (D-13, X-19)
    declassified: dict[str, int] = field(default_factory=dict)  # by reason
    made_public: int = 0  # of those, declassified to the public
    notices_received: int = 0
    notices_pending: int = 0  # at the end of the year, or today
    notices_overdue: int = 0

    @property
    def declassified_total(self) -> int:
        return sum(self.declassified.values())


def annual_statistics(
    store: GraphStore, year: int, actor: Actor, organisation_id: str | None = None
) -> list[OrganisationYear]:
    """One row per organisation the actor belongs to or supervises (every one, for the
    operator), by id."""
    if not 1949 <= year <= today().year:
        raise InvalidValue("year", f"年份应在 1949 到 {today().year} 之间。")
    start, end = date(year, 1, 1), date(year, 12, 31)
    as_of = min(end, today())

    def work(tx: GraphReader) -> list[OrganisationYear]:
        rows = []
        for organisation in tx.all_organisations():
            if organisation_id is not None and organisation.id != organisation_id:
                continue
            if not (
                actor.system
                or organisation.id in actor.member_of
                or actor.supervises(organisation.id)
            ):
                continue
            rows.append(_count(tx, organisation.id, organisation.name, year, start, end, as_of))
        return rows

    return store.read(work)


def _count(
    tx: GraphReader, organisation: str, name: str, year: int, start: date, end: date, as_of: date
) -> OrganisationYear:
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    after: str | None = None
    while True:
        page = tx.find_items(ItemQuery(organisation_id=organisation, after=after, limit=PAGE))
        ids = [i.id for i in page]
        records = [r for r in tx.records_of(ids) if start <= r.effective <= end]
        changes = {c.record_id: c for c in tx.changes_of(ids) if c.record_id}
        for record in records:
            match record.kind:
                case RecordKind.ORIGINAL:
                    counts["classified"] += 1
                case RecordKind.DERIVED:
                    counts["derived"] += 1
                case RecordKind.CHANGE:
                    counts["changed"] += 1
                case RecordKind.DECLASSIFICATION | RecordKind.EXPIRY:
                    change = changes.get(record.id)
                    if record.kind is RecordKind.EXPIRY:
                        reasons[EXPIRED] += 1
                    elif change is not None and change.reason is not None:
                        reasons[f"{change.reason.label}（{change.reason.article}）"] += 1
                    else:
                        reasons[FOLLOWED] += 1
                    if record.status is ItemStatus.DECLASSIFIED_PUBLIC:
                        counts["public"] += 1
        if len(page) < PAGE:
            break
        after = page[-1].id
    notices = tx.find_notices(NoticeQuery(organisation_id=organisation, limit=None))
    for notice in notices:
        created = notice.created_at.date()
        if start <= created <= end:
            counts["received"] += 1
        # Open at the end of the year: created by then, and acted on only later, or not yet.
        acted = notice.updated_at.date() if not notice.status.is_open else None
        if created <= as_of and (acted is None or acted > as_of):
            counts["pending"] += 1
            if notice.due_on < as_of:
                counts["overdue"] += 1
    return OrganisationYear(
        organisation_id=organisation,
        organisation_name=name,
        year=year,
        classified=counts["classified"],
        derived=counts["derived"],
        changed=counts["changed"],
        declassified=dict(sorted(reasons.items())),
        made_public=counts["public"],
        notices_received=counts["received"],
        notices_pending=counts["pending"],
        notices_overdue=counts["overdue"],
    )


COLUMNS = (
    "年度",
    "机关、单位标识",
    "机关、单位",
    "原定密",
    "派生定密",
    "变更",
    "解密合计",
    "其中予以公开",
    "解密理由及数量",
    "收到变更通知",
    "待处理通知",
    "逾期未处理通知",
)


def as_csv(rows: list[OrganisationYear]) -> str:
    return csv_text(
        COLUMNS,
        (
            (
                r.year,
                r.organisation_id,
                r.organisation_name,
                r.classified,
                r.derived,
                r.changed,
                r.declassified_total,
                r.made_public,
                "；".join(f"{reason} {n}" for reason, n in r.declassified.items()),
                r.notices_received,
                r.notices_pending,
                r.notices_overdue,
            )
            for r in rows
        ),
    )
