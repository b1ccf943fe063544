"""The leak scanner: every reader walks every readable field of the schema, and no string of
any answer may hold the id, title or document number of an item that reader may not read, nor
the id or title of a keypoint of one (D-10).

The documents come from the schema itself: each root query field (each must have a plan in
PLAN, so a new one cannot go unscanned) is asked about every id of its kind in the world,
hidden ones included, with every field below it selected, through unions and interfaces, to
MAX_DEPTH; forms are read back as HTML, CSV and PDF text, exports in every format. What a
reader may legitimately read (its own items' texts) is never a secret to it: a value shared
by a readable and a hidden item is not looked for.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_schema,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from openpyxl import load_workbook
from pdfminer.high_level import extract_text

from graph.access import Actor
from graph.store.base import GraphReader, GraphStore, ItemQuery, NoticeQuery
from service.api.schema import schema as code_schema

MAX_DEPTH = 6  # a notice's item's records' citations are five fields down
PER_REQUEST = 6  # root fields aliased into one request (within the validation budget)

SDL: GraphQLSchema = build_schema(code_schema.as_str())


@dataclass(frozen=True)
class World:
    """The ids of each kind in a store, hidden ones included."""

    items: list[str]
    keypoints: list[str]
    records: list[str]
    notices: list[str]
    changes: list[str]
    proposals: list[str]
    organisations: list[str]
    rules: list[str]
    grants: list[str]
    users: list[str]


def world_of(store: GraphStore) -> World:
    def work(tx: GraphReader) -> World:
        items = [i.id for i in tx.find_items(ItemQuery(limit=5000))]
        notices = tx.find_notices(NoticeQuery(limit=None))
        return World(
            items=items,
            keypoints=[k.id for k in tx.keypoints_of(items)],
            records=[r.id for r in tx.records_of(items)],
            notices=[n.id for n in notices],
            changes=[c.id for c in tx.changes_of(items)],
            proposals=[p.id for p in tx.proposals_of(items)],
            organisations=[o.id for o in tx.all_organisations()],
            rules=[r.id for r in tx.all_scope_rules()],
            grants=[g.id for g in tx.find_grants()],
            users=[u.id for u in tx.all_users()],
        )

    return store.read(work)


def secrets_for(store: GraphStore, actor: Actor) -> set[str]:
    """What `actor` may not be shown: the ids, titles and document numbers of the items it
    may not read, the ids and titles of their keypoints; less what it may read elsewhere."""

    def work(tx: GraphReader) -> set[str]:
        items = tx.find_items(ItemQuery(limit=5000))
        keypoints = tx.keypoints_of([i.id for i in items])
        readable = {i.id for i in items if actor.can_read(i)}
        hidden: set[str] = set()
        allowed: list[str] = []
        for item in items:
            values = [item.id, item.title, item.document_number]
            if item.id in readable:
                allowed.extend(values)
            else:
                hidden.update(values)
        for keypoint in keypoints:
            values = [keypoint.id, keypoint.title]
            if keypoint.item_id in readable:
                allowed.extend(values)
            else:
                hidden.update(values)
        # What the reader may read anyway: names of organisations and persons, rules.
        allowed += [o.name for o in tx.all_organisations()]
        allowed += [p.name for p in tx.all_persons()]
        allowed += [f"{r.document}：{r.title}" for r in tx.all_scope_rules()]
        return {s for s in hidden if len(s.strip()) >= 2 and not any(s in text for text in allowed)}

    return store.read(work)


# How each root query field is asked: the kinds of ids it takes and the arguments made of
# one id (or none). Every root field of the schema must be here.
Ask = Callable[[World], Iterable[dict[str, Any]]]


def _each(kind: str, make: Callable[[str], dict[str, Any]]) -> Ask:
    return lambda world: [make(i) for i in getattr(world, kind)]


def _once(**arguments: Any) -> Ask:
    return lambda world: [arguments]


FORMATS = ("GRAPHML", "DOT", "MERMAID", "JSON")
PREVIEW = {"handlerId": "p-zhang-wei", "basis": "扫描。"}
PLAN: dict[str, Ask] = {
    "item": _each("items", lambda i: {"id": i}),
    "items": lambda w: [{"first": 500}, *({"filter": {"text": t}} for t in w.items[:20])],
    "keypoint": _each("keypoints", lambda i: {"id": i}),
    "scopeRule": _each("rules", lambda i: {"id": i}),
    "organisation": _each("organisations", lambda i: {"id": i}),
    "lineage": _each("items", lambda i: {"id": i}),
    "lineageGraph": _each("items", lambda i: {"id": i}),
    "lineageExport": lambda w: [{"id": i, "format": f} for i in w.items for f in FORMATS],
    "impactAnalysis": lambda w: [
        *({"change": {"itemId": i, "declassify": True}} for i in w.items),
        *({"change": {"itemId": i, "level": "CONFIDENTIAL"}} for i in w.items),
    ],
    # Previews with the ministry's handler: its official gets placeholders, others refusals.
    "changeImpact": lambda w: [
        {"input": {"itemId": i, "level": "CONFIDENTIAL", **PREVIEW}} for i in w.items
    ],
    "declassifyImpact": lambda w: [
        {"input": {"itemId": i, "reason": "CIRCUMSTANCES_CHANGED", **PREVIEW}} for i in w.items
    ],
    # With the county's handler: its official previews what its notices pass on.
    # A correction previewed against every item, with a few parents each (a cycle's path
    # included: it names items by what the reader sees).
    "addBasisImpact": lambda w: [
        {
            "input": {
                "itemId": i,
                "parentId": p,
                "case": "SUMMARY",
                "reason": "扫描。",
                "handlerId": "p-zhang-wei",
            }
        }
        for i in w.items
        for p in w.items[:3]
    ],
    "removeBasisImpact": lambda w: [
        {"input": {"itemId": i, "parentId": p, "reason": "扫描。", "handlerId": "p-zhang-wei"}}
        for i in w.items
        for p in w.items[:3]
    ],
    "applyNoticeImpact": _each(
        "notices", lambda i: {"input": {"noticeId": i, "handlerId": "p-zhao-min"}}
    ),
    "notices": lambda w: [
        {"first": 500},
        *({"filter": {"itemId": i}} for i in w.items),
        *({"filter": {"sourceId": i}} for i in w.items),
    ],
    "notice": _each("notices", lambda i: {"id": i}),
    "change": _each("changes", lambda i: {"id": i}),
    "proposals": lambda w: [{"first": 500}, *({"itemId": i} for i in w.items)],
    "dueForReview": _once(withinDays=3660, first=500),
    # Far enough ahead for every period marked to have ended; and per organisation.
    "expiryPreview": lambda w: [
        {"asOf": "2100-01-01"},
        *({"asOf": "2100-01-01", "organisationId": o} for o in w.organisations[:3]),
    ],
    "me": _once(),
    "auditTrail": _once(first=500),
    "auditFindings": lambda w: [{"first": 500}, *({"filter": {"itemId": i}} for i in w.items)],
    "reminders": _once(withinDays=3660),
    "reminderGroups": _once(withinDays=3660, first=500),
    "declassifiedCatalogue": _once(since="2000-01-01", until="2100-01-01"),
    "annualStatistics": _once(year=2024),
    "reviewForm": _each("records", lambda i: {"recordIds": [i]}),
    "recordForm": _each("records", lambda i: {"recordId": i}),
    "pendingGrants": _once(),
    "grantsToDecide": _once(first=500),
    "registerSheet": lambda w: [{}, *({"organisationId": o} for o in w.organisations)],
    "grant": _each("grants", lambda i: {"id": i}),
    # Pick lists: no item's content in any, whatever words a filter holds.
    "organisations": lambda w: [{"first": 500}, *({"filter": {"text": t}} for t in w.items[:5])],
    "persons": _once(first=500),
    "decisionMakers": lambda w: [{"role": "HANDLER", "first": 500}, {"role": "OFFICIAL"}],
    "users": _once(first=500),
    "roles": _once(),
    "scopeRules": lambda w: [{"first": 500}, *({"filter": {"text": t}} for t in w.items[:5])],
    "user": _each("users", lambda i: {"id": i}),
}


def selection(named: GraphQLNamedType, depth: int = 1, path: tuple[str, ...] = ()) -> str:
    """Every field of `named` and below it, to MAX_DEPTH; a type at most twice on a path."""
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        kinds = (
            named.types if isinstance(named, GraphQLUnionType) else SDL.get_possible_types(named)
        )
        parts = [f"... on {k.name} {{ {selection(k, depth, path)} }}" for k in kinds]
        return "__typename " + " ".join(parts)
    assert isinstance(named, GraphQLObjectType), named
    parts = ["__typename"]
    for name, field_ in named.fields.items():
        if _needs_arguments(field_):
            continue
        inner = get_named_type(field_.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif depth < MAX_DEPTH and path.count(inner.name) < 2:
            below = selection(inner, depth + 1, (*path, inner.name))
            parts.append(f"{name} {{ {below} }}")
    return " ".join(parts)


def _needs_arguments(field_: GraphQLField) -> bool:
    return any(
        is_non_null_type(a.type) and a.default_value is Undefined for a in field_.args.values()
    )


# Alias of a root field -> the field, and the values its arguments hold.
Asked = dict[str, tuple[str, set[str]]]


def documents(world: World) -> Iterator[tuple[str, dict[str, Any], Asked]]:
    """Requests asking every root field about every id of its kind, PER_REQUEST at a time,
    and what each aliased field was given (a refusal may name what it was asked)."""
    query = SDL.query_type
    assert query is not None
    asked: list[tuple[str, str, dict[str, Any]]] = []
    for name, field_ in query.fields.items():
        inner = get_named_type(field_.type)
        below = selection(inner, 1, (inner.name,))
        for arguments in PLAN[name](world):
            asked.append((name, "{ " + below + " }" if below else "", arguments))
    for start in range(0, len(asked), PER_REQUEST):
        chunk = asked[start : start + PER_REQUEST]
        variables: dict[str, Any] = {}
        definitions: list[str] = []
        fields: list[str] = []
        given_by: Asked = {}
        for n, (name, below, arguments) in enumerate(chunk):
            given_by[f"a{n}"] = (name, set(strings(arguments)))
            given = []
            root = query.fields[name]
            for argument, value in arguments.items():
                variable = f"v{n}_{argument}"
                variables[variable] = value
                definitions.append(f"${variable}: {root.args[argument].type}")
                given.append(f"{argument}: ${variable}")
            args = f"({', '.join(given)})" if given else ""
            fields.append(f"a{n}: {name}{args} {below}")
        head = f"query({', '.join(definitions)})" if definitions else "query"
        yield f"{head} {{ {' '.join(fields)} }}", variables, given_by


def strings(value: Any) -> Iterator[str]:
    """Every string of an answer; a form's PDF as the text it prints, a workbook as the
    text of its cells."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "pdf" and isinstance(inner, str):
                yield _pdf_text(inner)
            elif key == "xlsx" and isinstance(inner, str):
                yield _xlsx_text(inner)
            else:
                yield from strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from strings(inner)


def _xlsx_text(encoded: str) -> str:
    """Every cell of every sheet of a workbook, a line each."""
    book = load_workbook(io.BytesIO(base64.b64decode(encoded)), read_only=True)
    try:
        return "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    finally:
        book.close()


def _pdf_text(encoded: str) -> str:
    text = extract_text(io.BytesIO(base64.b64decode(encoded)))
    return "".join(text.split()) + "\n" + text


@dataclass
class Leaks:
    """What a scan found: (reader, the secret, where) for each leak."""

    found: list[tuple[str, str, str]] = field(default_factory=list)
    answers: int = 0

    def check(
        self, reader: str, secrets: set[str], answer: Any, where: str, given: set[str]
    ) -> None:
        """`answer` holds none of `secrets` but what the reader gave itself (an id it asked
        about may come back in its refusal)."""
        self.answers += 1
        echoed = sorted(given, key=len, reverse=True)
        for text in strings(answer):
            for value in echoed:
                text = text.replace(value, "⟨given⟩")
            for secret in secrets:
                if secret in text:
                    self.found.append((reader, secret, f"{where}: …{_around(text, secret)}…"))

    def check_aliased(
        self, reader: str, secrets: set[str], body: Any, where: str, given_by: Asked
    ) -> None:
        """A request of aliased root fields, each field's answer and errors against what
        that field was given."""
        data = body.get("data") or {}
        for alias, (name, given) in given_by.items():
            errors = [e for e in body.get("errors", ()) if (e.get("path") or [None])[0] == alias]
            self.check(reader, secrets, [data.get(alias), errors], f"{name} {sorted(given)}", given)
        unplaced = [
            e for e in body.get("errors", ()) if (e.get("path") or [None])[0] not in given_by
        ]
        self.check(reader, secrets, unplaced, where, set())


def _around(text: str, secret: str) -> str:
    at = text.index(secret)
    return text[max(0, at - 40) : at + len(secret) + 40]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
