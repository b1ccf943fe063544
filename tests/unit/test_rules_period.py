"""D-9: the derived item's secrecy period; X-11 for unmarked bases; D-15 longest of several."""

from __future__ import annotations

from datetime import date

from graph.model import (
    BasisCase,
    Classification,
    Level,
    LongTerm,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
)
from graph.rules import required_classification
from tests.unit.builders import basis, classified, keypoint, source


def test_d9_derived_keeps_the_basis_term_and_its_start() -> None:
    """D-9: 按照已定密事项的保密期限确定. The source runs 10 years from 2020-01-01, so the
    derived item issued 2023-06-15 ends 2030-01-01 with it — not 2033-06-15."""
    s = source("S", Level.SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification([basis(s)], [], issued_on=date(2023, 6, 15))
    c = classified(req)
    assert c.period == Years(10, date(2020, 1, 1))
    assert c.expiry == date(2030, 1, 1)
    assert c.expiry != date(2033, 6, 15)
    assert c.marking == "机密★10年"
    assert "2030年1月1日" in req.explanation.names.spell(req.explanation.summary)


def test_d9_until_date_basis_is_kept() -> None:
    """D-9: a 解密时间 of the source is the derived item's 解密时间."""
    s = source("S", Level.CONFIDENTIAL, UntilDate(date(2028, 12, 31)))
    c = classified(required_classification([basis(s)], [], issued_on=date(2024, 3, 1)))
    assert c == Classification(Level.CONFIDENTIAL, UntilDate(date(2028, 12, 31)))
    assert c.expiry == date(2028, 12, 31)
    assert c.marking == "秘密★2028年12月31日"


def test_d9_basis_term_from_29_february() -> None:
    """D-9: 10 years from 2020-02-29 end on 2030-02-28, for the derived item too."""
    s = source("S", Level.SECRET, Years(10, date(2020, 2, 29)))
    c = classified(required_classification([basis(s)], [], issued_on=date(2022, 2, 28)))
    assert c.period == Years(10, date(2020, 2, 29))
    assert c.expiry == date(2030, 2, 28)


def test_d9_longest_keypoint_period_governs() -> None:
    """D-9: 与所涉及密点的最长保密期限保持一致. "Longest" is the latest end: K3 (3 years from
    2024-01-01, ends 2027-01-01) outlasts K2 (until 2026-06-30) and K1 (5 years from
    2018-01-01, ends 2023-01-01)."""
    s = source("S", Level.SECRET, Years(20, date(2018, 1, 1)))
    k1 = keypoint("K1", "S", Level.SECRET, Years(5, date(2018, 1, 1)))
    k2 = keypoint("K2", "S", Level.CONFIDENTIAL, UntilDate(date(2026, 6, 30)))
    k3 = keypoint("K3", "S", Level.CONFIDENTIAL, Years(3, date(2024, 1, 1)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k1, k2, k3)], [], issued_on=date(2024, 5, 1)
    )
    c = classified(req)
    assert c == Classification(Level.SECRET, Years(3, date(2024, 1, 1)))
    assert c.expiry == date(2027, 1, 1)
    governing = [x.ref_id for x in req.explanation.contributions if x.governs_period]
    assert governing == ["K3"]
    governing_level = [x.ref_id for x in req.explanation.contributions if x.governs_level]
    assert governing_level == ["K1"]


def test_d9_several_bases_longest_end_governs() -> None:
    """D-9, D-15: 20 years from 2005-01-01 end 2025-01-01; 10 years from 2020-01-01 end
    2030-01-01; the latter is the longest period."""
    s1 = source("S1", Level.SECRET, Years(20, date(2005, 1, 1)))
    s2 = source("S2", Level.SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    c = classified(req)
    assert c.period == Years(10, date(2020, 1, 1))
    assert c.expiry == date(2030, 1, 1)
    governing = [x.ref_id for x in req.explanation.contributions if x.governs_period]
    assert governing == ["S2"]


def test_d9_level_and_period_from_different_bases() -> None:
    """D-8 and D-9 apply independently: 绝密 from S1, the period of S2 (ends 2040-07-01)."""
    s1 = source("S1", Level.TOP_SECRET, Years(5, date(2020, 1, 1)))
    s2 = source("S2", Level.CONFIDENTIAL, UntilDate(date(2040, 7, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, UntilDate(date(2040, 7, 1)))
    assert c.marking == "绝密★2040年7月1日"
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["S1"].governs_level
    assert not by_ref["S1"].governs_period
    assert by_ref["S2"].governs_period
    assert not by_ref["S2"].governs_level


def test_d9_equal_ends_both_govern() -> None:
    """D-9: two bases ending the same day (10 years from 2020-01-01 and until 2030-01-01)
    both govern the period."""
    s1 = source("S1", Level.SECRET, Years(10, date(2020, 1, 1)))
    s2 = source("S2", Level.SECRET, UntilDate(date(2030, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    assert classified(req).expiry == date(2030, 1, 1)
    assert all(x.governs_period for x in req.explanation.contributions)


def test_d9_long_term_beats_every_dated_period() -> None:
    """D-9: 长期 is longer than any dated period, even of a higher level; level stays 绝密."""
    s1 = source("S1", Level.CONFIDENTIAL, LongTerm())
    s2 = source("S2", Level.TOP_SECRET, Years(30, date(2020, 1, 1)))
    s3 = source("S3", Level.SECRET, UntilDate(date(2099, 12, 31)))
    req = required_classification([basis(s1), basis(s2), basis(s3)], [], issued_on=date(2023, 1, 1))
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, LongTerm())
    assert c.marking == "绝密★长期"
    assert c.expiry is None
    governing = [x.ref_id for x in req.explanation.contributions if x.governs_period]
    assert governing == ["S1"]


def test_d9_long_term_beats_a_condition() -> None:
    s1 = source("S1", Level.SECRET, UntilCondition("工程竣工验收后"))
    s2 = source("S2", Level.SECRET, LongTerm())
    c = classified(required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1)))
    assert c == Classification(Level.SECRET, LongTerm())


def test_d9_long_term_keypoint_governs() -> None:
    """D-9: the longest keypoint period is 长期."""
    s = source("S", Level.TOP_SECRET, LongTerm())
    k1 = keypoint("K1", "S", Level.SECRET, LongTerm())
    k2 = keypoint("K2", "S", Level.TOP_SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k1, k2)], [], issued_on=date(2023, 1, 1)
    )
    assert classified(req) == Classification(Level.TOP_SECRET, LongTerm())


def test_d9_condition_period_is_kept() -> None:
    """D-9: a source with a 解密条件 gives the derived item the same condition."""
    s = source("S", Level.SECRET, UntilCondition("工程竣工验收后"))
    c = classified(required_classification([basis(s)], [], issued_on=date(2023, 1, 1)))
    assert c == Classification(Level.SECRET, UntilCondition("工程竣工验收后"))
    assert c.marking == "机密★工程竣工验收后"
    assert c.expiry is None


def test_d9_condition_outlasts_a_dated_basis_and_notes_it() -> None:
    """A condition may be met after any given day, so it governs over a dated basis; the
    note says to recompute from the other basis if the condition is met first (D-9, D-12)."""
    s1 = source("S1", Level.SECRET, UntilCondition("工程竣工验收后"))
    s2 = source("S2", Level.TOP_SECRET, Years(10, date(2020, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, UntilCondition("工程竣工验收后"))
    assert c.marking == "绝密★工程竣工验收后"
    assert any("D-12" in note for note in map(req.explanation.names.spell, req.explanation.notes))
    assert "D-12" in req.explanation.articles


def test_d9_d15_two_different_conditions_combine() -> None:
    """D-9, D-15: two bases with different conditions: both must be met."""
    s1 = source("S1", Level.SECRET, UntilCondition("工程竣工验收后"))
    s2 = source("S2", Level.CONFIDENTIAL, UntilCondition("项目成果公开发布后"))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    c = classified(req)
    assert c == Classification(Level.SECRET, UntilCondition("工程竣工验收后；且项目成果公开发布后"))
    assert c.marking == "机密★工程竣工验收后；且项目成果公开发布后"
    assert all(x.governs_period for x in req.explanation.contributions)
    assert any(
        "须各条件均达成" in note for note in map(req.explanation.names.spell, req.explanation.notes)
    )


def test_d9_same_condition_twice_is_not_repeated() -> None:
    s1 = source("S1", Level.SECRET, UntilCondition("工程竣工验收后"))
    s2 = source("S2", Level.SECRET, UntilCondition("工程竣工验收后"))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2023, 1, 1))
    assert classified(req).period == UntilCondition("工程竣工验收后")
    assert req.explanation.notes == ()


def test_d9_x11_unmarked_basis_uses_statutory_maximum_from_its_start() -> None:
    """D-9 按照保密法规定的最长保密期限执行; X-11: 机密 twenty years, counted from the
    source's own start 2012-07-01 — so it ends 2032-07-01, not 20 years from 2023."""
    s = source("S", Level.SECRET, Unmarked(date(2012, 7, 1)), issued_on=date(2012, 7, 1))
    req = required_classification([basis(s)], [], issued_on=date(2023, 6, 15))
    c = classified(req)
    assert c == Classification(Level.SECRET, Years(20, date(2012, 7, 1)))
    assert c.expiry == date(2032, 7, 1)
    assert c.marking == "机密★20年"
    assert "X-11" in req.explanation.articles
    assert "D-9" in req.explanation.articles
    (only,) = req.explanation.contributions
    assert "X-11" in only.articles
    assert only.classification == Classification(Level.SECRET, Years(20, date(2012, 7, 1)))
    (note,) = map(req.explanation.names.spell, req.explanation.notes)
    assert "20 年" in note
    assert "2012年7月1日" in note
    assert "X-11" in note


def test_x11_unmarked_top_secret_thirty_years() -> None:
    s = source("S", Level.TOP_SECRET, Unmarked(date(2001, 3, 15)))
    c = classified(required_classification([basis(s)], [], issued_on=date(2023, 1, 1)))
    assert c == Classification(Level.TOP_SECRET, Years(30, date(2001, 3, 15)))
    assert c.expiry == date(2031, 3, 15)


def test_x11_unmarked_confidential_ten_years() -> None:
    s = source("S", Level.CONFIDENTIAL, Unmarked(date(2016, 2, 29)))
    c = classified(required_classification([basis(s)], [], issued_on=date(2023, 1, 1)))
    assert c == Classification(Level.CONFIDENTIAL, Years(10, date(2016, 2, 29)))
    assert c.expiry == date(2026, 2, 28)


def test_x11_unmarked_keypoint_uses_its_own_level_maximum() -> None:
    """D-9, X-11: an unmarked 秘密 keypoint gives 10 years from its start (ends 2025-09-01)."""
    s = source("S", Level.SECRET, Years(20, date(2015, 9, 1)))
    k = keypoint("K", "S", Level.CONFIDENTIAL, Unmarked(date(2015, 9, 1)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k)], [], issued_on=date(2023, 1, 1)
    )
    c = classified(req)
    assert c == Classification(Level.CONFIDENTIAL, Years(10, date(2015, 9, 1)))
    assert c.expiry == date(2025, 9, 1)
    assert "X-11" in req.explanation.articles


def test_x11_unmarked_basis_shorter_than_a_marked_one_does_not_govern() -> None:
    """Unmarked 秘密 from 2010-01-01 ends 2020-01-01 (X-11); the marked basis ending
    2030-01-01 governs the period (D-9)."""
    s1 = source("S1", Level.CONFIDENTIAL, Unmarked(date(2010, 1, 1)))
    s2 = source("S2", Level.CONFIDENTIAL, Years(10, date(2020, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=date(2019, 6, 1))
    c = classified(req)
    assert c.period == Years(10, date(2020, 1, 1))
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["S2"].governs_period
    assert not by_ref["S1"].governs_period
