"""D-5: derived classification is not limited by classification authority."""

from __future__ import annotations

from datetime import date

from graph.model import Classification, Level, Organisation, Years
from graph.rules import check_proposal, required_classification
from tests.unit.builders import basis, classified, scope, source

ISSUED = date(2023, 6, 15)
START = date(2020, 1, 1)


def test_d5_organisation_without_authority_derives_top_secret() -> None:
    """D-5: 无法定定密权的机关、单位可以因执行或者办理已定密事项，派生国家秘密."""
    org = Organisation("O-NONE", "某县办事处", authority=None)
    s = source("S", Level.TOP_SECRET, Years(30, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED, organisation=org)
    assert classified(req) == Classification(Level.TOP_SECRET, Years(30, START))
    assert "D-5" in req.explanation.articles
    (note,) = map(req.explanation.names.spell, req.explanation.notes)
    assert "D-5" in note
    assert "某县办事处" in note
    assert "「无」" in note


def test_d5_lower_authority_derives_a_higher_level() -> None:
    """D-5: 具有较低定密权的机关、单位可以 ... 派生超出本机关、单位定密权限的国家秘密 —
    an organisation with 秘密 authority derives 机密."""
    org = Organisation("O-LOW", "某市局", authority=Level.CONFIDENTIAL)
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED, organisation=org)
    assert classified(req) == Classification(Level.SECRET, Years(10, START))
    assert "D-5" in req.explanation.articles
    (note,) = map(req.explanation.names.spell, req.explanation.notes)
    assert "秘密级" in note
    assert "D-5" in note


def test_d5_not_noted_where_authority_suffices() -> None:
    org = Organisation("O-EQ", "某省厅", authority=Level.SECRET)
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED, organisation=org)
    assert classified(req).level is Level.SECRET
    assert "D-5" not in req.explanation.articles
    assert req.explanation.notes == ()


def test_d5_not_noted_where_authority_is_higher() -> None:
    org = Organisation("O-HIGH", "某部", authority=Level.TOP_SECRET)
    s = source("S", Level.CONFIDENTIAL, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED, organisation=org)
    assert classified(req).level is Level.CONFIDENTIAL
    assert "D-5" not in req.explanation.articles


def test_d5_proposal_above_own_authority_is_accepted() -> None:
    """D-5: the handler of an organisation without authority proposes 绝密 and it stands."""
    org = Organisation("O-NONE", "某县办事处", authority=None)
    s = source("S", Level.TOP_SECRET, Years(30, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED, organisation=org)
    chosen = check_proposal(
        req,
        level=Level.TOP_SECRET,
        period=Years(30, START),
        scope=scope(persons=("p1",)),
        person_org={"p1": "O-NONE"},
    )
    assert chosen == Classification(Level.TOP_SECRET, Years(30, START))
