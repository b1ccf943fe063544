"""The D-21 audit of one item's file (graph.audit), without a store: what is and is not a
finding where the regulations leave room (a notice within its term, a proposal to the
originator, the originator's answer on an unmarked period)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from graph.audit import Case, ItemFile, findings
from graph.change import Notice, NoticeStatus
from graph.model import (
    BasisCitation,
    Classification,
    DecisionRecord,
    Item,
    ItemStatus,
    Level,
    RecordKind,
    Years,
)
from graph.phrase import Phrase
from graph.propagation import Action
from graph.rules import required_classification
from tests.unit.builders import basis, derived, source

TODAY = date(2026, 12, 1)
SOURCE = source("S-1", Level.SECRET, Years(20, date(2020, 1, 1)))


def record(item: Item, summary: str = "派生定密。") -> DecisionRecord:
    return DecisionRecord(
        id=f"R-{item.id}",
        item_id=item.id,
        kind=RecordKind.DERIVED,
        handler_id="p-handler",
        official_id="p-official",
        decided_on=item.issued_on,
        recorded_at=datetime(2023, 1, 1, tzinfo=UTC),
        status=item.status,
        classification=item.classification,
        scope=item.scope,
        bases=(BasisCitation("ITEM", "S-1", "源文件", "S-1〔2020〕1号", "机密★20年"),),
        summary=Phrase.of(summary),
    )


def file(item: Item, *notices: Notice, summary: str = "派生定密。") -> ItemFile:
    bases = [basis(SOURCE)]
    requirement = required_classification(bases, [], issued_on=item.issued_on)
    return ItemFile(item, "ORG-A", requirement, bases, [record(item, summary)], notices, {})


def notice(item: Item, status: NoticeStatus, due_on: date) -> Notice:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return Notice(
        id="N-1",
        change_id="C-1",
        source_id="S-1",
        item_id=item.id,
        organisation_id="ORG-A",
        actions=(Action.CHANGE_LEVEL,),
        before=item,
        after=item,
        path=("S-1", item.id),
        articles=("D-12",),
        kept_bases=(),
        text=Phrase.of("变更通知"),
        due_on=due_on,
        status=status,
        created_at=moment,
        updated_at=moment,
    )


RIGHT = derived(
    "D-1", Classification(Level.SECRET, Years(20, date(2020, 1, 1))), issued_on=date(2023, 1, 1)
)
LOW = replace(RIGHT, classification=Classification(Level.CONFIDENTIAL, Years(20, date(2020, 1, 1))))


def cases(item_file: ItemFile) -> list[Case]:
    return [f.case for f in findings(item_file, TODAY)]


def test_an_item_as_its_basis_requires_has_no_finding() -> None:
    assert cases(file(RIGHT)) == []


def test_a_lower_item_is_under_classified_unless_a_notice_is_within_its_term() -> None:
    assert cases(file(LOW)) == [Case.UNDER_CLASSIFIED]
    within = notice(LOW, NoticeStatus.PENDING, date(2027, 1, 1))
    assert cases(file(LOW, within)) == []
    late = notice(LOW, NoticeStatus.ACKNOWLEDGED, date(2026, 11, 1))
    assert cases(file(LOW, late)) == [Case.NOT_CHANGED]
    # Answered with a proposal to the originator: the holder did what D-12 allows.
    proposed = notice(LOW, NoticeStatus.PROPOSED, date(2026, 11, 1))
    assert cases(file(LOW, proposed)) == []


def test_a_period_agreed_with_the_originator_is_no_finding_d17() -> None:
    shorter = replace(
        RIGHT, classification=Classification(Level.SECRET, Years(10, date(2020, 1, 1)))
    )
    assert cases(file(shorter)) == [Case.UNDER_CLASSIFIED]
    agreed = "经征求原定密机关、单位意见确定为「机密★10年」：复函（D-9, D-17）。"
    assert cases(file(shorter, summary=agreed)) == []


def test_an_ended_period_is_a_finding_of_case_7() -> None:
    ended = replace(RIGHT, classification=Classification(Level.SECRET, Years(3, date(2020, 1, 1))))
    found = findings(file(ended, summary="（D-17）"), TODAY)
    assert [f.case for f in found] == [Case.NOT_DECLASSIFIED]
    assert "X-11" in found[0].articles
    assert found[0].organisation_id == "ORG-A"


def test_declassified_is_no_finding_once_what_the_basis_requires_has_ended_x11() -> None:
    """The basis still reads 机密★3年 from 2020 (its expiry not yet run), and the derived item
    is declassified: the required period ended in 2023, so X-11 declassified it anyway. Found
    by tests/e2e/test_invariants.py."""
    ended = source("S-1", Level.SECRET, Years(3, date(2020, 1, 1)))
    requirement = required_classification([basis(ended)], [], issued_on=RIGHT.issued_on)
    declassified = replace(RIGHT, status=ItemStatus.DECLASSIFIED_WORK_SECRET, classification=None)
    item_file = ItemFile(
        declassified, "ORG-A", requirement, [basis(ended)], [record(declassified)], [], {}
    )
    assert cases(item_file) == []
    # While it runs, being declassified is wrong (case 6).
    running = ItemFile(
        declassified,
        "ORG-A",
        file(RIGHT).requirement,
        [basis(SOURCE)],
        [record(declassified)],
        [],
        {},
    )
    assert cases(running) == [Case.WRONGLY_DECLASSIFIED]


def test_an_item_that_agrees_with_its_bases_as_their_notices_make_them_is_no_finding() -> None:
    """The holder of a derived item applied its notice (declassified) before the holder of
    its basis applied the basis's own: the basis still reads 机密, but its open notice will
    declassify it (D-13). Found by tests/e2e/test_invariants.py."""
    declassified = replace(RIGHT, status=ItemStatus.DECLASSIFIED_WORK_SECRET, classification=None)
    alone = replace(file(RIGHT), item=declassified, records=[record(declassified)])
    assert cases(alone) == [Case.WRONGLY_DECLASSIFIED]
    becoming = replace(SOURCE, status=ItemStatus.DECLASSIFIED_WORK_SECRET, classification=None)
    settled_bases = [basis(becoming)]
    settled = replace(
        alone,
        requirement=required_classification(settled_bases, [], issued_on=RIGHT.issued_on),
        bases=settled_bases,
    )
    assert cases(replace(alone, settled=settled)) == []
