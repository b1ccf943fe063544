"""Flat fields for graph values, shared by every store: SQLite columns and Neo4j properties
hold the same names and the same plain values (ISO dates, enum names, JSON text)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from json.encoder import encode_basestring as _string
from typing import Any, Protocol, TypeVar

from graph import phrase
from graph.access import Role, Token, User, readers
from graph.change import Change, ChangeKind, DeclassificationReason, Notice, NoticeStatus, Proposal
from graph.errors import InvalidValue
from graph.grant import Grant, GrantKind, GrantStatus
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
from graph.phrase import Phrase
from graph.propagation import Action
from graph.trail import AuditEvent, Outcome

T = TypeVar("T")


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


# The fields that updates replace (graph.store.base: update_items, update_keypoints,
# update_notices); every other field of a node stays as written.
ITEM_STATE = (
    "version",
    "status",
    *CLASSIFICATION_FIELDS,
    "scope",
    "scope_limit",
    "expires_on",
    "readers",
)
KEYPOINT_STATE = (*CLASSIFICATION_FIELDS, "declassified", "expires_on")
NOTICE_STATE = (
    "status",
    "updated_at",
    "acted_by",
    "record_id",
    "superseded_by",
    "proposal_id",
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
    return _classification(
        fields["level"],
        fields["period_kind"],
        fields["period_years"],
        fields["period_start"],
        fields["period_until"],
        fields["period_condition"],
    )


# Decoded values are frozen, and a large graph repeats few of them: equal stored fields give
# one shared value, which is faster to read and lets the fan-out recognise equal bases by
# identity (graph.propagation).
@lru_cache(maxsize=1 << 16)
def _classification(
    level: str,
    kind: str,
    years: int | None,
    start: str | None,
    until: str | None,
    condition: str | None,
) -> Classification:
    match PeriodKind(kind):
        case PeriodKind.YEARS:
            period: Period = Years(int(years or 0), date.fromisoformat(start or ""))
        case PeriodKind.UNTIL_DATE:
            period = UntilDate(date.fromisoformat(until or ""))
        case PeriodKind.UNTIL_CONDITION:
            period = UntilCondition(str(condition))
        case PeriodKind.LONG_TERM:
            period = LongTerm()
        case PeriodKind.UNMARKED:
            period = Unmarked(date.fromisoformat(start or ""))
    return Classification(Level(level), period)


# Most items of a unit share a handful of scopes; an import writes a million of them.
@lru_cache(maxsize=1 << 16)
def scope_json(scope: KnowledgeScope) -> str:
    return json.dumps(
        {"persons": sorted(scope.persons), "organisations": sorted(scope.organisations)},
        ensure_ascii=False,
    )


@lru_cache(maxsize=1 << 16)
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


def phrase_json(value: Phrase) -> str:
    """A text that names items by reference (graph.phrase), as JSON text."""
    return json.dumps(phrase.encode(value), ensure_ascii=False)


def phrase_from(text: str) -> Phrase:
    """Stores hold phrases only: a store written before them is migrated when it is opened
    (its texts named other items as words, and must not be read as they were)."""
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidValue("text", "存储中的文本不是引用格式：请先迁移该存储。") from None
    return phrase.decode(value)


def timestamp(value: datetime) -> str:
    """ISO text in UTC with microseconds always written, so that text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# Whole nodes. Every store keeps a node of each kind under these field names, so the same
# functions write and read them; a store that leaves nulls out reads them back as None.


def organisation_fields(value: Organisation) -> dict[str, Any]:
    return {
        "id": value.id,
        "name": value.name,
        "authority": value.authority.value if value.authority else None,
        "superior_id": value.superior_id,
        "successor_id": value.successor_id,
    }


def organisation_from(fields: Fields) -> Organisation:
    authority = Level(fields["authority"]) if fields["authority"] else None
    return Organisation(
        fields["id"], fields["name"], authority, fields["superior_id"], fields["successor_id"]
    )


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
        "joint_organisation_ids": json.dumps(sorted(value.joint_organisation_ids)),
        # Derived from the classification, kept so that expiry and reminders
        # find what ends by a date through an index; read back by no one.
        "expires_on": _expires_on(value.classification, value.is_classified),
        # The knowledge scope as one searchable text, so that a list query returns only what
        # its reader may read (graph.access.readers); read back by no one.
        "readers": readers(value.scope),
        "version": value.version,
    }


def _expires_on(classification: Classification | None, classified: bool) -> str | None:
    expiry = classification.expiry if classification is not None and classified else None
    return None if expiry is None else expiry.isoformat()


_KINDS = {k.value: k for k in ItemKind}
_STATUSES = {s.value: s for s in ItemStatus}
_NO_ORGANISATIONS: frozenset[str] = frozenset()


def item_from(fields: Fields) -> Item:
    # Read for every item of a large lineage: enums by dict, the common empty list unparsed.
    joint = fields["joint_organisation_ids"]
    return Item(
        id=fields["id"],
        kind=_KINDS[fields["kind"]],
        title=fields["title"],
        document_number=fields["document_number"] or "",
        organisation_id=fields["organisation_id"],
        issued_on=date.fromisoformat(fields["issued_on"]),
        status=_STATUSES[fields["status"]],
        classification=classification_from(fields),
        scope=scope_of(fields["scope"]),
        scope_limit=limit_of(fields["scope_limit"]),
        joint_organisation_ids=(
            frozenset(json.loads(joint)) if joint and joint != "[]" else _NO_ORGANISATIONS
        ),
        # None in what was written before items had versions: their first.
        version=fields["version"] or 1,
    )


def keypoint_fields(value: Keypoint) -> dict[str, Any]:
    return {
        "id": value.id,
        "item_id": value.item_id,
        "title": value.title,
        **classification_fields(value.classification),
        "declassified": value.declassified,
        "expires_on": _expires_on(value.classification, not value.declassified),
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
        "summary": phrase_json(value.summary),
        "articles": json.dumps(list(value.articles)),
        "effective_on": value.effective_on.isoformat() if value.effective_on else None,
        "reasoning": value.reasoning,
        "consultation": value.consultation,
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
        summary=phrase_from(fields["summary"]),
        articles=tuple(json.loads(fields["articles"])),
        effective_on=date_or_none(fields["effective_on"]),
        reasoning=fields["reasoning"],
        consultation=fields["consultation"],
    )


def date_or_none(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _ids_json(ids: Iterable[str]) -> str:
    return json.dumps(list(ids), ensure_ascii=False)


def _snapshot(value: Item) -> str:
    return json.dumps(item_fields(value), ensure_ascii=False)


# A snapshot's fields (item_fields) fall in three runs: the item's own (its id to its date),
# its state (status to readers, what a change changes) and its version. A notice holds two
# snapshots of its item, before and after, which share the first run; notices written in
# bulk share the second among the many items that hold the same values (service.notice_rows).
_SNAPSHOT_OWN = ("id", "kind", "title", "document_number", "organisation_id", "issued_on")


def snapshot_own(value: Item) -> str:
    """The first run of `value`'s snapshot, as `snapshot_joined` takes it."""
    # As json.dumps writes the dict of these fields (its strings by its own encoder), without
    # building it: it is written for every notice of a fan-out.
    return (
        f'{{"id": {_string(value.id)}, "kind": {_string(value.kind.value)}, '
        f'"title": {_string(value.title)}, '
        f'"document_number": {_string(value.document_number)}, '
        f'"organisation_id": {_string(value.organisation_id)}, '
        f'"issued_on": "{value.issued_on.isoformat()}"'
    )


def snapshot_state(value: Item) -> str:
    """The second run of `value`'s snapshot, as `snapshot_joined` takes it."""
    fields = item_fields(value)
    state = {k: v for k, v in fields.items() if k not in _SNAPSHOT_OWN and k != "version"}
    return json.dumps(state, ensure_ascii=False)[1:-1]


def snapshot_joined(own: str, state: str, version: int) -> str:
    """The snapshot of an item (as `notice_fields` writes it) from its runs: the same text."""
    return f'{own}, {state}, "version": {version:d}}}'


def _snapshot_from(text: str) -> Item:
    return item_from(Defaults(json.loads(text)))


def _keypoints_json(values: tuple[Keypoint, ...]) -> str:
    return json.dumps([keypoint_fields(k) for k in values], ensure_ascii=False)


def _keypoints_from(text: str) -> tuple[Keypoint, ...]:
    return tuple(keypoint_from(Defaults(entry)) for entry in json.loads(text))


class Defaults(dict[str, Any]):
    """Fields where an absent one reads as None: a Neo4j node (Neo4j stores no nulls), or a
    snapshot or export line written by an earlier version."""

    def __missing__(self, key: str) -> None:
        return None


def change_fields(value: Change) -> dict[str, Any]:
    return {
        "id": value.id,
        "kind": value.kind.value,
        "item_id": value.item_id,
        "before": _snapshot(value.before),
        "after": _snapshot(value.after),
        "keypoints_before": _keypoints_json(value.keypoints_before),
        "keypoints_after": _keypoints_json(value.keypoints_after),
        "reason": value.reason.value if value.reason else None,
        "basis": value.basis,
        "handler_id": value.handler_id,
        "official_id": value.official_id,
        "decided_on": value.decided_on.isoformat(),
        "effective_on": value.effective_on.isoformat(),
        "recorded_at": timestamp(value.recorded_at),
        "summary": value.summary,
        "articles": _ids_json(value.articles),
        "approval_reference": value.approval_reference,
        "consulted_organisation_ids": _ids_json(value.consulted_organisation_ids),
        "record_id": value.record_id,
        "consultation": value.consultation,
    }


def change_from(fields: Fields) -> Change:
    return Change(
        id=fields["id"],
        kind=ChangeKind(fields["kind"]),
        item_id=fields["item_id"],
        before=_snapshot_from(fields["before"]),
        after=_snapshot_from(fields["after"]),
        keypoints_before=_keypoints_from(fields["keypoints_before"]),
        keypoints_after=_keypoints_from(fields["keypoints_after"]),
        reason=DeclassificationReason(fields["reason"]) if fields["reason"] else None,
        basis=fields["basis"],
        handler_id=fields["handler_id"],
        official_id=fields["official_id"],
        decided_on=date.fromisoformat(fields["decided_on"]),
        effective_on=date.fromisoformat(fields["effective_on"]),
        recorded_at=datetime.fromisoformat(fields["recorded_at"]),
        summary=fields["summary"],
        articles=tuple(json.loads(fields["articles"])),
        approval_reference=fields["approval_reference"],
        consulted_organisation_ids=tuple(json.loads(fields["consulted_organisation_ids"])),
        record_id=fields["record_id"],
        consultation=fields["consultation"],
    )


def notice_fields(value: Notice) -> dict[str, Any]:
    return {
        "id": value.id,
        "change_id": value.change_id,
        "source_id": value.source_id,
        "item_id": value.item_id,
        "organisation_id": value.organisation_id,
        "actions": _ids_json(a.value for a in value.actions),
        "before": _snapshot(value.before),
        "after": _snapshot(value.after),
        "path": _ids_json(value.path),
        "articles": _ids_json(value.articles),
        "kept_bases": _ids_json(value.kept_bases),
        "text": phrase_json(value.text),
        "due_on": value.due_on.isoformat(),
        "status": value.status.value,
        "created_at": timestamp(value.created_at),
        "updated_at": timestamp(value.updated_at),
        "acted_by": value.acted_by,
        "record_id": value.record_id,
        "superseded_by": value.superseded_by,
        "proposal_id": value.proposal_id,
    }


def notice_state(value: Notice) -> dict[str, Any]:
    """A notice's id and the fields an update replaces (NOTICE_STATE), as `notice_fields`
    gives them: a change that supersedes 100,000 notices encodes no snapshot or text."""
    return {
        "id": value.id,
        "status": value.status.value,
        "updated_at": timestamp(value.updated_at),
        "acted_by": value.acted_by,
        "record_id": value.record_id,
        "superseded_by": value.superseded_by,
        "proposal_id": value.proposal_id,
    }


# The columns of a notice, in the order of `notice_fields` (a row written in bulk).
NOTICE_COLUMNS = (
    "id",
    "change_id",
    "source_id",
    "item_id",
    "organisation_id",
    "actions",
    "before",
    "after",
    "path",
    "articles",
    "kept_bases",
    "text",
    "due_on",
    "status",
    "created_at",
    "updated_at",
    "acted_by",
    "record_id",
    "superseded_by",
    "proposal_id",
)


# Notices written in bulk go in batches of this many rows: a statement and its checks each
# cost one round for thousands of rows, and a batch's strings stay a few megabytes.
NOTICE_BATCH = 5000


def batched(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    """`rows` in lists of `size`, the last shorter (itertools.batched, Python 3.12)."""
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def notice_from(fields: Fields) -> Notice:
    return Notice(
        id=fields["id"],
        change_id=fields["change_id"],
        source_id=fields["source_id"],
        item_id=fields["item_id"],
        organisation_id=fields["organisation_id"],
        actions=tuple(Action(a) for a in json.loads(fields["actions"])),
        before=_snapshot_from(fields["before"]),
        after=_snapshot_from(fields["after"]),
        path=tuple(json.loads(fields["path"])),
        articles=tuple(json.loads(fields["articles"])),
        kept_bases=tuple(json.loads(fields["kept_bases"])),
        text=phrase_from(fields["text"]),
        due_on=date.fromisoformat(fields["due_on"]),
        status=NoticeStatus(fields["status"]),
        created_at=datetime.fromisoformat(fields["created_at"]),
        updated_at=datetime.fromisoformat(fields["updated_at"]),
        acted_by=fields["acted_by"],
        record_id=fields["record_id"],
        superseded_by=fields["superseded_by"],
        proposal_id=fields["proposal_id"],
    )


def proposal_fields(value: Proposal) -> dict[str, Any]:
    return {
        "id": value.id,
        "item_id": value.item_id,
        "proposer_id": value.proposer_id,
        "organisation_id": value.organisation_id,
        "text": value.text,
        "created_at": timestamp(value.created_at),
        "notice_id": value.notice_id,
    }


def proposal_from(fields: Fields) -> Proposal:
    return Proposal(
        id=fields["id"],
        item_id=fields["item_id"],
        proposer_id=fields["proposer_id"],
        organisation_id=fields["organisation_id"],
        text=fields["text"],
        created_at=datetime.fromisoformat(fields["created_at"]),
        notice_id=fields["notice_id"],
    )


_CASES = {case.value: case for case in BasisCase}


def item_row(
    id: str,
    kind: str,
    status: str,
    organisation_id: str,
    level: str | None,
    period_kind: str | None,
    period_years: int | None,
    period_start: str | None,
    period_until: str | None,
    period_condition: str | None,
    scope: str,
    scope_limit: str | None,
) -> tuple[
    str, ItemKind, ItemStatus, str, Classification | None, KnowledgeScope, KnowledgeScope | None
]:
    """What the graph index (graph.index.ItemRow) keeps of an item, from its stored fields in
    this order; equal values decoded once and shared."""
    classification = None
    if level is not None:
        classification = _classification(
            level, str(period_kind), period_years, period_start, period_until, period_condition
        )
    return (
        id,
        _KINDS[kind],
        _STATUSES[status],
        organisation_id,
        classification,
        scope_of(scope),
        limit_of(scope_limit),
    )


# The columns item_row reads, in its order.
ITEM_ROW_FIELDS = (
    "id",
    "kind",
    "status",
    "organisation_id",
    *CLASSIFICATION_FIELDS,
    "scope",
    "scope_limit",
)


def edge_row(
    child: str, parent: str, basis: str, keypoint_ids: str
) -> tuple[str, str, BasisCase, tuple[str, ...]]:
    """What the graph index (graph.index.EdgeRow) keeps of a DERIVED_FROM edge."""
    return (child, parent, _CASES[basis], _keypoint_ids(keypoint_ids))


@lru_cache(maxsize=1 << 16)
def _keypoint_ids(text: str) -> tuple[str, ...]:
    return () if text == "[]" else tuple(json.loads(text))


def derivation(child: str, parent: str, basis: str, keypoint_ids: str) -> Derivation:
    """A DERIVED_FROM edge from its stored fields; the hot path of every traversal, so the
    common empty keypoint list is not parsed."""
    keypoints = () if keypoint_ids == "[]" else tuple(json.loads(keypoint_ids))
    return Derivation(child, parent, _CASES[basis], keypoints)


def user_fields(value: User) -> dict[str, Any]:
    return {
        "id": value.id,
        "name": value.name,
        "person_id": value.person_id,
        "roles": _ids_json(sorted(r.value for r in value.roles)),
        "supervises": _ids_json(sorted(value.supervises)),
        "created_at": timestamp(value.created_at),
        "revoked_at": None if value.revoked_at is None else timestamp(value.revoked_at),
    }


def user_from(fields: Fields) -> User:
    return User(
        id=fields["id"],
        name=fields["name"],
        person_id=fields["person_id"],
        roles=frozenset(Role(r) for r in json.loads(fields["roles"])),
        supervises=frozenset(json.loads(fields["supervises"])),
        created_at=datetime.fromisoformat(fields["created_at"]),
        revoked_at=_time_or_none(fields["revoked_at"]),
    )


def token_fields(value: Token) -> dict[str, Any]:
    return {
        "id": value.id,
        "user_id": value.user_id,
        "digest": value.digest,
        "label": value.label,
        "created_at": timestamp(value.created_at),
        "expires_at": None if value.expires_at is None else timestamp(value.expires_at),
        "revoked_at": None if value.revoked_at is None else timestamp(value.revoked_at),
    }


def token_from(fields: Fields) -> Token:
    return Token(
        id=fields["id"],
        user_id=fields["user_id"],
        digest=fields["digest"],
        label=fields["label"] or "",
        created_at=datetime.fromisoformat(fields["created_at"]),
        expires_at=_time_or_none(fields["expires_at"]),
        revoked_at=_time_or_none(fields["revoked_at"]),
    )


# The fields a decision on a request replaces (GraphWriter.update_grant).
GRANT_STATE = ("status", "decided_by", "decided_at", "reason")


def grant_fields(value: Grant) -> dict[str, Any]:
    return {
        "id": value.id,
        "kind": value.kind.value,
        "requested_by": value.requested_by,
        "requested_at": timestamp(value.requested_at),
        "organisation_id": value.organisation_id,
        "target_id": value.target_id,
        "user_id": value.user_id,
        "supervises": _ids_json(sorted(value.supervises)),
        "status": value.status.value,
        "decided_by": value.decided_by,
        "decided_at": None if value.decided_at is None else timestamp(value.decided_at),
        "reason": value.reason,
    }


def grant_from(fields: Fields) -> Grant:
    return Grant(
        id=fields["id"],
        kind=GrantKind(fields["kind"]),
        requested_by=fields["requested_by"],
        requested_at=datetime.fromisoformat(fields["requested_at"]),
        organisation_id=fields["organisation_id"],
        target_id=fields["target_id"],
        user_id=fields["user_id"],
        supervises=frozenset(json.loads(fields["supervises"])),
        status=GrantStatus(fields["status"]),
        decided_by=fields["decided_by"],
        decided_at=_time_or_none(fields["decided_at"]),
        reason=fields["reason"] or "",
    )


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# The ids of an event's items as one searchable text, like `readers`: `|S-1|D-2|`.
def bar_list(ids: Iterable[str]) -> str:
    joined = "|".join(ids)
    return f"|{joined}|" if joined else ""


def bar_list_from(text: str | None) -> tuple[str, ...]:
    return tuple(text.strip("|").split("|")) if text else ()


def audit_fields(value: AuditEvent) -> dict[str, Any]:
    return {
        "id": value.id,
        "at": timestamp(value.at),
        "action": value.action,
        "outcome": value.outcome.value,
        "user_id": value.user_id,
        "person_id": value.person_id,
        "organisation_id": value.organisation_id,
        "address": value.address,
        "items": bar_list(value.items),
        "detail": value.detail,
        "asked": bar_list(value.asked),
        "request_id": value.request_id,
    }


def audit_from(fields: Fields) -> AuditEvent:
    return AuditEvent(
        id=fields["id"],
        at=datetime.fromisoformat(fields["at"]),
        action=fields["action"],
        outcome=Outcome(fields["outcome"]),
        user_id=fields["user_id"],
        person_id=fields["person_id"],
        organisation_id=fields["organisation_id"],
        address=fields["address"] or "",
        items=bar_list_from(fields["items"]),
        detail=fields["detail"] or "",
        asked=bar_list_from(fields["asked"]),
        request_id=fields["request_id"] or "",
    )
