"""Improper derived classification (D-21) found in the graph: each of the article's cases, for
an item, with why, along which lineage path, under which articles, and who must correct it.
Pure functions over one item's file (the item, its bases, rules, records and notices).

The cases, as this audit reads them:
1. classified lower, shorter or wider than its bases require, or not at all (应当确定而未确定);
2. classified though nothing requires it, or higher or longer than required (不应当确定而确定);
3. its written record is missing or incomplete (未按照法定程序, D-11);
4. its marking is incomplete: a level with no period (未按规定标注标志, D-9);
5. a change notice past its term not acted on (未按规定变更, D-12, D-13);
6. declassified while a basis still requires it to be classified (不应当解除而解除);
7. classified though its bases ended or its own period has run out (应当解除而未解除, X-11, X-13);
8. other breaches: references to what is not there, a derived item without a basis.

A difference between an item and what its bases now require is not improper while a notice
for it is still within its term: the holder is following its source (D-12). Only a notice
past its term makes it case 5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Protocol

from graph import rules
from graph.change import Notice, NoticeStatus
from graph.model import (
    DecisionRecord,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    RecordKind,
    Unmarked,
)
from graph.phrase import Phrase, item_id, join


class Case(Enum):
    UNDER_CLASSIFIED = 1
    OVER_CLASSIFIED = 2
    PROCEDURE = 3
    MARKING = 4
    NOT_CHANGED = 5
    WRONGLY_DECLASSIFIED = 6
    NOT_DECLASSIFIED = 7
    OTHER = 8

    @property
    def label(self) -> str:
        return _LABEL[self]

    @property
    def article(self) -> str:
        return f"D-21({self.value})"


_LABEL = {
    Case.UNDER_CLASSIFIED: "应当确定国家秘密而未确定（或密级、保密期限、知悉范围低于要求）",
    Case.OVER_CLASSIFIED: "不应当确定国家秘密而确定（或密级、保密期限高于要求）",
    Case.PROCEDURE: "未按照法定程序派生定密（书面记录缺失或不全）",
    Case.MARKING: "未按规定标注派生国家秘密标志",
    Case.NOT_CHANGED: "未按规定变更派生国家秘密的密级、保密期限、知悉范围",
    Case.WRONGLY_DECLASSIFIED: "派生国家秘密不应当解除而解除",
    Case.NOT_DECLASSIFIED: "派生国家秘密应当解除而未解除",
    Case.OTHER: "其他违反规定的情形（数据错误）",
}


@dataclass(frozen=True)
class Finding:
    item_id: str
    case: Case
    organisation_id: str  # who must correct it: the holder, or who took over its functions
    explanation: Phrase  # names the bases by reference: rendered per reader
    path: tuple[str, ...]
    articles: tuple[str, ...]


@dataclass(frozen=True)
class ItemFile:
    """What the audit reads of one item. `requirement` is what its bases require now (None
    for a source, or where a basis is missing); `missing` names references to nothing."""

    item: Item
    responsible: str
    requirement: rules.Requirement | None
    bases: Sequence[rules.Basis]
    records: Sequence[DecisionRecord]
    open_notices: Sequence[Notice]  # pending, acknowledged, or answered with a proposal
    person_org: Mapping[str, str]
    missing: Sequence[str] = ()
    # The same file with each basis as its own open notice will make it, where one has one:
    # holders act on the notices of one change in any order (D-13), so an item that agrees
    # with its bases as they will be is no finding while theirs are still open.
    settled: ItemFile | None = None


class _Found(Protocol):
    def __call__(
        self, case: Case, text: str | Phrase, path: Sequence[str], *articles: str
    ) -> None: ...


def findings(file: ItemFile, today: date) -> list[Finding]:
    """Every D-21 finding for one item, by case."""
    item = file.item
    out: list[Finding] = []

    def found(case: Case, text: str | Phrase, path: Sequence[str], *articles: str) -> None:
        cited = tuple(dict.fromkeys((case.article, *articles)))
        said = Phrase.of(f"{case.label}：", text)
        out.append(Finding(item.id, case, file.responsible, said, tuple(path), cited))

    if file.missing:
        found(Case.OTHER, f"引用了不存在的 {'、'.join(file.missing)}。", (item.id,), "D-11")
    if item.kind is ItemKind.DERIVED and not file.bases and not file.missing:
        found(Case.OTHER, "派生事项没有任何派生依据（DERIVED_FROM）。", (item.id,), "D-7", "D-14")
    _procedure(file, found)
    if item.is_classified and item.classification is not None:
        if item.kind is ItemKind.DERIVED and isinstance(item.classification.period, Unmarked):
            found(
                Case.MARKING,
                f"标志「{item.marking}」只标注了密级，未标注保密期限：派生事项应当标注其依据的"
                "保密期限（D-9）。",
                (item.id,),
                "D-9",
            )
        expiry = item.classification.expiry
        if expiry is not None and expiry <= today:
            found(
                Case.NOT_DECLASSIFIED,
                f"保密期限已于 {expiry.isoformat()} 届满，仍标为「{item.marking}」（X-11）。",
                (item.id,),
                "X-11",
            )
    # A notice answered with a proposal to the originator is being dealt with (D-12).
    overdue = [
        n
        for n in file.open_notices
        if n.due_on < today and n.status in (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED)
    ]
    for notice in overdue:
        found(
            Case.NOT_CHANGED,
            f"变更通知 {notice.id} 要求于 {notice.due_on.isoformat()} 前"
            f"{'、'.join(a.label for a in notice.actions)}，逾期未处理。",
            notice.path,
            "D-12",
            "D-13",
            *notice.articles,
        )
    judged = item.kind is ItemKind.DERIVED and file.requirement is not None
    if (
        judged
        and not file.open_notices
        and (file.settled is None or _disagrees(file.settled, today))
    ):
        _against_requirement(file, found, today)
    return sorted(out, key=lambda f: f.case.value)


def _procedure(file: ItemFile, found: _Found) -> None:
    item = file.item
    if item.kind is not ItemKind.DERIVED:
        return
    derived = [r for r in file.records if r.kind is RecordKind.DERIVED]
    if not derived:
        found(Case.PROCEDURE, "没有派生定密的书面记录（D-11）。", (item.id,), "D-11")
        return
    gaps: list[str | Phrase] = []
    record = derived[0]
    if not record.handler_id or not record.official_id:
        gaps.append("未注明承办人或定密责任人")
    elif record.handler_id == record.official_id:
        gaps.append("承办人与定密责任人是同一人")
    if not any(c.kind == "ITEM" for c in record.bases):
        gaps.append("未写明定密依据")
    for citation in record.bases:
        if citation.kind == "ITEM" and not (citation.document_number and citation.marking):
            gaps.append(
                Phrase.of("定密依据「", item_id(citation.ref_id), "」未写明文号或密级、保密期限")
            )
    for change in file.records:
        if change.kind in (RecordKind.CHANGE, RecordKind.DECLASSIFICATION) and not (
            change.handler_id and change.official_id
        ):
            gaps.append(f"{change.decided_on.isoformat()} 的变更记录未注明承办人或定密责任人")
    if gaps:
        text = Phrase.of("书面记录", join("；", gaps), "（D-11, D-13）。")
        found(Case.PROCEDURE, text, (item.id,), "D-11", "D-13")


def _governing_path(requirement: rules.Requirement, item_id: str) -> tuple[str, ...]:
    for c in requirement.explanation.contributions:
        if c.governs_level or c.governs_period:
            return (*([c.via_item_id] if c.via_item_id else [c.ref_id]), item_id)
    return (item_id,)


def _disagrees(file: ItemFile, today: date) -> bool:
    """Whether the item disagrees with what its bases require in `file`."""
    seen: list[Case] = []
    if file.requirement is not None:
        _against_requirement(file, lambda case, *_: seen.append(case), today)
    return bool(seen)


def _against_requirement(file: ItemFile, found: _Found, today: date) -> None:
    item = file.item
    requirement = file.requirement
    if requirement is None:  # the caller checks; this keeps the type narrow
        return
    required = requirement.classification
    current = item.classification if item.is_classified else None
    path = _governing_path(requirement, item.id)
    summary = requirement.explanation.summary
    declassified = item.status in (
        ItemStatus.DECLASSIFIED_WORK_SECRET,
        ItemStatus.DECLASSIFIED_PUBLIC,
    )
    if required is None:
        if current is None:
            return
        ended = any(not b.parent.is_classified for b in file.bases) or any(
            k.declassified for b in file.bases for k in b.keypoints
        )
        case = Case.NOT_DECLASSIFIED if ended else Case.OVER_CLASSIFIED
        found(
            case, Phrase.of(f"仍标为「{item.marking}」，而", summary), path, "D-12", "X-13", "D-14"
        )
        return
    if current is None:
        if required.expiry is not None and required.expiry <= today:
            return  # what the bases require has ended by now: declassified is right
        case = Case.WRONGLY_DECLASSIFIED if declassified else Case.UNDER_CLASSIFIED
        said = Phrase.of(f"当前为「{item.status.label}」，而", summary)
        found(case, said, path, "D-8", "D-9", "D-12")
        return
    consulted = any("D-17" in r.summary.words for r in file.records if r.kind is RecordKind.DERIVED)
    lower = current.level.rank < required.level.rank
    higher = current.level.rank > required.level.rank
    shorter = not consulted and current.explicit().end_key < required.end_key
    longer = not consulted and current.explicit().end_key > required.end_key
    if lower or shorter:
        found(
            Case.UNDER_CLASSIFIED,
            Phrase.of(f"标为「{item.marking}」，低于依据要求的「{required.marking}」：", summary),
            path,
            "D-8",
            "D-9",
        )
    elif higher or longer:
        found(
            Case.OVER_CLASSIFIED,
            Phrase.of(f"标为「{item.marking}」，高于依据要求的「{required.marking}」：", summary),
            path,
            "D-8",
            "D-9",
        )
    limit = requirement.scope_limit
    if limit is not None and not item.scope.within(limit, file.person_org):
        wider: KnowledgeScope = item.scope.outside(limit, file.person_org)
        found(
            Case.UNDER_CLASSIFIED,
            f"知悉范围超出原定密机关、单位的规定：{'、'.join(sorted(wider.ids()))}（D-10）。",
            path,
            "D-10",
        )
