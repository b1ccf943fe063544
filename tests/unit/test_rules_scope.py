"""D-10: the knowledge scope of a derived item, and the originators' bounds on it."""

from __future__ import annotations

from datetime import date

import pytest

from graph.errors import RuleViolation
from graph.model import Classification, KnowledgeScope, Level, Years
from graph.rules import check_proposal, required_classification
from tests.unit.builders import basis, declassified, scope, source

ISSUED = date(2023, 6, 15)
START = date(2020, 1, 1)
PERSON_ORG = {"p1": "O1", "p2": "O1", "p3": "O2", "p4": "O3"}


def test_d10_no_bound_without_an_originator_rule() -> None:
    """D-10 second paragraph applies only where the originator prescribed a scope."""
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED)
    assert req.scope_limit is None
    assert "D-10" not in req.explanation.articles


def test_d10_bound_of_a_single_source_is_kept() -> None:
    """D-10: 原定密机关、单位有明确规定的，应当遵守其规定."""
    limit = scope(persons=("p3",), organisations=("O1",))
    s = source("S", Level.SECRET, Years(10, START), scope_limit=limit)
    req = required_classification([basis(s)], [], issued_on=ISSUED, person_org=PERSON_ORG)
    assert req.scope_limit == limit
    assert "D-10" in req.explanation.articles


def test_d10_bounds_of_several_sources_intersect() -> None:
    """D-10: every originator's rule holds at once. S1 allows O1 and O2; S2 allows O2 and the
    person p1 (of O1). Both allow: O2, and p1 by name."""
    s1 = source("S1", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O1", "O2")))
    s2 = source(
        "S2",
        Level.SECRET,
        Years(10, START),
        scope_limit=scope(persons=("p1",), organisations=("O2",)),
    )
    req = required_classification(
        [basis(s1), basis(s2)], [], issued_on=ISSUED, person_org=PERSON_ORG
    )
    assert req.scope_limit == scope(persons=("p1",), organisations=("O2",))


def test_d10_source_without_bound_does_not_widen_the_other() -> None:
    s1 = source("S1", Level.SECRET, Years(10, START))
    s2 = source("S2", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O1",)))
    req = required_classification(
        [basis(s1), basis(s2)], [], issued_on=ISSUED, person_org=PERSON_ORG
    )
    assert req.scope_limit == scope(organisations=("O1",))


def test_d10_x13_bound_of_a_declassified_source_no_longer_applies() -> None:
    """X-13: a declassified source is no basis any more, nor is its scope rule."""
    s1 = declassified(
        source("S1", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O9",)))
    )
    s2 = source("S2", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O1",)))
    req = required_classification(
        [basis(s1), basis(s2)], [], issued_on=ISSUED, person_org=PERSON_ORG
    )
    assert req.scope_limit == scope(organisations=("O1",))


def test_d10_proposal_within_bound_is_accepted() -> None:
    """D-10: p1 and p2 are admitted through their organisation O1; p3 by name."""
    limit = scope(persons=("p3",), organisations=("O1",))
    s = source("S", Level.SECRET, Years(10, START), scope_limit=limit)
    req = required_classification([basis(s)], [], issued_on=ISSUED, person_org=PERSON_ORG)
    chosen = check_proposal(
        req,
        level=Level.SECRET,
        period=Years(10, START),
        scope=scope(persons=("p1", "p2", "p3")),
        person_org=PERSON_ORG,
    )
    assert chosen == Classification(Level.SECRET, Years(10, START))


def test_d10_proposal_wider_than_bound_is_refused() -> None:
    """D-10: p4 (of O3) and organisation O2 are outside what the originator allows."""
    limit = scope(persons=("p3",), organisations=("O1",))
    s = source("S", Level.SECRET, Years(10, START), scope_limit=limit)
    req = required_classification([basis(s)], [], issued_on=ISSUED, person_org=PERSON_ORG)
    with pytest.raises(RuleViolation) as raised:
        check_proposal(
            req,
            level=None,
            period=None,
            scope=scope(persons=("p1", "p4"), organisations=("O2",)),
            person_org=PERSON_ORG,
        )
    assert raised.value.rule == "KNOWLEDGE_SCOPE"
    assert raised.value.articles == ("D-10",)
    assert "p4" in raised.value.message
    assert "O2" in raised.value.message
    assert "p1" not in raised.value.message


def test_d10_proposal_outside_intersection_of_two_bounds_is_refused() -> None:
    """D-10: O1 is allowed by S1 only; the derived item may not be known to O1 as a whole."""
    s1 = source("S1", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O1", "O2")))
    s2 = source("S2", Level.SECRET, Years(10, START), scope_limit=scope(organisations=("O2",)))
    req = required_classification(
        [basis(s1), basis(s2)], [], issued_on=ISSUED, person_org=PERSON_ORG
    )
    with pytest.raises(RuleViolation) as raised:
        check_proposal(
            req,
            level=None,
            period=None,
            scope=scope(organisations=("O1",)),
            person_org=PERSON_ORG,
        )
    assert raised.value.articles == ("D-10",)


def test_d10_empty_scope_is_refused() -> None:
    """D-10: 知悉范围应当根据工作需要确定 — an empty scope is no decision."""
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED)
    with pytest.raises(RuleViolation) as raised:
        check_proposal(req, level=None, period=None, scope=KnowledgeScope(), person_org={})
    assert raised.value.rule == "KNOWLEDGE_SCOPE"
    assert raised.value.articles == ("D-10",)


def test_d10_empty_scope_is_refused_under_a_bound_too() -> None:
    limit = scope(organisations=("O1",))
    s = source("S", Level.SECRET, Years(10, START), scope_limit=limit)
    req = required_classification([basis(s)], [], issued_on=ISSUED, person_org=PERSON_ORG)
    with pytest.raises(RuleViolation) as raised:
        check_proposal(req, level=None, period=None, scope=KnowledgeScope(), person_org=PERSON_ORG)
    assert raised.value.articles == ("D-10",)


def test_d10_any_scope_is_accepted_without_a_bound() -> None:
    s = source("S", Level.SECRET, Years(10, START))
    req = required_classification([basis(s)], [], issued_on=ISSUED)
    chosen = check_proposal(
        req,
        level=None,
        period=None,
        scope=scope(organisations=("O1", "O2", "O3")),
        person_org=PERSON_ORG,
    )
    assert chosen == Classification(Level.SECRET, Years(10, START))
