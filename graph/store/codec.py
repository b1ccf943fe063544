"""Flat fields for graph values, shared by every store: SQLite columns and Neo4j properties
hold the same names and the same plain values (ISO dates, enum names, JSON text)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Protocol

from graph.model import (
    BasisCase,
    BasisCitation,
    Classification,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    Period,
    PeriodKind,
    Person,
    RecordKind,
    ScopeRule,
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


# Whole nodes. Every store keeps a node of each kind under these field names, so the same
# functions write and read them; a store that leaves nulls out reads them back as None.


def organisation_fields(value: Organisation) -> dict[str, Any]:
    return {
        "id": value.id,
        "name": value.name,
        "authority": value.authority.value if value.authority else None,
    }


def organisation_from(fields: Fields) -> Organisation:
    authority = Level(fields["authority"]) if fields["authority"] else None
    return Organisation(fields["id"], fields["name"], authority)


def person_fields(value: Person) -> dict[str, Any]:
    return {"id": value.id, "name": value.name, "organisation_id": value.organisation_id}


def person_from(fields: Fields) -> Person:
    return Person(fields["id"], fields["name"], fields["organisation_id"])


def scope_rule_fields(value: ScopeRule) -> dict[str, Any]:
    return {
        "id": value.id,
        "title": value.title,
        "document": value.document,
        "level": value.level.value,
        "years": value.years,
        "long_term": value.long_term,
        "issuer": value.issuer,
    }


def scope_rule_from(fields: Fields) -> ScopeRule:
    return ScopeRule(
        fields["id"],
        fields["title"],
        fields["document"],
        Level(fields["level"]),
        fields["years"],
        bool(fields["long_term"]),
        fields["issuer"] or "",
    )


def item_fields(value: Item) -> dict[str, Any]:
    return {
        "id": value.id,
        "kind": value.kind.value,
        "title": value.title,
        "document_number": value.document_number,
        "organisation_id": value.organisation_id,
        "issued_on": value.issued_on.isoformat(),
        "status": value.status.value,
        **classification_fields(value.classification),
        "scope": scope_json(value.scope),
        "scope_limit": None if value.scope_limit is None else scope_json(value.scope_limit),
    }


def item_from(fields: Fields) -> Item:
    return Item(
        id=fields["id"],
        kind=ItemKind(fields["kind"]),
        title=fields["title"],
        document_number=fields["document_number"] or "",
        organisation_id=fields["organisation_id"],
        issued_on=date.fromisoformat(fields["issued_on"]),
        status=ItemStatus(fields["status"]),
        classification=classification_from(fields),
        scope=scope_of(fields["scope"]),
        scope_limit=limit_of(fields["scope_limit"]),
    )


def keypoint_fields(value: Keypoint) -> dict[str, Any]:
    return {
        "id": value.id,
        "item_id": value.item_id,
        "title": value.title,
        **classification_fields(value.classification),
        "declassified": value.declassified,
    }


def keypoint_from(fields: Fields) -> Keypoint:
    classification = classification_from(fields)
    if classification is None:
        raise ValueError(f"keypoint {fields['id']} has no level")
    return Keypoint(
        fields["id"],
        fields["item_id"],
        fields["title"],
        classification,
        bool(fields["declassified"]),
    )


def record_fields(value: DecisionRecord) -> dict[str, Any]:
    return {
        "id": value.id,
        "item_id": value.item_id,
        "kind": value.kind.value,
        "handler_id": value.handler_id,
        "official_id": value.official_id,
        "decided_on": value.decided_on.isoformat(),
        "recorded_at": timestamp(value.recorded_at),
        "status": value.status.value,
        **classification_fields(value.classification),
        "scope": scope_json(value.scope),
        "bases": citations_json(value.bases),
        "summary": value.summary,
        "articles": json.dumps(list(value.articles)),
    }


def record_from(fields: Fields) -> DecisionRecord:
    return DecisionRecord(
        id=fields["id"],
        item_id=fields["item_id"],
        kind=RecordKind(fields["kind"]),
        handler_id=fields["handler_id"],
        official_id=fields["official_id"],
        decided_on=date.fromisoformat(fields["decided_on"]),
        recorded_at=datetime.fromisoformat(fields["recorded_at"]),
        status=ItemStatus(fields["status"]),
        classification=classification_from(fields),
        scope=scope_of(fields["scope"]),
        bases=citations_from(fields["bases"]),
        summary=fields["summary"],
        articles=tuple(json.loads(fields["articles"])),
    )


_CASES = {case.value: case for case in BasisCase}


def derivation(child: str, parent: str, basis: str, keypoint_ids: str) -> Derivation:
    """A DERIVED_FROM edge from its stored fields; the hot path of every traversal, so the
    common empty keypoint list is not parsed."""
    keypoints = () if keypoint_ids == "[]" else tuple(json.loads(keypoint_ids))
    return Derivation(child, parent, _CASES[basis], keypoints)
