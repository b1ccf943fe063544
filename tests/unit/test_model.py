"""graph.model: levels, statutory periods (X-11), dates, period forms, markings, expiry,
end-key ordering (D-9, D-15) and knowledge scopes (D-10)."""

from __future__ import annotations

from datetime import date

import pytest

from graph.errors import InvalidValue
from graph.model import (
    BasisCase,
    Classification,
    EndKey,
    ItemStatus,
    KnowledgeScope,
    Level,
    LongTerm,
    PeriodKind,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
    add_years,
    chinese_date,
    highest,
    period_kind,
    period_text,
)
from tests.unit.builders import declassified, derived, scope, source

# Levels


def test_level_order_top_secret_above_secret_above_confidential() -> None:
    """绝密 > 机密 > 秘密 (DOMAIN glossary, D-8 "highest level")."""
    assert Level.TOP_SECRET.rank > Level.SECRET.rank > Level.CONFIDENTIAL.rank


def test_level_labels() -> None:
    assert Level.TOP_SECRET.label == "绝密"
    assert Level.SECRET.label == "机密"
    assert Level.CONFIDENTIAL.label == "秘密"


@pytest.mark.parametrize(
    ("label", "level"),
    [("绝密", Level.TOP_SECRET), ("机密", Level.SECRET), ("秘密", Level.CONFIDENTIAL)],
)
def test_level_from_label(label: str, level: Level) -> None:
    assert Level.from_label(label) is level


def test_level_from_unknown_label_is_invalid() -> None:
    with pytest.raises(InvalidValue) as raised:
        Level.from_label("内部")
    assert raised.value.field == "level"


def test_d8_highest_of_several_levels() -> None:
    """D-8, D-15: the highest level of several."""
    assert highest([Level.CONFIDENTIAL, Level.TOP_SECRET, Level.SECRET]) is Level.TOP_SECRET
    assert highest([Level.CONFIDENTIAL, Level.SECRET]) is Level.SECRET
    assert highest([Level.CONFIDENTIAL]) is Level.CONFIDENTIAL


def test_x11_statutory_years_per_level() -> None:
    """X-11: 绝密级三十年、机密级二十年、秘密级十年."""
    assert Level.TOP_SECRET.statutory_years == 30
    assert Level.SECRET.statutory_years == 20
    assert Level.CONFIDENTIAL.statutory_years == 10


# Dates


def test_add_years_same_day_later() -> None:
    assert add_years(date(2020, 1, 15), 10) == date(2030, 1, 15)
    assert add_years(date(2019, 12, 31), 1) == date(2020, 12, 31)


def test_add_years_29_february_falls_back_to_28_february() -> None:
    assert add_years(date(2020, 2, 29), 10) == date(2030, 2, 28)
    assert add_years(date(2020, 2, 29), 1) == date(2021, 2, 28)


def test_add_years_29_february_to_a_leap_year_stays() -> None:
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)


def test_chinese_date_has_no_leading_zeros() -> None:
    assert chinese_date(date(2030, 1, 5)) == "2030年1月5日"
    assert chinese_date(date(2030, 12, 31)) == "2030年12月31日"


# Period forms


def test_years_must_be_positive() -> None:
    with pytest.raises(InvalidValue) as raised:
        Years(0, date(2020, 1, 1))
    assert raised.value.field == "period.years"
    with pytest.raises(InvalidValue):
        Years(-5, date(2020, 1, 1))


def test_condition_must_not_be_blank() -> None:
    with pytest.raises(InvalidValue) as raised:
        UntilCondition("   ")
    assert raised.value.field == "period.condition"


def test_period_kinds() -> None:
    assert period_kind(Years(10, date(2020, 1, 1))) is PeriodKind.YEARS
    assert period_kind(UntilDate(date(2030, 12, 31))) is PeriodKind.UNTIL_DATE
    assert period_kind(UntilCondition("工程竣工验收后")) is PeriodKind.UNTIL_CONDITION
    assert period_kind(LongTerm()) is PeriodKind.LONG_TERM
    assert period_kind(Unmarked(date(2020, 1, 1))) is PeriodKind.UNMARKED


def test_period_text_of_each_form() -> None:
    assert period_text(Years(10, date(2020, 1, 1))) == "10年"
    assert period_text(UntilDate(date(2030, 12, 31))) == "2030年12月31日"
    assert period_text(UntilCondition("工程竣工验收后")) == "工程竣工验收后"
    assert period_text(LongTerm()) == "长期"
    assert period_text(Unmarked(date(2020, 1, 1))) == ""


# Markings


def test_marking_years() -> None:
    assert Classification(Level.SECRET, Years(10, date(2020, 1, 1))).marking == "机密★10年"


def test_marking_long_term() -> None:
    assert Classification(Level.TOP_SECRET, LongTerm()).marking == "绝密★长期"


def test_marking_until_date() -> None:
    marking = Classification(Level.CONFIDENTIAL, UntilDate(date(2030, 12, 31))).marking
    assert marking == "秘密★2030年12月31日"


def test_marking_condition() -> None:
    marking = Classification(Level.SECRET, UntilCondition("工程竣工验收后")).marking
    assert marking == "机密★工程竣工验收后"


def test_marking_level_only_when_unmarked() -> None:
    """X-19: a level-only marking, e.g. 机密, shows no period."""
    assert Classification(Level.SECRET, Unmarked(date(2020, 1, 1))).marking == "机密"


def test_item_marking_and_is_classified() -> None:
    """X-23: a declassified item keeps its old classification (and marking) for the 解密 mark."""
    item = source("S", Level.SECRET, Years(10, date(2020, 1, 1)))
    assert item.marking == "机密★10年"
    assert item.is_classified
    gone = declassified(item, ItemStatus.DECLASSIFIED_WORK_SECRET)
    assert gone.marking == "机密★10年"
    assert not gone.is_classified


def test_never_classified_item_has_no_marking() -> None:
    """D-14: an item that was never classified carries no marking."""
    item = derived("D", None, issued_on=date(2023, 1, 1))
    assert item.marking is None
    assert not item.is_classified


# Expiry


def test_expiry_of_years_counts_from_start() -> None:
    assert Classification(Level.SECRET, Years(10, date(2021, 6, 30))).expiry == date(2031, 6, 30)


def test_expiry_of_years_from_29_february() -> None:
    expiry = Classification(Level.SECRET, Years(10, date(2020, 2, 29))).expiry
    assert expiry == date(2030, 2, 28)


def test_expiry_of_until_date_is_that_date() -> None:
    c = Classification(Level.CONFIDENTIAL, UntilDate(date(2030, 12, 31)))
    assert c.expiry == date(2030, 12, 31)


def test_expiry_of_condition_and_long_term_is_unknown() -> None:
    assert Classification(Level.SECRET, UntilCondition("工程竣工验收后")).expiry is None
    assert Classification(Level.TOP_SECRET, LongTerm()).expiry is None


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (Level.TOP_SECRET, date(2045, 3, 1)),
        (Level.SECRET, date(2035, 3, 1)),
        (Level.CONFIDENTIAL, date(2025, 3, 1)),
    ],
)
def test_x11_unmarked_expires_after_statutory_maximum_from_start(
    level: Level, expected: date
) -> None:
    """X-11: unmarked items use 30 / 20 / 10 years, counted from their start."""
    assert Classification(level, Unmarked(date(2015, 3, 1))).expiry == expected


def test_x11_explicit_turns_unmarked_into_statutory_years() -> None:
    c = Classification(Level.SECRET, Unmarked(date(2015, 3, 1)))
    assert c.explicit() == Classification(Level.SECRET, Years(20, date(2015, 3, 1)))


def test_explicit_leaves_marked_periods_alone() -> None:
    c = Classification(Level.SECRET, UntilDate(date(2030, 12, 31)))
    assert c.explicit() == c


# End keys (the "longest period" of D-9, D-15)


def test_d9_end_key_dated_before_condition_before_long_term() -> None:
    dated = Classification(Level.SECRET, UntilDate(date(9999, 12, 31))).end_key
    condition = Classification(Level.SECRET, UntilCondition("工程竣工验收后")).end_key
    long_term = Classification(Level.SECRET, LongTerm()).end_key
    assert dated < condition < long_term
    assert dated == EndKey(0, date(9999, 12, 31))
    assert condition == EndKey(1, None)
    assert long_term == EndKey(2, None)


def test_d9_end_key_orders_dated_periods_by_end_date_not_by_years() -> None:
    """20 years from 2005 (ends 2025-01-01) is shorter than 5 years from 2021 (2026-01-01)."""
    twenty = Classification(Level.SECRET, Years(20, date(2005, 1, 1))).end_key
    five = Classification(Level.SECRET, Years(5, date(2021, 1, 1))).end_key
    assert twenty < five


def test_x11_end_key_of_unmarked_uses_statutory_expiry() -> None:
    """秘密, unmarked from 2015-01-01: ends 2025-01-01 (X-11), before 2026-01-01."""
    unmarked = Classification(Level.CONFIDENTIAL, Unmarked(date(2015, 1, 1))).end_key
    later = Classification(Level.SECRET, Years(5, date(2021, 1, 1))).end_key
    assert unmarked == EndKey(0, date(2025, 1, 1))
    assert unmarked < later


def test_equal_conditions_have_equal_end_keys() -> None:
    a = Classification(Level.SECRET, UntilCondition("甲")).end_key
    b = Classification(Level.CONFIDENTIAL, UntilCondition("乙")).end_key
    assert a == b


# D-7 cases


def test_d7_case_articles_and_labels() -> None:
    assert BasisCase.IDENTICAL.article == "D-7(1)"
    assert BasisCase.INVOLVES_KEYPOINT.article == "D-7(2)"
    assert BasisCase.SUMMARY.article == "D-7(3)"
    assert BasisCase.ORIGINATOR_REQUIREMENT.article == "D-7(4)"
    assert BasisCase.IDENTICAL.label == "与已定密事项完全一致"
    assert BasisCase.INVOLVES_KEYPOINT.label == "涉及已定密事项密点"


# Knowledge scope (D-10)

PERSON_ORG = {"p1": "O1", "p2": "O1", "p3": "O2"}


def test_d10_empty_scope() -> None:
    assert KnowledgeScope().is_empty
    assert not scope(persons=("p1",)).is_empty
    assert not scope(organisations=("O1",)).is_empty


def test_d10_admits_named_persons_and_members_of_named_organisations() -> None:
    bound = scope(persons=("p3",), organisations=("O1",))
    assert bound.admits("p3", "O2")
    assert bound.admits("p1", "O1")
    assert not bound.admits("p4", "O3")
    assert not bound.admits("p4", None)


def test_d10_persons_within_bound_through_their_organisation() -> None:
    bound = scope(organisations=("O1",))
    assert scope(persons=("p1", "p2")).within(bound, PERSON_ORG)


def test_d10_person_of_another_organisation_is_outside() -> None:
    bound = scope(organisations=("O1",))
    wide = scope(persons=("p1", "p3"))
    assert not wide.within(bound, PERSON_ORG)
    assert wide.outside(bound, PERSON_ORG) == scope(persons=("p3",))


def test_d10_person_with_unknown_organisation_is_outside() -> None:
    bound = scope(organisations=("O1",))
    assert scope(persons=("p9",)).outside(bound, PERSON_ORG) == scope(persons=("p9",))


def test_d10_organisation_is_wider_than_a_named_person() -> None:
    """An organisation is not within a bound that names only one of its people."""
    bound = scope(persons=("p1",))
    wide = scope(organisations=("O1",))
    assert not wide.within(bound, PERSON_ORG)
    assert wide.outside(bound, PERSON_ORG) == scope(organisations=("O1",))


def test_d10_outside_lists_only_the_excess() -> None:
    bound = scope(persons=("p3",), organisations=("O1",))
    wide = scope(persons=("p1", "p3", "p9"), organisations=("O1", "O2"))
    assert wide.outside(bound, PERSON_ORG) == scope(persons=("p9",), organisations=("O2",))


def test_d10_intersect_keeps_persons_admitted_through_organisation() -> None:
    named = scope(persons=("p1", "p3"))
    by_org = scope(organisations=("O1",))
    assert named.intersect(by_org, PERSON_ORG) == scope(persons=("p1",))
    assert by_org.intersect(named, PERSON_ORG) == scope(persons=("p1",))


def test_d10_intersect_of_organisations_and_persons() -> None:
    a = scope(organisations=("O1", "O2"))
    b = scope(persons=("p1",), organisations=("O2", "O3"))
    assert a.intersect(b, PERSON_ORG) == scope(persons=("p1",), organisations=("O2",))


def test_d10_disjoint_scopes_intersect_to_empty() -> None:
    a = scope(organisations=("O1",))
    b = scope(persons=("p3",))
    assert a.intersect(b, PERSON_ORG).is_empty


def test_scope_ids() -> None:
    assert scope(persons=("p1",), organisations=("O1",)).ids() == frozenset({"p1", "O1"})
