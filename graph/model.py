"""Values of the lineage graph: levels, periods, classifications, items, keypoints, edges.

Frozen values without I/O. Articles are cited as D-n (派生国家秘密定密管理暂行办法) and X-n
(国家秘密解密暂行办法); see shared/DOMAIN.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum

from graph.errors import InvalidValue
from graph.phrase import Phrase


class Level(Enum):
    """密级. Ordered by `rank`: TOP_SECRET > SECRET > CONFIDENTIAL."""

    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"
    TOP_SECRET = "TOP_SECRET"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @property
    def label(self) -> str:
        return _LEVEL_LABEL[self]

    @property
    def statutory_years(self) -> int:
        """The period that applies where none is marked (X-11): 30, 20 or 10 years."""
        return _STATUTORY_YEARS[self]

    @classmethod
    def from_label(cls, label: str) -> Level:
        for level, text in _LEVEL_LABEL.items():
            if text == label:
                return level
        raise InvalidValue("level", f"未知密级「{label}」：应为 绝密、机密 或 秘密。")


_LEVEL_RANK = {Level.CONFIDENTIAL: 1, Level.SECRET: 2, Level.TOP_SECRET: 3}
_LEVEL_LABEL = {Level.CONFIDENTIAL: "秘密", Level.SECRET: "机密", Level.TOP_SECRET: "绝密"}
_STATUTORY_YEARS = {Level.CONFIDENTIAL: 10, Level.SECRET: 20, Level.TOP_SECRET: 30}


def highest(levels: Iterable[Level]) -> Level:
    return max(levels, key=lambda level: level.rank)


def add_years(start: date, years: int) -> date:
    """The same day `years` later; 29 February falls back to 28 February."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


# Secrecy periods (保密期限). A period that counts in years carries its start, because a
# derived item's term ends when its basis's term ends (D-9), not a new term from its own date.


@dataclass(frozen=True)
class Years:
    """N years from `start` (e.g. 机密★10年)."""

    years: int
    start: date

    def __post_init__(self) -> None:
        if self.years < 1:
            raise InvalidValue("period.years", "保密期限的年数必须为正整数。")


@dataclass(frozen=True)
class UntilDate:
    """Until a declassification date (解密时间, e.g. 秘密★2030年12月31日)."""

    until: date


@dataclass(frozen=True)
class UntilCondition:
    """Until a declassification condition is met (解密条件); the end date is not known."""

    condition: str

    def __post_init__(self) -> None:
        if not self.condition.strip():
            raise InvalidValue("period.condition", "解密条件不能为空。")


@dataclass(frozen=True)
class LongTerm:
    """长期: no end; declassification needs the approval of X-15."""


@dataclass(frozen=True)
class Unmarked:
    """Only the level is marked. The statutory maximum of the level applies from `start` (X-11)."""

    start: date


Period = Years | UntilDate | UntilCondition | LongTerm | Unmarked


class PeriodKind(Enum):
    YEARS = "YEARS"
    UNTIL_DATE = "UNTIL_DATE"
    UNTIL_CONDITION = "UNTIL_CONDITION"
    LONG_TERM = "LONG_TERM"
    UNMARKED = "UNMARKED"


def period_kind(period: Period) -> PeriodKind:
    match period:
        case Years():
            return PeriodKind.YEARS
        case UntilDate():
            return PeriodKind.UNTIL_DATE
        case UntilCondition():
            return PeriodKind.UNTIL_CONDITION
        case LongTerm():
            return PeriodKind.LONG_TERM
        case Unmarked():
            return PeriodKind.UNMARKED


def period_text(period: Period) -> str:
    """The period as it follows the ★ of a marking; empty for a level-only marking."""
    match period:
        case Years(years=years):
            return f"{years}年"
        case UntilDate(until=until):
            return chinese_date(until)
        case UntilCondition(condition=condition):
            return condition
        case LongTerm():
            return "长期"
        case Unmarked():
            return ""


@dataclass(frozen=True, order=True)
class EndKey:
    """Orders periods by when they end, for "the longest period" (D-9, D-15).

    A dated end sorts by its date; a condition sorts after every date, because nothing shows
    that it will be met before any given day; long-term sorts last.
    """

    rank: int
    on: date | None


@dataclass(frozen=True)
class Classification:
    """A level with its secrecy period."""

    level: Level
    period: Period

    @property
    def marking(self) -> str:
        """The standard marking: 机密★10年, 绝密★长期, 秘密★2030年12月31日, or 机密 alone."""
        text = period_text(self.period)
        return f"{self.level.label}★{text}" if text else self.level.label

    @property
    def expiry(self) -> date | None:
        """When the period ends; None for long-term and for a condition not yet met."""
        match self.period:
            case Years(years=years, start=start):
                return add_years(start, years)
            case UntilDate(until=until):
                return until
            case Unmarked(start=start):
                return add_years(start, self.level.statutory_years)
            case _:
                return None

    @property
    def end_key(self) -> EndKey:
        match self.period:
            case LongTerm():
                return EndKey(2, None)
            case UntilCondition():
                return EndKey(1, None)
            case _:
                return EndKey(0, self.expiry)

    def explicit(self) -> Classification:
        """An unmarked period made explicit: the statutory years of the level from its start."""
        if isinstance(self.period, Unmarked):
            return Classification(self.level, Years(self.level.statutory_years, self.period.start))
        return self


class Direction(Enum):
    """Which way to follow DERIVED_FROM: towards the sources, the derived items, or both."""

    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


class ItemKind(Enum):
    SOURCE = "SOURCE"
    DERIVED = "DERIVED"


class ItemStatus(Enum):
    CLASSIFIED = "CLASSIFIED"
    DECLASSIFIED_WORK_SECRET = "DECLASSIFIED_WORK_SECRET"
    DECLASSIFIED_PUBLIC = "DECLASSIFIED_PUBLIC"
    NOT_CLASSIFIED = "NOT_CLASSIFIED"

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]


_STATUS_LABEL = {
    ItemStatus.CLASSIFIED: "国家秘密",
    ItemStatus.DECLASSIFIED_WORK_SECRET: "已解密（作为工作秘密管理）",
    ItemStatus.DECLASSIFIED_PUBLIC: "已解密（予以公开）",
    ItemStatus.NOT_CLASSIFIED: "不属于国家秘密",
}


class BasisCase(Enum):
    """The four cases of D-7 in which a derived item must be classified."""

    IDENTICAL = "IDENTICAL"
    INVOLVES_KEYPOINT = "INVOLVES_KEYPOINT"
    SUMMARY = "SUMMARY"
    ORIGINATOR_REQUIREMENT = "ORIGINATOR_REQUIREMENT"

    @property
    def label(self) -> str:
        return _BASIS_LABEL[self]

    @property
    def article(self) -> str:
        return _BASIS_ARTICLE[self]


_BASIS_LABEL = {
    BasisCase.IDENTICAL: "与已定密事项完全一致",
    BasisCase.INVOLVES_KEYPOINT: "涉及已定密事项密点",
    BasisCase.SUMMARY: "对已定密事项进行概括总结、编辑整合、具体细化",
    BasisCase.ORIGINATOR_REQUIREMENT: "原定密机关、单位有明确定密要求",
}
_BASIS_ARTICLE = {
    BasisCase.IDENTICAL: "D-7(1)",
    BasisCase.INVOLVES_KEYPOINT: "D-7(2)",
    BasisCase.SUMMARY: "D-7(3)",
    BasisCase.ORIGINATOR_REQUIREMENT: "D-7(4)",
}


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def check_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise InvalidValue(
            what,
            f"标识「{value[:40]}」无效：应为 1-128 个字母、数字或 . _ : -，以字母或数字开头。",
        )
    return value


def check_text(value: str, what: str, *, limit: int = 500, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidValue(what, f"{what} 不能为空。")
    if len(text) > limit:
        raise InvalidValue(what, f"{what} 过长：最多 {limit} 个字符。")
    return text


@dataclass(frozen=True)
class KnowledgeScope:
    """知悉范围: persons and organisations by id (D-10)."""

    persons: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not self.persons and not self.organisations

    def admits(self, person: str, organisation: str | None) -> bool:
        return person in self.persons or (
            organisation is not None and organisation in self.organisations
        )

    def outside(self, bound: KnowledgeScope, person_org: Mapping[str, str]) -> KnowledgeScope:
        """The part of this scope that `bound` does not admit."""
        return KnowledgeScope(
            persons=frozenset(p for p in self.persons if not bound.admits(p, person_org.get(p))),
            organisations=self.organisations - bound.organisations,
        )

    def within(self, bound: KnowledgeScope, person_org: Mapping[str, str]) -> bool:
        return self.outside(bound, person_org).is_empty

    def intersect(self, other: KnowledgeScope, person_org: Mapping[str, str]) -> KnowledgeScope:
        """Whom both scopes admit; a person admitted through an organisation stays by name."""
        persons = {p for p in self.persons if other.admits(p, person_org.get(p))}
        persons |= {p for p in other.persons if self.admits(p, person_org.get(p))}
        return KnowledgeScope(frozenset(persons), self.organisations & other.organisations)

    def ids(self) -> frozenset[str]:
        return self.persons | self.organisations


@dataclass(frozen=True)
class Organisation:
    """An agency or unit. `authority` is its original classification authority (定密权限),
    None where it has none; derived classification ignores it (D-5)."""

    id: str
    name: str
    authority: Level | None = None
    # 上级机关、单位: may declassify what it issued in its name or what its subordinates
    # classified.
    superior_id: str | None = None
    # 承担其职能或者合并后的机关、单位: set when this one was dissolved or merged; the
    # successor then decides on what this one classified.
    successor_id: str | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    organisation_id: str


@dataclass(frozen=True, slots=True)
class Item:
    """A source or derived item (事项). `classification` stays after declassification, so the
    old marking can be shown beside the 解密 mark (X-23); it is None only for an item that was
    never classified."""

    id: str
    kind: ItemKind
    title: str
    document_number: str
    organisation_id: str
    issued_on: date
    status: ItemStatus
    classification: Classification | None
    scope: KnowledgeScope
    # The widest knowledge scope its originator allows for derived use (D-10); a derived item
    # inherits the bound of its bases, so it holds for the whole lineage below.
    scope_limit: KnowledgeScope | None = None
    # Organisations that classified it jointly with `organisation_id`, the lead organisation;
    # the lead declassifies after consulting them.
    joint_organisation_ids: frozenset[str] = frozenset()
    # How many decisions the item has had: 1 when registered, one more with each decision
    # recorded on it (a change, declassification, notice applied, expiry or review). A
    # writer that decided on an older version is refused (graph.errors.Conflict), so that
    # no decision is made on a state someone else has already changed.
    version: int = 1

    @property
    def is_classified(self) -> bool:
        return self.status is ItemStatus.CLASSIFIED and self.classification is not None

    @property
    def marking(self) -> str | None:
        return self.classification.marking if self.classification else None

    def decided(self, after: Item | None = None) -> Item:
        """The item as a decision on it leaves it: `after` (or itself, for a decision that
        keeps it as it is), one version on."""
        return replace(after or self, version=self.version + 1)


@dataclass(frozen=True)
class Keypoint:
    """密点: the content that makes a source secret, with its own level and period (D-4, D-16).
    `item_id` is the source that defines it."""

    id: str
    item_id: str
    title: str
    classification: Classification
    declassified: bool = False


@dataclass(frozen=True)
class ScopeRule:
    """保密事项范围 entry: classifies matters directly with a level and a period (D-14, D-15).

    `years` None with `long_term` False means the entry marks no period: the statutory
    maximum of its level applies (X-11).
    """

    id: str
    title: str
    document: str
    level: Level
    years: int | None = None
    long_term: bool = False
    issuer: str = ""

    def classification_from(self, start: date) -> Classification:
        if self.long_term:
            return Classification(self.level, LongTerm())
        if self.years is None:
            return Classification(self.level, Unmarked(start))
        return Classification(self.level, Years(self.years, start))


@dataclass(frozen=True)
class Derivation:
    """A DERIVED_FROM edge: `child` was derived from `parent` under one case of D-7,
    involving the listed keypoints (contained in the parent)."""

    child_id: str
    parent_id: str
    case: BasisCase
    keypoint_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """A CITES edge: `item` cites `cited` without taking its content or keypoints, so `cited`
    is no basis of it (D-14): never part of the rules, the fan-out or impact analysis, only
    shown in the lineage. `note` says what was cited and why (the holder's words);
    `person_id` recorded it."""

    item_id: str
    cited_id: str
    note: str
    person_id: str | None
    recorded_at: datetime

    def __post_init__(self) -> None:
        if self.item_id == self.cited_id:
            raise InvalidValue("citedId", f"事项「{self.item_id}」不能引用其自身。")


class RecordKind(Enum):
    ORIGINAL = "ORIGINAL"
    DERIVED = "DERIVED"
    CHANGE = "CHANGE"  # 变更 (D-13, X-19)
    DECLASSIFICATION = "DECLASSIFICATION"  # 解密, full or partial
    EXPIRY = "EXPIRY"  # 自行解密 when the period ended: decided by no one
    REVIEW = "REVIEW"  # 审核 that kept the decision as it was: 维持原定密决定


@dataclass(frozen=True)
class BasisCitation:
    """One 定密依据 of a written record: document name, number, level and period (D-11)."""

    kind: str  # ITEM, KEYPOINT or SCOPE_RULE
    ref_id: str
    title: str
    document_number: str
    marking: str


@dataclass(frozen=True)
class DecisionRecord:
    """The written record of a classification decision (D-11, D-13, X-17): the handler
    proposed, the classification official decided, on these bases; the item was as recorded
    from `effective_on` (its date of issue, or the date a change or declassification took
    effect). An expiry (X-11) has neither handler nor official."""

    id: str
    item_id: str
    kind: RecordKind
    handler_id: str | None
    official_id: str | None
    decided_on: date
    recorded_at: datetime
    status: ItemStatus
    classification: Classification | None
    scope: KnowledgeScope
    bases: tuple[BasisCitation, ...]
    # What was decided and why, naming other items by reference only (graph.phrase).
    summary: Phrase
    articles: tuple[str, ...] = field(default=())
    effective_on: date | None = None
    # 依据和理由 and 论证或征求意见情况 of a review, for its 审核表.
    reasoning: str | None = None
    consultation: str | None = None

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise InvalidValue("recordedAt", "记录时间须带时区。")

    @property
    def effective(self) -> date:
        return self.effective_on or self.decided_on
