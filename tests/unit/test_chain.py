"""The audit trail's hash chain (graph.chain), without a store: the digest is SHA-256 over the
canonical encoding the module documents; a chain as appended checks whole; each way of
tampering with it (an event deleted, altered, put in, a tail cut off, the whole chain written
again) is found, at the first place it touches."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from graph.chain import (
    GENESIS,
    Anchor,
    Fault,
    Head,
    StoredEvent,
    Verdict,
    Verifier,
    digest,
    linked,
)
from graph.errors import InvalidValue
from graph.trail import AuditEvent, Outcome

AT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def events(count: int, first: int = 1) -> list[AuditEvent]:
    return [
        AuditEvent(
            id=f"e-{n:03d}",
            at=AT + timedelta(seconds=n),
            action="query item",
            outcome=Outcome.OK,
            user_id="p-zhao-min",
            organisation_id="org-county",
            address="10.0.0.9:5000",
            items=(f"D-{n}",),
            asked=(f"D-{n}", "org-county"),
        )
        for n in range(first, first + count)
    ]


def chain(count: int, head: Head | None = None) -> tuple[list[StoredEvent], Head]:
    """`count` events appended to an empty chain (or after `head`), as a store keeps them."""
    start = head or Head()
    written = events(count, start.seq + 1)
    links, moved = linked(written, start)
    stored = [
        StoredEvent(k.seq, k.previous, k.digest, e) for e, k in zip(written, links, strict=True)
    ]
    return stored, moved


def check(
    stored: list[StoredEvent],
    head: Head,
    *anchors: Anchor,
    unchained: int = 0,
    resume: Anchor | None = None,
) -> Verdict:
    verifier = Verifier(head, unchained, anchors, resume)
    # Fed in two pages, as stores page through a long chain.
    ordered = sorted(stored, key=lambda s: (s.seq, s.event.id))
    kept = [s for s in ordered if s.seq > verifier.after and s.seq <= head.seq]
    verifier.feed(kept[:3])
    verifier.feed(kept[3:])
    return verifier.verdict()


def test_the_digest_is_sha256_of_the_documented_encoding() -> None:
    (event,) = events(1)
    expected = json.dumps(
        {
            "v": 1,
            "seq": 7,
            "previous": GENESIS,
            "id": "e-001",
            "at": "2026-12-01T08:30:01.000000+00:00",
            "action": "query item",
            "outcome": "OK",
            "user_id": "p-zhao-min",
            "person_id": None,
            "organisation_id": "org-county",
            "address": "10.0.0.9:5000",
            "items": ["D-1"],
            "asked": ["D-1", "org-county"],
            "detail": "",
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    assert digest(event, 7, GENESIS) == hashlib.sha256(expected.encode()).hexdigest()
    # Every field, the place and the link are in it.
    changed = [
        digest(dataclasses.replace(event, detail="x"), 7, GENESIS),
        digest(dataclasses.replace(event, asked=("D-1",)), 7, GENESIS),
        digest(dataclasses.replace(event, at=event.at + timedelta(microseconds=1)), 7, GENESIS),
        digest(event, 8, GENESIS),
        digest(event, 7, "1" * 64),
    ]
    assert len({digest(event, 7, GENESIS), *changed}) == 6


def test_a_request_id_is_hashed_as_version_2_and_an_event_without_one_as_before() -> None:
    (event,) = events(1)
    with_id = dataclasses.replace(event, request_id="req-7")
    fields = {
        "v": 2,
        "seq": 7,
        "previous": GENESIS,
        "id": "e-001",
        "at": "2026-12-01T08:30:01.000000+00:00",
        "action": "query item",
        "outcome": "OK",
        "user_id": "p-zhao-min",
        "person_id": None,
        "organisation_id": "org-county",
        "address": "10.0.0.9:5000",
        "items": ["D-1"],
        "asked": ["D-1", "org-county"],
        "detail": "",
        "request_id": "req-7",
    }
    expected = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert digest(with_id, 7, GENESIS) == hashlib.sha256(expected.encode()).hexdigest()
    # Another id, or the id taken away, is another digest: a chain holding it finds the edit.
    assert digest(dataclasses.replace(event, request_id="req-8"), 7, GENESIS) != digest(
        with_id, 7, GENESIS
    )
    stored, head = chain(5)
    written = [dataclasses.replace(s.event, request_id=f"r-{s.seq}") for s in stored]
    links, head = linked(written, Head())
    stored = [
        StoredEvent(k.seq, k.previous, k.digest, e) for e, k in zip(written, links, strict=True)
    ]
    assert check(stored, head).intact
    stored[2] = dataclasses.replace(
        stored[2], event=dataclasses.replace(stored[2].event, request_id="")
    )
    verdict = check(stored, head)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.ALTERED, 3)


def test_an_id_the_trail_cannot_keep_as_it_is_is_refused() -> None:
    for ids in (("a|b",), ("",)):
        with pytest.raises(InvalidValue):
            AuditEvent("e", AT, "query item", Outcome.OK, asked=ids)


def test_a_chain_as_appended_in_batches_is_whole() -> None:
    first, head = chain(4)
    second, head = chain(5, head)
    verdict = check(first + second, head)
    assert verdict.intact, verdict.breaks
    assert (verdict.checked, head.seq) == (9, 9)
    assert second[0].previous == first[-1].digest


def test_a_deleted_event_is_named_by_its_place() -> None:
    stored, head = chain(8)
    verdict = check(stored[:4] + stored[5:], head)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.MISSING, 5)
    assert "第 5 位" in verdict.first.message


def test_deleted_events_renumbered_after_them_are_found_where_the_gap_was() -> None:
    stored, head = chain(8)
    kept = stored[:3] + [dataclasses.replace(s, seq=s.seq - 2) for s in stored[5:]]
    verdict = check(kept, dataclasses.replace(head, seq=6))
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.RELINKED, 4)


def test_an_altered_event_is_named_with_its_id() -> None:
    stored, head = chain(8)
    stored[2] = dataclasses.replace(
        stored[2], event=dataclasses.replace(stored[2].event, outcome=Outcome.DENIED)
    )
    verdict = check(stored, head)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq, verdict.first.event_id) == (
        Fault.ALTERED,
        3,
        "e-003",
    )
    assert verdict.found == 1  # the events after it still link to its stored digest


def test_an_altered_event_given_a_new_digest_breaks_the_link_after_it() -> None:
    stored, head = chain(8)
    forged = dataclasses.replace(stored[2].event, items=())
    stored[2] = dataclasses.replace(stored[2], digest=digest(forged, 3, stored[2].previous or ""))
    stored[2] = dataclasses.replace(stored[2], event=forged)
    verdict = check(stored, head)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.RELINKED, 4)


def test_an_event_put_in_and_linked_is_found_where_it_was_put() -> None:
    """The careful forger: an event at place 4 linked to place 3, the events after it moved
    one place on (what their digests cannot follow)."""
    stored, head = chain(8)
    fake = events(1, 99)[0]
    own = digest(fake, 4, stored[2].digest or "")
    moved = [dataclasses.replace(s, seq=s.seq + 1) for s in stored[3:]]
    forged = [*stored[:3], StoredEvent(4, stored[2].digest, own, fake), *moved]
    verdict = check(forged, dataclasses.replace(head, seq=9))
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.INSERTED, 4)


def test_an_event_put_at_a_taken_place_is_found() -> None:
    stored, head = chain(6)
    fake = events(1, 99)[0]
    verdict = check([*stored, StoredEvent(3, stored[1].digest, digest(fake, 3, ""), fake)], head)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.INSERTED, 3)


def test_a_tail_cut_off_is_found_by_the_head_or_by_an_anchor() -> None:
    stored, head = chain(8)
    anchor = Anchor(8, head.digest, AT)
    by_head = check(stored[:6], head)
    assert by_head.first is not None
    assert (by_head.first.fault, by_head.first.seq) == (Fault.TRUNCATED, 7)
    # The head set back with it: only the anchor, noted before, still knows.
    set_back = dataclasses.replace(head, seq=6, digest=stored[5].digest or "")
    assert check(stored[:6], set_back).intact
    by_anchor = check(stored[:6], set_back, anchor)
    assert by_anchor.first is not None
    assert (by_anchor.first.fault, by_anchor.first.seq) == (Fault.TRUNCATED, 7)
    assert "第 8 位" in by_anchor.first.message


def test_a_chain_written_again_after_an_edit_is_found_by_the_anchors_before_its_end() -> None:
    stored, _head = chain(8)
    anchor = Anchor(6, stored[5].digest or "", AT)
    edited = [s.event for s in stored]
    edited[1] = dataclasses.replace(edited[1], detail="改过")
    links, again = linked(edited, Head())
    rewritten = [
        StoredEvent(k.seq, k.previous, k.digest, e) for e, k in zip(edited, links, strict=True)
    ]
    assert check(rewritten, again).intact  # nothing in the chain itself shows it
    verdict = check(rewritten, again, anchor)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.REWRITTEN, 6)


def test_a_check_from_an_anchor_checks_the_anchors_event_and_what_follows() -> None:
    stored, head = chain(10)
    anchor = Anchor(6, stored[5].digest or "", AT)
    assert check(stored, head, resume=anchor).intact
    assert check(stored, head, resume=anchor).checked == 5
    stored[5] = dataclasses.replace(
        stored[5], event=dataclasses.replace(stored[5].event, detail="改过")
    )
    verdict = check(stored, head, resume=anchor)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.ALTERED, 6)
    stored[1] = dataclasses.replace(stored[1], digest=None)  # before the anchor: not looked at
    assert check(stored, head, resume=anchor).found == 1


def test_events_from_before_the_chain_are_counted_and_the_chain_starts_after_them() -> None:
    begun = Head(start=4, seq=3, unchained=3)
    stored, head = chain(5, begun)
    assert [s.seq for s in stored] == [4, 5, 6, 7, 8]
    assert stored[0].previous == GENESIS
    assert check(stored, head, unchained=3).intact
    more = check(stored, head, unchained=4)
    assert more.first is not None
    assert (more.first.fault, more.first.seq) == (Fault.INSERTED, 0)
    fewer = check(stored, head, unchained=2)
    assert fewer.first is not None
    assert (fewer.first.fault, fewer.first.seq) == (Fault.MISSING, 0)
    unlinked = [*stored[:2], dataclasses.replace(stored[2], previous=None, digest=None)]
    verdict = check([*unlinked, *stored[3:]], head, unchained=3)
    assert verdict.first is not None
    assert (verdict.first.fault, verdict.first.seq) == (Fault.UNLINKED, 6)


def test_an_anchor_is_given_as_seq_and_digest() -> None:
    text = f"12:{'ab' * 32}"
    assert Anchor.parsed(text).text == text
    noted = Anchor(12, "ab" * 32, AT)
    assert Anchor.decoded(noted.encoded()) == noted
    for bad in ("12", "x:ab", f"12:{'ab' * 31}"):
        with pytest.raises(InvalidValue):
            Anchor.parsed(bad)
