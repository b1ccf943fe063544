"""The written records as forms to print, sign and file: 国家秘密审核表(一)(二) from review
records (X-17, X-20..X-22, with the notes on filling them in), and the written record of a
classification, derivation, change or declassification (D-11, D-13). A form is a `Sheet`,
rendered by service.documents as HTML, PDF and CSV.

Everything on a form comes from the graph as recorded; a reader sees a form only of items in
its knowledge scope (D-10), and a basis or source outside it is withheld by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from graph.change import Change, ChangeKind, Notice, NoticeStatus
from graph.errors import InvalidValue, NotVisible, RuleViolation
from graph.model import (
    Classification,
    DecisionRecord,
    Item,
    ItemStatus,
    KnowledgeScope,
    RecordKind,
    Unmarked,
    check_id,
    chinese_date,
    period_text,
)
from graph.phrase import Names
from graph.store.base import GraphReader, GraphStore
from service.redaction import WITHHELD, Redactor, names_in

TICK, BOX = "√", "□"  # 在"□"处打"√" (审核表(一)填表说明4, 5)
MAX_RECORDS = 200
ITEM_COLUMNS = ("事项名称", "文号", "密级", "保密期限", "制发日期")
REVIEW_KINDS = (RecordKind.REVIEW, RecordKind.CHANGE, RecordKind.DECLASSIFICATION)


@dataclass(frozen=True)
class Sheet:
    """A form: its title, the organisation that fills it in, the items it covers as rows of
    `columns`, the fields that follow, and the signatures (role, name, date)."""

    title: str
    regulation: str
    organisation: str
    reference: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    fields: tuple[tuple[str, str], ...]
    signatures: tuple[tuple[str, str, str], ...]
    item_ids: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # 填表说明, printed under the form


@dataclass(frozen=True)
class _Review:
    """One review record as its form states it."""

    record: DecisionRecord
    row: tuple[str, ...]
    opinion: str
    reasoning: str
    consultation: str
    organisation_id: str


def review_form(store: GraphStore, redactor: Redactor, record_ids: Sequence[str]) -> Sheet:
    """Form (一) for one review record, form (二) for several with the same outcome, reasoning,
    handler and official (审核表(二)填表说明2); a record that is no review is refused."""
    ids = _ids(record_ids)

    def work(tx: GraphReader) -> Sheet:
        reviews = [_review(tx, redactor, *found) for found in _records(tx, redactor, ids)]
        first = reviews[0]
        if len(reviews) > 1:
            _same_outcome(reviews)
        organisations = tx.organisations([first.organisation_id])
        organisation = organisations.get(first.organisation_id)
        persons = _names(tx, [first.record.handler_id, first.record.official_id])
        on = chinese_date(first.record.decided_on)
        fields = (
            ("审核意见", first.opinion),
            ("依据和理由", first.reasoning),
            ("论证或征求意见情况", first.consultation),
        )
        signatures = (
            ("承办人", persons.get(first.record.handler_id or "", ""), on),
            ("定密责任人", persons.get(first.record.official_id or "", ""), on),
        )
        return Sheet(
            title="国家秘密审核表（一）" if len(reviews) == 1 else "国家秘密审核表（二）",
            regulation="《国家秘密解密暂行办法》第十七条、第二十条至第二十二条",
            organisation=organisation.name if organisation else first.organisation_id,
            reference="、".join(r.record.id for r in reviews),
            columns=ITEM_COLUMNS,
            rows=tuple(r.row for r in reviews),
            fields=fields,
            signatures=signatures,
            item_ids=tuple(r.record.item_id for r in reviews),
            notes=FORM_ONE_NOTES if len(reviews) == 1 else FORM_TWO_NOTES,
        )

    return store.read(work)


def record_form(store: GraphStore, redactor: Redactor, record_id: str) -> Sheet:
    """The written record of one decision (D-11, D-13, X-17): who proposed and who decided,
    on which bases, what the item became and why."""
    id = check_id(record_id, "recordId")

    def work(tx: GraphReader) -> Sheet:
        ((record, item),) = _records(tx, redactor, [id])
        persons = _names(tx, [record.handler_id, record.official_id])
        deciding = _organisation_of(tx, record, item)
        organisation = tx.organisations([deciding]).get(deciding)
        applied = _applied_notice(tx, record)
        on = chinese_date(record.decided_on)
        fields: list[tuple[str, str]] = [
            ("记录类别", _RECORD_TITLES[record.kind]),
            ("密级和保密期限", _marking(record.classification) or "（无）"),
            ("知悉范围", _scope_text(tx, record.scope)),
            ("状态", record.status.label),
        ]
        texts = [record.summary, *([applied.text] if applied else [])]
        names = names_in(tx, texts, citations=record.bases)
        if record.kind in (RecordKind.ORIGINAL, RecordKind.DERIVED):
            fields.append(("定密依据", _citations(redactor, record, names)))
        if applied is not None:
            fields.append(
                ("已定密事项或者密点的变更或者解除情况", redactor.render(applied.text, names))
            )
        if record.status is not ItemStatus.CLASSIFIED:
            fields.append(("解密后", record.status.label))
        if record.kind not in (RecordKind.ORIGINAL, RecordKind.DERIVED):
            fields += [
                ("依据和理由", record.reasoning or ""),
                ("论证或征求意见情况", record.consultation or ""),
            ]
        fields += [
            ("摘要", redactor.render(record.summary, names)),
            ("依据条款", "、".join(record.articles)),
            ("生效日期", chinese_date(record.effective)),
        ]
        return Sheet(
            title=_RECORD_TITLES[record.kind],
            regulation=_RECORD_REGULATIONS[record.kind],
            organisation=organisation.name if organisation else deciding,
            reference=record.id,
            columns=("事项名称", "文号", "制发日期"),
            rows=((item.title, item.document_number, chinese_date(item.issued_on)),),
            fields=tuple(fields),
            signatures=(
                ("承办人", persons.get(record.handler_id or "", ""), on),
                ("定密责任人", persons.get(record.official_id or "", ""), on),
            ),
            item_ids=(item.id,),
        )

    return store.read(work)


_RECORD_TITLES = {
    RecordKind.ORIGINAL: "国家秘密定密书面记录",
    RecordKind.DERIVED: "派生国家秘密定密书面记录",
    RecordKind.CHANGE: "国家秘密变更书面记录",
    RecordKind.DECLASSIFICATION: "国家秘密解密书面记录",
    RecordKind.EXPIRY: "保密期限届满自行解密记录",
    RecordKind.REVIEW: "国家秘密审核记录（维持原定密决定）",
}
_RECORD_REGULATIONS = {
    RecordKind.ORIGINAL: "《国家秘密定密管理暂行规定》",
    RecordKind.DERIVED: "《派生国家秘密定密管理暂行办法》第十一条",
    RecordKind.CHANGE: "《派生国家秘密定密管理暂行办法》第十三条",
    RecordKind.DECLASSIFICATION: "《派生国家秘密定密管理暂行办法》第十三条、"
    "《国家秘密解密暂行办法》第十七条",
    RecordKind.EXPIRY: "《国家秘密解密暂行办法》第十一条",
    RecordKind.REVIEW: "《国家秘密解密暂行办法》第十六条、第十七条",
}


# The notes on filling in the forms, as the regulation prints them under each (附件1).
FORM_ONE_NOTES = (
    "需逐一记录国家秘密审核情况的，可使用此表。",
    "“制发日期”填写文件正式制发的时间，没有制发时间的填写文件落款时间、文件签发人签字时间、"
    "定密责任人签字时间或者其他能够表明该文件形成的时间。",
    "经审核拟继续保密的，在“维持原定密决定”或者“变更”处打“√”。“维持原定密决定”适用于原定密时"
    "同时明确密级和保密期限的情形；原定密时只确定密级、没有确定保密期限的，审核时应当明确新的保密"
    "期限，并在“变更”栏填写。“建议变更时间”为变更后的密级或者保密期限重新计算时间。",
    "经审核拟解密的，在相应的“□”处打“√”，填写拟解密时间；部分解密的，应当说明解密的内容。",
    "“依据和理由”一栏填写继续保密或者解密的原因；过程稿审核情况、论证或者征求意见等情况需在"
    "“依据和理由”一栏注明，也可以形成专门书面材料作为此表附件一并归档。",
)
FORM_TWO_NOTES = (
    "多个国家秘密事项审核结果、依据和理由、承办人和定密责任人均相同的，可使用此表。",
    "“国家秘密事项”一栏按照顺序填写各国家秘密事项名称、文号、密级、保密期限、制发日期。",
    "“审核意见”一栏按照“国家秘密审核表（一）”的有关表述填写；建议变更的，同时填写建议变更后的"
    "密级、保密期限、知悉范围和建议变更时间；建议解密的，同时写明全文解密还是部分解密、解密后"
    "公开还是作为工作秘密，以及建议解密的时间。",
    "“依据和理由”一栏填写要求与“国家秘密审核表（一）”的要求相同。",
)


def _ids(record_ids: Sequence[str]) -> list[str]:
    ids = [check_id(i, "recordIds") for i in record_ids]
    if not ids:
        raise InvalidValue("recordIds", "请指明审核记录。")
    if len(ids) > MAX_RECORDS:
        raise InvalidValue("recordIds", f"一张表最多 {MAX_RECORDS} 条记录。")
    if len(set(ids)) != len(ids):
        raise InvalidValue("recordIds", "同一记录重复出现。")
    return ids


def _records(
    tx: GraphReader, redactor: Redactor, ids: Sequence[str]
) -> list[tuple[DecisionRecord, Item]]:
    """The records named, in that order, with their items, each noted as shown; a record of
    an item outside the reader's scope is refused as if it did not exist (D-10)."""
    found = tx.records_by_id(ids)
    items = tx.items({r.item_id for r in found.values()})
    out = []
    for id in ids:
        record = found.get(id)
        item = items.get(record.item_id) if record else None
        if record is None or item is None or not redactor.readable(item):
            raise NotVisible("record", id)
        out.append((record, redactor.show(item)))
    return out


def _review(tx: GraphReader, redactor: Redactor, record: DecisionRecord, item: Item) -> _Review:
    if record.kind not in REVIEW_KINDS:
        raise InvalidValue(
            "recordIds",
            f"记录「{record.id}」是{_RECORD_TITLES[record.kind]}，不是审核记录：请打印其书面记录"
            "（recordForm；命令行 lineage form --record）。",
        )
    drafts = _process_items(tx, redactor, item)
    if record.kind is RecordKind.REVIEW:
        return _Review(
            record=record,
            row=_row(item, record.classification),
            opinion=_opinion(maintained=True),
            reasoning=_joined(record.reasoning or "", drafts),
            consultation=record.consultation or "",
            organisation_id=_organisation_of(tx, record, item),
        )
    change = next((c for c in tx.changes_of([item.id]) if c.record_id == record.id), None)
    if change is not None:
        return _Review(
            record=record,
            row=_row(change.before, change.before.classification),
            opinion=_change_opinion(tx, change),
            reasoning=_joined(_change_reasoning(change), drafts),
            consultation=_consultation(tx, change.consultation, change.consulted_organisation_ids),
            organisation_id=_organisation_of(tx, record, item),
        )
    notice = _applied_notice(tx, record)
    if notice is None:  # a record written by an import without its change or notice
        raise InvalidValue("recordIds", f"记录「{record.id}」没有对应的变更或变更通知。")
    text = redactor.render(notice.text, names_in(tx, [notice.text]))
    return _Review(
        record=record,
        row=_row(notice.before, notice.before.classification),
        opinion=_after_opinion(tx, notice.before, notice.after, record.effective),
        reasoning=_joined(text, drafts),
        consultation=record.consultation or "",
        organisation_id=_organisation_of(tx, record, item),
    )


def _process_items(tx: GraphReader, redactor: Redactor, item: Item) -> str:
    """The drafts made on the way to the item, reviewed with it (X-22; note 7 of form (一))."""
    drafts = tx.items(tx.process_items_of(item.id))
    if not drafts:
        return ""
    named = []
    for draft in drafts.values():
        if redactor.readable(draft):
            redactor.show(draft)
            named.append(f"「{draft.title}」（{draft.document_number or draft.id}）")
        else:
            named.append(f"{redactor.opaque(draft.id)}{WITHHELD}")
    named.sort()  # by what the reader sees: a placeholder's place says nothing
    return f"过程稿{'、'.join(named)}与本事项一并审核（X-22）。"


def _joined(*parts: str) -> str:
    return "".join(p for p in parts if p)


def _same_outcome(reviews: Sequence[_Review]) -> None:
    first = reviews[0]
    for other in reviews[1:]:
        same = (
            other.opinion == first.opinion
            and other.reasoning == first.reasoning
            and other.record.handler_id == first.record.handler_id
            and other.record.official_id == first.record.official_id
            and other.record.decided_on == first.record.decided_on
        )
        if not same:
            raise RuleViolation(
                "REVIEW_FORM_TWO",
                f"记录「{first.record.id}」与「{other.record.id}」的审核结果、依据和理由、承办人、"
                "定密责任人或审核日期不同：多个事项这些均相同的才能填入一张国家秘密审核表(二)"
                "（审核表(二)填表说明2），否则请逐项使用审核表(一)（X-17）。",
                ("X-17",),
            )


def _organisation_of(tx: GraphReader, record: DecisionRecord, item: Item) -> str:
    """The organisation that reviewed: the official's (X-7..X-9), else the holder."""
    found = tx.persons([record.official_id] if record.official_id else [])
    official = found.get(record.official_id or "")
    return official.organisation_id if official else item.organisation_id


def _row(item: Item, classification: Classification | None) -> tuple[str, ...]:
    return (
        item.title,
        item.document_number,
        classification.level.label if classification else "（无）",
        _period(classification),
        chinese_date(item.issued_on),
    )


def _period(classification: Classification | None) -> str:
    if classification is None:
        return "（无）"
    if isinstance(classification.period, Unmarked):
        return "未确定"
    return period_text(classification.period)


def _marking(classification: Classification | None) -> str | None:
    return classification.marking if classification else None


def _opinion(
    maintained: bool = False,
    changed: str | None = None,
    declassified: str | None = None,
) -> str:
    """The 审核意见 as the form lays it out: three choices, one ticked, with its values."""

    def box(ticked: bool) -> str:
        return TICK if ticked else BOX

    return "\n".join(
        (
            f"{box(maintained)}维持原定密决定",
            f"{box(changed is not None)}变更" + (f"：{changed}" if changed else ""),
            f"{box(declassified is not None)}解密" + (f"：{declassified}" if declassified else ""),
        )
    )


def _change_opinion(tx: GraphReader, change: Change) -> str:
    if change.kind is ChangeKind.PARTIAL_DECLASSIFICATION:
        names = "、".join(f"「{k.title}」" for k in change.keypoints_before)
        return _opinion(
            declassified=_declassified(False, change.after.status, change.effective_on)
            + f"；解密的内容：密点{names}"
        )
    if change.kind is ChangeKind.KEYPOINT_CHANGE:
        changed = "；".join(
            f"密点「{b.title}」{b.classification.marking}变更为{a.classification.marking}"
            for b, a in zip(change.keypoints_before, change.keypoints_after, strict=True)
        )
        return _opinion(changed=f"{changed}；建议变更时间{chinese_date(change.effective_on)}")
    opinion = _after_opinion(tx, change.before, change.after, change.effective_on)
    if change.keypoints_after:
        opinion += "；" + "；".join(
            f"密点「{b.title}」{b.classification.marking}变更为{a.classification.marking}"
            for b, a in zip(change.keypoints_before, change.keypoints_after, strict=True)
        )
    return opinion


def _after_opinion(tx: GraphReader, before: Item, after: Item, on: date) -> str:
    if not after.is_classified:
        return _opinion(declassified=_declassified(True, after.status, on))
    changed = []
    new, old = after.classification, before.classification
    if new is not None and (old is None or new.level != old.level):
        changed.append(f"密级{new.level.label}")
    if new is not None and (old is None or new.period != old.period):
        changed.append(f"保密期限{_period(new)}")
    if after.scope != before.scope:
        changed.append(f"知悉范围{_scope_text(tx, after.scope)}")
    changed.append(f"建议变更时间{chinese_date(on)}")
    return _opinion(changed="；".join(changed))


def _declassified(whole: bool, afterwards: ItemStatus, on: date) -> str:
    public = afterwards is ItemStatus.DECLASSIFIED_PUBLIC
    return (
        f"{TICK if whole else BOX}全部解密 {BOX if whole else TICK}部分解密；"
        f"{TICK if public else BOX}公开 {BOX if public else TICK}作为工作秘密；"
        f"建议解密时间{chinese_date(on)}"
    )


def _change_reasoning(change: Change) -> str:
    parts = [change.basis]
    if change.reason is not None:
        parts.append(f"解密理由：{change.reason.label}（{change.reason.article}）")
    if change.approval_reference:
        parts.append(f"批准文号：{change.approval_reference}")
    return "。".join(p.rstrip("。") for p in parts if p) + "。"


def _consultation(tx: GraphReader, text: str | None, organisation_ids: Iterable[str]) -> str:
    ids = list(organisation_ids)
    parts = [text] if text else []
    if ids:
        found = tx.organisations(ids)
        names = "、".join(found[o].name if o in found else o for o in ids)
        parts.append(f"已征求{names}的意见（X-8, X-21）")
    return "；".join(parts)


def _applied_notice(tx: GraphReader, record: DecisionRecord) -> Notice | None:
    """The notice a derived item's change or declassification carried out (D-13)."""
    if record.kind not in (RecordKind.CHANGE, RecordKind.DECLASSIFICATION):
        return None
    applied = tx.notices_of([record.item_id], (NoticeStatus.APPLIED,))
    return next((n for n in applied if n.record_id == record.id), None)


def _names(tx: GraphReader, ids: Iterable[str | None]) -> dict[str, str]:
    return {p.id: p.name for p in tx.persons(i for i in ids if i).values()}


def _scope_text(tx: GraphReader, scope: KnowledgeScope) -> str:
    orgs = tx.organisations(scope.organisations)
    persons = tx.persons(scope.persons)
    names = [orgs[o].name if o in orgs else o for o in sorted(scope.organisations)]
    names += [persons[p].name if p in persons else p for p in sorted(scope.persons)]
    return "、".join(names) or "（未限定）"


def _citations(redactor: Redactor, record: DecisionRecord, names: Names) -> str:
    """Each 定密依据 with its document name, number, level and period (D-11); a basis outside
    the reader's knowledge scope keeps its marking under its placeholder id (D-10)."""
    lines = []
    for number, (c, withheld) in enumerate(redactor.citations(record.bases, names), start=1):
        kind = {"ITEM": "已定密事项", "KEYPOINT": "密点", "SCOPE_RULE": "保密事项范围"}.get(
            c.kind, c.kind
        )
        if withheld:
            lines.append(f"{number}. {kind} {c.ref_id}{WITHHELD}，{c.marking}")
            continue
        number_text = f"，{c.document_number}" if c.document_number else ""
        lines.append(f"{number}. {kind}《{c.title}》{number_text}，{c.marking}")
    return "\n".join(lines) or "（无）"
