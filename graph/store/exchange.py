"""The exchange format of `lineage export` / `lineage import`: JSON Lines, one object a line,
each with a `kind`. The first line is a header naming the format and its version; nodes
come before the edges that name them, so a stream can be imported in one pass.

Later features add kinds to the same format; a reader refuses kinds it does not know, so
nothing is silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from graph import phrase
from graph.change import Change, Notice, Proposal
from graph.errors import InvalidValue
from graph.model import (
    BasisCase,
    BasisCitation,
    Citation,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Organisation,
    Person,
    RecordKind,
    ScopeRule,
)
from graph.store import legacy
from graph.store.codec import (
    Defaults,
    change_fields,
    change_from,
    classification_fields,
    classification_from,
    date_or_none,
    notice_fields,
    notice_from,
    phrase_json,
    proposal_fields,
    proposal_from,
    timestamp,
)

FORMAT = "lineage-export"
# 2 adds changes, notices and proposals (written with the store's own field names, JSON
# text fields as strings), organisations' superiors and successors as link lines, joint
# organisations of items, and records' effective dates. 3 adds items' versions (optimistic
# concurrency, graph.model.Item.version); an item of an earlier file is at its first. 4 writes
# notices' texts and records' summaries as phrases (graph.phrase), which name other items by
# reference only; an earlier file's texts are brought to phrases as they are read (Legacy).
# 5 adds `cites` lines: an item cited by another that takes none of its content (D-14), an
# edge of its own kind; an earlier file has none. Every earlier version still reads.
VERSION = 5
READABLE = (1, 2, 3, 4, 5)
PHRASED = 4  # the first version whose texts are phrases


@dataclass
class Legacy:
    """What reading a file of a version before PHRASED needs: the names of its items (id,
    title, document number), and what the notice that each record applied names."""

    names: dict[str, legacy.Named] = field(default_factory=dict)
    applied: dict[str, list[str]] = field(default_factory=dict)

    def learn(self, line: Mapping[str, Any]) -> None:
        """Notes what a line of the file tells of names, before the file is read."""
        match line.get("kind"):
            case "item":
                id = str(line["id"])
                self.names[id] = (id, str(line["title"]), str(line["document_number"]))
            case "notice" if line.get("record_id"):
                self.applied[str(line["record_id"])] = _refs(line)


def _refs(line: Mapping[str, Any]) -> list[str]:
    return legacy.notice_refs(
        line["source_id"], line["item_id"], json.loads(line["path"]), json.loads(line["kept_bases"])
    )


def header(exported_at: datetime) -> dict[str, Any]:
    return {
        "kind": "header",
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timestamp(exported_at),
    }


def check_header(line: Mapping[str, Any]) -> int:
    """The version of the file, which this program reads."""
    if line.get("kind") != "header" or line.get("format") != FORMAT:
        raise InvalidValue("header", "不是血缘导出文件：第一行应为导出文件头。")
    version = line.get("version")
    if version not in READABLE or not isinstance(version, int):
        raise InvalidValue(
            "header", f"导出格式版本 {line.get('version')} 不受支持：本程序读取版本 {VERSION}。"
        )
    return version


def _scope(scope: KnowledgeScope) -> dict[str, list[str]]:
    return {"persons": sorted(scope.persons), "organisations": sorted(scope.organisations)}


def _scope_from(data: Mapping[str, Any]) -> KnowledgeScope:
    return KnowledgeScope(frozenset(data["persons"]), frozenset(data["organisations"]))


Node = (
    Organisation
    | Person
    | ScopeRule
    | Item
    | Keypoint
    | Citation
    | DecisionRecord
    | Change
    | Notice
    | Proposal
)


def encode(value: Node | Derivation) -> dict[str, Any]:
    match value:
        case Organisation():
            return {
                "kind": "organisation",
                "id": value.id,
                "name": value.name,
                "authority": value.authority.value if value.authority else None,
            }
        case Person():
            return {
                "kind": "person",
                "id": value.id,
                "name": value.name,
                "organisation_id": value.organisation_id,
            }
        case ScopeRule():
            return {
                "kind": "scope_rule",
                "id": value.id,
                "title": value.title,
                "document": value.document,
                "level": value.level.value,
                "years": value.years,
                "long_term": value.long_term,
                "issuer": value.issuer,
            }
        case Item():
            return {
                "kind": "item",
                "id": value.id,
                "item_kind": value.kind.value,
                "title": value.title,
                "document_number": value.document_number,
                "organisation_id": value.organisation_id,
                "issued_on": value.issued_on.isoformat(),
                "status": value.status.value,
                **classification_fields(value.classification),
                "scope": _scope(value.scope),
                "scope_limit": _scope(value.scope_limit) if value.scope_limit else None,
                "joint_organisation_ids": sorted(value.joint_organisation_ids),
                "version": value.version,
            }
        case Keypoint():
            return {
                "kind": "keypoint",
                "id": value.id,
                "item_id": value.item_id,
                "title": value.title,
                **classification_fields(value.classification),
                "declassified": value.declassified,
            }
        case Derivation():
            return {
                "kind": "derived_from",
                "child_id": value.child_id,
                "parent_id": value.parent_id,
                "basis": value.case.value,
                "keypoint_ids": list(value.keypoint_ids),
            }
        case Citation():
            return {
                "kind": "cites",
                "item_id": value.item_id,
                "cited_id": value.cited_id,
                "note": value.note,
                "person_id": value.person_id,
                "recorded_at": timestamp(value.recorded_at),
            }
        case DecisionRecord():
            return {
                "kind": "record",
                "id": value.id,
                "item_id": value.item_id,
                "record_kind": value.kind.value,
                "handler_id": value.handler_id,
                "official_id": value.official_id,
                "decided_on": value.decided_on.isoformat(),
                "recorded_at": timestamp(value.recorded_at),
                "status": value.status.value,
                **classification_fields(value.classification),
                "scope": _scope(value.scope),
                "bases": [
                    {
                        "kind": c.kind,
                        "ref_id": c.ref_id,
                        "title": c.title,
                        "document_number": c.document_number,
                        "marking": c.marking,
                    }
                    for c in value.bases
                ],
                "summary": phrase.encode(value.summary),
                "articles": list(value.articles),
                "effective_on": value.effective_on.isoformat() if value.effective_on else None,
                "reasoning": value.reasoning,
                "consultation": value.consultation,
            }
        case Change():
            fields = change_fields(value)
            return {**fields, "kind": "change", "change_kind": fields["kind"]}
        case Notice():
            return {"kind": "notice", **notice_fields(value)}
        case Proposal():
            return {"kind": "proposal", **proposal_fields(value)}


def link(kind: str, source: str, target: str) -> dict[str, Any]:
    """An edge without properties: contains_keypoint, classified_under, process_item_of,
    superior (an organisation's 上级), successor (who took over a dissolved one) and answered
    (a notice and the proposal that answered it)."""
    return {"kind": kind, "from": source, "to": target}


LINKS = (
    "contains_keypoint",
    "classified_under",
    "process_item_of",
    "superior",
    "successor",
    "answered",  # a notice answered by a proposal (D-12)
)


def decode(
    line: Mapping[str, Any], old: Legacy | None = None
) -> Node | Derivation | tuple[str, str, str]:
    """The value of one line; an edge without properties comes back as (kind, from, to).
    `old` reads a line of a file before version PHRASED."""
    kind = line.get("kind")
    try:
        match kind:
            case "organisation":
                authority = line["authority"]
                return Organisation(
                    line["id"], line["name"], Level(authority) if authority else None
                )
            case "person":
                return Person(line["id"], line["name"], line["organisation_id"])
            case "scope_rule":
                return ScopeRule(
                    line["id"],
                    line["title"],
                    line["document"],
                    Level(line["level"]),
                    line["years"],
                    bool(line["long_term"]),
                    line["issuer"],
                )
            case "item":
                limit = line["scope_limit"]
                return Item(
                    id=line["id"],
                    kind=ItemKind(line["item_kind"]),
                    title=line["title"],
                    document_number=line["document_number"],
                    organisation_id=line["organisation_id"],
                    issued_on=date.fromisoformat(line["issued_on"]),
                    status=ItemStatus(line["status"]),
                    classification=classification_from(line),
                    scope=_scope_from(line["scope"]),
                    scope_limit=_scope_from(limit) if limit is not None else None,
                    joint_organisation_ids=frozenset(line.get("joint_organisation_ids", ())),
                    version=_version(line.get("version", 1)),
                )
            case "keypoint":
                classification = classification_from(line)
                if classification is None:
                    raise InvalidValue("level", "密点必须有密级。")
                return Keypoint(
                    line["id"], line["item_id"], line["title"], classification, line["declassified"]
                )
            case "derived_from":
                return Derivation(
                    line["child_id"],
                    line["parent_id"],
                    BasisCase(line["basis"]),
                    tuple(line["keypoint_ids"]),
                )
            case "cites":
                return Citation(
                    line["item_id"],
                    line["cited_id"],
                    line["note"],
                    line["person_id"],
                    datetime.fromisoformat(line["recorded_at"]),
                )
            case "record":
                bases = tuple(BasisCitation(**c) for c in line["bases"])
                summary = (
                    legacy.record_summary(
                        line["summary"],
                        line["item_id"],
                        bases,
                        old.applied.get(line["id"], ()),
                        old.names,
                    )
                    if old is not None
                    else phrase.decode(line["summary"])
                )
                return DecisionRecord(
                    id=line["id"],
                    item_id=line["item_id"],
                    kind=RecordKind(line["record_kind"]),
                    handler_id=line["handler_id"],
                    official_id=line["official_id"],
                    decided_on=date.fromisoformat(line["decided_on"]),
                    recorded_at=datetime.fromisoformat(line["recorded_at"]),
                    status=ItemStatus(line["status"]),
                    classification=classification_from(line),
                    scope=_scope_from(line["scope"]),
                    bases=bases,
                    summary=summary,
                    articles=tuple(line["articles"]),
                    effective_on=date_or_none(line.get("effective_on")),
                    reasoning=line.get("reasoning"),
                    consultation=line.get("consultation"),
                )
            case "change":
                return change_from(Defaults({**line, "kind": line["change_kind"]}))
            case "notice" if old is not None:
                text = legacy.notice_text(line["text"], _refs(line), old.names)
                return notice_from(Defaults({**line, "text": phrase_json(text)}))
            case "notice":
                return notice_from(Defaults(line))
            case "proposal":
                return proposal_from(Defaults(line))
            case _ if kind in LINKS:
                return (str(kind), str(line["from"]), str(line["to"]))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidValue(str(kind), f"「{kind}」行的内容无效：{error!s}") from error
    raise InvalidValue("kind", f"未知的行类型「{kind}」。")


def _version(value: object) -> int:
    # bool is an int to Python, not to the format.
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"version 应为正整数，而不是 {value!r}")
    return value


def dumps(line: Mapping[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))
