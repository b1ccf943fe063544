"""The audit trail's hash chain on every store (issue 21, point 6): appends from several stores
on one database (processes, replicas) at once make one chain; `verify` finds it whole; and an
attacker who edits the trail past the service (sqlite3 on the file after dropping its
triggers, Cypher on the database) is found at the first place touched: an event deleted,
altered or put in, a tail cut off (by the head, or, when the head was set back too, by an
anchor noted before). A trail written before the chain keeps its events outside the chain,
which begins after them."""

from __future__ import annotations

import threading
from dataclasses import replace

from graph.chain import GENESIS, Anchor, Fault, Verdict
from graph.store.base import GraphStore
from graph.trail import AuditEvent, AuditQuery, Outcome
from service import anchors
from tests.contract.conftest import Opener
from tests.tampering import Attacker, event, written_before_the_chain


def appended(store: GraphStore, count: int, first: int = 1) -> list[AuditEvent]:
    written = [event(n) for n in range(first, first + count)]
    for at in range(0, count, 3):  # in batches, as the service's group commit writes them
        store.append_audit(written[at : at + 3])
    return written


def first_break(verdict: Verdict) -> tuple[Fault, int]:
    assert not verdict.intact
    assert verdict.first is not None
    return verdict.first.fault, verdict.first.seq


def test_appends_from_several_stores_at_once_make_one_whole_chain(opener: Opener) -> None:
    stores = [opener(), opener()]
    failures: list[BaseException] = []

    def append(number: int) -> None:
        try:
            for batch in range(6):
                first = number * 1000 + batch * 2
                stores[number].append_audit([event(first), event(first + 1)])
        except BaseException as error:  # reported below, with the test's own assertion
            failures.append(error)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    verdict = anchors.verify(stores[0])
    assert verdict.intact, verdict.breaks
    assert (verdict.checked, verdict.head.seq, verdict.head.start) == (24, 24, 1)
    places = [s.seq for s in stores[1].trail_page(0, None, 24, 100)]
    assert places == list(range(1, 25))  # no place twice: the chain did not fork


def test_the_ids_a_request_asked_for_are_kept_and_found(store: GraphStore) -> None:
    store.append_audit([event(1, items=(), asked=("D-HIDDEN", "org-x")), event(2)])
    (found,) = store.audit_events(AuditQuery(item_id="D-HIDDEN"))
    assert (found.id, found.items, found.asked) == ("e-0001", (), ("D-HIDDEN", "org-x"))
    assert [e.id for e in store.audit_events(AuditQuery(item_id="D-2"))] == ["e-0002"]
    assert store.audit_events(AuditQuery(item_id="D-HIDDE")) == []


def test_a_deleted_event_is_found_at_its_place(store: GraphStore) -> None:
    appended(store, 10)
    assert anchors.verify(store).intact
    Attacker(store).delete(5)
    assert first_break(anchors.verify(store)) == (Fault.MISSING, 5)


def test_an_altered_event_is_found_with_its_id(store: GraphStore) -> None:
    appended(store, 10)
    Attacker(store).alter(3, "无")
    verdict = anchors.verify(store)
    assert first_break(verdict) == (Fault.ALTERED, 3)
    assert verdict.first is not None
    assert verdict.first.event_id == "e-0003"


def test_an_event_put_in_is_found_where_it_was_put(store: GraphStore) -> None:
    appended(store, 10)
    attacker = Attacker(store)
    before = store.trail_page(2, None, 3, 1)[0]
    attacker.move_on(4)
    attacker.put(event(999, action="query item", items=("D-1",)), 4, before.digest or "")
    assert first_break(anchors.verify(store)) == (Fault.INSERTED, 4)


def test_a_cut_tail_is_found_by_the_head_or_by_the_anchor_noted_before(
    store: GraphStore,
) -> None:
    appended(store, 10)
    noted = anchors.record(store)
    assert noted is not None
    assert noted.seq == 10
    attacker = Attacker(store)
    attacker.cut_tail(8, head_too=False)
    assert first_break(anchors.verify(store)) == (Fault.TRUNCATED, 9)
    attacker.cut_tail(7, head_too=True)  # a head that agrees: the anchor still knows
    verdict = anchors.verify(store)
    assert first_break(verdict) == (Fault.TRUNCATED, 8)
    assert verdict.first is not None
    assert "第 10 位" in verdict.first.message
    # The daily check, from the last anchor, finds it too.
    assert not anchors.daily(store).intact


def test_an_anchor_kept_elsewhere_finds_a_chain_written_again(store: GraphStore) -> None:
    """Someone who alters event 2 and writes the whole chain again: the chain is whole, and
    no anchor in the store says otherwise (none was noted there, or they went too); one
    shipped off the machine does."""
    written = appended(store, 6)
    head, _ = store.trail_head()
    shipped = Anchor(head.seq, head.digest, source="日志")
    attacker = Attacker(store)
    attacker.run("DELETE FROM audit_events", "MATCH (n:AuditEvent) DETACH DELETE n")
    attacker.run(
        "UPDATE trail_head SET seq = 0, digest = :genesis",
        "MATCH (h:TrailHead) SET h.seq = 0, h.digest = $genesis",
        genesis=GENESIS,
    )
    written[1] = replace(written[1], outcome=Outcome.DENIED)
    store.append_audit(written)
    assert anchors.verify(store).intact
    verdict = anchors.verify(store, [shipped])
    assert first_break(verdict) == (Fault.REWRITTEN, 6)


def test_a_trail_written_before_the_chain_keeps_its_events_outside_it(opener: Opener) -> None:
    store = opener()
    written_before_the_chain(store, 3)
    later = opener()  # opening finds a trail without a chain, and begins one after it
    appended(later, 4, first=10)
    verdict = anchors.verify(later)
    assert verdict.intact, verdict.breaks
    assert verdict.head.unchained == 3
    assert verdict.checked == 4
    said = "\n".join(anchors.report(verdict))
    assert f"审计链始于第 {verdict.head.start} 位" in said
    assert "此前写下的 3 条事件不在链中" in said
    assert {e.id for e in later.audit_events(AuditQuery())} >= {"old-1", "old-2", "old-3"}
    Attacker(later).run(
        "DELETE FROM audit_events WHERE id = 'old-2'", "MATCH (n:AuditEvent {id: 'old-2'}) DELETE n"
    )
    assert first_break(anchors.verify(later)) == (Fault.MISSING, 0)
