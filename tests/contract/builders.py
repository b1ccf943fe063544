"""Small graph values for the store contract tests, with defaults that keep tests short."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from graph.change import Change, ChangeKind, Notice, NoticeStatus, Proposal
from graph.model import (
    BasisCase,
    BasisCitation,
    Classification,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Organisation,
    Period,
    Person,
    RecordKind,
    ScopeRule,
    Years,
)
from graph.phrase import Phrase
from graph.phrase import item_id as item_id_of
from graph.propagation import Action
from graph.store.base import GraphStore, GraphWriter

ORG = "O-1"
DAY = date(2024, 3, 1)
BEIJING = timezone(timedelta(hours=8))

Node = Organisation | Person | Item | Keypoint | ScopeRule | DecisionRecord


def organisation(id: str = ORG, *, authority: Level | None = None) -> Organisation:
    return Organisation(id, f"机关 {id}", authority)


def person(id: str, organisation_id: str = ORG) -> Person:
    return Person(id, f"人员 {id}", organisation_id)


def item(
    id: str,
    *,
    organisation_id: str = ORG,
    kind: ItemKind = ItemKind.SOURCE,
    status: ItemStatus = ItemStatus.CLASSIFIED,
    level: Level | None = Level.SECRET,
    period: Period | None = None,
    scope: KnowledgeScope | None = None,
    scope_limit: KnowledgeScope | None = None,
) -> Item:
    """An item; `level` None gives an item that was never classified."""
    classification = None if level is None else Classification(level, period or Years(10, DAY))
    return Item(
        id=id,
        kind=kind,
        title=f"事项 {id}",
        document_number=f"国保〔2024〕{id}号",
        organisation_id=organisation_id,
        issued_on=DAY,
        status=status,
        classification=classification,
        scope=scope if scope is not None else KnowledgeScope(organisations=frozenset({ORG})),
        scope_limit=scope_limit,
    )


def keypoint(
    id: str,
    item_id: str,
    *,
    level: Level = Level.SECRET,
    period: Period | None = None,
    declassified: bool = False,
) -> Keypoint:
    return Keypoint(
        id, item_id, f"密点 {id}", Classification(level, period or Years(10, DAY)), declassified
    )


def rule(
    id: str, *, level: Level = Level.SECRET, years: int | None = None, long_term: bool = False
) -> ScopeRule:
    return ScopeRule(
        id, f"条目 {id}", "某某工作国家秘密范围的规定", level, years, long_term, "国家保密局"
    )


def record(
    id: str,
    item_id: str,
    *,
    recorded_at: datetime | None = None,
    handler_id: str = "P-1",
    official_id: str = "P-2",
) -> DecisionRecord:
    return DecisionRecord(
        id=id,
        item_id=item_id,
        kind=RecordKind.DERIVED,
        handler_id=handler_id,
        official_id=official_id,
        decided_on=DAY,
        recorded_at=recorded_at or datetime(2024, 3, 1, 9, 30, tzinfo=BEIJING),
        status=ItemStatus.CLASSIFIED,
        classification=Classification(Level.SECRET, Years(10, DAY)),
        scope=KnowledgeScope(persons=frozenset({handler_id})),
        bases=(BasisCitation("ITEM", "S-1", "事项 S-1", "国保〔2024〕1号", "机密★10年"),),
        summary=Phrase.of("依据来源事项派生定密。"),
        articles=("D-7(1)",),
    )


def edge(
    child_id: str, parent_id: str, *keypoint_ids: str, case: BasisCase = BasisCase.IDENTICAL
) -> Derivation:
    return Derivation(child_id, parent_id, case, tuple(keypoint_ids))


def add(tx: GraphWriter, *nodes: Node) -> None:
    """Adds each value with the writer method of its kind, in the given order."""
    for node in nodes:
        match node:
            case Organisation():
                tx.add_organisation(node)
            case Person():
                tx.add_person(node)
            case Item():
                tx.add_item(node)
            case Keypoint():
                tx.add_keypoint(node)
            case ScopeRule():
                tx.add_scope_rule(node)
            case DecisionRecord():
                tx.add_record(node)


def build(store: GraphStore, nodes: Sequence[Node], edges: Sequence[Derivation] = ()) -> None:
    """Writes the nodes, then the DERIVED_FROM edges, in one committed transaction."""

    def work(tx: GraphWriter) -> None:
        add(tx, *nodes)
        tx.add_derivations(edges)

    store.write(work)


def dag(store: GraphStore, edges: Sequence[tuple[str, str]]) -> None:
    """Writes one organisation, an item for every id in `edges` and the (child, parent) edges."""
    ids = sorted({id for pair in edges for id in pair})
    build(
        store,
        [organisation(), *(item(id) for id in ids)],
        [edge(child, parent) for child, parent in edges],
    )


# Changes, notices and proposals (issue 4).


def change(
    id: str,
    item_id: str = "S-1",
    *,
    kind: ChangeKind = ChangeKind.CHANGE,
    recorded_at: datetime | None = None,
    handler_id: str | None = "P-1",
    official_id: str | None = "P-2",
    consulted_organisation_ids: tuple[str, ...] = (),
    record_id: str | None = None,
) -> Change:
    """A change of source `item_id` from 机密★10年 to 绝密★10年."""
    before = item(item_id)
    return Change(
        id=id,
        kind=kind,
        item_id=item_id,
        before=before,
        after=replace(before, classification=Classification(Level.TOP_SECRET, Years(10, DAY))),
        keypoints_before=(),
        keypoints_after=(),
        reason=None,
        basis="情况发生变化，需提高密级。",
        handler_id=handler_id,
        official_id=official_id,
        decided_on=DAY,
        effective_on=DAY,
        recorded_at=recorded_at or datetime(2024, 3, 1, 9, 30, tzinfo=BEIJING),
        summary=f"变更 {item_id} 的密级。",
        articles=("D-13",),
        consulted_organisation_ids=consulted_organisation_ids,
        record_id=record_id,
    )


def notice(
    id: str,
    item_id: str = "D-1",
    *,
    change_id: str = "C-1",
    source_id: str = "S-1",
    organisation_id: str = ORG,
    status: NoticeStatus = NoticeStatus.PENDING,
    acted_by: str | None = None,
    record_id: str | None = None,
    superseded_by: str | None = None,
    proposal_id: str | None = None,
) -> Notice:
    """A notice to raise derived item `item_id` from 机密 to 绝密 after change `change_id`."""
    before = item(item_id, kind=ItemKind.DERIVED, organisation_id=organisation_id)
    return Notice(
        id=id,
        change_id=change_id,
        source_id=source_id,
        item_id=item_id,
        organisation_id=organisation_id,
        actions=(Action.CHANGE_LEVEL,),
        before=before,
        after=replace(before, classification=Classification(Level.TOP_SECRET, Years(10, DAY))),
        path=(source_id, item_id),
        articles=("D-13",),
        kept_bases=(),
        text=Phrase.of("请将 ", item_id_of(item_id), " 的密级变更为绝密。"),
        due_on=DAY + timedelta(days=30),
        status=status,
        created_at=datetime(2024, 3, 1, 10, 0, tzinfo=BEIJING),
        updated_at=datetime(2024, 3, 1, 10, 0, tzinfo=BEIJING),
        acted_by=acted_by,
        record_id=record_id,
        superseded_by=superseded_by,
        proposal_id=proposal_id,
    )


def proposal(
    id: str,
    item_id: str = "S-1",
    *,
    proposer_id: str = "P-1",
    organisation_id: str = ORG,
    notice_id: str | None = None,
) -> Proposal:
    return Proposal(
        id=id,
        item_id=item_id,
        proposer_id=proposer_id,
        organisation_id=organisation_id,
        text=f"建议对 {item_id} 解密。",
        created_at=datetime(2024, 3, 2, 14, 0, tzinfo=BEIJING),
        notice_id=notice_id,
    )


Filed = Change | Notice | Proposal


def file(tx: GraphWriter, *values: Filed) -> None:
    """Adds each change, notice or proposal with its writer method, in the given order."""
    for value in values:
        match value:
            case Change():
                tx.add_change(value)
            case Notice():
                tx.add_notices([value])
            case Proposal():
                tx.add_proposal(value)
