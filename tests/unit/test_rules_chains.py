"""Chains and diamonds: derived items that are themselves sources of further derived items
(D-3, D-7). Each level is built from the classification computed for the level above, as the
service stores it, and the end date must follow the original source all the way down (D-9)."""

from __future__ import annotations

from datetime import date

from graph.model import (
    BasisCase,
    Classification,
    Item,
    Level,
    LongTerm,
    Unmarked,
    UntilDate,
    Years,
)
from graph.rules import Basis, required_classification
from tests.unit.builders import basis, classified, declassified, derived, keypoint, scope, source


def derive(item_id: str, bases: list[Basis], issued_on: date) -> Item:
    """The derived item as it would be stored: the computed classification and bound."""
    req = required_classification(bases, [], issued_on=issued_on)
    return derived(item_id, req.classification, issued_on=issued_on, scope_limit=req.scope_limit)


def test_d9_deep_chain_keeps_the_original_end_date() -> None:
    """D-9: A (机密, 10 years from 2020-01-01) → B → C → D → E → F, one a year later each;
    every one of them ends 2030-01-01 with A, none restarts the ten years."""
    a = source("A", Level.SECRET, Years(10, date(2020, 1, 1)))
    parent = a
    chain = []
    for offset, item_id in enumerate("BCDEF", start=1):
        child = derive(item_id, [basis(parent)], date(2020 + offset, 6, 1))
        chain.append(child)
        parent = child
    for item in chain:
        assert item.classification == Classification(Level.SECRET, Years(10, date(2020, 1, 1)))
        assert item.classification.expiry == date(2030, 1, 1)
        assert item.marking == "机密★10年"


def test_d9_x11_unmarked_top_of_a_chain_gives_one_end_date() -> None:
    """D-9, X-11: A is 绝密 unmarked from 2010-04-01, so 30 years to 2040-04-01; B makes that
    explicit and C, D keep it — the same end, not 30 years from their own dates."""
    a = source("A", Level.TOP_SECRET, Unmarked(date(2010, 4, 1)))
    b_req = required_classification([basis(a)], [], issued_on=date(2015, 1, 1))
    assert "X-11" in b_req.explanation.articles
    b = derived("B", b_req.classification, issued_on=date(2015, 1, 1))
    c = derive("C", [basis(b, BasisCase.IDENTICAL)], date(2018, 1, 1))
    d = derive("D", [basis(c, BasisCase.SUMMARY)], date(2022, 1, 1))
    for item in (b, c, d):
        assert item.classification == Classification(Level.TOP_SECRET, Years(30, date(2010, 4, 1)))
        assert item.classification.expiry == date(2040, 4, 1)
        assert item.marking == "绝密★30年"


def test_d8_d9_keypoint_at_the_top_of_a_chain() -> None:
    """D-8, D-9: B involves A's 机密 keypoint (until 2035-12-31); C copies B, D summarises C:
    all are 机密 until 2035-12-31, not 绝密 like A."""
    a = source("A", Level.TOP_SECRET, LongTerm())
    k = keypoint("K", "A", Level.SECRET, UntilDate(date(2035, 12, 31)))
    b = derive("B", [basis(a, BasisCase.INVOLVES_KEYPOINT, k)], date(2021, 1, 1))
    c = derive("C", [basis(b, BasisCase.IDENTICAL)], date(2022, 1, 1))
    d = derive("D", [basis(c, BasisCase.SUMMARY)], date(2023, 1, 1))
    for item in (b, c, d):
        assert item.classification == Classification(Level.SECRET, UntilDate(date(2035, 12, 31)))
        assert item.marking == "机密★2035年12月31日"


def test_d8_diamond_two_paths_with_different_levels_gives_the_highest() -> None:
    """D-8: R is 绝密 (15 years from 2018-01-01) with a 秘密 keypoint K (5 years from
    2018-01-01). L involves only K: 秘密 until 2023-01-01. M summarises R: 绝密 until
    2033-01-01. D rests on both L and M: 绝密 until 2033-01-01, governed through M."""
    r = source("R", Level.TOP_SECRET, Years(15, date(2018, 1, 1)))
    k = keypoint("K", "R", Level.CONFIDENTIAL, Years(5, date(2018, 1, 1)))
    left = derive("L", [basis(r, BasisCase.INVOLVES_KEYPOINT, k)], date(2019, 1, 1))
    right = derive("M", [basis(r, BasisCase.SUMMARY)], date(2019, 2, 1))
    assert left.classification == Classification(Level.CONFIDENTIAL, Years(5, date(2018, 1, 1)))
    assert right.classification == Classification(Level.TOP_SECRET, Years(15, date(2018, 1, 1)))
    req = required_classification([basis(left), basis(right)], [], issued_on=date(2020, 1, 1))
    c = classified(req)
    assert c == Classification(Level.TOP_SECRET, Years(15, date(2018, 1, 1)))
    assert c.expiry == date(2033, 1, 1)
    by_ref = {x.ref_id: x for x in req.explanation.contributions}
    assert by_ref["M"].governs_level
    assert by_ref["M"].governs_period
    assert not by_ref["L"].governs_level


def test_d8_d9_diamond_level_and_end_from_different_paths() -> None:
    """D-8, D-9: two sources feed two paths. P1 gives 绝密 ending 2025-01-01; P2 gives 秘密
    ending 2031-03-01. The join below is 绝密 until 2031-03-01, and a further item keeps it."""
    s1 = source("S1", Level.TOP_SECRET, Years(5, date(2020, 1, 1)))
    s2 = source("S2", Level.CONFIDENTIAL, Years(10, date(2021, 3, 1)))
    p1 = derive("P1", [basis(s1)], date(2022, 1, 1))
    p2 = derive("P2", [basis(s2)], date(2022, 1, 1))
    join = derive("J", [basis(p1), basis(p2)], date(2023, 1, 1))
    below = derive("B", [basis(join, BasisCase.IDENTICAL)], date(2024, 1, 1))
    for item in (join, below):
        assert item.classification == Classification(Level.TOP_SECRET, Years(10, date(2021, 3, 1)))
        assert item.classification.expiry == date(2031, 3, 1)
        assert item.marking == "绝密★10年"


def test_d8_diamond_joined_twice_from_one_source() -> None:
    """A classic diamond: R → B, R → C, D from B and C; D equals R's classification."""
    r = source("R", Level.SECRET, UntilDate(date(2029, 9, 30)))
    b = derive("B", [basis(r)], date(2021, 1, 1))
    c = derive("C", [basis(r, BasisCase.ORIGINATOR_REQUIREMENT)], date(2021, 2, 1))
    d = derive("D", [basis(b), basis(c)], date(2022, 1, 1))
    assert d.classification == Classification(Level.SECRET, UntilDate(date(2029, 9, 30)))


def test_x13_declassified_middle_of_a_chain_declassifies_below() -> None:
    """X-13: A → B → C; once B is declassified, C has no classified basis and must not stay
    derived-classified (D-14)."""
    a = source("A", Level.SECRET, Years(10, date(2020, 1, 1)))
    b = derive("B", [basis(a)], date(2021, 1, 1))
    req = required_classification([basis(declassified(b))], [], issued_on=date(2022, 1, 1))
    assert req.classification is None
    assert "X-13" in req.explanation.articles


def test_x13_diamond_keeps_the_other_path_after_one_is_declassified() -> None:
    """X-13 and the fan-out: D rests on P1 (绝密) and P2 (秘密). With P1 declassified, D is
    downgraded to P2's classification, not declassified."""
    s1 = source("S1", Level.TOP_SECRET, Years(30, date(2020, 1, 1)))
    s2 = source("S2", Level.CONFIDENTIAL, Years(10, date(2021, 3, 1)))
    p1 = derive("P1", [basis(s1)], date(2022, 1, 1))
    p2 = derive("P2", [basis(s2)], date(2022, 1, 1))
    req = required_classification(
        [basis(declassified(p1)), basis(p2)], [], issued_on=date(2023, 1, 1)
    )
    assert classified(req) == Classification(Level.CONFIDENTIAL, Years(10, date(2021, 3, 1)))


def test_d10_scope_bound_holds_for_the_whole_lineage_below() -> None:
    """D-10: the originator's bound on A is inherited by B and, through B, by C."""
    limit = scope(organisations=("O1",))
    a = source("A", Level.SECRET, Years(10, date(2020, 1, 1)), scope_limit=limit)
    b = derive("B", [basis(a)], date(2021, 1, 1))
    c = derive("C", [basis(b)], date(2022, 1, 1))
    assert b.scope_limit == limit
    assert c.scope_limit == limit
