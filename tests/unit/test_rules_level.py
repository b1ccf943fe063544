"""D-7 (the four cases that classify a derived item) and D-8 (its level)."""

from __future__ import annotations

from datetime import date

import pytest

from graph.model import BasisCase, Classification, Level, UntilDate, Years
from graph.rules import Ground, required_classification
from tests.unit.builders import basis, keypoint, source

ISSUED = date(2023, 6, 15)
START = date(2020, 1, 1)


@pytest.mark.parametrize(
    ("case", "article"),
    [
        (BasisCase.IDENTICAL, "D-7(1)"),
        (BasisCase.INVOLVES_KEYPOINT, "D-7(2)"),
        (BasisCase.SUMMARY, "D-7(3)"),
        (BasisCase.ORIGINATOR_REQUIREMENT, "D-7(4)"),
    ],
)
def test_d7_each_case_classifies_with_the_source_level(case: BasisCase, article: str) -> None:
    """D-7: each of the four cases must be classified; D-8: at the source's level (机密)."""
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s, case)], [], issued_on=ISSUED)
    assert req.classification == Classification(Level.SECRET, Years(10, START))
    assert req.classification.marking == "机密★10年"
    assert article in req.explanation.articles
    assert "D-8" in req.explanation.articles
    assert "D-9" in req.explanation.articles
    (only,) = req.explanation.contributions
    assert only.ground is Ground.ITEM
    assert only.ref_id == "S"
    assert only.case is case
    assert only.governs_level
    assert only.governs_period


def test_d8_level_follows_the_parent_level() -> None:
    """D-8: 派生国家秘密的密级应当与已定密事项密级保持一致 — 绝密 source gives 绝密."""
    s = source("S", Level.TOP_SECRET, Years(30, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED)
    assert req.classification is not None
    assert req.classification.level is Level.TOP_SECRET
    assert req.classification.marking == "绝密★30年"


def test_d8_highest_keypoint_level_governs() -> None:
    """D-8: where the source marks keypoints, the highest level of the keypoints involved —
    机密 from K2, not 绝密 of the source as a whole and not 秘密 of K1."""
    s = source("S", Level.TOP_SECRET, Years(20, date(2019, 5, 1)))
    k1 = keypoint("K1", "S", Level.CONFIDENTIAL, Years(5, date(2019, 5, 1)))
    k2 = keypoint("K2", "S", Level.SECRET, Years(10, date(2019, 5, 1)))
    req = required_classification(
        [basis(s, BasisCase.INVOLVES_KEYPOINT, k1, k2)], [], issued_on=ISSUED
    )
    assert req.classification == Classification(Level.SECRET, Years(10, date(2019, 5, 1)))
    by_ref = {c.ref_id: c for c in req.explanation.contributions}
    assert set(by_ref) == {"K1", "K2"}
    assert by_ref["K2"].governs_level
    assert not by_ref["K1"].governs_level
    assert by_ref["K2"].ground is Ground.KEYPOINT
    assert by_ref["K2"].via_item_id == "S"
    assert "D-7(2)" in req.explanation.articles
    assert "D-8" in req.explanation.articles


def test_d8_single_low_keypoint_gives_its_level() -> None:
    """D-8: a derived item involving only a 秘密 keypoint of a 绝密 source is 秘密."""
    s = source("S", Level.TOP_SECRET, Years(20, START))
    k1 = keypoint("K1", "S", Level.CONFIDENTIAL, UntilDate(date(2026, 6, 30)))
    req = required_classification([basis(s, BasisCase.INVOLVES_KEYPOINT, k1)], [], issued_on=ISSUED)
    assert req.classification == Classification(Level.CONFIDENTIAL, UntilDate(date(2026, 6, 30)))
    assert req.classification.marking == "秘密★2026年6月30日"


def test_d8_summary_naming_keypoints_follows_the_keypoints() -> None:
    """D-7(3) with named keypoints: the level is the keypoints' highest (D-8)."""
    s = source("S", Level.TOP_SECRET, Years(20, START))
    k1 = keypoint("K1", "S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s, BasisCase.SUMMARY, k1)], [], issued_on=ISSUED)
    assert req.classification == Classification(Level.SECRET, Years(10, START))
    assert "D-7(3)" in req.explanation.articles


def test_d7_1_identical_takes_the_whole_source() -> None:
    """D-7(1): an identical item carries all the source's content, so the source's own
    classification applies (D-8), whatever keypoints are listed."""
    s = source("S", Level.TOP_SECRET, Years(20, START))
    k1 = keypoint("K1", "S", Level.CONFIDENTIAL, Years(5, START))
    req = required_classification([basis(s, BasisCase.IDENTICAL, k1)], [], issued_on=ISSUED)
    assert req.classification == Classification(Level.TOP_SECRET, Years(20, START))
    (only,) = req.explanation.contributions
    assert only.ground is Ground.ITEM
    assert only.ref_id == "S"


def test_d8_several_sources_highest_level_governs() -> None:
    """D-8, D-15: with several sources, the highest level of all (绝密 from S2)."""
    s1 = source("S1", Level.CONFIDENTIAL, Years(10, START))
    s2 = source("S2", Level.TOP_SECRET, Years(5, START))
    s3 = source("S3", Level.SECRET, Years(10, START))
    req = required_classification([basis(s1), basis(s2), basis(s3)], [], issued_on=ISSUED)
    assert req.classification is not None
    assert req.classification.level is Level.TOP_SECRET
    governing = [c.ref_id for c in req.explanation.contributions if c.governs_level]
    assert governing == ["S2"]


def test_d8_keypoints_of_several_sources_highest_governs() -> None:
    """D-8: keypoints from two sources; the highest keypoint level (机密 of K-B) governs."""
    a = source("A", Level.TOP_SECRET, Years(20, START))
    b = source("B", Level.TOP_SECRET, Years(20, START))
    ka = keypoint("K-A", "A", Level.CONFIDENTIAL, Years(10, START))
    kb = keypoint("K-B", "B", Level.SECRET, Years(5, START))
    req = required_classification(
        [basis(a, BasisCase.INVOLVES_KEYPOINT, ka), basis(b, BasisCase.INVOLVES_KEYPOINT, kb)],
        [],
        issued_on=ISSUED,
    )
    assert req.classification is not None
    assert req.classification.level is Level.SECRET
    by_ref = {c.ref_id: c for c in req.explanation.contributions}
    assert by_ref["K-B"].governs_level
    assert by_ref["K-B"].via_item_id == "B"
    # the period is the longest of the two keypoints: K-A, 10 years from 2020-01-01
    assert req.classification.period == Years(10, START)
    assert by_ref["K-A"].governs_period
    assert not by_ref["K-B"].governs_period


def test_d8_summary_cites_the_level_governor() -> None:
    """The explanation names the basis that governs the level, with D-8."""
    s1 = source("S1", Level.CONFIDENTIAL, Years(10, START))
    s2 = source("S2", Level.SECRET, Years(5, START))
    req = required_classification([basis(s1), basis(s2)], [], issued_on=ISSUED)
    summary = req.explanation.names.spell(req.explanation.summary)
    assert "机密★5年" in summary.split("密级依据：")[1].split("保密期限依据：")[0]
    assert "D-8" in summary
