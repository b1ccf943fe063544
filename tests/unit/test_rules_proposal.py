"""check_proposal: the handler proposes, the rules refuse what breaks D-8, D-9, D-10;
an unmarked basis may take the originator's answer (D-9, D-17)."""

from __future__ import annotations

from datetime import date

import pytest

from graph.errors import RuleViolation
from graph.model import (
    Classification,
    Level,
    LongTerm,
    Period,
    ScopeRule,
    Unmarked,
    UntilDate,
    Years,
)
from graph.rules import Requirement, check_proposal, required_classification
from tests.unit.builders import basis, scope, source

ISSUED = date(2023, 6, 15)
START = date(2020, 1, 1)
PERSON_ORG = {"p1": "O1"}
SCOPE = scope(persons=("p1",))


def secret_ten_years() -> Requirement:
    """机密★10年 from 2020-01-01: the requirement of a plain derived item."""
    return required_classification(
        [basis(source("S", Level.SECRET, Years(10, START)))], [], issued_on=ISSUED
    )


def unmarked_secret() -> Requirement:
    """机密 with no period, classified 2012-07-01: X-11 gives 20 years to 2032-07-01."""
    return required_classification(
        [basis(source("S", Level.SECRET, Unmarked(date(2012, 7, 1))))], [], issued_on=ISSUED
    )


def propose(
    req: Requirement,
    level: Level | None,
    period: Period | None,
    consultation: str | None = None,
) -> Classification | None:
    return check_proposal(
        req,
        level=level,
        period=period,
        scope=SCOPE,
        person_org=PERSON_ORG,
        originator_consultation=consultation,
    )


def test_d8_d9_matching_proposal_is_accepted() -> None:
    chosen = propose(secret_ten_years(), Level.SECRET, Years(10, START))
    assert chosen == Classification(Level.SECRET, Years(10, START))


def test_d8_d9_no_proposal_takes_the_requirement() -> None:
    assert propose(secret_ten_years(), None, None) == Classification(Level.SECRET, Years(10, START))


def test_d8_lower_level_is_refused() -> None:
    """D-8, D-21(1): 秘密 for a 机密 basis under-classifies."""
    with pytest.raises(RuleViolation) as raised:
        propose(secret_ten_years(), Level.CONFIDENTIAL, None)
    assert raised.value.rule == "DERIVED_LEVEL"
    assert raised.value.articles == ("D-8", "D-21")
    assert "低于" in raised.value.message
    assert "D-8" in raised.value.message


def test_d8_higher_level_is_refused() -> None:
    """D-8, D-21(2): 绝密 for a 机密 basis over-classifies."""
    with pytest.raises(RuleViolation) as raised:
        propose(secret_ten_years(), Level.TOP_SECRET, Years(10, START))
    assert raised.value.rule == "DERIVED_LEVEL"
    assert "D-8" in raised.value.articles
    assert "高于" in raised.value.message


def test_d9_new_term_from_the_derived_items_own_date_is_refused() -> None:
    """D-9: 10 years counted from the derived item's date (2023-06-15) would run to 2033;
    the source's term ends 2030-01-01."""
    with pytest.raises(RuleViolation) as raised:
        propose(secret_ten_years(), Level.SECRET, Years(10, ISSUED))
    assert raised.value.rule == "DERIVED_PERIOD"
    assert raised.value.articles == ("D-9", "D-21")
    assert "D-9" in raised.value.message


@pytest.mark.parametrize(
    "period",
    [Years(5, START), Years(20, START), LongTerm(), UntilDate(date(2035, 1, 1))],
)
def test_d9_other_period_is_refused(period: Period) -> None:
    with pytest.raises(RuleViolation) as raised:
        propose(secret_ten_years(), Level.SECRET, period)
    assert raised.value.rule == "DERIVED_PERIOD"
    assert "D-9" in raised.value.articles


def test_d9_marked_basis_period_is_not_overridden_by_a_consultation() -> None:
    """D-9: consulting the originator is for a source without a period; a marked period
    must be followed."""
    with pytest.raises(RuleViolation) as raised:
        propose(secret_ten_years(), Level.SECRET, Years(5, START), "函询答复〔2023〕5号")
    assert "D-9" in raised.value.articles


def test_d9_x11_unmarked_basis_statutory_period_is_accepted() -> None:
    chosen = propose(unmarked_secret(), Level.SECRET, Years(20, date(2012, 7, 1)))
    assert chosen == Classification(Level.SECRET, Years(20, date(2012, 7, 1)))


def test_d9_d17_unmarked_basis_other_period_without_consultation_is_refused() -> None:
    """D-9: 已定密事项未明确保密期限的，可以征求原定密机关、单位意见后确定 — without that
    consultation the statutory maximum applies, and the refusal points to D-17."""
    with pytest.raises(RuleViolation) as raised:
        propose(unmarked_secret(), Level.SECRET, Years(10, date(2012, 7, 1)))
    assert raised.value.rule == "DERIVED_PERIOD"
    assert "D-9" in raised.value.articles
    assert "D-17" in raised.value.message


def test_d9_d17_unmarked_basis_period_from_the_originators_answer_is_accepted() -> None:
    """D-9, D-17: with the originator's answer the period may be set: 10 years from
    2012-07-01, ending 2022-07-01."""
    chosen = propose(
        unmarked_secret(), Level.SECRET, Years(10, date(2012, 7, 1)), "原定密机关复函〔2023〕5号"
    )
    assert chosen == Classification(Level.SECRET, Years(10, date(2012, 7, 1)))
    assert chosen.expiry == date(2022, 7, 1)


def test_d9_d17_consultation_still_requires_the_required_level() -> None:
    """D-8: the originator's answer on the period does not change the level."""
    with pytest.raises(RuleViolation) as raised:
        propose(unmarked_secret(), Level.CONFIDENTIAL, Years(10, date(2012, 7, 1)), "复函")
    assert raised.value.rule == "DERIVED_LEVEL"


def test_d9_d15_consultation_cannot_cut_below_another_marked_basis() -> None:
    """D-9, D-15: the originator of the unmarked source S1 may set S1's period (5 years from
    2012-07-01, ending 2017-07-01), but the derived item also rests on S2, marked 机密 until
    2027-01-01; the longest period over all bases still applies, so a period ending
    2017-07-01 must be refused (it would leave S2's content unprotected for ten years)."""
    s1 = source("S1", Level.SECRET, Unmarked(date(2012, 7, 1)))
    s2 = source("S2", Level.SECRET, UntilDate(date(2027, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=ISSUED)
    # S1 governs: 20 years from 2012-07-01 end 2032-07-01, after 2027-01-01
    assert req.classification == Classification(Level.SECRET, Years(20, date(2012, 7, 1)))
    with pytest.raises(RuleViolation) as raised:
        propose(req, Level.SECRET, Years(5, date(2012, 7, 1)), "S1 原定密机关复函〔2023〕7号")
    assert "D-9" in raised.value.articles


def test_d9_d17_consultation_is_for_a_source_not_for_a_scope_rule() -> None:
    """D-9: the consultation clause concerns 已定密事项未明确保密期限 and its 原定密机关; a
    scope-of-secrets rule that marks no period has no originator to consult, so X-11's
    statutory maximum (机密 20 years from 2023-06-15) applies and another period is refused."""
    rule = ScopeRule("R", "某行业重要数据", "某行业国家秘密及其密级具体范围", Level.SECRET)
    req = required_classification([], [rule], issued_on=ISSUED)
    assert req.classification == Classification(Level.SECRET, Years(20, ISSUED))
    with pytest.raises(RuleViolation) as raised:
        propose(req, Level.SECRET, Years(5, ISSUED), "征求意见〔2023〕1号")
    assert "D-9" in raised.value.articles


def test_d8_level_check_comes_before_scope_check() -> None:
    """A wrong level is reported as D-8, even with an empty scope."""
    with pytest.raises(RuleViolation) as raised:
        check_proposal(
            secret_ten_years(),
            level=Level.CONFIDENTIAL,
            period=None,
            scope=scope(),
            person_org={},
        )
    assert raised.value.rule == "DERIVED_LEVEL"
