"""The demo's inspection case: the files of 某市国防科技工业局, taken over from an older system,
in which each case of D-21 occurs once, so that `auditFindings` and `lineage audit` have
something to find (issue 7). Its sources and items are registered and derived through the
use cases as everywhere else; what an older system left wrong is then written to the store
directly, past the use cases, which would refuse it. The bureau's files touch no other
organisation's, so the rest of the demo stays clean.

| item       | case of D-21                                                        |
|------------|---------------------------------------------------------------------|
| D-BUR-001  | 1: marked 秘密 while its basis requires 机密                        |
| D-BUR-002  | 2: marked 机密 while its basis requires 秘密                        |
| D-BUR-003  | 3: derived with no written record                                   |
| D-BUR-004  | 4: marked 秘密 with no period                                       |
| D-BUR-005  | 5: its source was declassified and its notice is past its term      |
| D-BUR-006  | 6: declassified while its basis stands                              |
| D-BUR-007  | 7: still classified after its basis was declassified without notice |
| D-BUR-008  | 8: "derived" from nothing (and so its record cites nothing: 3)      |
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from graph.access import SYSTEM
from graph.change import DeclassificationReason
from graph.model import (
    BasisCase,
    Classification,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    PeriodKind,
    RecordKind,
    Unmarked,
    Years,
)
from graph.phrase import Phrase
from graph.store.base import GraphStore, GraphWriter
from service.change import Decision, commit_change
from service.impact import ProposedChange
from service.usecases import (
    BasisSpec,
    DeriveItem,
    NewOrganisation,
    NewPerson,
    PeriodSpec,
    RegisterSource,
    derive_item,
    register_organisation,
    register_person,
    register_source,
)

BUREAU = "org-bureau"
HANDLER, OFFICIAL = "p-he-jun", "p-feng-yu"
ORGANISATION = NewOrganisation(BUREAU, "某市国防科技工业局", Level.SECRET)
PERSONS = (NewPerson(HANDLER, "何军", BUREAU), NewPerson(OFFICIAL, "冯宇", BUREAU))
SCOPE = KnowledgeScope(organisations=frozenset({BUREAU}))
# The item the older system's writes end with: once it is there, they are all there.
LAST = "D-BUR-008"
IDS = ("S-BUR-001", "S-BUR-002", "S-BUR-003", "S-BUR-004", *(f"D-BUR-00{n}" for n in range(1, 9)))


def _source(id: str, title: str, number: str, issued_on: date, level: Level) -> RegisterSource:
    return RegisterSource(
        id=id,
        title=title,
        document_number=number,
        organisation_id=BUREAU,
        issued_on=issued_on,
        level=level,
        period=PeriodSpec(PeriodKind.YEARS, years=10),
        scope=SCOPE,
        handler_id=HANDLER,
        official_id=OFFICIAL,
    )


SOURCES = (
    _source(
        "S-BUR-001",
        "某型配套产品研制任务书",
        "某市国防科工〔2024〕3号",
        date(2024, 5, 6),
        Level.SECRET,
    ),
    _source(
        "S-BUR-002",
        "某配套企业保密资格审查意见",
        "某市国防科工〔2023〕9号",
        date(2023, 3, 1),
        Level.CONFIDENTIAL,
    ),
    _source(
        "S-BUR-003",
        "某配套项目年度生产计划",
        "某市国防科工〔2024〕11号",
        date(2024, 8, 1),
        Level.CONFIDENTIAL,
    ),
    _source(
        "S-BUR-004",
        "某配套项目外协单位名录",
        "某市国防科工〔2023〕15号",
        date(2023, 6, 1),
        Level.CONFIDENTIAL,
    ),
)


def _derive(id: str, title: str, number: str, issued_on: date, basis: str) -> DeriveItem:
    return DeriveItem(
        id=id,
        title=title,
        document_number=number,
        organisation_id=BUREAU,
        issued_on=issued_on,
        bases=(BasisSpec(basis, BasisCase.SUMMARY),),
        scope=SCOPE,
        handler_id=HANDLER,
        official_id=OFFICIAL,
    )


DERIVED = (
    _derive(
        "D-BUR-001",
        "某型配套产品研制工作安排",
        "某市国防科工〔2024〕21号",
        date(2024, 6, 3),
        "S-BUR-001",
    ),
    _derive(
        "D-BUR-002",
        "保密资格审查情况通报",
        "某市国防科工〔2023〕22号",
        date(2023, 4, 10),
        "S-BUR-002",
    ),
    _derive(
        "D-BUR-004",
        "保密资格复查工作提纲",
        "某市国防科工〔2023〕24号",
        date(2023, 5, 8),
        "S-BUR-002",
    ),
    _derive(
        "D-BUR-005", "年度生产计划分解表", "某市国防科工〔2024〕25号", date(2024, 9, 2), "S-BUR-003"
    ),
    _derive(
        "D-BUR-006", "研制任务阶段小结", "某市国防科工〔2024〕26号", date(2024, 10, 8), "S-BUR-001"
    ),
    _derive(
        "D-BUR-007", "外协单位联络表", "某市国防科工〔2023〕27号", date(2023, 7, 3), "S-BUR-004"
    ),
)


def load_inspection(store: GraphStore, have: set[str]) -> int:
    """Loads what is missing of the bureau's files; returns how many nodes it wrote."""
    written = 0
    if BUREAU not in have:
        register_organisation(store, ORGANISATION, SYSTEM)
        written += 1
    for person in PERSONS:
        if person.id not in have:
            register_person(store, person, SYSTEM)
            written += 1
    for source in SOURCES:
        if source.id not in have:
            register_source(store, source, SYSTEM)
            written += 1
    for derived in DERIVED:
        if derived.id not in have:
            derive_item(store, derived, SYSTEM)
            written += 1
    if LAST not in have:
        written += _overdue_notice(store)
        written += store.write(_older_system)
    return written


def _overdue_notice(store: GraphStore) -> int:
    """Case 5: the production plan was declassified in June 2025; the notice to the item
    derived from it was due a month later, and nobody has acted on it (D-12, D-13)."""
    if not store.read(lambda tx: tx.items(["S-BUR-003"])["S-BUR-003"].is_classified):
        return 0  # decided already, by a run that stopped before the older system's writes
    commit_change(
        store,
        ProposedChange("S-BUR-003", declassify=True),
        Decision(
            HANDLER,
            OFFICIAL,
            "生产任务已完成，计划公开后不会损害国家安全和利益。",
            DeclassificationReason.CIRCUMSTANCES_CHANGED,
            decided_on=date(2025, 6, 2),
            due_on=date(2025, 7, 2),
        ),
        SYSTEM,
    )
    return 1


def _older_system(tx: GraphWriter) -> int:
    """What the older system left wrong, written past the use cases."""
    items = tx.items(["D-BUR-001", "D-BUR-002", "D-BUR-004", "D-BUR-006", "S-BUR-004"])

    def marked(item: Item, classification: Classification) -> Item:
        return item.decided(replace(item, classification=classification))

    def declassified(item: Item) -> Item:
        return item.decided(replace(item, status=ItemStatus.DECLASSIFIED_WORK_SECRET))

    first, second = items["D-BUR-001"], items["D-BUR-002"]
    tx.update_items(
        [
            # 1 and 2: marked one level too low, and one too high.
            marked(first, Classification(Level.CONFIDENTIAL, Years(10, date(2024, 5, 6)))),
            marked(second, Classification(Level.SECRET, Years(10, date(2023, 3, 1)))),
            # 4: the level alone; 秘密 without a period runs ten years, as its basis does.
            marked(
                items["D-BUR-004"], Classification(Level.CONFIDENTIAL, Unmarked(date(2023, 3, 1)))
            ),
            # 6: declassified while its basis stands.
            declassified(items["D-BUR-006"]),
            # 7: the basis declassified by the older system, which sent no notice.
            declassified(items["S-BUR-004"]),
        ]
    )
    tx.add_record(
        DecisionRecord(
            id="R-BUR-004-OLD",
            item_id="S-BUR-004",
            kind=RecordKind.DECLASSIFICATION,
            handler_id=HANDLER,
            official_id=OFFICIAL,
            decided_on=date(2025, 3, 3),
            recorded_at=datetime(2025, 3, 3, 2, 0, tzinfo=UTC),
            status=ItemStatus.DECLASSIFIED_WORK_SECRET,
            classification=items["S-BUR-004"].classification,
            scope=SCOPE,
            bases=(),
            summary=Phrase.of("解密（旧系统迁移记录，未发出变更通知）。"),
            articles=("X-12(2)",),
            effective_on=date(2025, 3, 3),
        )
    )
    # 3: derived from the plan with no written record; 8: "derived" from nothing.
    for id, title, number in (
        ("D-BUR-003", "研制进度月报", "某市国防科工〔2024〕23号"),
        (LAST, "配套产品质量问题汇总", "某市国防科工〔2024〕28号"),
    ):
        tx.add_item(
            Item(
                id=id,
                kind=ItemKind.DERIVED,
                title=title,
                document_number=number,
                organisation_id=BUREAU,
                issued_on=date(2024, 7, 1),
                status=ItemStatus.CLASSIFIED,
                classification=Classification(Level.SECRET, Years(10, date(2024, 5, 6))),
                scope=SCOPE,
            )
        )
    tx.add_derivations([Derivation("D-BUR-003", "S-BUR-001", BasisCase.SUMMARY)])
    tx.add_record(
        DecisionRecord(
            id="R-BUR-008-OLD",
            item_id=LAST,
            kind=RecordKind.DERIVED,
            handler_id=HANDLER,
            official_id=OFFICIAL,
            decided_on=date(2024, 7, 1),
            recorded_at=datetime(2024, 7, 1, 2, 0, tzinfo=UTC),
            status=ItemStatus.CLASSIFIED,
            classification=Classification(Level.SECRET, Years(10, date(2024, 5, 6))),
            scope=SCOPE,
            bases=(),
            summary=Phrase.of("派生定密（旧系统迁移记录，未登记派生依据）。"),
        )
    )
    return 1
