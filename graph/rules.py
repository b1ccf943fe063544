"""What a derived item's classification must be, and why (D-5, D-7..D-10, D-14, D-15, X-11).

Pure functions over values: the caller loads the bases, this module decides. Each result
carries an explanation naming the governing bases, keypoints and scope rules, and the articles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from functools import cache

from graph.errors import RuleViolation
from graph.model import (
    BasisCase,
    Classification,
    Item,
    Keypoint,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    Period,
    ScopeRule,
    Unmarked,
    UntilCondition,
    Years,
    chinese_date,
    highest,
)
from graph.phrase import (
    Names,
    Part,
    Phrase,
    item_id,
    item_title,
    join,
    keypoint_id,
    keypoint_title,
)


@dataclass(frozen=True)
class Basis:
    """One DERIVED_FROM edge as the rules see it: the parent as it stands now, the D-7 case,
    and the parent's keypoints that the derived item involves."""

    parent: Item
    case: BasisCase
    keypoints: tuple[Keypoint, ...] = ()


class Ground(Enum):
    ITEM = "ITEM"
    KEYPOINT = "KEYPOINT"
    SCOPE_RULE = "SCOPE_RULE"


@dataclass(frozen=True)
class Contribution:
    """What one basis, keypoint or scope rule demands, and whether it governs the result.
    `title` names it by reference (an item's or keypoint's title is content of its item)."""

    ground: Ground
    ref_id: str
    title: Phrase
    via_item_id: str | None
    case: BasisCase | None
    classification: Classification
    articles: tuple[str, ...]
    governs_level: bool = False
    governs_period: bool = False


@dataclass(frozen=True)
class Explanation:
    """Why: texts that name the bases by reference (graph.phrase), rendered per reader;
    `names` holds the bases as the rules saw them, to render for whoever decided on them."""

    summary: Phrase
    articles: tuple[str, ...]
    contributions: tuple[Contribution, ...]
    notes: tuple[Phrase, ...]
    names: Names = field(default_factory=lambda: Names({}, {}), compare=False, repr=False)


@dataclass(frozen=True)
class Requirement:
    """The classification a derived item must have. `classification` None means it must not be
    derived-classified (D-14). `scope_limit` is the widest knowledge scope its bases allow (D-10);
    None where no originator prescribed one."""

    classification: Classification | None
    scope_limit: KnowledgeScope | None
    explanation: Explanation


def required_classification(
    bases: Sequence[Basis],
    scope_rules: Sequence[ScopeRule],
    *,
    issued_on: date,
    organisation: Organisation | None = None,
    person_org: Mapping[str, str] | None = None,
) -> Requirement:
    """The classification a derived item must have, from all of its bases.

    Level (D-8): each basis gives its parent's level, or where the basis names keypoints, the
    highest level of those keypoints; with scope rules too, the highest of all (D-15).
    Period (D-9): likewise the parent's period or the longest of the keypoints', the longest
    over all bases (D-15). The derived item keeps the governing basis's own term, start
    included, so it ends when that basis ends. An unmarked period becomes the statutory
    maximum of its level from its start (D-9, X-11). Declassified parents (X-13) and
    declassified keypoints (X-14) give nothing. With no classified basis and no scope rule the
    item must not be derived-classified (D-14).
    """
    notes: list[Phrase] = []
    candidates: list[Contribution] = []
    for basis in bases:
        candidates.extend(_candidates_of(basis, notes))
    names = _names(bases)
    for rule in scope_rules:
        candidates.append(
            Contribution(
                Ground.SCOPE_RULE,
                rule.id,
                Phrase.of(f"{rule.document}：{rule.title}"),
                None,
                None,
                rule.classification_from(issued_on),
                ("D-15",),
            )
        )

    scope_limit = _scope_limit(bases, person_org or {})
    if not candidates:
        return _not_classified(bases, notes, scope_limit, names)

    for i, candidate in enumerate(candidates):
        if isinstance(candidate.classification.period, Unmarked):
            explicit = candidate.classification.explicit()
            notes.append(
                Phrase.of(
                    "「",
                    candidate.title,
                    f"」未标注保密期限，按 {candidate.classification.level.label}级"
                    f"法定最长保密期限 {candidate.classification.level.statutory_years} 年执行，"
                    f"自 {chinese_date(candidate.classification.period.start)} 起算（D-9, X-11）。",
                )
            )
            candidates[i] = replace(
                candidate, classification=explicit, articles=(*candidate.articles, "X-11")
            )

    level = highest(c.classification.level for c in candidates)
    period, period_governors = _longest_period(candidates, notes)
    level_governor = next(c for c in candidates if c.classification.level is level)
    result = Classification(level, period)

    contributions = tuple(
        _governing(c, c is level_governor, c in period_governors) for c in candidates
    )
    extra: list[str] = []
    if organisation is not None and (
        organisation.authority is None or organisation.authority.rank < level.rank
    ):
        authority = organisation.authority.label + "级" if organisation.authority else "无"
        notes.append(
            Phrase.of(
                f"{organisation.name}的定密权限为「{authority}」，派生定密不受定密权限限制（D-5）。"
            )
        )
        extra.append("D-5")
    if scope_limit is not None:
        extra.append("D-10")
    articles = _articles(contributions, notes, extra)
    summary = _summary(result, contributions)
    explanation = Explanation(summary, articles, contributions, tuple(notes), names)
    return Requirement(result, scope_limit, explanation)


def _names(bases: Sequence[Basis]) -> Names:
    return Names(
        {b.parent.id: b.parent for b in bases},
        {k.id: k for b in bases for k in b.keypoints},
    )


def _governing(c: Contribution, level: bool, period: bool) -> Contribution:
    """`replace(c, governs_level=level, governs_period=period)`, without its per-call cost:
    this runs for every basis of every descendant a fan-out recomputes."""
    return Contribution(
        c.ground,
        c.ref_id,
        c.title,
        c.via_item_id,
        c.case,
        c.classification,
        c.articles,
        level,
        period,
    )


def check_proposal(
    requirement: Requirement,
    *,
    level: Level | None,
    period: Period | None,
    scope: KnowledgeScope,
    person_org: Mapping[str, str],
    originator_consultation: str | None = None,
) -> Classification | None:
    """The classification to write, or a RuleViolation when the proposal breaks a rule.

    A proposed level or period that differs from the requirement is refused: lower would
    under-classify, higher would over-classify (D-8, D-9, D-21 cases 1-2). Where the governing
    period was unmarked, the originator's answer (D-9, D-17) may set another period, given
    with a reference to that consultation. The knowledge scope must not be empty and must stay
    within what the originators prescribed (D-10).
    """
    required = requirement.classification
    if required is None:
        if level is not None or period is not None:
            raise RuleViolation(
                "NOT_DERIVED",
                "该事项未采用已定密事项的内容或密点，且无保密事项范围依据，不应当派生定密，"
                "不能提出密级或保密期限（D-14, D-21(2)）。",
                ("D-14", "D-21"),
            )
        return None
    if level is not None and level is not required.level:
        direction = "低于" if level.rank < required.level.rank else "高于"
        raise RuleViolation(
            "DERIVED_LEVEL",
            f"拟定密级「{level.label}」{direction}依据所要求的「{required.level.label}」："
            "派生国家秘密的密级应当与已定密事项（或所涉及密点的最高密级）保持一致（D-8）。"
            # The decider reads every basis it derives from (D-10): named in full.
            f"{requirement.explanation.summary.render(requirement.explanation.names.full)}",
            ("D-8", "D-21"),
        )
    chosen = required
    if period is not None and period != required.period:
        chosen = _consulted_period(requirement, required, period, originator_consultation)
    if scope.is_empty:
        raise RuleViolation(
            "KNOWLEDGE_SCOPE",
            "知悉范围不能为空：应根据工作需要确定，能够限定到具体人员的限定到具体人员（D-10）。",
            ("D-10",),
        )
    limit = requirement.scope_limit
    if limit is not None and not scope.within(limit, person_org):
        wider = scope.outside(limit, person_org)
        names = "、".join(sorted(wider.ids()))
        raise RuleViolation(
            "KNOWLEDGE_SCOPE",
            f"知悉范围超出原定密机关、单位的规定：{names} 不在其规定的范围内（D-10）。",
            ("D-10",),
        )
    return chosen


def _consulted_period(
    requirement: Requirement,
    required: Classification,
    period: Period,
    consultation: str | None,
) -> Classification:
    """A period other than the required one stands only where it replaces the statutory maximum
    of an unmarked basis item or keypoint, on the originator's answer (D-9, D-17), and still
    lasts as long as every marked basis (D-9, D-15). A scope rule has no originator to ask."""
    contributions = requirement.explanation.contributions
    askable = [
        c for c in contributions if "X-11" in c.articles and c.ground is not Ground.SCOPE_RULE
    ]
    unmarked = [c for c in askable if c.governs_period]
    proposed = Classification(required.level, period)
    if unmarked and consultation:
        floor = max(
            (c.classification.end_key for c in contributions if c not in askable),
            default=None,
        )
        if floor is None or proposed.explicit().end_key >= floor:
            return proposed
        raise RuleViolation(
            "DERIVED_PERIOD",
            f"拟定保密期限「{proposed.marking}」短于其他依据的保密期限：原定密机关、单位的意见"
            "只能确定未标注期限的依据，派生国家秘密的保密期限仍不得短于其余依据的最长保密期限"
            "（D-9, D-15）。",
            ("D-9", "D-15", "D-21"),
        )
    hint = (
        "依据未标注保密期限时，可征求原定密机关、单位意见后确定并作出标注"
        "（须注明征求意见情况，D-9, D-17）。"
        if unmarked
        else ""
    )
    raise RuleViolation(
        "DERIVED_PERIOD",
        f"拟定保密期限「{proposed.marking}」与依据不符：应为「{required.marking}」。派生国家秘密的"
        f"保密期限应当按照已定密事项的保密期限或所涉及密点的最长保密期限确定（D-9）。{hint}",
        ("D-9", "D-21"),
    )


def _candidates_of(basis: Basis, notes: list[Phrase]) -> list[Contribution]:
    parent = basis.parent
    if not parent.is_classified or parent.classification is None:
        notes.append(
            Phrase.of(
                "依据「",
                item_id(parent.id),
                "」",
                item_title(parent.id),
                f"当前为「{parent.status.label}」，不再作为定密依据（X-13）。",
            )
        )
        return []
    case_article = basis.case.article
    if basis.case is BasisCase.IDENTICAL or not basis.keypoints:
        return [
            Contribution(
                Ground.ITEM,
                parent.id,
                Phrase.of(item_title(parent.id)),
                None,
                basis.case,
                parent.classification,
                (case_article, "D-8", "D-9"),
            )
        ]
    out: list[Contribution] = []
    for keypoint in basis.keypoints:
        if keypoint.declassified:
            notes.append(
                Phrase.of(
                    "密点「",
                    keypoint_id(keypoint.id),
                    "」",
                    keypoint_title(keypoint.id),
                    "已解密，不再作为定密依据（X-14）。",
                )
            )
            continue
        out.append(
            Contribution(
                Ground.KEYPOINT,
                keypoint.id,
                Phrase.of(keypoint_title(keypoint.id)),
                parent.id,
                basis.case,
                keypoint.classification,
                (case_article, "D-8", "D-9"),
            )
        )
    return out


def _longest_period(
    candidates: Sequence[Contribution], notes: list[Phrase]
) -> tuple[Period, tuple[Contribution, ...]]:
    ends = [c.classification.end_key for c in candidates]
    longest = max(ends)
    governors = tuple(c for c, end in zip(candidates, ends, strict=True) if end == longest)
    first = governors[0].classification.period
    if isinstance(first, UntilCondition):
        conditions = list(
            dict.fromkeys(
                c.classification.period.condition
                for c in governors
                if isinstance(c.classification.period, UntilCondition)
            )
        )
        if len(conditions) > 1:
            notes.append(
                Phrase.of(
                    "多项依据以不同解密条件确定保密期限，须各条件均达成方可解密（D-9, D-15）。"
                )
            )
            return UntilCondition("；且".join(conditions)), governors
        if any(end.rank == 0 for end in ends):
            notes.append(
                Phrase.of(
                    "另有依据以确定时间届满；解密条件先达成时，应按其余依据重新确定（D-9, D-12）。"
                )
            )
    # Among bases ending on the same day, the first one's form of the term is kept.
    return first, governors


def _scope_limit(bases: Sequence[Basis], person_org: Mapping[str, str]) -> KnowledgeScope | None:
    limit: KnowledgeScope | None = None
    for basis in bases:
        bound = basis.parent.scope_limit
        if bound is None or not basis.parent.is_classified:
            continue
        limit = bound if limit is None else limit.intersect(bound, person_org)
    return limit


def _not_classified(
    bases: Sequence[Basis], notes: list[Phrase], scope_limit: KnowledgeScope | None, names: Names
) -> Requirement:
    summary: str
    if bases:
        noted = "\n".join(n.words for n in notes)  # an article cited in any note
        cited = [a for a in ("X-13", "X-14") if a in noted]
        summary = (
            "其所依据的事项或所涉及的密点均已解密，且无保密事项范围依据：不应当派生定密"
            f"（{', '.join([*cited, 'D-14'])}）。"
        )
        articles: tuple[str, ...] = (*cited, "D-14")
    else:
        summary = (
            "未采用已定密事项的内容或密点：不应当派生定密；是否定密应当依照保密法律法规和"
            "保密事项范围判断（D-14）。"
        )
        articles = ("D-14",)
    explanation = Explanation(Phrase.of(summary), articles, (), tuple(notes), names)
    return Requirement(None, scope_limit, explanation)


def _articles(
    contributions: Sequence[Contribution], notes: Sequence[Phrase], extra: Sequence[str]
) -> tuple[str, ...]:
    seen: dict[str, None] = dict.fromkeys(extra)
    for c in contributions:
        for article in c.articles:
            seen[article] = None
    if sum(1 for c in contributions if c.ground is not Ground.SCOPE_RULE) and any(
        c.ground is Ground.SCOPE_RULE for c in contributions
    ):
        seen["D-15"] = None
    for note in notes:
        for article in ("X-13", "X-14", "D-12"):
            if article in note.words:
                seen[article] = None
    return tuple(sorted(seen, key=_article_order))


@cache
def _article_order(article: str) -> tuple[str, int, str]:
    """D-7(3) sorts as article 7 of D, before D-8 and D-15."""
    law, _, rest = article.partition("-")
    digits = re.match(r"\d+", rest)
    return (law, int(digits.group()) if digits else 0, rest)


def _describe(c: Contribution) -> Phrase:
    marking = c.classification.marking
    if c.ground is Ground.KEYPOINT:
        via: list[Part] = ["「", item_id(c.via_item_id), "」的"] if c.via_item_id else []
        return Phrase.of(*via, "密点「", keypoint_id(c.ref_id), "」", c.title, f"（{marking}）")
    if c.ground is Ground.SCOPE_RULE:
        return Phrase.of(f"保密事项范围「{c.ref_id}」", c.title, f"（{marking}）")
    case = c.case.label if c.case else ""
    return Phrase.of("「", item_id(c.ref_id), "」", c.title, f"（{marking}，{case}）")


def _summary(result: Classification, contributions: Sequence[Contribution]) -> Phrase:
    level_by = join("；", (_describe(c) for c in contributions if c.governs_level))
    period_by = join("；", (_describe(c) for c in contributions if c.governs_period))
    expiry = result.expiry
    match result.period:
        case LongTerm():
            end = "长期"
        case UntilCondition(condition=condition):
            end = f"至解密条件达成：{condition}"
        case Years(start=start) if expiry is not None:
            end = f"自 {chinese_date(start)} 起算，至 {chinese_date(expiry)} 届满"
        case _:
            end = f"至 {chinese_date(expiry)}" if expiry else ""
    mixed = (
        "（同时依据已定密事项和保密事项范围，取最高密级、最长保密期限，D-15）"
        if any(c.ground is Ground.SCOPE_RULE for c in contributions)
        and any(c.ground is not Ground.SCOPE_RULE for c in contributions)
        else ""
    )
    return Phrase.of(
        f"应定为「{result.marking}」（{end}）{mixed}。密级依据：",
        level_by,
        "（D-8）。保密期限依据：",
        period_by,
        "（D-9）。",
    )
