"""Invariants and transactions: a refused write raises its LineageError and writes nothing.

Every failing case first writes something valid in the same `store.write` (the probe:
nodes and edges of every kind), then makes the refused call; afterwards a new read must see
the graph exactly as it was before, the probe included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from graph.errors import CycleRefused, DuplicateId, InvalidValue, LineageError, UnknownId
from graph.model import BasisCase, ItemKind, KnowledgeScope
from graph.store.base import GraphReader, GraphStore, GraphWriter, ItemQuery
from tests.contract.builders import (
    add,
    dag,
    edge,
    item,
    keypoint,
    organisation,
    person,
    record,
    rule,
)

# Every id the tests below write or mention, for the snapshot.
IDS = [
    *("O-1", "O-PROBE", "O-NOPE", "P-1", "P-2", "P-PROBE", "P-NOPE"),
    *("S-1", "D-1", "D-2", "X-1", "PROBE", "NEW", "TWICE", "S-NOPE", "D-NOPE"),
    *("A", "B", "C", "K-1", "K-PROBE", "K-NEW", "K-NOPE", "R-1", "R-PROBE", "R-NOPE"),
    *("REC-1", "REC-PROBE", "REC-NEW"),
]


def snapshot(tx: GraphReader) -> dict[str, object]:
    """Everything the reader can tell about IDS."""
    return {
        "organisations": tx.organisations(IDS),
        "persons": tx.persons(IDS),
        "items": tx.items(IDS),
        "found": tx.find_items(ItemQuery(limit=1000)),
        "keypoints": tx.keypoints(IDS),
        "defined": {id: tx.keypoints_defined_by(id) for id in IDS},
        "rules": tx.scope_rules(IDS),
        "parents": tx.parents(IDS),
        "children": tx.children(IDS),
        "contains": tx.contained_keypoints(IDS),
        "classified_under": {id: tx.classified_under(id) for id in IDS},
        "main": {id: tx.main_item_of(id) for id in IDS},
        "process": {id: tx.process_items_of(id) for id in IDS},
        "records": {id: tx.records(id) for id in IDS},
    }


def write_probe(tx: GraphWriter) -> None:
    """Valid writes of every kind, made before the refused call in the same transaction."""
    add(
        tx,
        organisation("O-PROBE"),
        person("P-PROBE", "O-PROBE"),
        item("PROBE", organisation_id="O-PROBE", kind=ItemKind.DERIVED),
        keypoint("K-PROBE", "S-1"),
        rule("R-PROBE", years=3),
        record("REC-PROBE", "PROBE", handler_id="P-PROBE", official_id="P-1"),
    )
    tx.add_derivations([edge("PROBE", "S-1", "K-1", "K-PROBE", case=BasisCase.INVOLVES_KEYPOINT)])
    tx.add_contained_keypoints("PROBE", ["K-1", "K-PROBE"])
    tx.add_classified_under("PROBE", ["R-1", "R-PROBE"])
    tx.add_classified_under("S-1", ["R-PROBE"])
    tx.add_process_item_of("D-2", "PROBE")
    assert tx.items(["PROBE"]) != {}
    assert tx.parents(["PROBE"]) != []


@pytest.fixture
def seeded(store: GraphStore) -> GraphStore:
    """O-1 with P-1 and P-2; source S-1 with keypoint K-1; D-1 derived from S-1 (K-1);
    D-2 unattached; X-1 a process item of D-1; rule R-1; record REC-1 of D-1."""

    def work(tx: GraphWriter) -> None:
        add(
            tx,
            organisation("O-1"),
            person("P-1"),
            person("P-2"),
            item("S-1"),
            item("D-1", kind=ItemKind.DERIVED),
            item("D-2", kind=ItemKind.DERIVED),
            item("X-1"),
            keypoint("K-1", "S-1"),
            rule("R-1", years=10),
            record("REC-1", "D-1"),
        )
        tx.add_derivations([edge("D-1", "S-1", "K-1", case=BasisCase.INVOLVES_KEYPOINT)])
        tx.add_contained_keypoints("D-1", ["K-1"])
        tx.add_classified_under("S-1", ["R-1"])
        tx.add_process_item_of("X-1", "D-1")

    store.write(work)
    return store


@dataclass(frozen=True)
class Refusal:
    name: str
    fail: Callable[[GraphWriter], None]
    error: type[LineageError]
    attrs: dict[str, object] = field(default_factory=dict)


def _twice(tx: GraphWriter) -> None:
    tx.add_item(item("TWICE"))
    tx.add_item(item("TWICE"))


DUPLICATES = [
    Refusal(
        "organisation",
        lambda tx: tx.add_organisation(organisation("O-1")),
        DuplicateId,
        {"kind": "organisation", "id": "O-1"},
    ),
    Refusal(
        "person",
        lambda tx: tx.add_person(person("P-1", "O-PROBE")),
        DuplicateId,
        {"kind": "person", "id": "P-1"},
    ),
    Refusal(
        "item",
        lambda tx: tx.add_item(item("S-1", kind=ItemKind.DERIVED)),
        DuplicateId,
        {"kind": "item", "id": "S-1"},
    ),
    Refusal("item-in-one-transaction", _twice, DuplicateId, {"kind": "item", "id": "TWICE"}),
    Refusal(
        "keypoint",
        lambda tx: tx.add_keypoint(keypoint("K-1", "D-1", declassified=True)),
        DuplicateId,
        {"kind": "keypoint", "id": "K-1"},
    ),
    Refusal(
        "scope-rule",
        lambda tx: tx.add_scope_rule(rule("R-1", long_term=True)),
        DuplicateId,
        {"kind": "scope_rule", "id": "R-1"},
    ),
    Refusal(
        "record",
        lambda tx: tx.add_record(record("REC-1", "S-1")),
        DuplicateId,
        {"kind": "record", "id": "REC-1"},
    ),
    Refusal(
        "derivation",
        lambda tx: tx.add_derivations([edge("D-1", "S-1", case=BasisCase.SUMMARY)]),
        DuplicateId,
        {"kind": "derivation", "id": "D-1 -> S-1"},
    ),
    Refusal(
        "derivation-in-one-batch",
        lambda tx: tx.add_derivations([edge("D-2", "S-1"), edge("D-2", "S-1")]),
        DuplicateId,
        {"kind": "derivation", "id": "D-2 -> S-1"},
    ),
    Refusal(
        "process-item-of",
        lambda tx: tx.add_process_item_of("X-1", "S-1"),
        DuplicateId,
        {"kind": "process_item_of", "id": "X-1"},
    ),
]

BATCHES = [
    Refusal(
        "items-repeated-in-one-batch",
        lambda tx: tx.add_items([item("NEW"), item("NEW")]),
        DuplicateId,
        {"kind": "item", "id": "NEW"},
    ),
    Refusal(
        "items-one-unknown-organisation",
        lambda tx: tx.add_items([item("NEW"), item("NEW-2", organisation_id="O-NOPE")]),
        UnknownId,
        {"kind": "organisation", "id": "O-NOPE"},
    ),
    Refusal(
        "keypoints-one-existing",
        lambda tx: tx.add_keypoints([keypoint("K-NEW", "S-1"), keypoint("K-1", "S-1")]),
        DuplicateId,
        {"kind": "keypoint", "id": "K-1"},
    ),
    Refusal(
        "records-repeated-in-one-batch",
        lambda tx: tx.add_records([record("REC-NEW", "D-1"), record("REC-NEW", "D-1")]),
        DuplicateId,
        {"kind": "record", "id": "REC-NEW"},
    ),
    Refusal(
        "derivations-closing-a-cycle-within-the-batch",
        lambda tx: tx.add_derivations([edge("D-2", "S-1"), edge("S-1", "D-2")]),
        CycleRefused,
        {"child": "S-1", "parent": "D-2"},
    ),
]

UNKNOWNS = [
    Refusal(
        "item-organisation",
        lambda tx: tx.add_item(item("NEW", organisation_id="O-NOPE")),
        UnknownId,
        {"kind": "organisation", "id": "O-NOPE"},
    ),
    Refusal(
        "person-organisation",
        lambda tx: tx.add_person(person("P-NEW", "O-NOPE")),
        UnknownId,
        {"kind": "organisation", "id": "O-NOPE"},
    ),
    Refusal(
        "keypoint-item",
        lambda tx: tx.add_keypoint(keypoint("K-NEW", "S-NOPE")),
        UnknownId,
        {"kind": "item", "id": "S-NOPE"},
    ),
    Refusal(
        "derivation-child",
        lambda tx: tx.add_derivations([edge("D-NOPE", "S-1")]),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "derivation-parent",
        lambda tx: tx.add_derivations([edge("D-2", "S-NOPE")]),
        UnknownId,
        {"kind": "item", "id": "S-NOPE"},
    ),
    Refusal(
        "derivation-keypoint",
        lambda tx: tx.add_derivations([edge("D-2", "S-1", "K-1", "K-NOPE")]),
        UnknownId,
        {"kind": "keypoint", "id": "K-NOPE"},
    ),
    Refusal(
        "derivation-later-in-batch",
        lambda tx: tx.add_derivations([edge("D-2", "S-1"), edge("D-2", "S-NOPE")]),
        UnknownId,
        {"kind": "item", "id": "S-NOPE"},
    ),
    Refusal(
        "classified-under-rule",
        lambda tx: tx.add_classified_under("D-2", ["R-1", "R-NOPE"]),
        UnknownId,
        {"kind": "scope_rule", "id": "R-NOPE"},
    ),
    Refusal(
        "classified-under-item",
        lambda tx: tx.add_classified_under("S-NOPE", ["R-1"]),
        UnknownId,
        {"kind": "item", "id": "S-NOPE"},
    ),
    Refusal(
        "contained-keypoint",
        lambda tx: tx.add_contained_keypoints("D-2", ["K-1", "K-NOPE"]),
        UnknownId,
        {"kind": "keypoint", "id": "K-NOPE"},
    ),
    Refusal(
        "contained-keypoint-item",
        lambda tx: tx.add_contained_keypoints("D-NOPE", ["K-1"]),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "containments-keypoint",
        lambda tx: tx.add_containments([("D-2", "K-1"), ("D-1", "K-NOPE")]),
        UnknownId,
        {"kind": "keypoint", "id": "K-NOPE"},
    ),
    Refusal(
        "containments-item",
        lambda tx: tx.add_containments([("D-2", "K-1"), ("D-NOPE", "K-1")]),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "process-item",
        lambda tx: tx.add_process_item_of("D-NOPE", "D-1"),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "process-main-item",
        lambda tx: tx.add_process_item_of("D-2", "D-NOPE"),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "record-item",
        lambda tx: tx.add_record(record("REC-NEW", "D-NOPE")),
        UnknownId,
        {"kind": "item", "id": "D-NOPE"},
    ),
    Refusal(
        "record-handler",
        lambda tx: tx.add_record(record("REC-NEW", "D-1", handler_id="P-NOPE")),
        UnknownId,
        {"kind": "person", "id": "P-NOPE"},
    ),
    Refusal(
        "record-official",
        lambda tx: tx.add_record(record("REC-NEW", "D-1", official_id="P-NOPE")),
        UnknownId,
        {"kind": "person", "id": "P-NOPE"},
    ),
    Refusal(
        "item-scope-person",
        lambda tx: tx.add_item(item("NEW", scope=KnowledgeScope(frozenset({"P-NOPE"})))),
        UnknownId,
        {"kind": "person", "id": "P-NOPE"},
    ),
    Refusal(
        "item-scope-limit-organisation",
        lambda tx: tx.add_item(
            item("NEW", scope_limit=KnowledgeScope(organisations=frozenset({"O-NOPE"})))
        ),
        UnknownId,
        {"kind": "organisation", "id": "O-NOPE"},
    ),
    Refusal(
        "record-scope-person",
        # The record's scope is its handler's name; an unknown handler is refused either way.
        lambda tx: tx.add_record(
            replace(record("REC-NEW", "D-1"), scope=KnowledgeScope(frozenset({"P-NOPE"})))
        ),
        UnknownId,
        {"kind": "person", "id": "P-NOPE"},
    ),
    Refusal(
        "process-item-of-itself",
        lambda tx: tx.add_process_item_of("D-2", "D-2"),
        InvalidValue,
        {"field": "processItemOf"},
    ),
]

CYCLES = [
    Refusal(
        "two-cycle",
        lambda tx: tx.add_derivations([edge("S-1", "D-1")]),
        CycleRefused,
        {"child": "S-1", "parent": "D-1", "rule": "ACYCLIC_LINEAGE"},
    ),
    Refusal(
        "through-the-probe",
        lambda tx: tx.add_derivations([edge("S-1", "PROBE")]),
        CycleRefused,
        {"child": "S-1", "parent": "PROBE", "rule": "ACYCLIC_LINEAGE"},
    ),
    Refusal(
        "self-edge-with-children",
        lambda tx: tx.add_derivations([edge("S-1", "S-1")]),
        CycleRefused,
        {"child": "S-1", "parent": "S-1", "rule": "ACYCLIC_LINEAGE"},
    ),
]


@pytest.mark.parametrize(
    "refusal",
    DUPLICATES + BATCHES + UNKNOWNS + CYCLES,
    ids=lambda r: f"{r.error.__name__}-{r.name}",
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
    assert raised.value.message
    assert seeded.read(snapshot) == before
    assert seeded.read(lambda tx: tx.items(["PROBE", "NEW", "TWICE"])) == {}
    assert seeded.read(lambda tx: tx.organisations(["O-PROBE"])) == {}
    assert seeded.read(lambda tx: tx.children(["S-1"])) == [
        edge("D-1", "S-1", "K-1", case=BasisCase.INVOLVES_KEYPOINT)
    ]


def test_closing_a_three_cycle_is_refused_and_rolls_back(store: GraphStore) -> None:
    dag(store, [("A", "B"), ("B", "C")])
    before = store.read(snapshot)

    def work(tx: GraphWriter) -> None:
        tx.add_item(item("NEW"))
        tx.add_derivations([edge("NEW", "A")])
        tx.add_derivations([edge("C", "A")])

    with pytest.raises(CycleRefused) as raised:
        store.write(work)

    assert (raised.value.child, raised.value.parent) == ("C", "A")
    assert raised.value.articles == ("D-3", "D-7")
    assert store.read(snapshot) == before
    assert store.read(lambda tx: tx.parents(["A", "B", "C", "NEW"])) == [
        edge("A", "B"),
        edge("B", "C"),
    ]


def test_a_cycle_within_one_batch_is_refused_and_rolls_back(store: GraphStore) -> None:
    dag(store, [])
    store.write(lambda tx: add(tx, item("A"), item("B"), item("C")))

    def work(tx: GraphWriter) -> None:
        tx.add_derivations([edge("A", "B"), edge("B", "C"), edge("C", "A")])

    with pytest.raises(CycleRefused) as raised:
        store.write(work)

    assert (raised.value.child, raised.value.parent) == ("C", "A")
    assert store.read(lambda tx: tx.parents(["A", "B", "C"])) == []
    assert store.read(lambda tx: tx.children(["A", "B", "C"])) == []


def test_a_self_edge_on_an_item_without_children_is_refused(seeded: GraphStore) -> None:
    """Expected: an item derived from itself is a one-node cycle, so add_derivations raises
    CycleRefused(child="D-2", parent="D-2") like any other cycle and writes nothing. D-2 has
    no children (the common case of a newly added item)."""
    before = seeded.read(snapshot)

    def work(tx: GraphWriter) -> None:
        write_probe(tx)
        tx.add_derivations([edge("D-2", "D-2")])

    with pytest.raises(CycleRefused) as raised:
        seeded.write(work)

    assert (raised.value.child, raised.value.parent) == ("D-2", "D-2")
    assert seeded.read(snapshot) == before


class Boom(Exception):
    pass


def test_an_exception_from_the_work_rolls_back(seeded: GraphStore) -> None:
    before = seeded.read(snapshot)

    def work(tx: GraphWriter) -> None:
        write_probe(tx)
        raise Boom("the use case gave up")

    with pytest.raises(Boom, match="the use case gave up"):
        seeded.write(work)

    assert seeded.read(snapshot) == before
    assert seeded.read(lambda tx: tx.items(["PROBE"])) == {}


def test_the_store_stays_usable_after_a_refused_write(seeded: GraphStore) -> None:
    with pytest.raises(DuplicateId):
        seeded.write(lambda tx: tx.add_item(item("S-1")))

    seeded.write(lambda tx: tx.add_item(item("NEW")))

    assert seeded.read(lambda tx: tx.items(["NEW"])) == {"NEW": item("NEW")}


def test_write_commits_and_returns_the_work_result(store: GraphStore) -> None:
    def work(tx: GraphWriter) -> str:
        add(tx, organisation(), item("S-1"))
        return "done"

    assert store.write(work) == "done"
    assert store.read(lambda tx: sorted(tx.items(["S-1"]))) == ["S-1"]


def test_uncommitted_writes_are_invisible_to_other_transactions(store: GraphStore) -> None:
    seen: list[dict[str, object]] = []

    def other_reader() -> None:
        seen.append(dict(store.read(lambda tx: tx.items(["S-1"]))))

    def work(tx: GraphWriter) -> None:
        add(tx, organisation(), item("S-1"))
        thread = threading.Thread(target=other_reader)
        thread.start()
        thread.join(timeout=20)

    store.write(work)

    assert seen == [{}]
    assert set(store.read(lambda tx: tx.items(["S-1"]))) == {"S-1"}


def test_a_cycle_through_an_item_added_in_the_same_transaction_is_refused(
    store: GraphStore,
) -> None:
    dag(store, [("A", "B")])

    def work(tx: GraphWriter) -> None:
        tx.add_item(item("C"))
        tx.add_derivations([edge("C", "A")])
        tx.add_derivations([edge("B", "C")])

    with pytest.raises(CycleRefused) as raised:
        store.write(work)

    assert (raised.value.child, raised.value.parent) == ("B", "C")
    assert store.read(lambda tx: tx.items(["C"])) == {}
    assert store.read(lambda tx: tx.children(["A", "B", "C"])) == [edge("A", "B")]
