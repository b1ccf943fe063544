"""The catalogue of declassified items made public (X-24): what was declassified to the public
in a date range, for publication "in an appropriate scope". Nothing that stayed a work secret
(X-25 ¶1) is in it, and no entry carries the old marking: a published item keeps no mark of
a state secret (X-25 ¶2).

The items in it are public: the catalogue lists them for every signed-in reader, whatever the
knowledge scope they had while they were secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from graph.errors import InvalidValue
from graph.model import ItemStatus, RecordKind
from graph.store.base import GraphReader, GraphStore, ItemQuery
from service.sheets import csv_text

PAGE = 500
COLUMNS = ("事项标识", "事项名称", "文号", "定密机关、单位", "解密时间", "解密理由", "依据")


@dataclass(frozen=True)
class Entry:
    item_id: str
    title: str
    document_number: str
    organisation_id: str
    organisation_name: str
    declassified_on: date
    reason: str  # as people read it
    articles: tuple[str, ...]


def catalogue(
    store: GraphStore, since: date, until: date, organisation_id: str | None = None
) -> list[Entry]:
    """Items declassified to the public from `since` to `until` (both included), by date then
    id."""
    if until < since:
        raise InvalidValue("until", "截止日期不能早于起始日期。")

    def work(tx: GraphReader) -> list[Entry]:
        organisations = {o.id: o for o in tx.all_organisations()}
        out: list[Entry] = []
        after: str | None = None
        while True:
            query = ItemQuery(
                organisation_id=organisation_id,
                status=ItemStatus.DECLASSIFIED_PUBLIC,
                after=after,
                limit=PAGE,
            )
            page = tx.find_items(query)
            ids = [i.id for i in page]
            records = [
                r
                for r in tx.records_of(ids)
                if r.status is ItemStatus.DECLASSIFIED_PUBLIC
                and r.kind in (RecordKind.DECLASSIFICATION, RecordKind.EXPIRY)
            ]
            last = {r.item_id: r for r in records}  # oldest first: the last one stands
            changes = {
                c.item_id: c
                for c in tx.changes_of(ids)
                if c.after.status is ItemStatus.DECLASSIFIED_PUBLIC
            }
            for item in page:
                record = last.get(item.id)
                if record is None or not since <= record.effective <= until:
                    continue
                change = changes.get(item.id)
                if change is not None and change.reason is not None:
                    reason = f"{change.reason.label}（{change.reason.article}）"
                elif record.kind is RecordKind.EXPIRY:
                    reason = "保密期限已满（X-11）"
                else:
                    reason = "随所依据的已定密事项解密（X-13）"
                organisation = organisations.get(item.organisation_id)
                out.append(
                    Entry(
                        item_id=item.id,
                        title=item.title,
                        document_number=item.document_number,
                        organisation_id=item.organisation_id,
                        organisation_name=organisation.name if organisation else "",
                        declassified_on=record.effective,
                        reason=reason,
                        articles=record.articles,
                    )
                )
            if len(page) < PAGE:
                break
            after = page[-1].id
        return sorted(out, key=lambda e: (e.declassified_on, e.item_id))

    return store.read(work)


def as_csv(entries: list[Entry]) -> str:
    return csv_text(
        COLUMNS,
        (
            (
                e.item_id,
                e.title,
                e.document_number,
                e.organisation_name or e.organisation_id,
                e.declassified_on.isoformat(),
                e.reason,
                "、".join(e.articles),
            )
            for e in entries
        ),
    )
