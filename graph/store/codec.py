"""Flat fields for graph values, shared by every store: SQLite columns and Neo4j properties
hold the same names and the same plain values (ISO dates, enum names, JSON text)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Protocol

from graph.model import (
    BasisCitation,
    Classification,
    KnowledgeScope,
    Level,
    LongTerm,
    Period,
    PeriodKind,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
    period_kind,
)


class Fields(Protocol):
    """A row or a record: anything that gives a field's value by name."""

    def __getitem__(self, key: str) -> Any: ...


CLASSIFICATION_FIELDS = (
    "level",
    "period_kind",
    "period_years",
    "period_start",
    "period_until",
    "period_condition",
)


def classification_fields(value: Classification | None) -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(CLASSIFICATION_FIELDS)
    if value is None:
        return fields
    fields["level"] = value.level.value
    fields["period_kind"] = period_kind(value.period).value
    match value.period:
        case Years(years=years, start=start):
            fields["period_years"] = years
            fields["period_start"] = start.isoformat()
        case UntilDate(until=until):
            fields["period_until"] = until.isoformat()
        case UntilCondition(condition=condition):
            fields["period_condition"] = condition
        case Unmarked(start=start):
            fields["period_start"] = start.isoformat()
        case LongTerm():
            pass
    return fields


def classification_from(fields: Fields) -> Classification | None:
    if fields["level"] is None:
        return None
    return Classification(Level(fields["level"]), _period_from(fields))


def _period_from(fields: Fields) -> Period:
    kind = PeriodKind(fields["period_kind"])
    match kind:
        case PeriodKind.YEARS:
            return Years(int(fields["period_years"]), date.fromisoformat(fields["period_start"]))
        case PeriodKind.UNTIL_DATE:
            return UntilDate(date.fromisoformat(fields["period_until"]))
        case PeriodKind.UNTIL_CONDITION:
            return UntilCondition(str(fields["period_condition"]))
        case PeriodKind.LONG_TERM:
            return LongTerm()
        case PeriodKind.UNMARKED:
            return Unmarked(date.fromisoformat(fields["period_start"]))


def scope_json(scope: KnowledgeScope) -> str:
    return json.dumps(
        {"persons": sorted(scope.persons), "organisations": sorted(scope.organisations)},
        ensure_ascii=False,
    )


def scope_of(text: str) -> KnowledgeScope:
    data = json.loads(text)
    return KnowledgeScope(frozenset(data["persons"]), frozenset(data["organisations"]))


def limit_of(text: str | None) -> KnowledgeScope | None:
    return None if text is None else scope_of(text)


def citations_json(citations: tuple[BasisCitation, ...]) -> str:
    return json.dumps(
        [
            {
                "kind": c.kind,
                "ref_id": c.ref_id,
                "title": c.title,
                "document_number": c.document_number,
                "marking": c.marking,
            }
            for c in citations
        ],
        ensure_ascii=False,
    )


def citations_from(text: str) -> tuple[BasisCitation, ...]:
    return tuple(BasisCitation(**entry) for entry in json.loads(text))


def timestamp(value: datetime) -> str:
    """ISO text in UTC, so that text order is time order."""
    return value.astimezone(UTC).isoformat()
