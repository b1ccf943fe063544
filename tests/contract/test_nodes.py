"""Nodes: every value the store keeps comes back exactly as it was written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from graph.errors import DuplicateId, InvalidValue
from graph.model import (
    BasisCitation,
    Classification,
    DecisionRecord,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    LongTerm,
    Organisation,
    Period,
    Person,
    RecordKind,
    ScopeRule,
    Unmarked,
    UntilCondition,
    UntilDate,
    Years,
)
from graph.phrase import Phrase
from graph.store.base import GraphReader, GraphStore, GraphWriter, ItemQuery
from tests.contract.builders import (
    BEIJING,
    Node,
    add,
    build,
    item,
    keypoint,
    organisation,
    person,
    record,
    rule,
)

PERIODS: dict[str, Period] = {
    "years": Years(10, date(2024, 3, 1)),
    "until_date": UntilDate(date(2030, 12, 31)),
    "until_condition": UntilCondition("该型号装备列装后"),
    "long_term": LongTerm(),
    "unmarked": Unmarked(date(2023, 7, 15)),
}


def test_organisation_round_trip(store: GraphStore) -> None:
    with_authority = Organisation("O-1", "国家某某局", Level.TOP_SECRET)
    without_authority = Organisation("O-2", "某某研究所", None)
    build(store, [with_authority, without_authority])

    assert store.read(lambda tx: tx.organisation("O-1")) == with_authority
    assert store.read(lambda tx: tx.organisation("O-2")) == without_authority
    assert store.read(lambda tx: tx.organisation("O-3")) is None
    assert store.read(lambda tx: tx.organisations(["O-2", "O-1"])) == {
        "O-1": with_authority,
        "O-2": without_authority,
    }


def test_person_round_trip(store: GraphStore) -> None:
    zhang = Person("P-1", "张三", "O-1")
    li = Person("P-2", "李四", "O-2")
    build(store, [organisation("O-1"), organisation("O-2"), zhang, li])

    assert store.read(lambda tx: tx.persons(["P-1", "P-2"])) == {"P-1": zhang, "P-2": li}


@pytest.mark.parametrize("period", list(PERIODS.values()), ids=list(PERIODS))
@pytest.mark.parametrize("level", list(Level), ids=[level.value for level in Level])
def test_item_round_trip_with_every_period(store: GraphStore, level: Level, period: Period) -> None:
    value = Item(
        id="S-1",
        kind=ItemKind.SOURCE,
        title="关于某某项目的总体方案",
        document_number="国保〔2024〕12号",
        organisation_id="O-1",
        issued_on=date(2024, 2, 29),
        status=ItemStatus.CLASSIFIED,
        classification=Classification(level, period),
        scope=KnowledgeScope(frozenset({"P-1", "P-2"}), frozenset({"O-1"})),
        scope_limit=KnowledgeScope(frozenset({"P-9"}), frozenset({"O-1", "O-2"})),
    )
    build(
        store,
        [
            organisation("O-1"),
            organisation("O-2"),
            person("P-1"),
            person("P-2"),
            person("P-9", "O-2"),
            value,
        ],
    )

    read = store.read(lambda tx: tx.items(["S-1"]))["S-1"]

    assert read == value
    assert read.classification is not None
    assert read.classification.period == period
    assert type(read.classification.period) is type(period)


@pytest.mark.parametrize(
    ("scope", "scope_limit"),
    [
        (KnowledgeScope(), None),
        (KnowledgeScope(), KnowledgeScope()),
        (KnowledgeScope(frozenset({"P-1"})), None),
        (KnowledgeScope(organisations=frozenset({"O-1"})), KnowledgeScope(frozenset({"P-1"}))),
    ],
    ids=["empty-no-limit", "empty-empty-limit", "persons-no-limit", "organisations-limit"],
)
def test_item_round_trip_with_knowledge_scopes(
    store: GraphStore, scope: KnowledgeScope, scope_limit: KnowledgeScope | None
) -> None:
    value = item("S-1", scope=scope, scope_limit=scope_limit)
    build(store, [organisation(), person("P-1"), value])

    read = store.read(lambda tx: tx.items(["S-1"]))["S-1"]

    assert read == value
    assert read.scope == scope
    assert read.scope_limit == scope_limit
    assert (read.scope_limit is None) == (scope_limit is None)


def test_never_classified_item_round_trip(store: GraphStore) -> None:
    value = item("D-1", kind=ItemKind.DERIVED, status=ItemStatus.NOT_CLASSIFIED, level=None)
    build(store, [organisation(), value])

    read = store.read(lambda tx: tx.items(["D-1"]))["D-1"]

    assert read == value
    assert read.classification is None
    assert read.status is ItemStatus.NOT_CLASSIFIED
    assert read.kind is ItemKind.DERIVED


@pytest.mark.parametrize("status", list(ItemStatus), ids=[s.value for s in ItemStatus])
def test_item_round_trip_with_every_status(store: GraphStore, status: ItemStatus) -> None:
    value = item("S-1", status=status, level=Level.CONFIDENTIAL, period=LongTerm())
    build(store, [organisation(), value])

    assert store.read(lambda tx: tx.items(["S-1"])) == {"S-1": value}


@pytest.mark.parametrize("period", list(PERIODS.values()), ids=list(PERIODS))
@pytest.mark.parametrize("declassified", [False, True], ids=["classified", "declassified"])
def test_keypoint_round_trip(store: GraphStore, period: Period, declassified: bool) -> None:
    value = keypoint("K-1", "S-1", level=Level.TOP_SECRET, period=period, declassified=declassified)
    build(store, [organisation(), item("S-1"), value])

    read = store.read(lambda tx: tx.keypoints(["K-1"]))["K-1"]

    assert read == value
    assert read.declassified is declassified
    assert read.classification == Classification(Level.TOP_SECRET, period)


def test_keypoints_defined_by_a_source_in_id_order(store: GraphStore) -> None:
    k3 = keypoint("K-3", "S-1", declassified=True)
    k1 = keypoint("K-1", "S-1", period=LongTerm())
    k2 = keypoint("K-2", "S-1", level=Level.CONFIDENTIAL, period=UntilDate(date(2026, 1, 1)))
    other = keypoint("K-0", "S-2")
    build(store, [organisation(), item("S-1"), item("S-2"), k3, other, k1, k2])

    assert store.read(lambda tx: tx.keypoints_defined_by("S-1")) == [k1, k2, k3]
    assert store.read(lambda tx: tx.keypoints_defined_by("S-2")) == [other]
    assert store.read(lambda tx: tx.keypoints_defined_by("S-3")) == []


@pytest.mark.parametrize(
    "value",
    [
        ScopeRule(
            "R-1", "条目一", "某某工作国家秘密范围的规定", Level.SECRET, 20, False, "国家保密局"
        ),
        ScopeRule("R-2", "条目二", "某某工作国家秘密范围的规定", Level.TOP_SECRET, None, True, ""),
        ScopeRule("R-3", "条目三", "某某工作国家秘密范围的规定", Level.CONFIDENTIAL, None, False),
    ],
    ids=["years", "long-term", "no-period"],
)
def test_scope_rule_round_trip(store: GraphStore, value: ScopeRule) -> None:
    build(store, [value])

    read = store.read(lambda tx: tx.scope_rules([value.id]))[value.id]

    assert read == value
    assert read.years == value.years
    assert read.long_term is value.long_term


def _full_record(recorded_at: datetime) -> DecisionRecord:
    return DecisionRecord(
        id="REC-1",
        item_id="D-1",
        kind=RecordKind.DERIVED,
        handler_id="P-1",
        official_id="P-2",
        decided_on=date(2024, 3, 2),
        recorded_at=recorded_at,
        status=ItemStatus.CLASSIFIED,
        classification=Classification(Level.SECRET, Years(10, date(2024, 3, 1))),
        scope=KnowledgeScope(frozenset({"P-1", "P-2"}), frozenset({"O-1"})),
        bases=(
            BasisCitation("ITEM", "S-1", "关于某某项目的总体方案", "国保〔2024〕12号", "机密★10年"),
            BasisCitation("KEYPOINT", "K-1", "某某参数", "国保〔2024〕12号", "绝密★长期"),
            BasisCitation("SCOPE_RULE", "R-1", "条目一", "某某规定", "秘密"),
        ),
        summary=Phrase.of("依据来源事项及其密点派生定密，密级机密，保密期限与来源一致。"),
        articles=("D-7(2)", "D-9", "D-11"),
    )


def _record_graph(tx: GraphWriter) -> None:
    add(tx, organisation(), person("P-1"), person("P-2"), item("S-1"), item("D-1"))


def test_record_round_trip(store: GraphStore) -> None:
    recorded_at = datetime(2024, 3, 2, 9, 30, 15, 123456, tzinfo=BEIJING)
    value = _full_record(recorded_at)

    def work(tx: GraphWriter) -> None:
        _record_graph(tx)
        tx.add_record(value)

    store.write(work)

    [read] = store.read(lambda tx: tx.records("D-1"))
    assert read == value
    assert read.bases == value.bases
    assert read.articles == ("D-7(2)", "D-9", "D-11")
    assert read.recorded_at == recorded_at
    # Stored in UTC, so that records sort by time whatever offset they were written with.
    assert read.recorded_at.utcoffset() == timedelta(0)
    assert read.decided_on == date(2024, 3, 2)
    assert store.read(lambda tx: tx.records("S-1")) == []


def test_a_review_record_keeps_its_reasoning_and_consultation(store: GraphStore) -> None:
    recorded_at = datetime(2024, 3, 2, 9, 30, tzinfo=BEIJING)
    review = replace(
        _full_record(recorded_at),
        id="REC-2",
        kind=RecordKind.REVIEW,
        bases=(),
        reasoning="保密期限尚未届满，仍需保密。",
        consultation="经本机关保密委员会论证。",
    )

    def work(tx: GraphWriter) -> None:
        _record_graph(tx)
        tx.add_records([_full_record(recorded_at), review])

    store.write(work)

    read = store.read(lambda tx: tx.records_by_id(["REC-2", "REC-NOPE", "REC-1"]))
    assert read == {"REC-1": _full_record(recorded_at), "REC-2": review}
    assert (read["REC-1"].reasoning, read["REC-1"].consultation) == (None, None)
    assert read["REC-2"].reasoning == "保密期限尚未届满，仍需保密。"
    assert read["REC-2"].consultation == "经本机关保密委员会论证。"
    assert store.read(lambda tx: tx.records_by_id([])) == {}


def test_record_round_trip_with_no_classification(store: GraphStore) -> None:
    value = DecisionRecord(
        id="REC-1",
        item_id="D-1",
        kind=RecordKind.ORIGINAL,
        handler_id="P-1",
        official_id="P-1",
        decided_on=date(2024, 3, 2),
        recorded_at=datetime(2024, 3, 2, 9, 30, tzinfo=BEIJING),
        status=ItemStatus.NOT_CLASSIFIED,
        classification=None,
        scope=KnowledgeScope(),
        bases=(),
        summary=Phrase.of("经审核不属于国家秘密。"),
    )

    def work(tx: GraphWriter) -> None:
        _record_graph(tx)
        tx.add_record(value)

    store.write(work)

    [read] = store.read(lambda tx: tx.records("D-1"))
    assert read == value
    assert read.classification is None


def test_a_record_time_without_time_zone_is_refused() -> None:
    """A naive time cannot be ordered against the others, so a record must carry its zone."""
    with pytest.raises(InvalidValue):
        DecisionRecord(
            id="REC-1",
            item_id="D-1",
            kind=RecordKind.ORIGINAL,
            handler_id="P-1",
            official_id="P-2",
            decided_on=date(2024, 3, 2),
            recorded_at=datetime(2024, 3, 2, 9, 30),
            status=ItemStatus.NOT_CLASSIFIED,
            classification=None,
            scope=KnowledgeScope(),
            bases=(),
            summary=Phrase.of("经审核不属于国家秘密。"),
        )


def test_records_oldest_first(store: GraphStore) -> None:
    times = {
        "REC-A": datetime(2024, 3, 3, 8, 0, tzinfo=BEIJING),
        "REC-B": datetime(2024, 3, 1, 8, 0, 0, 500000, tzinfo=BEIJING),
        "REC-C": datetime(2024, 3, 1, 8, 0, tzinfo=BEIJING),
        "REC-D": datetime(2024, 3, 2, 23, 59, 59, tzinfo=BEIJING),
    }

    def work(tx: GraphWriter) -> None:
        _record_graph(tx)
        for id, at in times.items():
            tx.add_record(record(id, "D-1", recorded_at=at))

    store.write(work)

    read = store.read(lambda tx: tx.records("D-1"))
    assert [r.id for r in read] == ["REC-C", "REC-B", "REC-D", "REC-A"]


def test_records_oldest_first_across_utc_offsets(store: GraphStore) -> None:
    """`records` promises "oldest first": records kept with different UTC offsets must come
    back in the order of the instants they name (01:00Z, 02:00Z, 03:00Z), not in the order
    of their ISO text (which would give 02:00+00:00 < 03:00+00:00 < 09:00+08:00)."""
    times = {
        "REC-A": datetime(2024, 3, 1, 2, 0, tzinfo=UTC),  # 02:00Z
        "REC-B": datetime(2024, 3, 1, 9, 0, tzinfo=BEIJING),  # 01:00Z
        "REC-C": datetime(2024, 3, 1, 3, 0, tzinfo=UTC),  # 03:00Z
    }

    def work(tx: GraphWriter) -> None:
        _record_graph(tx)
        for id, at in times.items():
            tx.add_record(record(id, "D-1", recorded_at=at))

    store.write(work)

    read = store.read(lambda tx: tx.records("D-1"))
    assert [r.id for r in read] == ["REC-B", "REC-A", "REC-C"]


def test_lookups_by_many_ids_return_only_existing_ids(store: GraphStore) -> None:
    nodes: list[Node] = [
        organisation("O-1"),
        person("P-1"),
        item("S-1"),
        item("S-2"),
        keypoint("K-1", "S-1"),
        rule("R-1", years=5),
    ]
    build(store, nodes)
    wanted = ["S-2", "NOPE", "S-1", "S-2", "O-1", "P-1", "K-1", "R-1"]

    def lookups(tx: GraphReader) -> list[set[str]]:
        return [
            set(tx.organisations(wanted)),
            set(tx.persons(wanted)),
            set(tx.items(wanted)),
            set(tx.keypoints(wanted)),
            set(tx.scope_rules(wanted)),
        ]

    assert store.read(lookups) == [{"O-1"}, {"P-1"}, {"S-1", "S-2"}, {"K-1"}, {"R-1"}]
    assert store.read(lambda tx: tx.items(id for id in ["S-1", "NOPE"])) == {"S-1": nodes[2]}
    assert store.read(lambda tx: tx.items([])) == {}
    assert store.read(lambda tx: tx.organisations(["NOPE"])) == {}
    assert store.read(lambda tx: tx.persons([])) == {}
    assert store.read(lambda tx: tx.keypoints(["S-1"])) == {}
    assert store.read(lambda tx: tx.scope_rules(["K-1"])) == {}


def test_an_item_lookup_holds_every_item_asked_for_that_exists(store: GraphStore) -> None:
    """It may hold more (the embedded store lends what it keeps in memory), never less, and
    never an id that does not exist; asked again once the items are in memory, the same."""
    nodes: list[Node] = [organisation("O-1"), item("S-1"), item("S-2"), item("S-3")]
    build(store, nodes)

    def looked_up(tx: GraphReader) -> list[tuple[Item | None, Item | None, bool]]:
        found = []
        for _ in range(2):
            lookup = tx.item_lookup(["S-2", "S-1", "NOPE"])
            found.append((lookup.get("S-1"), lookup.get("S-2"), "NOPE" in lookup))
            tx.items(["S-1", "S-2", "S-3"])
        return found

    assert store.read(looked_up) == [(nodes[1], nodes[2], False)] * 2
    assert store.read(lambda tx: tx.item_lookup(["S-3"])["S-3"]) == nodes[3]


def test_ids_are_unique_per_kind_only(store: GraphStore) -> None:
    """The same id may name one node of each kind."""
    same = "X-1"
    nodes: list[Node] = [
        organisation(same),
        person(same, organisation_id=same),
        item(same, organisation_id=same, scope=KnowledgeScope(organisations=frozenset({same}))),
        keypoint(same, same),
        rule(same),
    ]

    def work(tx: GraphWriter) -> None:
        add(tx, *nodes)
        tx.add_record(record(same, same, handler_id=same, official_id=same))

    store.write(work)

    def everything(tx: GraphReader) -> list[object]:
        return [
            tx.organisation(same),
            tx.persons([same])[same],
            tx.items([same])[same],
            tx.keypoints([same])[same],
            tx.scope_rules([same])[same],
        ]

    assert store.read(everything) == nodes
    assert [r.id for r in store.read(lambda tx: tx.records(same))] == [same]


# find_items: seven items over two organisations, every level (and none), status and kind,
# written out of id order.
FOUND = {
    "I-05": item("I-05", kind=ItemKind.DERIVED, status=ItemStatus.NOT_CLASSIFIED, level=None),
    "I-02": item("I-02", organisation_id="O-2", kind=ItemKind.DERIVED, level=Level.SECRET),
    "I-07": item("I-07", organisation_id="O-2", kind=ItemKind.DERIVED, level=Level.SECRET),
    "I-01": item("I-01", level=Level.TOP_SECRET, period=LongTerm()),
    "I-06": item("I-06", status=ItemStatus.DECLASSIFIED_WORK_SECRET, level=Level.CONFIDENTIAL),
    "I-03": item(
        "I-03",
        kind=ItemKind.DERIVED,
        status=ItemStatus.DECLASSIFIED_PUBLIC,
        level=Level.SECRET,
        period=UntilDate(date(2025, 1, 1)),
    ),
    "I-04": item("I-04", organisation_id="O-2", level=Level.CONFIDENTIAL),
}


@pytest.fixture
def found(store: GraphStore) -> GraphStore:
    build(store, [organisation("O-1"), organisation("O-2"), *FOUND.values()])
    return store


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ItemQuery(), ["I-01", "I-02", "I-03", "I-04", "I-05", "I-06", "I-07"]),
        (ItemQuery(organisation_id="O-1"), ["I-01", "I-03", "I-05", "I-06"]),
        (ItemQuery(organisation_id="O-2"), ["I-02", "I-04", "I-07"]),
        (ItemQuery(organisation_id="O-3"), []),
        (ItemQuery(level=Level.TOP_SECRET), ["I-01"]),
        (ItemQuery(level=Level.SECRET), ["I-02", "I-03", "I-07"]),
        (ItemQuery(level=Level.CONFIDENTIAL), ["I-04", "I-06"]),
        (ItemQuery(status=ItemStatus.CLASSIFIED), ["I-01", "I-02", "I-04", "I-07"]),
        (ItemQuery(status=ItemStatus.DECLASSIFIED_WORK_SECRET), ["I-06"]),
        (ItemQuery(status=ItemStatus.DECLASSIFIED_PUBLIC), ["I-03"]),
        (ItemQuery(status=ItemStatus.NOT_CLASSIFIED), ["I-05"]),
        (ItemQuery(kind=ItemKind.SOURCE), ["I-01", "I-04", "I-06"]),
        (ItemQuery(kind=ItemKind.DERIVED), ["I-02", "I-03", "I-05", "I-07"]),
        (
            ItemQuery(organisation_id="O-2", level=Level.SECRET, kind=ItemKind.DERIVED),
            ["I-02", "I-07"],
        ),
        (
            ItemQuery(organisation_id="O-1", status=ItemStatus.CLASSIFIED, kind=ItemKind.DERIVED),
            [],
        ),
        (ItemQuery(after="I-04"), ["I-05", "I-06", "I-07"]),
        (ItemQuery(limit=2), ["I-01", "I-02"]),
        (ItemQuery(kind=ItemKind.DERIVED, after="I-02", limit=2), ["I-03", "I-05"]),
        (ItemQuery(after="I-07"), []),
    ],
    ids=[
        "all",
        "organisation-O-1",
        "organisation-O-2",
        "organisation-unknown",
        "level-top-secret",
        "level-secret",
        "level-confidential",
        "status-classified",
        "status-work-secret",
        "status-public",
        "status-not-classified",
        "kind-source",
        "kind-derived",
        "organisation-level-kind",
        "no-match",
        "after",
        "limit",
        "kind-after-limit",
        "after-last",
    ],
)
def test_find_items_filters_in_id_order(
    found: GraphStore, query: ItemQuery, expected: list[str]
) -> None:
    result = found.read(lambda tx: tx.find_items(query))

    assert [i.id for i in result] == expected
    assert result == [FOUND[id] for id in expected]


def test_find_items_pages_through_everything_once(found: GraphStore) -> None:
    pages: list[list[str]] = []
    after: str | None = None

    def ids(query: ItemQuery) -> list[str]:
        return [i.id for i in found.read(lambda tx: tx.find_items(query))]

    while True:
        page = ids(ItemQuery(after=after, limit=3))
        if not page:
            break
        pages.append(page)
        after = page[-1]

    assert pages == [["I-01", "I-02", "I-03"], ["I-04", "I-05", "I-06"], ["I-07"]]


def test_find_items_pages_through_a_filter(found: GraphStore) -> None:
    def page(after: str | None) -> list[str]:
        query = ItemQuery(status=ItemStatus.CLASSIFIED, after=after, limit=2)
        return [i.id for i in found.read(lambda tx: tx.find_items(query))]

    assert page(None) == ["I-01", "I-02"]
    assert page("I-02") == ["I-04", "I-07"]
    assert page("I-07") == []


def test_find_items_default_limit_is_fifty(store: GraphStore) -> None:
    ids = [f"N-{n:03d}" for n in range(51, 0, -1)]
    build(store, [organisation(), *(item(id) for id in ids)])

    first = store.read(lambda tx: tx.find_items(ItemQuery()))
    rest = store.read(lambda tx: tx.find_items(ItemQuery(after=first[-1].id)))

    assert len(first) == 50
    assert first[0].id == "N-001"
    assert first[-1].id == "N-050"
    assert [i.id for i in rest] == ["N-051"]


def test_a_memo_is_kept_replaced_and_rolled_back_with_its_transaction(store: GraphStore) -> None:
    """The service's own notes (an import's progress, an idempotency key's first answer)."""
    assert store.read(lambda tx: tx.memo("import")) is None
    store.write(lambda tx: tx.put_memo("import", '{"line": 1001}'))
    store.write(lambda tx: tx.put_memo("other", "第二条"))
    store.write(lambda tx: tx.put_memo("import", '{"line": 2001}'))
    assert store.read(lambda tx: tx.memo("import")) == '{"line": 2001}'
    assert store.read(lambda tx: tx.memo("other")) == "第二条"

    def refused(tx: GraphWriter) -> None:
        tx.put_memo("import", '{"line": 3001}')
        raise InvalidValue("line", "refused after the memo was written")

    with pytest.raises(InvalidValue):
        store.write(refused)
    assert store.read(lambda tx: tx.memo("import")) == '{"line": 2001}'


def test_a_memo_added_under_a_taken_key_is_refused(store: GraphStore) -> None:
    """How an idempotency key is taken: once (service.idempotency)."""
    store.write(lambda tx: tx.add_memo("idempotency:u:k", "first"))
    with pytest.raises(DuplicateId):
        store.write(lambda tx: tx.add_memo("idempotency:u:k", "second"))
    assert store.read(lambda tx: tx.memo("idempotency:u:k")) == "first"


def test_memos_are_listed_by_prefix_in_key_order_a_page_at_a_time(store: GraphStore) -> None:
    keys = ["idempotency:u:b", "idempotency:u:a", "idempotency:v:%", "idempotency", "import"]
    store.write(lambda tx: _put(tx, {k: f"值 {k}" for k in keys}))

    def page(after: str | None, limit: int) -> list[tuple[str, str]]:
        return store.read(lambda tx: tx.memos("idempotency:", after, limit))

    assert page(None, 10) == [
        ("idempotency:u:a", "值 idempotency:u:a"),
        ("idempotency:u:b", "值 idempotency:u:b"),
        ("idempotency:v:%", "值 idempotency:v:%"),
    ]
    assert [k for k, _ in page(None, 2)] == ["idempotency:u:a", "idempotency:u:b"]
    assert [k for k, _ in page("idempotency:u:b", 2)] == ["idempotency:v:%"]
    # A prefix is text, not a pattern: % and _ stand for themselves.
    assert store.read(lambda tx: tx.memos("idempotency:_", None, 10)) == []
    assert [k for k, _ in store.read(lambda tx: tx.memos("idempotency:v:%", None, 10))] == [
        "idempotency:v:%"
    ]


def test_memos_are_removed_with_their_transaction(store: GraphStore) -> None:
    store.write(lambda tx: _put(tx, dict.fromkeys(("a", "b", "c"), "1")))

    def refused(tx: GraphWriter) -> None:
        tx.remove_memos(["a"])
        raise InvalidValue("key", "refused after the memo was removed")

    with pytest.raises(InvalidValue):
        store.write(refused)
    assert store.read(lambda tx: tx.memo("a")) == "1"

    store.write(lambda tx: tx.remove_memos(["a", "c", "never-there"]))

    held = store.read(lambda tx: [tx.memo(k) for k in ("a", "b", "c")])
    assert held == [None, "1", None]
    # Removed, a key may be taken again.
    store.write(lambda tx: tx.add_memo("a", "2"))
    assert store.read(lambda tx: tx.memo("a")) == "2"


def _put(tx: GraphWriter, memos: dict[str, str]) -> None:
    for key, value in memos.items():
        tx.put_memo(key, value)
