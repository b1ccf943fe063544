"""The 定密台账 (the register of classified items a 保密办 keeps in a spreadsheet): its columns,
the template, its rows imported through the same use cases as the API, and the register
exported for a reader.

A row is an original classification (原定密, service.usecases.source_registration) or a
derivation (派生定密, service.usecases.derivation), decided by the same checks and rules as
`registerSource` and `deriveItem`; the service gives every item its id, and rows are linked
by document number (文号), or by an earlier row's 事项标识 where the sheet has one (an
exported register does). Every row is checked; a refused one is reported with its row number,
the rule and the articles. Nothing is written unless every row passes (one transaction), or
with `partial` the rows that pass are written, in one transaction, and the others reported.

People and organisations are named by id or by name (a name must be unique: a person's
within the deciding organisation, or among all); periods as a marking reads (20年, 长期,
2030年12月31日, 解密条件：…). A derived row's 保密期限 states the marking: "20年" under a
source of 机密★20年 is that source's term (D-9), not twenty years from the row's date.
"""

from __future__ import annotations

import csv
import heapq
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from graph.access import Actor
from graph.errors import InvalidValue, LineageError, NotVisible, RuleViolation, UnknownId
from graph.model import (
    BasisCase,
    Classification,
    DecisionRecord,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    Period,
    PeriodKind,
    RecordKind,
    UntilCondition,
    check_id,
    period_text,
)
from graph.store.base import GraphReader, GraphStore, GraphWriter, ItemQuery
from service import workbook
from service.redaction import WITHHELD, Redactor
from service.usecases import (
    BasisSpec,
    Decided,
    DeriveItem,
    NewKeypoint,
    PeriodSpec,
    RegisterSource,
    derivation,
    source_registration,
)

SHEET = "定密台账"
# The columns of the template and of an export, in order. 事项标识 and 状态 are written by an
# export; an import reads 事项标识 only as a name later rows may refer to.
COLUMNS = (
    "序号",
    "事项标识",
    "定密类别",
    "文件名称",
    "文号",
    "定密单位",
    "定密日期",
    "密级",
    "保密期限",
    "知悉范围",
    "定密依据",
    "派生情形",
    "密点",
    "承办人",
    "定密责任人",
    "征求意见情况",
    "状态",
    "备注",
)
REQUIRED = ("文件名称", "定密单位", "定密日期", "知悉范围", "承办人", "定密责任人")
WIDTHS = (6, 22, 10, 36, 22, 20, 12, 8, 16, 30, 40, 16, 36, 10, 10, 20, 18, 16)
# Other names a register in use gives the same column.
ALIASES = {
    "事项名称": "文件名称",
    "国家秘密事项名称": "文件名称",
    "名称": "文件名称",
    "标题": "文件名称",
    "文件编号": "文号",
    "发文字号": "文号",
    "定密机关、单位": "定密单位",
    "定密机关": "定密单位",
    "单位": "定密单位",
    "制发日期": "定密日期",
    "定密时间": "定密日期",
    "成文日期": "定密日期",
    "日期": "定密日期",
    "期限": "保密期限",
    "依据": "定密依据",
    "派生依据": "定密依据",
    "涉及密点": "密点",
    "密点名称": "密点",
    "类别": "定密类别",
    "定密方式": "定密类别",
}
SOURCE, DERIVED = "原定密", "派生定密"
KINDS = {SOURCE: ItemKind.SOURCE, DERIVED: ItemKind.DERIVED, "派生": ItemKind.DERIVED}
CASES = {
    "完全一致": BasisCase.IDENTICAL,
    "涉及密点": BasisCase.INVOLVES_KEYPOINT,
    "概括总结": BasisCase.SUMMARY,
    "编辑整合": BasisCase.SUMMARY,
    "具体细化": BasisCase.SUMMARY,
    "原定密机关要求": BasisCase.ORIGINATOR_REQUIREMENT,
    "明确定密要求": BasisCase.ORIGINATOR_REQUIREMENT,
    **{case.label: case for case in BasisCase},
    **{case.value: case for case in BasisCase},
}
# How an export writes each case, and the template offers it.
CASE_WORDS = {
    BasisCase.IDENTICAL: "完全一致",
    BasisCase.INVOLVES_KEYPOINT: "涉及密点",
    BasisCase.SUMMARY: "概括总结",
    BasisCase.ORIGINATOR_REQUIREMENT: "原定密机关要求",
}
NOTES = (
    "定密台账导入说明（lineage register import）。每行一个事项；第一行为列名，列的顺序不限，"
    "未知的列不读。带 * 的列必填：文件名称*、定密单位*、定密日期*、知悉范围*、承办人*、"
    "定密责任人*。",
    "定密类别：原定密 或 派生定密；空着时，定密依据中有已定密事项的为派生定密，否则为原定密。",
    "定密单位：机关、单位的标识或名称。承办人、定密责任人：人员的标识或姓名（同名时写标识）；"
    "二人须为定密单位的两名人员（D-6, D-11）。",
    "定密日期：2024-03-01、2024/3/1 或 2024年3月1日。",
    "密级：绝密、机密、秘密；也可写完整标志，如 机密★20年。原定密必填；派生定密可空，"
    "由依据计算（D-8），填写的密级与依据要求不符的，该行不予导入。",
    "保密期限：20年、长期、2030年12月31日，或 解密条件：……；空着为只标密级（X-11 法定最长期限）。"
    "派生定密的保密期限按标志理解：依据为机密★20年的，写 20年 即随依据的期限（D-9）。",
    "知悉范围：人员或机关、单位的标识或名称，以顿号、逗号或分号分隔（D-10）。",
    "定密依据：原定密写保密事项范围条目的标识；派生定密写所依据事项的文号（或事项标识），"
    "可在其后括注派生情形，如 某部发〔2024〕12号（涉及密点）；多项以分号或换行分隔。"
    "所依据的事项可以是本表中靠前一行的事项。",
    "派生情形：完全一致、涉及密点、概括总结、原定密机关要求（D-7），适用于定密依据中未括注情形的各项。",
    "密点：原定密写本事项的密点，如 密点名称（机密★10年），未括注的与事项密级、期限相同（D-16）；"
    "派生定密写所涉及的依据的密点名称或标识（D-7(2), D-8）。多项以分号或换行分隔。",
    "征求意见情况：依据未标明保密期限、经征求原定密机关意见确定期限的，写其意见（D-9, D-17）。",
    "事项标识、状态、序号、备注：导出时填写，导入时不作为标识使用（标识由本系统分配）。",
    "任一行未通过校验的，整表不予导入，并按行号列出原因和条款；加 --partial 时导入通过的各行。",
)


# --- reading a file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of a register: its number in the sheet (as a spreadsheet shows it) and its
    values by column."""

    number: int
    values: Mapping[str, str | date]

    def text(self, column: str) -> str:
        value = self.values.get(column, "")
        return value.isoformat() if isinstance(value, date) else value.strip()

    @property
    def reference(self) -> str:
        """How a report names the row besides its number."""
        return self.text("文号") or self.text("文件名称")[:40]


def rows_of(data: bytes, name: str) -> list[Row]:
    """The rows of a register in an XLSX or CSV file (by its name's suffix, or its first
    bytes); the header is the first row that names 文件名称 (or an alias of it) among the
    first ten, so a title above it is passed over."""
    if name.lower().endswith(".xlsx") or data[:2] == b"PK":
        raw = list(workbook.read(data, SHEET))
    else:
        raw = list(_csv_rows(data))
    for index in range(min(10, len(raw))):
        header = [_column(v) for v in raw[index][1]]
        if "文件名称" in header:
            break
    else:
        raise InvalidValue(
            "file",
            "未找到列名行：前十行中应有一行列名，含「文件名称」等列（可从 /templates/register.xlsx "
            "或 lineage register template 取得模板）。",
        )
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidValue("file", f"台账缺少必填的列：{'、'.join(missing)}。")
    rows = []
    for number, values in raw[index + 1 :]:
        by_column = {
            column: value
            for column, value in zip(header, values, strict=False)
            if column in COLUMNS
        }
        if any(by_column.get(c, "") != "" for c in COLUMNS if c not in ("序号", "备注")):
            rows.append(Row(number, by_column))
    return rows


def _column(value: str | date) -> str:
    text = value.isoformat() if isinstance(value, date) else re.sub(r"[\s*＊]", "", value)
    return ALIASES.get(text, text)


def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str | date]]]:
    # Excel in China writes CSV in GB18030 (its "ANSI"), others UTF-8 with or without a BOM.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise InvalidValue("file", "CSV 文件的编码无法识别：请存为 UTF-8。") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    for number, values in enumerate(reader, start=1):
        if number > workbook.MAX_ROWS:
            raise InvalidValue("file", f"台账过大：最多 {workbook.MAX_ROWS} 行，请分批导入。")
        cells: list[str | date] = [_unquoted(v.strip()) for v in values]
        if any(cells):
            yield reader.line_num, cells


def _unquoted(text: str) -> str:
    # What service.sheets put before a text a spreadsheet would have run as a formula.
    return text[1:] if text[:2] in ("'=", "'+", "'-", "'@") else text


# --- values as a register writes them ------------------------------------------------------

_SPLIT = re.compile(r"[、，,；;\n]+")
_ENTRIES = re.compile(r"[；;\n]+")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEARS = re.compile(r"(\d{1,3})\s*年")
_BRACKETED = re.compile(r"^(.*?)\s*[（(]([^（）()]*)[）)]\s*$", re.S)


def listed(text: str, entries: bool = False) -> list[str]:
    """The entries of a cell: split at 、，,；; and line ends (at ；; and line ends only for
    `entries`, whose names may hold commas)."""
    pattern = _ENTRIES if entries else _SPLIT
    return [part.strip() for part in pattern.split(text) if part.strip()]


def parse_date(value: str | date, column: str) -> date:
    if isinstance(value, date):
        return value
    found = _DATE.fullmatch(value.strip())
    if found:
        try:
            return date(*(int(g) for g in found.groups()))
        except ValueError:
            pass
    raise InvalidValue(column, f"{column}「{value}」无效：应为 2024-03-01 或 2024年3月1日。")


def parse_marking(level_text: str, period_text_: str, column: str) -> tuple[Level | None, str]:
    """The level of a 密级 cell, which may hold a whole marking (机密★20年), and the period's
    text, from the cell's marking or from 保密期限."""
    text = level_text.strip()
    period = period_text_.strip()
    if "★" in text:
        text, _, marked = text.partition("★")
        if period and period != marked.strip():
            raise InvalidValue(
                column, f"密级中的标志「{level_text}」与保密期限「{period}」不一致。"
            )
        period = marked.strip()
    level = Level.from_label(text.strip()) if text.strip() else None
    return level, period


def parse_period(text: str, column: str) -> PeriodSpec | None:
    """A period as a marking writes it; None where only the level is marked."""
    value = text.strip()
    if not value:
        return None
    if value == "长期":
        return PeriodSpec(PeriodKind.LONG_TERM)
    years = _YEARS.fullmatch(value)
    if years:
        return PeriodSpec(PeriodKind.YEARS, years=int(years.group(1)))
    for prefix in ("解密条件：", "解密条件:", "条件：", "条件:"):
        if value.startswith(prefix):
            return PeriodSpec(PeriodKind.UNTIL_CONDITION, condition=value.removeprefix(prefix))
    found = _DATE.fullmatch(value)
    if found:
        return PeriodSpec(PeriodKind.UNTIL_DATE, until=parse_date(value, column))
    raise InvalidValue(
        column,
        f"保密期限「{value}」无效：应为 20年、长期、2030年12月31日 或 解密条件：……（X-11）。",
    )


def period_words(period: Period) -> str:
    """A period as a register writes it, so that parse_period reads it again."""
    text = period_text(period)
    return f"解密条件：{text}" if isinstance(period, UntilCondition) else text


def marking_words(classification: Classification) -> str:
    words = period_words(classification.period)
    return f"{classification.level.label}★{words}" if words else classification.level.label


def bracketed(entry: str, notes: Sequence[str]) -> tuple[str, str]:
    """An entry and what it notes in brackets at its end, 某部发〔2024〕12号（涉及密点）, where
    that note begins with one of `notes`; otherwise the brackets are part of the name."""
    found = _BRACKETED.match(entry)
    if found and found.group(2).strip().startswith(tuple(notes)):
        return found.group(1).strip(), found.group(2).strip()
    return entry.strip(), ""


_LEVEL_WORDS = tuple(level.label for level in Level)


def case_of(word: str, column: str) -> BasisCase:
    case = CASES.get(word.strip())
    if case is None:
        raise RuleViolation(
            "BASIS_CASE",
            f"派生情形「{word}」无效：应为完全一致、涉及密点、概括总结（编辑整合、具体细化）"
            "或原定密机关要求之一（D-7）。",
            ("D-7",),
        )
    return case


class Directory:
    """Organisations and persons by id or name, and how an export names them: by name where
    no other has it, by id otherwise (so that the export imports again)."""

    def __init__(self, tx: GraphReader) -> None:
        self.organisations = {o.id: o for o in tx.all_organisations()}
        self.persons = {p.id: p for p in tx.all_persons()}
        self._org_names = _by_name((o.id, o.name) for o in self.organisations.values())
        self._person_names = _by_name((p.id, p.name) for p in self.persons.values())

    def organisation(self, token: str, column: str) -> str:
        if token in self.organisations:
            return token
        found = self._org_names.get(token, [])
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidValue(column, f"有多个机关、单位名为「{token}」：请写其标识。")
        raise UnknownId("organisation", token)

    def person(self, token: str, column: str, organisation_id: str | None = None) -> str:
        if token in self.persons:
            return token
        found = self._person_names.get(token, [])
        if organisation_id is not None and len(found) > 1:
            found = [p for p in found if self.persons[p].organisation_id == organisation_id]
        if len(found) == 1:
            return found[0]
        if found:
            raise InvalidValue(column, f"有多名人员名为「{token}」：请写其标识。")
        raise UnknownId("person", token)

    def scope(self, text: str, column: str) -> KnowledgeScope:
        persons: set[str] = set()
        organisations: set[str] = set()
        for token in listed(text):
            if token in self.persons or (
                token not in self.organisations and token in self._person_names
            ):
                persons.add(self.person(token, column))
            elif token in self.organisations or token in self._org_names:
                organisations.add(self.organisation(token, column))
            else:
                raise InvalidValue(column, f"知悉范围中的「{token}」不是登记的人员或机关、单位。")
        return KnowledgeScope(frozenset(persons), frozenset(organisations))

    def organisation_label(self, id: str) -> str:
        found = self.organisations.get(id)
        if found is None or len(self._org_names.get(found.name, [])) != 1:
            return id
        return found.name

    def person_label(self, id: str) -> str:
        found = self.persons.get(id)
        if found is None or len(self._person_names.get(found.name, [])) != 1:
            return id
        return found.name

    def scope_label(self, scope: KnowledgeScope) -> str:
        return "、".join(
            [self.person_label(p) for p in sorted(scope.persons)]
            + [self.organisation_label(o) for o in sorted(scope.organisations)]
        )


def _by_name(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for id, name in pairs:
        out.setdefault(name, []).append(id)
    return out


# --- naming what a row derives from ---------------------------------------------------------


def items_numbered(tx: GraphReader, actor: Actor, number: str) -> list[Item]:
    """The items the actor may read whose document number is exactly `number`."""
    found: list[Item] = []
    after: str | None = None
    while True:
        query = ItemQuery(text=number, after=after, limit=500, readable=actor.read_filter())
        page = tx.find_items(query)
        found.extend(i for i in page if i.document_number == number)
        if len(page) < 500:
            return found
        after = page[-1].id


def basis_item(tx: GraphReader, actor: Actor, token: str) -> str:
    """The item a basis names, by its id or its document number, among what the actor may
    read; one it may not read and one that does not exist are refused alike (D-10)."""
    if _is_id(token):
        item = tx.items([token]).get(token)
        if item is not None and actor.can_read(item):
            return item.id
    numbered = items_numbered(tx, actor, token)
    if len(numbered) == 1:
        return numbered[0].id
    if numbered:
        raise InvalidValue(
            "bases",
            f"有 {len(numbered)} 个事项的文号为「{token}」：请以事项标识指明依据。",
        )
    raise UnknownId("item", token) if actor.system else NotVisible("item", token)


def _is_id(token: str) -> bool:
    try:
        check_id(token, "id")
    except InvalidValue:
        return False
    return True


@dataclass(frozen=True)
class NamedBasis:
    """A basis as a register or a document system names it: the parent's id (found), its D-7
    case if stated, and the keypoints named for it."""

    parent_id: str
    case: BasisCase | None
    keypoints: tuple[str, ...] = ()


def bases_with_keypoints(
    tx: GraphReader,
    actor: Actor,
    redactor: Redactor | None,
    bases: Sequence[NamedBasis],
    keypoints: Sequence[str],
    default_case: BasisCase | None,
) -> tuple[BasisSpec, ...]:
    """The bases of a derivation, each with its D-7 case and the keypoints it involves.
    `keypoints` are named by title or by the id the actor sees, each given to the bases that
    contain it; a name that matches none is left for the use case to refuse, as the API
    does (a keypoint of an item the actor may not read reads as one that does not exist)."""
    parents = [b.parent_id for b in bases]
    contained = tx.contained_keypoints(parents)
    found = tx.keypoints({k for ids in contained.values() for k in ids})
    owners = tx.items({k.item_id for k in found.values()})
    seen: dict[str, list[tuple[str, str]]] = {}  # parent -> (the id the actor sees, title)
    for parent, ids in contained.items():
        for keypoint_id in ids:
            keypoint = found.get(keypoint_id)
            if keypoint is None:
                continue
            owner = owners.get(keypoint.item_id)
            readable = owner is not None and actor.can_read(owner)
            shown = keypoint_id
            if redactor is not None and not readable:
                shown = redactor.opaque_keypoint(keypoint_id)
            seen.setdefault(parent, []).append((shown, keypoint.title if readable else ""))
    named: dict[str, list[str]] = {b.parent_id: list(b.keypoints) for b in bases}
    unmatched = []
    for name in keypoints:
        holders = [
            parent
            for parent in parents
            if any(name in (shown, title) for shown, title in seen.get(parent, ()))
        ]
        if not holders:
            unmatched.append(name)
        for parent in holders:
            shown = next(s for s, t in seen[parent] if name in (s, t))
            if shown not in named[parent]:
                named[parent].append(shown)
    out = []
    for basis in bases:
        case = basis.case or default_case
        if case is None:
            case = BasisCase.INVOLVES_KEYPOINT if named[basis.parent_id] else None
        if case is None:
            raise RuleViolation(
                "BASIS_CASE",
                f"依据「{basis.parent_id}」未写明派生情形：应为完全一致、涉及密点、概括总结或原定密"
                "机关要求之一（D-7）。",
                ("D-7",),
            )
        given = [] if case is BasisCase.IDENTICAL else named[basis.parent_id]
        if case is BasisCase.INVOLVES_KEYPOINT:
            given = given + [k for k in unmatched if k not in given]
        out.append(BasisSpec(basis.parent_id, case, tuple(given)))
    if unmatched and not any(b.case is BasisCase.INVOLVES_KEYPOINT for b in out):
        raise RuleViolation(
            "KEYPOINT_OF_PARENT",
            f"密点「{unmatched[0]}」不是所列依据所含的密点：派生事项只能涉及其所依据事项的密点"
            "（D-7(2), D-8）。",
            ("D-7", "D-8"),
        )
    return tuple(out)


# --- importing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    row: int
    reference: str
    message: str
    rule: str = ""
    articles: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        cited = f"（{self.rule}；{'、'.join(self.articles)}）" if self.articles else ""
        named = f"「{self.reference}」" if self.reference else ""
        return f"第 {self.row} 行{named}：{self.message}{cited}"


@dataclass(frozen=True)
class Imported:
    row: int
    item_id: str
    kind: ItemKind
    marking: str | None


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the rows it wrote (none unless all passed, or `partial`), and
    those it refused, by row number."""

    rows: int
    written: list[Imported] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


class _Refused(Exception):
    """A pass over the rows met refusals: its transaction is rolled back."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__(f"{len(refusals)} rows refused")
        self.refusals = refusals


def refusal(row: Row, error: LineageError) -> Refusal:
    rule = getattr(error, "rule", "") or getattr(error, "requirement", "") or ""
    return Refusal(row.number, row.reference, error.message, rule, tuple(error.articles))


def import_register(
    store: GraphStore, rows: Sequence[Row], actor: Actor, *, partial: bool = False
) -> ImportReport:
    """Imports the rows in one transaction, each through the use case of the API. With a
    refusal nothing is written, unless `partial`: then the rows that pass are written (in
    one transaction, run again without the refused ones, so that nothing a refused row began
    is kept) and the refused ones reported."""
    pending = list(rows)
    refused: dict[int, Refusal] = {}
    while pending:
        try:
            written = store.write(lambda tx, rows=pending: _pass(tx, rows, actor))  # type: ignore[misc]
        except _Refused as error:
            for r in error.refusals:
                refused.setdefault(r.row, r)
            if not partial:
                return ImportReport(len(rows), [], sorted(refused.values(), key=_by_row))
            pending = [row for row in pending if row.number not in refused]
            continue
        return ImportReport(len(rows), written, sorted(refused.values(), key=_by_row))
    return ImportReport(len(rows), [], sorted(refused.values(), key=_by_row))


def _by_row(r: Refusal) -> int:
    return r.row


def _pass(tx: GraphWriter, rows: Sequence[Row], actor: Actor) -> list[Imported]:
    directory = Directory(tx)
    names: dict[str, str] = {}  # a row's 文号 or 事项标识 -> the id the service gave its item
    refused_names: dict[str, int] = {}
    written: list[Imported] = []
    refusals: list[Refusal] = []
    for row in rows:
        keys = [k for k in (row.text("文号"), row.text("事项标识")) if k]
        try:
            for key in keys[:1]:
                if key in names or key in refused_names:
                    raise InvalidValue("文号", f"文号「{key}」与本表靠前的一行相同。")
            decided = _row(tx, row, actor, directory, names, refused_names)
        except LineageError as error:
            refusals.append(refusal(row, error))
            refused_names.update(dict.fromkeys(keys, row.number))
            continue
        names.update(dict.fromkeys(keys, decided.item.id))
        written.append(
            Imported(row.number, decided.item.id, decided.item.kind, decided.item.marking)
        )
    if refusals:
        raise _Refused(refusals)
    return written


def _row(
    tx: GraphWriter,
    row: Row,
    actor: Actor,
    directory: Directory,
    names: Mapping[str, str],
    refused_names: Mapping[str, int],
) -> Decided:
    for column in REQUIRED:
        if not row.text(column):
            raise InvalidValue(column, f"{column}不能为空。")
    status = row.text("状态")
    if status and status not in (ItemStatus.CLASSIFIED.label, ItemStatus.NOT_CLASSIFIED.label):
        raise InvalidValue(
            "状态",
            f"状态为「{status}」：台账导入登记定密决定；已解密的事项请先按定密登记，"
            "再依 X-17 解密。",
        )
    organisation_id = directory.organisation(row.text("定密单位"), "定密单位")
    number = row.text("文号")
    if number and any(
        i.organisation_id == organisation_id for i in items_numbered(tx, actor, number)
    ):
        # Not a rule of the API: a register imported twice must not register its items twice.
        raise InvalidValue(
            "文号", f"本单位已登记文号为「{number}」的事项：同一文件不重复登记（已导入过？）。"
        )
    issued_on = parse_date(row.values["定密日期"], "定密日期")
    level, period_words = parse_marking(row.text("密级"), row.text("保密期限"), "密级")
    period = parse_period(period_words, "保密期限")
    scope = directory.scope(row.text("知悉范围"), "知悉范围")
    handler = directory.person(row.text("承办人"), "承办人", organisation_id)
    official = directory.person(row.text("定密责任人"), "定密责任人", organisation_id)
    entries = [bracketed(e, tuple(CASES)) for e in listed(row.text("定密依据"), entries=True)]
    rule_ids = tx.scope_rules([name for name, _ in entries if _is_id(name)])
    kind_word = row.text("定密类别")
    if kind_word and kind_word not in KINDS:
        raise InvalidValue("定密类别", f"定密类别「{kind_word}」无效：应为原定密或派生定密。")
    derived = (
        KINDS[kind_word] is ItemKind.DERIVED
        if kind_word
        else any(name not in rule_ids for name, _ in entries)
    )
    keypoint_entries = listed(row.text("密点"), entries=True)
    if not derived:
        if level is None:
            raise InvalidValue("密级", "原定密须填写密级（绝密、机密、秘密）。")
        for name, _ in entries:
            if name not in rule_ids:
                raise UnknownId("scope_rule", name)
        spec = period or PeriodSpec(PeriodKind.UNMARKED)
        keypoints = []
        for entry in keypoint_entries:
            title, marking = bracketed(entry, _LEVEL_WORDS)
            k_level, k_period = parse_marking(marking, "", "密点") if marking else (level, "")
            keypoints.append(
                NewKeypoint(
                    title,
                    k_level or level,
                    parse_period(k_period, "密点") or (spec if not marking else _unmarked()),
                )
            )
        source = RegisterSource(
            title=row.text("文件名称"),
            document_number=row.text("文号"),
            organisation_id=organisation_id,
            issued_on=issued_on,
            level=level,
            period=spec,
            scope=scope,
            handler_id=handler,
            official_id=official,
            keypoints=tuple(keypoints),
            scope_rule_ids=tuple(n for n, _ in entries),
        )
        return source_registration(source, actor)(tx)
    named: list[NamedBasis] = []
    rules: list[str] = []
    for name, noted in entries:
        if name in rule_ids:
            rules.append(name)
            continue
        if name in names:
            parent = names[name]
        elif name in refused_names:
            raise InvalidValue(
                "定密依据", f"依据「{name}」是第 {refused_names[name]} 行的事项，该行未通过校验。"
            )
        else:
            parent = basis_item(tx, actor, name)
        named.append(NamedBasis(parent, case_of(noted, "定密依据") if noted else None))
    default = case_of(row.text("派生情形"), "派生情形") if row.text("派生情形") else None
    bases = bases_with_keypoints(tx, actor, None, named, keypoint_entries, default)
    consultation = row.text("征求意见情况") or None
    command = DeriveItem(
        title=row.text("文件名称"),
        document_number=row.text("文号"),
        organisation_id=organisation_id,
        issued_on=issued_on,
        bases=bases,
        scope=scope,
        handler_id=handler,
        official_id=official,
        scope_rule_ids=tuple(rules),
        level=level,
        # A stated period is the marking's (see the module): given to the rules only with
        # the originator's answer (D-17), checked against what they require otherwise.
        period=period if consultation else None,
        originator_consultation=consultation,
    )
    decided = derivation(command, actor)(tx)
    written = decided.item.classification
    stated = period.to_period(issued_on) if period is not None and not consultation else None
    if (
        stated is not None
        and written is not None
        and period_text(stated) != period_text(written.period)
    ):
        raise RuleViolation(
            "DERIVED_PERIOD",
            f"台账所填保密期限「{period_words}」与依据所要求的「{written.marking}」不符："
            "派生国家秘密的保密期限应当与已定密事项（或所涉及密点）的保密期限一致（D-9）。",
            ("D-9", "D-21"),
        )
    return decided


def _unmarked() -> PeriodSpec:
    return PeriodSpec(PeriodKind.UNMARKED)


# --- the register as a reader sees it -------------------------------------------------------


def register_table(
    store: GraphStore, redactor: Redactor, organisation_id: str | None = None
) -> workbook.Table:
    """The register of the items the reader may read (of one organisation, or all), parents
    before the items derived from them, in the template's columns, so that it imports again.
    A basis or keypoint the reader may not read is named by its placeholder, and its title
    withheld (service.redaction)."""
    return workbook.Table(
        SHEET, COLUMNS, store.read(lambda tx: _rows(tx, redactor, organisation_id)), WIDTHS
    )


def _rows(
    tx: GraphReader, redactor: Redactor, organisation_id: str | None
) -> list[list[workbook.Cell]]:
    items: dict[str, Item] = {}
    after: str | None = None
    while True:
        query = ItemQuery(
            organisation_id=organisation_id,
            after=after,
            limit=500,
            readable=redactor.actor.read_filter(),
        )
        page = tx.find_items(query)
        items.update((i.id, i) for i in page if redactor.readable(i))
        if len(page) < 500:
            break
        after = page[-1].id
    directory = Directory(tx)
    edges = tx.parents(items)
    parents = tx.items({e.parent_id for e in edges} - items.keys())
    known = {**parents, **items}
    contained = tx.contained_keypoints(items)
    keypoints = tx.keypoints(
        {k for ids in contained.values() for k in ids} | {k for e in edges for k in e.keypoint_ids}
    )
    owners = tx.items({k.item_id for k in keypoints.values()} - known.keys())
    known.update(owners)
    records = _deciding_records(tx, items)
    by_child: dict[str, list[tuple[str, BasisCase, tuple[str, ...]]]] = {}
    for edge in edges:
        by_child.setdefault(edge.child_id, []).append(
            (edge.parent_id, edge.case, edge.keypoint_ids)
        )

    def keypoint_name(keypoint_id: str) -> str:
        keypoint = keypoints.get(keypoint_id)
        owner = known.get(keypoint.item_id) if keypoint else None
        if keypoint is None or not redactor.readable(owner):
            return redactor.opaque_keypoint(keypoint_id)
        return keypoint.title

    def basis_name(parent_id: str) -> str:
        parent = known.get(parent_id)
        if parent is None or not redactor.readable(parent):
            return f"{redactor.opaque(parent_id)}{WITHHELD}"
        return parent.document_number or parent.id

    out: list[list[workbook.Cell]] = []
    for number, item in enumerate(_parents_first(items, by_child), start=1):
        redactor.show(item)
        record = records.get(item.id)
        classification = item.classification
        rules = tx.classified_under(item.id)
        if item.kind is ItemKind.SOURCE:
            grounds = list(rules)
            defined = [keypoints[k] for k in contained.get(item.id, ()) if k in keypoints]
            points = [
                f"{k.title}（{marking_words(k.classification)}）"
                for k in sorted(defined, key=lambda k: k.title)  # their ids are opaque
                if k.item_id == item.id
            ]
        else:
            # Sorted by what is written, not by ids the service made: an export of the same
            # register from another store reads the same.
            grounds = sorted(
                f"{basis_name(parent)}（{CASE_WORDS[case]}）"
                for parent, case, _ in by_child.get(item.id, ())
            ) + list(rules)
            points = sorted(
                {keypoint_name(k) for _, _, ids in by_child.get(item.id, ()) for k in ids}
            )
        out.append(
            [
                number,
                item.id,
                SOURCE if item.kind is ItemKind.SOURCE else DERIVED,
                item.title,
                item.document_number,
                directory.organisation_label(item.organisation_id),
                item.issued_on,
                classification.level.label if classification else "",
                period_words(classification.period) if classification else "",
                directory.scope_label(item.scope),
                "\n".join(grounds),
                "",
                "\n".join(points),
                directory.person_label(record.handler_id or "") if record else "",
                directory.person_label(record.official_id or "") if record else "",
                "",
                item.status.label,
                "",
            ]
        )
    return out


def _deciding_records(tx: GraphReader, items: Mapping[str, Item]) -> dict[str, DecisionRecord]:
    """Each item's record of its first decision: who proposed and who decided (D-11)."""
    out: dict[str, DecisionRecord] = {}
    for record in tx.records_of(items):
        if record.kind in (RecordKind.ORIGINAL, RecordKind.DERIVED):
            out.setdefault(record.item_id, record)
    return out


def _parents_first(
    items: Mapping[str, Item], by_child: Mapping[str, list[tuple[str, BasisCase, tuple[str, ...]]]]
) -> list[Item]:
    """The items in id order, each after those of its bases among them (Kahn's order)."""
    waiting = {
        id: {p for p, _, _ in by_child.get(id, ()) if p in items and p != id} for id in items
    }
    children: dict[str, list[str]] = {}
    for id, parents in waiting.items():
        for parent in parents:
            children.setdefault(parent, []).append(id)
    ready = sorted(id for id, parents in waiting.items() if not parents)
    out: list[Item] = []
    heapq.heapify(ready)
    while ready:
        id = heapq.heappop(ready)
        out.append(items[id])
        for child in children.get(id, ()):
            waiting[child].discard(id)
            if not waiting[child]:
                heapq.heappush(ready, child)
    return out


def register_xlsx(
    store: GraphStore, redactor: Redactor, organisation_id: str | None = None
) -> bytes:
    return workbook.write([register_table(store, redactor, organisation_id)])


def template_xlsx() -> bytes:
    """The empty register to fill in, with its notes (the service serves it as it is)."""
    return workbook.template(
        workbook.Table(SHEET, COLUMNS, (), WIDTHS),
        NOTES,
        {
            "定密类别": (SOURCE, DERIVED),
            "密级": tuple(level.label for level in sorted(Level, key=lambda v: -v.rank)),
            "派生情形": tuple(CASE_WORDS.values()),
        },
    )
