"""D-15: an item derived from a source that also falls under a scope-of-secrets rule."""

from __future__ import annotations

from datetime import date

from graph.model import (
    BasisCase,
    Classification,
    Level,
    LongTerm,
    ScopeRule,
    Unmarked,
    Years,
)
from graph.rules import Ground, required_classification
from tests.unit.builders import basis, classified, keypoint, source

ISSUED = date(2023, 3, 1)


def rule(
    rule_id: str, level: Level, years: int | None = None, *, long_term: bool = False
) -> ScopeRule:
    return ScopeRule(
        id=rule_id,
        title="某行业重要数据",
        document="某行业国家秘密及其密级具体范围",
        level=level,
        years=years,
        long_term=long_term,
        issuer="某中央机关",
    )


def test_scope_rule_classification_from_the_items_date() -> None:
    """A scope rule classifies the item itself, from the item's own date (D-14, D-15)."""
    assert rule("R", Level.SECRET, 20).classification_from(ISSUED) == Classification(
        Level.SECRET, Years(20, ISSUED)
    )
    assert rule("R", Level.SECRET, long_term=True).classification_from(ISSUED) == Classification(
        Level.SECRET, LongTerm()
    )
    assert rule("R", Level.SECRET).classification_from(ISSUED) == Classification(
        Level.SECRET, Unmarked(ISSUED)
    )


def test_d15_level_from_source_period_from_scope_rule() -> None:
    """D-15: highest level (绝密 of the source) and longest period (the rule's 20 years from
    2023-03-01, ending 2043-03-01, over the source's end 2025-01-01), each from its own ground."""
    s = source("S", Level.TOP_SECRET, Years(5, date(2020, 1, 1)))
    req = required_classification([basis(s)], [rule("R", Level.SECRET, 20)], issued_on=ISSUED)
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, Years(20, ISSUED))
    assert c.expiry == date(2043, 3, 1)
    assert c.marking == "绝密★20年"
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["S"].governs_level
    assert not by_ref["S"].governs_period
    assert by_ref["R"].governs_period
    assert not by_ref["R"].governs_level
    assert by_ref["R"].ground is Ground.SCOPE_RULE
    assert by_ref["R"].via_item_id is None
    assert by_ref["R"].case is None
    assert "D-15" in req.explanation.articles
    assert "D-8" in req.explanation.articles
    assert "D-9" in req.explanation.articles
    assert "D-15" in req.explanation.names.spell(req.explanation.summary)


def test_d15_level_from_scope_rule_period_from_source() -> None:
    """D-15: 绝密 from the rule; the source's 10 years from 2022-01-01 (ends 2032-01-01)
    outlast the rule's 5 years from 2023-03-01 (ends 2028-03-01)."""
    s = source("S", Level.CONFIDENTIAL, Years(10, date(2022, 1, 1)))
    req = required_classification([basis(s)], [rule("R", Level.TOP_SECRET, 5)], issued_on=ISSUED)
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, Years(10, date(2022, 1, 1)))
    assert c.expiry == date(2032, 1, 1)
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["R"].governs_level
    assert by_ref["S"].governs_period


def test_d15_long_term_scope_rule_governs_the_period() -> None:
    s = source("S", Level.SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification(
        [basis(s)], [rule("R", Level.CONFIDENTIAL, long_term=True)], issued_on=ISSUED
    )
    c = classified(req)
    assert c == Classification(Level.SECRET, LongTerm())
    assert c.marking == "机密★长期"


def test_d15_x11_scope_rule_without_period_uses_statutory_maximum_from_issue() -> None:
    """D-15, X-11: a rule marking no period gives 机密 twenty years from the item's date
    2023-03-01 (ends 2043-03-01), longer than the source's end 2030-01-01."""
    s = source("S", Level.SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification([basis(s)], [rule("R", Level.SECRET)], issued_on=ISSUED)
    c = classified(req)
    assert c == Classification(Level.SECRET, Years(20, ISSUED))
    assert c.expiry == date(2043, 3, 1)
    assert "X-11" in req.explanation.articles
    assert "D-15" in req.explanation.articles


def test_d15_keypoint_and_scope_rule() -> None:
    """D-15 with keypoints: the keypoint (秘密, 15 years from 2020-01-01 = 2035-01-01) and
    the rule (机密, 5 years from 2023-03-01 = 2028-03-01): 机密 from the rule, the period
    from the keypoint."""
    s = source("S", Level.TOP_SECRET, LongTerm())
    k = keypoint("K", "S", Level.CONFIDENTIAL, Years(15, date(2020, 1, 1)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k)],
        [rule("R", Level.SECRET, 5)],
        issued_on=ISSUED,
    )
    c = classified(req)
    assert c == Classification(Level.SECRET, Years(15, date(2020, 1, 1)))
    assert c.expiry == date(2035, 1, 1)
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["R"].governs_level
    assert by_ref["K"].governs_period


def test_d15_several_sources_and_several_rules() -> None:
    """D-15: 最高密级、最长保密期限 over two sources and two rules."""
    s1 = source("S1", Level.CONFIDENTIAL, Years(10, date(2015, 1, 1)))
    s2 = source("S2", Level.SECRET, Years(5, date(2022, 1, 1)))
    rules = [rule("R1", Level.CONFIDENTIAL, 10), rule("R2", Level.SECRET, 3)]
    req = required_classification([basis(s1), basis(s2)], rules, issued_on=ISSUED)
    c = classified(req)
    # ends: S1 2025-01-01, S2 2027-01-01, R1 2033-03-01, R2 2026-03-01
    assert c == Classification(Level.SECRET, Years(10, ISSUED))
    governing_period = [x.ref_id for x in req.explanation.contributions if x.governs_period]
    assert governing_period == ["R1"]
    assert len(req.explanation.contributions) == 4


def test_d14_scope_rule_alone_classifies_without_a_source() -> None:
    """D-14: an item not derived from any source can only be classified by a scope rule."""
    req = required_classification([], [rule("R", Level.SECRET, 10)], issued_on=ISSUED)
    c = classified(req)
    assert c == Classification(Level.SECRET, Years(10, ISSUED))
    (only,) = req.explanation.contributions
    assert only.ground is Ground.SCOPE_RULE
    assert only.governs_level
    assert only.governs_period
