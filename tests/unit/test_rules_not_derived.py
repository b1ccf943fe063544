"""D-14 (no derived classification without a basis), X-13 (declassified sources) and X-14
(partially declassified sources: declassified keypoints)."""

from __future__ import annotations

from datetime import date

import pytest

from graph.errors import RuleViolation
from graph.model import (
    BasisCase,
    Classification,
    ItemStatus,
    Level,
    UntilDate,
    Years,
)
from graph.rules import check_proposal, required_classification
from tests.unit.builders import basis, classified, declassified, keypoint, scope, source

ISSUED = date(2023, 6, 15)
START = date(2020, 1, 1)


def test_d14_no_basis_means_not_derived_classified() -> None:
    """D-14: 不应当派生定密 where nothing is taken from a classified source."""
    req = required_classification([], [], issued_on=ISSUED)
    assert req.classification is None
    assert req.scope_limit is None
    assert req.explanation.articles == ("D-14",)
    assert req.explanation.contributions == ()
    assert "D-14" in req.explanation.names.spell(req.explanation.summary)


def test_x13_all_bases_declassified_means_not_classified() -> None:
    """X-13: 所执行或者办理的国家秘密解密的，由此产生的国家秘密应当解密; with no other basis
    the item must not stay derived-classified (D-14)."""
    s1 = declassified(source("S1", Level.SECRET, Years(10, START)))
    s2 = declassified(
        source("S2", Level.TOP_SECRET, Years(30, START)), ItemStatus.DECLASSIFIED_WORK_SECRET
    )
    req = required_classification([basis(s1), basis(s2)], [], issued_on=ISSUED)
    assert req.classification is None
    assert "X-13" in req.explanation.articles
    assert "D-14" in req.explanation.articles
    assert req.explanation.contributions == ()
    assert len(req.explanation.notes) == 2
    assert all("X-13" in note for note in map(req.explanation.names.spell, req.explanation.notes))


def test_x13_declassified_basis_drops_out_the_other_governs() -> None:
    """X-13: the declassified 绝密 source gives nothing; the remaining 秘密 source governs —
    the item is downgraded, not declassified (DOMAIN: fan-out)."""
    s1 = declassified(source("S1", Level.TOP_SECRET, Years(30, START)))
    s2 = source("S2", Level.CONFIDENTIAL, Years(10, date(2021, 1, 1)))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=ISSUED)
    assert classified(req) == Classification(Level.CONFIDENTIAL, Years(10, date(2021, 1, 1)))
    assert [c.ref_id for c in req.explanation.contributions] == ["S2"]
    assert "X-13" in req.explanation.articles
    assert any(
        "S1" in note and "X-13" in note
        for note in map(req.explanation.names.spell, req.explanation.notes)
    )


def test_x13_never_classified_parent_gives_nothing() -> None:
    s = source("S", Level.SECRET, Years(10, START))
    unclassified = declassified(s, ItemStatus.NOT_CLASSIFIED)
    req = required_classification([basis(unclassified)], [], issued_on=ISSUED)
    assert req.classification is None


def test_x14_declassified_keypoints_are_ignored() -> None:
    """X-14: the declassified 绝密 keypoint K1 gives nothing; K2 (秘密, until 2027-12-31)
    governs level and period."""
    s = source("S", Level.TOP_SECRET, Years(30, START))
    k1 = keypoint("K1", "S", Level.TOP_SECRET, Years(30, START), declassified=True)
    k2 = keypoint("K2", "S", Level.CONFIDENTIAL, UntilDate(date(2027, 12, 31)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k1, k2)], [], issued_on=ISSUED
    )
    assert classified(req) == Classification(Level.CONFIDENTIAL, UntilDate(date(2027, 12, 31)))
    assert [c.ref_id for c in req.explanation.contributions] == ["K2"]
    assert "X-14" in req.explanation.articles
    assert any(
        "K1" in note and "X-14" in note
        for note in map(req.explanation.names.spell, req.explanation.notes)
    )


def test_x14_all_involved_keypoints_declassified_means_not_classified() -> None:
    """X-14 partial declassification: the source S stays 绝密, but the only keypoint the
    derived item involves (K1) is declassified, so the item must not stay classified (D-14).
    The explanation must cite X-14 — the source itself is not declassified, so citing only
    X-13 ("its bases are no longer secret") misstates why."""
    s = source("S", Level.TOP_SECRET, Years(30, START))
    k1 = keypoint("K1", "S", Level.SECRET, Years(10, START), declassified=True)
    req = required_classification([basis(s, BasisCase.INVOLVES_KEYPOINT, k1)], [], issued_on=ISSUED)
    assert req.classification is None
    assert any("X-14" in note for note in map(req.explanation.names.spell, req.explanation.notes))
    assert "X-14" in req.explanation.articles


def test_x14_keypoints_do_not_affect_a_basis_taking_the_whole_source() -> None:
    """X-14: a partial declassification affects only descendants that involve those keypoints;
    an identical copy (D-7(1)) keeps the source's classification."""
    s = source("S", Level.SECRET, Years(10, START))
    k1 = keypoint("K1", "S", Level.SECRET, Years(10, START), declassified=True)
    req = required_classification([basis(s, BasisCase.IDENTICAL, k1)], [], issued_on=ISSUED)
    assert classified(req) == Classification(Level.SECRET, Years(10, START))


def test_d14_proposal_of_a_level_for_a_not_derived_item_is_refused() -> None:
    """D-14, D-21(2): 不应当确定国家秘密而确定的."""
    req = required_classification([], [], issued_on=ISSUED)
    with pytest.raises(RuleViolation) as raised:
        check_proposal(
            req,
            level=Level.CONFIDENTIAL,
            period=None,
            scope=scope(persons=("p1",)),
            person_org={"p1": "O1"},
        )
    assert raised.value.rule == "NOT_DERIVED"
    assert "D-14" in raised.value.articles
    assert "D-21" in raised.value.articles


def test_d14_proposal_of_a_period_for_a_not_derived_item_is_refused() -> None:
    req = required_classification([], [], issued_on=ISSUED)
    with pytest.raises(RuleViolation) as raised:
        check_proposal(
            req,
            level=None,
            period=Years(10, ISSUED),
            scope=scope(persons=("p1",)),
            person_org={"p1": "O1"},
        )
    assert "D-14" in raised.value.articles


def test_d14_not_derived_item_without_a_proposal_stays_unclassified() -> None:
    req = required_classification([], [], issued_on=ISSUED)
    chosen = check_proposal(
        req, level=None, period=None, scope=scope(persons=("p1",)), person_org={"p1": "O1"}
    )
    assert chosen is None
