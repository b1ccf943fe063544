"""Changes, notices and proposals (issue 4), and what came with them: superiors and successors
of organisations, joint classification, records without a handler, the updates that replace a
node's state, and the expiry reads. Every value comes back as written; every query keeps its
order; a refused write raises its LineageError and leaves the graph as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest

from graph.change import Change, ChangeKind, DeclassificationReason, Notice, NoticeStatus, Proposal
from graph.errors import Conflict, DuplicateId, LineageError, UnknownId
from graph.model import (
    Classification,
    DecisionRecord,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    RecordKind,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
)
from graph.phrase import Phrase
from graph.propagation import Action
from graph.store.base import (
    ExpiryQuery,
    GraphReader,
    GraphStore,
    GraphWriter,
    ItemQuery,
    NoticeQuery,
)
from graph.store.codec import NOTICE_BATCH, notice_fields
from tests.contract.builders import (
    BEIJING,
    DAY,
    add,
    change,
    file,
    item,
    keypoint,
    notice,
    organisation,
    person,
    proposal,
    record,
)

PENDING = NoticeStatus.PENDING
ACKNOWLEDGED = NoticeStatus.ACKNOWLEDGED
APPLIED = NoticeStatus.APPLIED
PROPOSED = NoticeStatus.PROPOSED
SUPERSEDED = NoticeStatus.SUPERSEDED


# Round trips


def test_organisation_with_superior_and_successor_round_trip(store: GraphStore) -> None:
    ministry = Organisation("O-1", "国家某某部", Level.TOP_SECRET)
    bureau = Organisation("O-2", "某某局", Level.SECRET, superior_id="O-1")
    merged = Organisation("O-3", "原某某研究所", None, superior_id="O-2", successor_id="O-1")
    store.write(lambda tx: add(tx, ministry, bureau, merged))

    read = store.read(lambda tx: tx.organisations(["O-3", "O-2", "O-1"]))

    assert read == {"O-1": ministry, "O-2": bureau, "O-3": merged}
    assert (read["O-3"].superior_id, read["O-3"].successor_id) == ("O-2", "O-1")
    assert (read["O-2"].superior_id, read["O-2"].successor_id) == ("O-1", None)
    assert (read["O-1"].superior_id, read["O-1"].successor_id) == (None, None)
    assert store.read(lambda tx: tx.all_organisations()) == [ministry, bureau, merged]


def test_item_with_joint_organisations_round_trip(store: GraphStore) -> None:
    joint = replace(item("S-1"), joint_organisation_ids=frozenset({"O-3", "O-2"}))
    alone = item("S-2")
    store.write(
        lambda tx: add(
            tx, organisation("O-1"), organisation("O-2"), organisation("O-3"), joint, alone
        )
    )

    read = store.read(lambda tx: tx.items(["S-1", "S-2"]))

    assert read == {"S-1": joint, "S-2": alone}
    assert read["S-1"].joint_organisation_ids == frozenset({"O-2", "O-3"})
    assert read["S-2"].joint_organisation_ids == frozenset()


def test_record_with_effective_date_and_no_handler_round_trip(store: GraphStore) -> None:
    changed = replace(
        record("REC-1", "S-1", recorded_at=datetime(2024, 4, 1, 9, 0, tzinfo=BEIJING)),
        kind=RecordKind.CHANGE,
        decided_on=date(2024, 3, 28),
        effective_on=date(2024, 4, 1),
    )
    expired = DecisionRecord(
        id="REC-2",
        item_id="S-1",
        kind=RecordKind.EXPIRY,
        handler_id=None,
        official_id=None,
        decided_on=date(2034, 3, 1),
        recorded_at=datetime(2034, 3, 1, 0, 5, tzinfo=BEIJING),
        status=ItemStatus.DECLASSIFIED_PUBLIC,
        classification=Classification(Level.SECRET, Years(10, DAY)),
        scope=KnowledgeScope(),
        bases=(),
        summary=Phrase.of("保密期限届满，自行解密。"),
        articles=("X-11",),
        effective_on=date(2034, 3, 1),
    )
    store.write(
        lambda tx: add(
            tx, organisation(), person("P-1"), person("P-2"), item("S-1"), expired, changed
        )
    )

    read = store.read(lambda tx: tx.records("S-1"))

    assert read == [changed, expired]
    assert (read[1].handler_id, read[1].official_id) == (None, None)
    assert read[1].effective_on == date(2034, 3, 1)
    assert read[0].effective_on == date(2024, 4, 1)
    assert read[0].effective == date(2024, 4, 1)
    assert store.read(lambda tx: tx.records_of(["S-1"])) == [changed, expired]


def _full_change() -> Change:
    before = replace(
        item("S-1", scope_limit=KnowledgeScope(frozenset({"P-1"}), frozenset({"O-2"}))),
        joint_organisation_ids=frozenset({"O-2"}),
    )
    keypoints_before = (
        keypoint("K-1", "S-1", level=Level.TOP_SECRET, period=LongTerm()),
        keypoint("K-2", "S-1", period=UntilCondition("该型号装备列装后")),
    )
    return Change(
        id="C-1",
        kind=ChangeKind.PARTIAL_DECLASSIFICATION,
        item_id="S-1",
        before=before,
        after=replace(
            before,
            classification=Classification(Level.CONFIDENTIAL, Unmarked(date(2023, 7, 15))),
            scope=KnowledgeScope(frozenset({"P-1", "P-2"})),
            scope_limit=None,
        ),
        keypoints_before=keypoints_before,
        keypoints_after=(
            replace(keypoints_before[0], declassified=True),
            replace(
                keypoints_before[1],
                classification=Classification(Level.CONFIDENTIAL, UntilDate(date(2026, 1, 1))),
            ),
        ),
        reason=DeclassificationReason.CIRCUMSTANCES_CHANGED,
        basis="定密时的形势、条件发生变化。",
        handler_id="P-1",
        official_id="P-2",
        decided_on=date(2024, 5, 6),
        effective_on=date(2024, 6, 1),
        recorded_at=datetime(2024, 5, 6, 10, 15, 30, 250000, tzinfo=BEIJING),
        summary="部分解密：密点 K-1 解密，K-2 降为秘密。",
        articles=("X-12(2)", "X-14", "D-16"),
        approval_reference="国保函〔2024〕7号",
        consulted_organisation_ids=("O-3", "O-2"),
        record_id="REC-1",
        consultation="经专家论证，同意解密；已征求 O-2、O-3 意见。",
    )


def test_change_round_trip(store: GraphStore) -> None:
    full = _full_change()
    expired_item = item("S-2", period=UntilDate(date(2024, 1, 1)))
    bare = Change(
        id="C-2",
        kind=ChangeKind.EXPIRY,
        item_id="S-2",
        before=expired_item,
        after=replace(expired_item, status=ItemStatus.DECLASSIFIED_PUBLIC),
        keypoints_before=(),
        keypoints_after=(),
        reason=None,
        basis="",
        handler_id=None,
        official_id=None,
        decided_on=date(2024, 1, 1),
        effective_on=date(2024, 1, 1),
        recorded_at=datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        summary="保密期限届满，自行解密。",
        articles=(),
    )

    def work(tx: GraphWriter) -> None:
        add(
            tx,
            *(organisation(id) for id in ("O-1", "O-2", "O-3")),
            person("P-1"),
            person("P-2"),
            full.before,
            expired_item,
            *full.keypoints_before,
            record("REC-1", "S-1"),
        )
        file(tx, full, bare)

    store.write(work)

    read = store.read(lambda tx: tx.changes(["C-2", "C-1", "C-NOPE"]))

    assert read == {"C-1": full, "C-2": bare}
    assert read["C-1"].keypoints_after == full.keypoints_after
    assert read["C-1"].keypoints_after[0].declassified is True
    assert read["C-1"].after.scope_limit is None
    assert read["C-1"].before.joint_organisation_ids == frozenset({"O-2"})
    assert read["C-1"].consulted_organisation_ids == ("O-3", "O-2")
    assert read["C-1"].reason is DeclassificationReason.CIRCUMSTANCES_CHANGED
    assert read["C-1"].recorded_at == full.recorded_at
    assert (read["C-2"].reason, read["C-2"].record_id, read["C-2"].handler_id) == (None,) * 3
    assert read["C-1"].consultation == full.consultation
    assert read["C-2"].consultation is None
    assert read["C-2"].approval_reference is None


def _notice_graph(tx: GraphWriter) -> None:
    """O-1 and O-2; P-1, P-2 of O-1 and P-3 of O-2; S-1, S-2, D-1 (O-2), D-2; changes C-1 and C-2
    of S-1; record REC-1 of D-1; proposal PR-1 about S-1 by P-3."""
    add(
        tx,
        organisation("O-1"),
        organisation("O-2"),
        person("P-1"),
        person("P-2"),
        person("P-3", "O-2"),
        item("S-1"),
        item("S-2"),
        item("D-1", kind=ItemKind.DERIVED, organisation_id="O-2"),
        item("D-2", kind=ItemKind.DERIVED),
        record("REC-1", "D-1"),
    )
    file(
        tx,
        change("C-1", "S-1"),
        change("C-2", "S-1", recorded_at=datetime(2024, 3, 5, 9, 0, tzinfo=BEIJING)),
        proposal("PR-1", "S-1", proposer_id="P-3", organisation_id="O-1"),
    )


def _full_notice() -> Notice:
    before = replace(
        item(
            "D-1",
            kind=ItemKind.DERIVED,
            organisation_id="O-2",
            scope=KnowledgeScope(frozenset({"P-3"}), frozenset({"O-2"})),
            scope_limit=KnowledgeScope(organisations=frozenset({"O-1", "O-2"})),
        ),
        joint_organisation_ids=frozenset({"O-1"}),
    )
    return Notice(
        id="N-1",
        change_id="C-1",
        source_id="S-1",
        item_id="D-1",
        organisation_id="O-2",
        actions=(Action.CHANGE_LEVEL, Action.CHANGE_PERIOD, Action.CHANGE_SCOPE, Action.REVIEW),
        before=before,
        after=replace(
            before,
            classification=Classification(Level.TOP_SECRET, UntilDate(date(2040, 12, 31))),
            scope=KnowledgeScope(frozenset({"P-3"})),
        ),
        path=("S-1", "D-2", "D-1"),
        articles=("D-13", "X-13"),
        kept_bases=("S-2",),
        text=Phrase.of("来源事项已变更，请将本事项的密级、保密期限和知悉范围作相应变更。"),
        due_on=date(2024, 6, 30),
        status=PROPOSED,
        created_at=datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=BEIJING),
        updated_at=datetime(2024, 3, 4, 16, 30, tzinfo=UTC),
        acted_by="P-3",
        record_id="REC-1",
        superseded_by="C-2",
        proposal_id="PR-1",
    )


def test_notice_round_trip(store: GraphStore) -> None:
    full = _full_notice()
    declassified = item("D-2", kind=ItemKind.DERIVED, status=ItemStatus.DECLASSIFIED_WORK_SECRET)
    bare = Notice(
        id="N-2",
        change_id="C-2",
        source_id="S-1",
        item_id="D-2",
        organisation_id="O-1",
        actions=(Action.DECLASSIFY,),
        before=item("D-2", kind=ItemKind.DERIVED),
        after=declassified,
        path=("S-1", "D-2"),
        articles=(),
        kept_bases=(),
        text=Phrase.of("请解密。"),
        due_on=date(2024, 4, 1),
        status=PENDING,
        created_at=datetime(2024, 3, 5, 9, 0, tzinfo=BEIJING),
        updated_at=datetime(2024, 3, 5, 9, 0, tzinfo=BEIJING),
    )

    def work(tx: GraphWriter) -> None:
        _notice_graph(tx)
        tx.add_notices([full, bare])

    store.write(work)

    read = store.read(lambda tx: tx.notices(["N-2", "N-NOPE", "N-1"]))

    assert read == {"N-1": full, "N-2": bare}
    assert read["N-1"].actions == full.actions
    assert all(type(action) is Action for action in read["N-1"].actions)
    assert read["N-1"].path == ("S-1", "D-2", "D-1")
    assert read["N-1"].before.scope_limit == full.before.scope_limit
    assert read["N-1"].status is PROPOSED
    assert read["N-2"].after.status is ItemStatus.DECLASSIFIED_WORK_SECRET
    n2 = read["N-2"]
    assert (n2.acted_by, n2.record_id, n2.superseded_by, n2.proposal_id) == (None,) * 4


def test_notice_rows_round_trip_as_the_notices(store: GraphStore) -> None:
    """Notices written as rows in bulk read back as the notices written one by one, across
    batches (codec.NOTICE_BATCH)."""
    full = _full_notice()
    many = [notice(f"N-{n:05d}", "D-2") for n in range(NOTICE_BATCH + 2)]

    def work(tx: GraphWriter) -> None:
        _notice_graph(tx)
        tx.add_notice_rows(iter(_rows(full, *many)))

    store.write(work)

    read = store.read(lambda tx: tx.notices([full.id, many[0].id, many[-1].id, "N-NOPE"]))
    assert read == {full.id: full, many[0].id: many[0], many[-1].id: many[-1]}
    query = NoticeQuery(change_id="C-1", limit=None)
    assert store.read(lambda tx: tx.count_notices(query)) == len(many) + 1
    assert store.read(lambda tx: tx.find_notices(query)) == sorted(
        [full, *many], key=lambda n: n.id
    )


def test_proposal_round_trip(store: GraphStore) -> None:
    answer = Proposal(
        id="PR-2",
        item_id="S-1",
        proposer_id="P-3",
        organisation_id="O-1",
        text="本单位认为该事项已无保密必要，建议解密。",
        created_at=datetime(2024, 3, 6, 8, 45, 12, 5000, tzinfo=BEIJING),
        notice_id="N-1",
    )

    def work(tx: GraphWriter) -> None:
        _notice_graph(tx)
        tx.add_notices([notice("N-1", "D-1", organisation_id="O-2")])
        tx.add_proposal(answer)

    store.write(work)

    read = store.read(lambda tx: tx.proposals(["PR-2", "PR-1", "PR-NOPE"]))

    assert read == {
        "PR-1": proposal("PR-1", "S-1", proposer_id="P-3", organisation_id="O-1"),
        "PR-2": answer,
    }
    assert read["PR-2"].notice_id == "N-1"
    assert read["PR-1"].notice_id is None


# Queries over notices and proposals. Notices of two changes (C-1 of S-1, C-2 of S-2) to
# items of two organisations, in every status, written out of id order.

NOTICES = {
    n.id: n
    for n in [
        notice(
            "N-06",
            "D-3",
            change_id="C-2",
            source_id="S-2",
            organisation_id="O-2",
            status=SUPERSEDED,
        ),
        notice("N-02", "D-2", organisation_id="O-2", status=ACKNOWLEDGED),
        notice("N-07", "D-1", status=SUPERSEDED),
        notice("N-04", "D-1", change_id="C-2", source_id="S-2", status=PROPOSED),
        notice("N-01", "D-1"),
        notice("N-05", "D-2", change_id="C-2", source_id="S-2", organisation_id="O-2"),
        notice("N-03", "D-3", organisation_id="O-2", status=APPLIED),
    ]
}
PROPOSALS = {
    p.id: p
    for p in [
        proposal("PR-04", "D-2", proposer_id="P-3", organisation_id="O-2"),
        proposal("PR-01", "S-1", proposer_id="P-3"),
        proposal("PR-05", "S-1", proposer_id="P-3", notice_id="N-02"),
        proposal("PR-03", "S-1", organisation_id="O-2"),
        proposal("PR-02", "S-2", proposer_id="P-3"),
    ]
}


@pytest.fixture
def filed(store: GraphStore) -> GraphStore:
    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation("O-1"),
            organisation("O-2"),
            person("P-1"),
            person("P-2"),
            person("P-3", "O-2"),
            item("S-1"),
            item("S-2"),
            item("D-1", kind=ItemKind.DERIVED),
            item("D-2", kind=ItemKind.DERIVED, organisation_id="O-2"),
            item("D-3", kind=ItemKind.DERIVED, organisation_id="O-2"),
        )
        file(tx, change("C-2", "S-2"), change("C-1", "S-1"))
        notices = list(NOTICES.values())
        tx.add_notices(notices[:3])
        tx.add_notices(notices[3:])
        file(tx, *PROPOSALS.values())

    store.write(work)
    return store


NOTICE_QUERIES: dict[str, tuple[NoticeQuery, list[str]]] = {
    "all": (NoticeQuery(limit=None), ["N-01", "N-02", "N-03", "N-04", "N-05", "N-06", "N-07"]),
    "organisation-O-1": (NoticeQuery(organisation_id="O-1"), ["N-01", "N-04", "N-07"]),
    "organisation-O-2": (NoticeQuery(organisation_id="O-2"), ["N-02", "N-03", "N-05", "N-06"]),
    "organisation-unknown": (NoticeQuery(organisation_id="O-3"), []),
    "item-D-1": (NoticeQuery(item_id="D-1"), ["N-01", "N-04", "N-07"]),
    "item-D-3": (NoticeQuery(item_id="D-3"), ["N-03", "N-06"]),
    "source-S-2": (NoticeQuery(source_id="S-2"), ["N-04", "N-05", "N-06"]),
    "source-of-none": (NoticeQuery(source_id="D-1"), []),
    "change-C-1": (NoticeQuery(change_id="C-1"), ["N-01", "N-02", "N-03", "N-07"]),
    "one-status": (NoticeQuery(statuses=(PENDING,)), ["N-01", "N-05"]),
    "open-statuses": (NoticeQuery(statuses=(ACKNOWLEDGED, PENDING)), ["N-01", "N-02", "N-05"]),
    "closed-statuses": (
        NoticeQuery(statuses=(APPLIED, PROPOSED, SUPERSEDED)),
        ["N-03", "N-04", "N-06", "N-07"],
    ),
    "organisation-and-statuses": (
        NoticeQuery(organisation_id="O-2", statuses=(PENDING, ACKNOWLEDGED)),
        ["N-02", "N-05"],
    ),
    "item-and-change": (NoticeQuery(item_id="D-1", change_id="C-2"), ["N-04"]),
    "source-and-organisation": (
        NoticeQuery(source_id="S-1", organisation_id="O-1"),
        ["N-01", "N-07"],
    ),
    "item-and-other-source": (NoticeQuery(item_id="D-2", source_id="S-1", statuses=(PENDING,)), []),
    "after": (NoticeQuery(after="N-03"), ["N-04", "N-05", "N-06", "N-07"]),
    "after-unlimited": (NoticeQuery(after="N-05", limit=None), ["N-06", "N-07"]),
    "limit": (NoticeQuery(limit=2), ["N-01", "N-02"]),
    "change-after-limit": (NoticeQuery(change_id="C-2", after="N-04", limit=1), ["N-05"]),
    "after-last": (NoticeQuery(after="N-07"), []),
}


def test_find_notices_filters_in_id_order(filed: GraphStore) -> None:
    found = filed.read(
        lambda tx: {name: tx.find_notices(query) for name, (query, _) in NOTICE_QUERIES.items()}
    )

    assert {name: [n.id for n in notices] for name, notices in found.items()} == {
        name: expected for name, (_, expected) in NOTICE_QUERIES.items()
    }
    assert found["all"] == sorted(NOTICES.values(), key=lambda n: n.id)


def test_find_notices_pages_through_a_filter_once(filed: GraphStore) -> None:
    def page(after: str | None) -> list[str]:
        query = NoticeQuery(statuses=(PENDING, SUPERSEDED, APPLIED), after=after, limit=2)
        return [n.id for n in filed.read(lambda tx: tx.find_notices(query))]

    pages: list[list[str]] = []
    after: str | None = None
    while True:
        ids = page(after)
        if not ids:
            break
        pages.append(ids)
        after = ids[-1]

    assert pages == [["N-01", "N-03"], ["N-05", "N-06"], ["N-07"]]


def test_find_notices_default_limit_is_fifty_and_none_is_no_limit(store: GraphStore) -> None:
    ids = [f"N-{n:03d}" for n in range(51, 0, -1)]

    def work(tx: GraphWriter) -> None:
        add(tx, organisation(), person("P-1"), person("P-2"), item("S-1"), item("D-1"))
        tx.add_change(change("C-1"))
        tx.add_notices([notice(id) for id in ids])

    store.write(work)

    first = store.read(lambda tx: tx.find_notices(NoticeQuery()))
    rest = store.read(lambda tx: tx.find_notices(NoticeQuery(after=first[-1].id)))
    everything = store.read(lambda tx: tx.find_notices(NoticeQuery(limit=None)))

    assert len(first) == 50
    assert (first[0].id, first[-1].id) == ("N-001", "N-050")
    assert [n.id for n in rest] == ["N-051"]
    assert [n.id for n in everything] == sorted(ids)


def test_notices_of_items_by_id(filed: GraphStore) -> None:
    """`notices_of` promises the notices "by id", across all the given items: not grouped by
    item."""
    assert [n.id for n in filed.read(lambda tx: tx.notices_of(["D-3", "D-1"]))] == [
        "N-01",
        "N-03",
        "N-04",
        "N-06",
        "N-07",
    ]
    assert filed.read(lambda tx: tx.notices_of(["D-2"])) == [NOTICES["N-02"], NOTICES["N-05"]]
    assert filed.read(lambda tx: tx.notices_of(["S-1", "NOPE"])) == []
    assert filed.read(lambda tx: tx.notices_of([])) == []


def test_notices_of_items_in_some_statuses(filed: GraphStore) -> None:
    """What a new change supersedes: the open notices of the items it recomputes."""
    open_ = (PENDING, ACKNOWLEDGED, PROPOSED)
    found = filed.read(lambda tx: tx.notices_of(["D-3", "D-1", "D-2"], open_))
    assert [n.id for n in found] == ["N-01", "N-02", "N-04", "N-05"]
    assert filed.read(lambda tx: tx.notices_of(["D-3"], (PENDING,))) == []
    applied = filed.read(lambda tx: tx.notices_of(["D-3"], (APPLIED, SUPERSEDED)))
    assert [n.id for n in applied] == ["N-03", "N-06"]


PROPOSAL_QUERIES: dict[str, tuple[tuple[str | None, str | None, str | None, int], list[str]]] = {
    "all": ((None, None, None, 50), ["PR-01", "PR-02", "PR-03", "PR-04", "PR-05"]),
    "organisation-O-1": (("O-1", None, None, 50), ["PR-01", "PR-02", "PR-05"]),
    "organisation-O-2": (("O-2", None, None, 50), ["PR-03", "PR-04"]),
    "organisation-unknown": (("O-3", None, None, 50), []),
    "item-S-1": ((None, "S-1", None, 50), ["PR-01", "PR-03", "PR-05"]),
    "organisation-and-item": (("O-1", "S-1", None, 50), ["PR-01", "PR-05"]),
    "after-limit": ((None, None, "PR-02", 2), ["PR-03", "PR-04"]),
    "organisation-after": (("O-1", None, "PR-01", 50), ["PR-02", "PR-05"]),
    "limit": ((None, None, None, 1), ["PR-01"]),
    "item-after-last": ((None, "S-1", "PR-05", 50), []),
}


def test_find_proposals_filters_in_id_order(filed: GraphStore) -> None:
    found = filed.read(
        lambda tx: {
            name: tx.find_proposals(*arguments) for name, (arguments, _) in PROPOSAL_QUERIES.items()
        }
    )

    assert {name: [p.id for p in proposals] for name, proposals in found.items()} == {
        name: expected for name, (_, expected) in PROPOSAL_QUERIES.items()
    }
    assert found["all"] == sorted(PROPOSALS.values(), key=lambda p: p.id)


def test_proposals_of_items_by_id(filed: GraphStore) -> None:
    """`proposals_of` promises the proposals "by id", across all the given items."""
    assert [p.id for p in filed.read(lambda tx: tx.proposals_of(["D-2", "S-1"]))] == [
        "PR-01",
        "PR-03",
        "PR-04",
        "PR-05",
    ]
    assert filed.read(lambda tx: tx.proposals_of(["S-2"])) == [PROPOSALS["PR-02"]]
    assert filed.read(lambda tx: tx.proposals_of(["D-1", "NOPE"])) == []


def test_changes_of_by_item_then_oldest_first(store: GraphStore) -> None:
    changes = [
        change("C-A", "S-2", recorded_at=datetime(2024, 3, 2, 8, 0, tzinfo=BEIJING)),
        change("C-B", "S-1", recorded_at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),  # 02:00Z
        change("C-C", "S-1", recorded_at=datetime(2024, 3, 1, 9, 0, tzinfo=BEIJING)),  # 01:00Z
        change("C-D", "S-1", recorded_at=datetime(2024, 3, 1, 3, 0, tzinfo=UTC)),  # 03:00Z
        change("C-E", "S-2", recorded_at=datetime(2024, 3, 1, 0, 0, tzinfo=UTC)),
    ]
    by_id = {c.id: c for c in changes}

    def work(tx: GraphWriter) -> None:
        add(tx, organisation(), person("P-1"), person("P-2"), item("S-1"), item("S-2"))
        file(tx, *changes)

    store.write(work)

    both = store.read(lambda tx: tx.changes_of(["S-2", "S-1"]))

    assert [c.id for c in both] == ["C-C", "C-B", "C-D", "C-E", "C-A"]
    assert both == [by_id[id] for id in ["C-C", "C-B", "C-D", "C-E", "C-A"]]
    assert [c.id for c in store.read(lambda tx: tx.changes_of(["S-2"]))] == ["C-E", "C-A"]
    assert store.read(lambda tx: tx.changes_of(["S-3"])) == []


# Updates


def test_update_items_replaces_the_state_and_keeps_the_rest(store: GraphStore) -> None:
    s1 = replace(
        item("S-1", scope_limit=KnowledgeScope(frozenset({"P-1"}))),
        joint_organisation_ids=frozenset({"O-2"}),
    )
    s2 = item("S-2", level=Level.TOP_SECRET, period=LongTerm())
    s3 = item("S-3")
    store.write(
        lambda tx: add(tx, organisation("O-1"), organisation("O-2"), person("P-1"), s1, s2, s3)
    )
    # Everything but the state differs from what is stored, and must be ignored.
    declassified = Item(
        id="S-1",
        kind=ItemKind.DERIVED,
        title="改过的标题",
        document_number="国保〔2099〕1号",
        organisation_id="O-2",
        issued_on=date(2020, 1, 1),
        status=ItemStatus.DECLASSIFIED_WORK_SECRET,
        classification=Classification(Level.CONFIDENTIAL, UntilDate(date(2027, 1, 1))),
        scope=KnowledgeScope(frozenset({"P-1"}), frozenset({"O-2"})),
        scope_limit=None,
        joint_organisation_ids=frozenset(),
        version=2,
    )
    limited = replace(
        s2,
        version=2,
        title="另一个标题",
        joint_organisation_ids=frozenset({"O-1"}),
        classification=Classification(Level.SECRET, Unmarked(date(2023, 7, 15))),
        scope=KnowledgeScope(),
        scope_limit=KnowledgeScope(organisations=frozenset({"O-1", "O-2"})),
    )
    store.write(lambda tx: tx.update_items([declassified, limited]))

    read = store.read(lambda tx: tx.items(["S-1", "S-2", "S-3"]))

    assert read["S-1"] == replace(
        s1,
        version=2,
        status=ItemStatus.DECLASSIFIED_WORK_SECRET,
        classification=declassified.classification,
        scope=declassified.scope,
        scope_limit=None,
    )
    assert read["S-1"].scope_limit is None
    assert read["S-1"].title == "事项 S-1"
    assert read["S-1"].joint_organisation_ids == frozenset({"O-2"})
    assert read["S-2"] == replace(
        s2,
        version=2,
        classification=limited.classification,
        scope=KnowledgeScope(),
        scope_limit=limited.scope_limit,
    )
    assert read["S-3"] == s3


def test_update_items_can_remove_the_classification(store: GraphStore) -> None:
    stored = item("D-1", kind=ItemKind.DERIVED)
    store.write(lambda tx: add(tx, organisation(), stored))
    not_classified = stored.decided(
        replace(stored, status=ItemStatus.NOT_CLASSIFIED, classification=None)
    )

    store.write(lambda tx: tx.update_items([not_classified]))

    read = store.read(lambda tx: tx.items(["D-1"]))["D-1"]
    assert read == not_classified
    assert read.classification is None


def test_an_item_keeps_the_version_it_was_written_with(store: GraphStore) -> None:
    # An import writes items at the version they were exported at.
    moved = replace(item("S-1"), version=7)
    store.write(lambda tx: add(tx, organisation(), moved, item("S-2")))

    read = store.read(lambda tx: tx.items(["S-1", "S-2"]))

    assert (read["S-1"].version, read["S-2"].version) == (7, 1)
    assert store.read(lambda tx: tx.find_items(ItemQuery())) == [moved, item("S-2")]


def test_each_update_of_an_item_moves_its_version_on_by_one(store: GraphStore) -> None:
    first = item("S-1")
    store.write(lambda tx: add(tx, organisation(), first))
    second = first.decided()
    third = second.decided(replace(second, status=ItemStatus.DECLASSIFIED_PUBLIC))

    store.write(lambda tx: tx.update_items([second]))
    assert store.read(lambda tx: tx.items(["S-1"]))["S-1"] == second
    store.write(lambda tx: tx.update_items([third]))

    assert store.read(lambda tx: tx.items(["S-1"]))["S-1"] == third
    assert third.version == 3


@pytest.mark.parametrize("version", [1, 2, 9])
def test_an_update_not_made_on_the_stored_version_is_refused(
    store: GraphStore, version: int
) -> None:
    # Version 2 is stored: only 3, made on it, may replace it. Writers that read an older
    # version and one that skips ahead are refused, and the whole batch with them.
    s1, s2 = item("S-1"), item("S-2")
    store.write(lambda tx: add(tx, organisation(), s1, s2))
    stored = s1.decided()
    store.write(lambda tx: tx.update_items([stored]))
    before = store.read(lambda tx: tx.items(["S-1", "S-2"]))

    stale = replace(stored, status=ItemStatus.DECLASSIFIED_PUBLIC, version=version)
    with pytest.raises(Conflict) as refused:
        store.write(lambda tx: tx.update_items([s2.decided(), stale]))

    assert (refused.value.kind, refused.value.id) == ("item", "S-1")
    assert (refused.value.expected, refused.value.current) == (version - 1, 2)
    assert "第 2 版" in refused.value.message
    assert store.read(lambda tx: tx.items(["S-1", "S-2"])) == before


def test_an_update_of_an_unknown_item_is_refused_as_unknown(store: GraphStore) -> None:
    store.write(lambda tx: add(tx, organisation(), item("S-1")))

    with pytest.raises(UnknownId):
        store.write(lambda tx: tx.update_items([item("S-9").decided()]))


def test_update_keypoints_replaces_classification_and_flag_only(store: GraphStore) -> None:
    k1 = keypoint("K-1", "S-1", level=Level.TOP_SECRET, period=LongTerm())
    k2 = keypoint("K-2", "S-1", declassified=True)
    k3 = keypoint("K-3", "S-1")
    store.write(lambda tx: add(tx, organisation(), item("S-1"), item("S-2"), k1, k2, k3))
    lowered = Classification(Level.CONFIDENTIAL, UntilDate(date(2027, 1, 1)))

    store.write(
        lambda tx: tx.update_keypoints(
            [
                replace(
                    k1, item_id="S-2", title="改过的密点", classification=lowered, declassified=True
                ),
                replace(k2, declassified=False),
            ]
        )
    )

    read = store.read(lambda tx: tx.keypoints(["K-1", "K-2", "K-3"]))
    assert read == {
        "K-1": replace(k1, classification=lowered, declassified=True),
        "K-2": replace(k2, declassified=False),
        "K-3": k3,
    }
    assert [k.id for k in store.read(lambda tx: tx.keypoints_defined_by("S-1"))] == [
        "K-1",
        "K-2",
        "K-3",
    ]
    assert store.read(lambda tx: tx.keypoints_defined_by("S-2")) == []


def test_update_notices_replaces_status_and_acting_fields_only(store: GraphStore) -> None:
    """ "Replaces the status and the fields of acting": the text, dates, actions and path of a
    notice are what was sent, and stay so."""
    stored = notice("N-1", "D-1", organisation_id="O-2")
    untouched = notice("N-2", "D-2")

    def work(tx: GraphWriter) -> None:
        _notice_graph(tx)
        tx.add_notices([stored, untouched])

    store.write(work)
    acted = replace(
        stored,
        # Not state: must stay as stored.
        text=Phrase.of("改过的通知正文"),
        due_on=date(2099, 1, 1),
        actions=(Action.REVIEW,),
        path=("S-2", "D-1"),
        created_at=datetime(2099, 1, 1, tzinfo=UTC),
        # State.
        status=SUPERSEDED,
        updated_at=datetime(2024, 3, 5, 9, 0, 0, 999, tzinfo=BEIJING),
        acted_by="P-3",
        record_id="REC-1",
        superseded_by="C-2",
        proposal_id="PR-1",
    )

    store.write(lambda tx: tx.update_notices([acted]))

    read = store.read(lambda tx: tx.notices(["N-1", "N-2"]))
    expected = replace(
        stored,
        status=SUPERSEDED,
        updated_at=acted.updated_at,
        acted_by="P-3",
        record_id="REC-1",
        superseded_by="C-2",
        proposal_id="PR-1",
    )
    assert read == {"N-1": expected, "N-2": untouched}

    # Back to open, every acting field removed.
    reopened = replace(
        expected,
        status=ACKNOWLEDGED,
        updated_at=datetime(2024, 3, 6, tzinfo=UTC),
        acted_by=None,
        record_id=None,
        superseded_by=None,
        proposal_id=None,
    )
    store.write(lambda tx: tx.update_notices([reopened]))

    read_again = store.read(lambda tx: tx.notices(["N-1"]))["N-1"]
    assert read_again == reopened
    assert (read_again.acted_by, read_again.record_id, read_again.superseded_by) == (None,) * 3
    assert read_again.proposal_id is None
    assert [
        n.id for n in store.read(lambda tx: tx.find_notices(NoticeQuery(statuses=(ACKNOWLEDGED,))))
    ] == ["N-1"]


def test_update_organisation_replaces_its_values(store: GraphStore) -> None:
    ministry = Organisation("O-1", "国家某某部", Level.TOP_SECRET)
    bureau = Organisation("O-2", "某某局", Level.SECRET, superior_id="O-1")
    institute = Organisation("O-3", "某某研究所", None, superior_id="O-2")
    store.write(lambda tx: add(tx, ministry, bureau, institute))
    merged = Organisation("O-3", "原某某研究所（已撤销）", Level.CONFIDENTIAL, None, "O-1")

    store.write(lambda tx: tx.update_organisation(merged))

    read = store.read(lambda tx: tx.organisations(["O-1", "O-2", "O-3"]))
    assert read == {"O-1": ministry, "O-2": bureau, "O-3": merged}
    assert read["O-3"].superior_id is None

    moved = replace(bureau, superior_id="O-3", successor_id=None)
    store.write(lambda tx: tx.update_organisation(moved))

    assert store.read(lambda tx: tx.organisation("O-2")) == moved


# Expiry

UNTIL = date(2025, 6, 1)
# Where a period ends, for UNTIL = 2025-06-01: Unmarked takes the statutory years of its level
# (绝密 30, 机密 20, 秘密 10); long-term and a condition never end; E-09, E-10 and E-14 are not
# classified.
EXPIRING = {
    i.id: i
    for i in [
        item("E-01", period=Years(10, date(2015, 6, 1))),  # 2025-06-01, on UNTIL
        item("E-02", level=Level.CONFIDENTIAL, period=UntilDate(date(2025, 1, 1))),
        # 2025-01-01, 2025-02-01, 2025-03-01
        item("E-03", level=Level.TOP_SECRET, period=Unmarked(date(1995, 1, 1))),
        item("E-04", level=Level.SECRET, period=Unmarked(date(2005, 2, 1))),
        item("E-05", level=Level.CONFIDENTIAL, period=Unmarked(date(2015, 3, 1))),
        item("E-06", level=Level.TOP_SECRET, period=LongTerm()),
        item("E-07", period=UntilCondition("某工程竣工后")),
        item("E-08", organisation_id="O-2", period=UntilDate(date(2024, 12, 31))),
        item("E-09", status=ItemStatus.DECLASSIFIED_PUBLIC, period=UntilDate(date(2024, 1, 1))),
        item("E-10", status=ItemStatus.NOT_CLASSIFIED, level=None),
        item("E-11", period=Years(1, date(2024, 2, 29))),  # 2025-02-28
        item("E-12", period=Years(10, date(2015, 6, 2))),  # 2025-06-02, a day after UNTIL
        item("E-13", level=Level.TOP_SECRET, period=Unmarked(date(2000, 1, 1))),  # 2030-01-01
        item(
            "E-14",
            organisation_id="O-2",
            status=ItemStatus.DECLASSIFIED_WORK_SECRET,
            period=Unmarked(date(1990, 1, 1)),
        ),
    ]
}
KEYPOINTS = {
    k.id: k
    for k in [
        keypoint("KP-1", "E-01", period=Years(10, date(2015, 1, 1))),  # 2025-01-01
        keypoint("KP-2", "E-01", level=Level.CONFIDENTIAL, period=UntilDate(date(2024, 6, 30))),
        # 2025-03-01 (30 years)
        keypoint("KP-3", "E-02", level=Level.TOP_SECRET, period=Unmarked(date(1995, 3, 1))),
        keypoint("KP-4", "E-01", period=UntilDate(date(2024, 1, 1)), declassified=True),
        keypoint("KP-5", "E-01", period=LongTerm()),
        keypoint("KP-6", "E-01", period=UntilCondition("某型号定型后")),
        keypoint("KP-7", "E-01", period=Years(10, date(2016, 1, 1))),  # 2026-01-01
        # 2026-01-01 (10 years)
        keypoint("KP-8", "E-02", level=Level.CONFIDENTIAL, period=Unmarked(date(2016, 1, 1))),
    ]
}


@pytest.fixture
def expiring(store: GraphStore) -> GraphStore:
    def work(tx: GraphWriter) -> None:
        add(tx, organisation("O-1"), organisation("O-2"))
        tx.add_items(list(reversed(EXPIRING.values())))
        tx.add_keypoints(list(reversed(KEYPOINTS.values())))

    store.write(work)
    return store


def _ids(items: list[Item] | list[Keypoint]) -> list[str]:
    return [i.id for i in items]


IN_ORDER = ["E-08", "E-02", "E-03", "E-04", "E-11", "E-05", "E-01"]
EXPIRY_QUERIES: dict[str, tuple[ExpiryQuery, list[str]]] = {
    "until": (ExpiryQuery(UNTIL), IN_ORDER),
    "unlimited": (ExpiryQuery(UNTIL, limit=None), IN_ORDER),
    "day-before": (ExpiryQuery(date(2025, 5, 31)), IN_ORDER[:-1]),
    "day-after": (ExpiryQuery(date(2025, 6, 2)), [*IN_ORDER, "E-12"]),
    "far": (ExpiryQuery(date(2100, 1, 1), limit=None), [*IN_ORDER, "E-12", "E-13"]),
    "nothing-yet": (ExpiryQuery(date(2024, 12, 30)), []),
    "tie": (ExpiryQuery(date(2025, 1, 1)), ["E-08", "E-02", "E-03"]),
    "organisation-O-2": (ExpiryQuery(UNTIL, organisation_id="O-2"), ["E-08"]),
    "organisation-O-1": (
        ExpiryQuery(date(2025, 2, 28), organisation_id="O-1"),
        ["E-02", "E-03", "E-04", "E-11"],
    ),
    # The cursor is (end date, id): E-08 ends earlier although its id sorts after E-02.
    "after-within-a-date": (
        ExpiryQuery(UNTIL, after=(date(2025, 1, 1), "E-02")),
        ["E-03", "E-04", "E-11", "E-05", "E-01"],
    ),
    "after-a-date": (ExpiryQuery(UNTIL, after=(date(2025, 1, 1), "E-03")), IN_ORDER[3:]),
    "after-before-the-tie": (ExpiryQuery(UNTIL, after=(date(2024, 12, 31), "E-99")), IN_ORDER[1:]),
    "limit": (ExpiryQuery(UNTIL, limit=2), ["E-08", "E-02"]),
    "after-limit": (
        ExpiryQuery(UNTIL, after=(date(2025, 1, 1), "E-02"), limit=2),
        ["E-03", "E-04"],
    ),
    "organisation-after": (
        ExpiryQuery(UNTIL, organisation_id="O-1", after=(date(2025, 2, 28), "E-11")),
        ["E-05", "E-01"],
    ),
    "after-last": (ExpiryQuery(UNTIL, after=(UNTIL, "E-01")), []),
}


def test_expiring_items_by_end_date_then_id(expiring: GraphStore) -> None:
    found = expiring.read(
        lambda tx: {name: tx.expiring_items(query) for name, (query, _) in EXPIRY_QUERIES.items()}
    )

    assert {name: _ids(items) for name, items in found.items()} == {
        name: expected for name, (_, expected) in EXPIRY_QUERIES.items()
    }
    assert found["until"] == [EXPIRING[id] for id in IN_ORDER]


def test_expiring_items_follow_update_items(expiring: GraphStore) -> None:
    updated = [
        replace(EXPIRING["E-01"], status=ItemStatus.DECLASSIFIED_PUBLIC),
        replace(EXPIRING["E-02"], classification=Classification(Level.CONFIDENTIAL, LongTerm())),
        replace(
            EXPIRING["E-06"],
            classification=Classification(Level.TOP_SECRET, UntilDate(date(2025, 2, 15))),
        ),
        replace(
            EXPIRING["E-12"],
            classification=Classification(Level.SECRET, Years(5, date(2015, 6, 2))),
        ),
        replace(EXPIRING["E-09"], status=ItemStatus.CLASSIFIED),
        # The statutory period follows the level: 10 years for 秘密.
        replace(
            EXPIRING["E-03"],
            classification=Classification(Level.CONFIDENTIAL, Unmarked(date(1995, 1, 1))),
        ),
    ]
    updated = [EXPIRING[i.id].decided(i) for i in updated]
    expiring.write(lambda tx: tx.update_items(updated))
    now = {**EXPIRING, **{i.id: i for i in updated}}

    found = expiring.read(lambda tx: tx.expiring_items(ExpiryQuery(UNTIL)))

    order = ["E-03", "E-12", "E-09", "E-08", "E-04", "E-06", "E-11", "E-05"]
    assert _ids(found) == order
    assert found == [now[id] for id in order]
    assert _ids(expiring.read(lambda tx: tx.expiring_items(ExpiryQuery(date(2024, 12, 31))))) == [
        "E-03",
        "E-12",
        "E-09",
        "E-08",
    ]


def test_expiring_keypoints_not_yet_declassified_by_id(expiring: GraphStore) -> None:
    def until(day: date) -> list[str]:
        return _ids(expiring.read(lambda tx: tx.expiring_keypoints(day)))

    assert until(UNTIL) == ["KP-1", "KP-2", "KP-3"]
    assert until(date(2025, 1, 1)) == ["KP-1", "KP-2"]
    assert until(date(2024, 6, 29)) == []
    assert until(date(2026, 1, 1)) == ["KP-1", "KP-2", "KP-3", "KP-7", "KP-8"]
    assert expiring.read(lambda tx: tx.expiring_keypoints(UNTIL)) == [
        KEYPOINTS[id] for id in ["KP-1", "KP-2", "KP-3"]
    ]

    updated = [
        replace(KEYPOINTS["KP-1"], declassified=True),
        replace(KEYPOINTS["KP-2"], classification=Classification(Level.CONFIDENTIAL, LongTerm())),
        replace(KEYPOINTS["KP-4"], declassified=False),
        replace(
            KEYPOINTS["KP-7"],
            classification=Classification(Level.SECRET, UntilDate(date(2025, 5, 1))),
        ),
    ]
    expiring.write(lambda tx: tx.update_keypoints(updated))

    assert until(UNTIL) == ["KP-3", "KP-4", "KP-7"]
    assert expiring.read(lambda tx: tx.expiring_keypoints(UNTIL)) == [
        KEYPOINTS["KP-3"],
        updated[2],
        updated[3],
    ]


# Integrity: a refused write raises and leaves the graph as it was.

IDS = [
    *("O-1", "O-2", "O-PROBE", "O-NEW", "O-NOPE", "P-1", "P-2", "P-PROBE", "P-NOPE"),
    *("S-1", "D-1", "PROBE", "NEW", "S-NOPE", "D-NOPE", "K-1", "K-NOPE", "REC-1", "REC-NOPE"),
    *("C-1", "C-PROBE", "C-NEW", "C-NOPE", "N-1", "N-PROBE", "N-NEW", "N-NEW-2", "N-NOPE"),
    *("PR-1", "PR-PROBE", "PR-NEW", "PR-NOPE"),
]


def snapshot(tx: GraphReader) -> dict[str, object]:
    """Everything the reader can tell about IDS."""
    return {
        "organisations": tx.organisations(IDS),
        "all_organisations": tx.all_organisations(),
        "persons": tx.persons(IDS),
        "items": tx.items(IDS),
        "keypoints": tx.keypoints(IDS),
        "records": tx.records_of(IDS),
        "changes": tx.changes(IDS),
        "changes_of": tx.changes_of(IDS),
        "notices": tx.notices(IDS),
        "found_notices": tx.find_notices(NoticeQuery(limit=None)),
        "notices_of": tx.notices_of(IDS),
        "proposals": tx.proposals(IDS),
        "found_proposals": tx.find_proposals(None, None, None, 1000),
        "proposals_of": tx.proposals_of(IDS),
        "expiring_items": tx.expiring_items(ExpiryQuery(date(2100, 1, 1), limit=None)),
        "expiring_keypoints": tx.expiring_keypoints(date(2100, 1, 1)),
    }


@pytest.fixture
def seeded(store: GraphStore) -> GraphStore:
    """O-1, O-2 under O-1; P-1, P-2 of O-1; source S-1 with keypoint K-1 and record REC-1;
    D-1; change C-1 of S-1 with notice N-1 to D-1; proposal PR-1 answering N-1."""

    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation("O-1"),
            Organisation("O-2", "机关 O-2", None, superior_id="O-1"),
            person("P-1"),
            person("P-2"),
            item("S-1"),
            item("D-1", kind=ItemKind.DERIVED),
            keypoint("K-1", "S-1"),
            record("REC-1", "S-1"),
        )
        file(tx, change("C-1", record_id="REC-1"), notice("N-1"), proposal("PR-1", notice_id="N-1"))

    store.write(work)
    return store


def write_probe(tx: GraphWriter) -> None:
    """Valid writes of every new kind and every update, made before the refused call in the
    same transaction."""
    add(tx, organisation("O-PROBE"), person("P-PROBE", "O-PROBE"), item("PROBE"))
    file(
        tx,
        change("C-PROBE", "PROBE", handler_id="P-PROBE", consulted_organisation_ids=("O-2",)),
        notice("N-PROBE", "PROBE", change_id="C-PROBE", source_id="S-1"),
        proposal("PR-PROBE", "PROBE", proposer_id="P-PROBE", notice_id="N-PROBE"),
    )
    tx.update_items([replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=2)])
    tx.update_keypoints([keypoint("K-1", "S-1", declassified=True)])
    tx.update_notices([notice("N-1", status=APPLIED, acted_by="P-PROBE", record_id="REC-1")])
    tx.update_organisation(Organisation("O-2", "改名", Level.SECRET, "O-PROBE", "O-1"))
    assert tx.changes(["C-PROBE"]) != {}
    assert tx.notices(["N-1"])["N-1"].status is APPLIED


@dataclass(frozen=True)
class Refusal:
    name: str
    fail: Callable[[GraphWriter], None]
    error: type[LineageError]
    attrs: dict[str, object] = field(default_factory=dict)


def _change_twice(tx: GraphWriter) -> None:
    tx.add_change(change("C-NEW"))
    tx.add_change(change("C-NEW"))


def _id(kind: str, id: str) -> dict[str, object]:
    """The `kind` and `id` a DuplicateId or UnknownId must carry."""
    return {"kind": kind, "id": id}


def _rows(*notices: Notice) -> list[tuple[object, ...]]:
    """Notices as the rows a committed fan-out writes in bulk (service.notice_rows)."""
    return [tuple(notice_fields(n).values()) for n in notices]


DUPLICATES = [
    Refusal(
        "notice-rows",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW"), notice("N-1", "S-1"))),
        DuplicateId,
        _id("notice", "N-1"),
    ),
    Refusal(
        "notice-rows-repeated-in-one-batch",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW"), notice("N-NEW"))),
        DuplicateId,
        _id("notice", "N-NEW"),
    ),
    Refusal(
        "change",
        lambda tx: tx.add_change(change("C-1", "D-1")),
        DuplicateId,
        _id("change", "C-1"),
    ),
    Refusal("change-in-one-transaction", _change_twice, DuplicateId, _id("change", "C-NEW")),
    Refusal(
        "notice",
        lambda tx: tx.add_notices([notice("N-1", "S-1", status=APPLIED)]),
        DuplicateId,
        _id("notice", "N-1"),
    ),
    Refusal(
        "notices-repeated-in-one-batch",
        lambda tx: tx.add_notices([notice("N-NEW"), notice("N-NEW")]),
        DuplicateId,
        _id("notice", "N-NEW"),
    ),
    Refusal(
        "proposal",
        lambda tx: tx.add_proposal(proposal("PR-1", "D-1")),
        DuplicateId,
        _id("proposal", "PR-1"),
    ),
]

UNKNOWNS = [
    Refusal(
        "notice-rows-change",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW", change_id="C-NOPE"))),
        UnknownId,
        _id("change", "C-NOPE"),
    ),
    Refusal(
        "notice-rows-item-later-in-batch",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW"), notice("N-NEW-2", "D-NOPE"))),
        UnknownId,
        _id("item", "D-NOPE"),
    ),
    Refusal(
        "notice-rows-organisation",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW", organisation_id="O-NOPE"))),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "notice-rows-acted-by",
        lambda tx: tx.add_notice_rows(_rows(notice("N-NEW", status=APPLIED, acted_by="P-NOPE"))),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "change-item",
        lambda tx: tx.add_change(change("C-NEW", "S-NOPE")),
        UnknownId,
        _id("item", "S-NOPE"),
    ),
    Refusal(
        "change-handler",
        lambda tx: tx.add_change(change("C-NEW", handler_id="P-NOPE")),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "change-consulted-organisation",
        lambda tx: tx.add_change(change("C-NEW", consulted_organisation_ids=("O-2", "O-NOPE"))),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "change-record",
        lambda tx: tx.add_change(change("C-NEW", record_id="REC-NOPE")),
        UnknownId,
        _id("record", "REC-NOPE"),
    ),
    Refusal(
        "notice-change",
        lambda tx: tx.add_notices([notice("N-NEW", change_id="C-NOPE")]),
        UnknownId,
        _id("change", "C-NOPE"),
    ),
    Refusal(
        "notice-source",
        lambda tx: tx.add_notices([notice("N-NEW", source_id="S-NOPE")]),
        UnknownId,
        _id("item", "S-NOPE"),
    ),
    Refusal(
        "notice-item-later-in-batch",
        lambda tx: tx.add_notices([notice("N-NEW"), notice("N-NEW-2", "D-NOPE")]),
        UnknownId,
        _id("item", "D-NOPE"),
    ),
    Refusal(
        "notice-organisation",
        lambda tx: tx.add_notices([notice("N-NEW", organisation_id="O-NOPE")]),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "notice-acted-by",
        lambda tx: tx.add_notices([notice("N-NEW", status=APPLIED, acted_by="P-NOPE")]),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "notice-superseded-by",
        lambda tx: tx.add_notices([notice("N-NEW", status=SUPERSEDED, superseded_by="C-NOPE")]),
        UnknownId,
        _id("change", "C-NOPE"),
    ),
    Refusal(
        "update-notice-missing",
        lambda tx: tx.update_notices([notice("N-1", status=ACKNOWLEDGED), notice("N-NOPE")]),
        UnknownId,
        _id("notice", "N-NOPE"),
    ),
    Refusal(
        "update-notice-acted-by",
        lambda tx: tx.update_notices([notice("N-1", status=APPLIED, acted_by="P-NOPE")]),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "update-notice-record",
        lambda tx: tx.update_notices([notice("N-1", status=APPLIED, record_id="REC-NOPE")]),
        UnknownId,
        _id("record", "REC-NOPE"),
    ),
    Refusal(
        "update-notice-superseded-by",
        lambda tx: tx.update_notices([notice("N-1", status=SUPERSEDED, superseded_by="C-NOPE")]),
        UnknownId,
        _id("change", "C-NOPE"),
    ),
    Refusal(
        "update-notice-proposal",
        lambda tx: tx.update_notices([notice("N-1", status=PROPOSED, proposal_id="PR-NOPE")]),
        UnknownId,
        _id("proposal", "PR-NOPE"),
    ),
    Refusal(
        "proposal-item",
        lambda tx: tx.add_proposal(proposal("PR-NEW", "S-NOPE")),
        UnknownId,
        _id("item", "S-NOPE"),
    ),
    Refusal(
        "proposal-proposer",
        lambda tx: tx.add_proposal(proposal("PR-NEW", proposer_id="P-NOPE")),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "proposal-organisation",
        lambda tx: tx.add_proposal(proposal("PR-NEW", organisation_id="O-NOPE")),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "proposal-notice",
        lambda tx: tx.add_proposal(proposal("PR-NEW", notice_id="N-NOPE")),
        UnknownId,
        _id("notice", "N-NOPE"),
    ),
    Refusal(
        "organisation-superior",
        lambda tx: tx.add_organisation(Organisation("O-NEW", "新机关", None, "O-NOPE")),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "organisation-successor",
        lambda tx: tx.add_organisation(Organisation("O-NEW", "新机关", None, "O-1", "O-NOPE")),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "update-organisation-missing",
        lambda tx: tx.update_organisation(Organisation("O-NOPE", "无此机关", None, "O-1")),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "update-organisation-successor",
        lambda tx: tx.update_organisation(Organisation("O-2", "机关 O-2", None, "O-1", "O-NOPE")),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "item-joint-organisation",
        lambda tx: tx.add_item(
            replace(item("NEW"), joint_organisation_ids=frozenset({"O-2", "O-NOPE"}))
        ),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "update-items-missing",
        lambda tx: tx.update_items(
            # S-1 after the probe's update, and one that does not exist.
            [replace(item("S-1"), status=ItemStatus.DECLASSIFIED_PUBLIC, version=3), item("S-NOPE")]
        ),
        UnknownId,
        _id("item", "S-NOPE"),
    ),
    Refusal(
        "update-items-scope-person",
        lambda tx: tx.update_items(
            [item("D-1", scope=KnowledgeScope(frozenset({"P-1", "P-NOPE"}))).decided()]
        ),
        UnknownId,
        _id("person", "P-NOPE"),
    ),
    Refusal(
        "update-items-scope-limit-organisation",
        lambda tx: tx.update_items(
            [item("D-1", scope_limit=KnowledgeScope(organisations=frozenset({"O-NOPE"}))).decided()]
        ),
        UnknownId,
        _id("organisation", "O-NOPE"),
    ),
    Refusal(
        "update-keypoints-missing",
        lambda tx: tx.update_keypoints(
            [keypoint("K-1", "S-1", declassified=True), keypoint("K-NOPE", "S-1")]
        ),
        UnknownId,
        _id("keypoint", "K-NOPE"),
    ),
]


@pytest.mark.parametrize(
    "refusal", DUPLICATES + UNKNOWNS, ids=lambda r: f"{r.error.__name__}-{r.name}"
)
def test_refused_write_raises_and_rolls_back(seeded: GraphStore, refusal: Refusal) -> None:
    before = seeded.read(snapshot)

    def work(tx: GraphWriter) -> None:
        write_probe(tx)
        refusal.fail(tx)

    with pytest.raises(refusal.error) as raised:
        seeded.write(work)

    assert type(raised.value) is refusal.error
    for name, value in refusal.attrs.items():
        assert getattr(raised.value, name) == value
    assert seeded.read(snapshot) == before
    assert seeded.read(lambda tx: tx.changes(["C-PROBE", "C-NEW"])) == {}
    assert seeded.read(lambda tx: tx.notices(["N-PROBE", "N-NEW", "N-NEW-2"])) == {}
    assert seeded.read(lambda tx: tx.proposals(["PR-PROBE", "PR-NEW"])) == {}
    assert seeded.read(lambda tx: tx.organisations(["O-PROBE", "O-NEW"])) == {}
    assert seeded.read(lambda tx: tx.items(["PROBE", "NEW"])) == {}
    assert seeded.read(lambda tx: tx.notices(["N-1"])) == {"N-1": notice("N-1")}
    assert seeded.read(lambda tx: tx.items(["S-1", "D-1"])) == {
        "S-1": item("S-1"),
        "D-1": item("D-1", kind=ItemKind.DERIVED),
    }
    assert seeded.read(lambda tx: tx.keypoints(["K-1"])) == {"K-1": keypoint("K-1", "S-1")}
    assert seeded.read(lambda tx: tx.organisation("O-2")) == Organisation(
        "O-2", "机关 O-2", None, superior_id="O-1"
    )
