"""The audit trail's hash chain: pure values and the check of a chain, no I/O.

Each event is stored at a place in the chain (`seq`: one more than the event before) with the
digest of the event before it (`previous`; GENESIS for the first) and its own digest: SHA-256
over a canonical encoding of its fields, its place and `previous`. A store links events in
the one order in which its writers append them (under a lock, or a turn on a head node), and
keeps the chain's head (the last place and its digest) apart from the events.

So an event deleted, altered or inserted anywhere breaks the chain at that place, unless whoever
did it wrote the whole chain after it again, which anyone with the file or the database's
password can (a digest holds no secret). That rewrite is found by the anchors: the head's place
and digest, noted every day outside the trail (a memo in the graph, the log, and wherever an
operator ships them). Events removed from the end are found by the head, or, when the head was
set back as well, by an anchor past the end.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

from graph.errors import InvalidValue
from graph.trail import AuditEvent

# The digest "before" the first event of a chain.
GENESIS = "0" * 64
# Memo keys of the anchors in the graph store, by place: `trail-anchor:000000001234`.
ANCHOR_PREFIX = "trail-anchor:"
# Breaks kept in a verdict; the count goes on.
MAX_BREAKS = 100
# Digests of recent events remembered, to tell an inserted event from a deleted one.
_RECENT = 4096


def _instant(at: datetime) -> str:
    # The stores' own text of a time (graph.store.codec.timestamp): what is stored is hashed.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def digest(event: AuditEvent, seq: int, previous: str) -> str:
    """SHA-256, in hex, of the event's fields, its place and the digest before it, as one JSON
    object with sorted keys and no spaces (UTF-8). An event with a request id has it hashed too,
    as version 2 (`"v": 2` and `"request_id"`); one without is hashed as version 1 was, so that
    the events written before the request id was recorded keep their digests."""
    fields = {
        "v": 1,
        "seq": seq,
        "previous": previous,
        "id": event.id,
        "at": _instant(event.at),
        "action": event.action,
        "outcome": event.outcome.value,
        "user_id": event.user_id,
        "person_id": event.person_id,
        "organisation_id": event.organisation_id,
        "address": event.address,
        "items": list(event.items),
        "asked": list(event.asked),
        "detail": event.detail,
    }
    if event.request_id:
        fields["v"] = 2
        fields["request_id"] = event.request_id
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Link:
    """An event's place in the chain, the digest before it and its own."""

    seq: int
    previous: str
    digest: str


@dataclass(frozen=True)
class Head:
    """The chain's head as a store keeps it, apart from the events: the place of its first
    event (`start`), of its last (`seq`, start - 1 while it has none) and that event's digest
    (GENESIS while none); `unchained`: how many events the trail held when the chain began,
    written before it and not protected by it."""

    start: int = 1
    seq: int = 0
    digest: str = GENESIS
    unchained: int = 0


def linked(events: Iterable[AuditEvent], head: Head) -> tuple[list[Link], Head]:
    """The links of `events` appended, in order, after `head`, and the head after them."""
    links = []
    seq, previous = head.seq, head.digest
    for event in events:
        seq += 1
        own = digest(event, seq, previous)
        links.append(Link(seq, previous, own))
        previous = own
    return links, replace(head, seq=seq, digest=previous)


@dataclass(frozen=True)
class StoredEvent:
    """An event as a store holds it in the chain; `previous` and `digest` None where the store
    holds none."""

    seq: int
    previous: str | None
    digest: str | None
    event: AuditEvent


_ANCHOR_TEXT = re.compile(r"^\s*(\d{1,15})\s*:\s*([0-9a-fA-F]{64})\s*$")


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at a moment, noted outside the trail: the place of its last event
    and that event's digest. `source` says where it was found (a memo, the command line)."""

    seq: int
    digest: str
    at: datetime | None = None
    source: str = ""

    @property
    def text(self) -> str:
        """`SEQ:DIGEST`, as `lineage trail verify --anchor` takes it."""
        return f"{self.seq}:{self.digest}"

    def encoded(self) -> str:
        at = None if self.at is None else _instant(self.at)
        return json.dumps({"seq": self.seq, "digest": self.digest, "at": at})

    @staticmethod
    def decoded(text: str, source: str = "") -> Anchor:
        value = json.loads(text)
        at = value.get("at")
        return Anchor(
            int(value["seq"]),
            str(value["digest"]),
            None if at is None else datetime.fromisoformat(at),
            source,
        )

    @staticmethod
    def parsed(text: str) -> Anchor:
        """An anchor given as `SEQ:DIGEST` (what the log and `lineage trail anchor` print)."""
        found = _ANCHOR_TEXT.match(text)
        if found is None:
            raise InvalidValue(
                "anchor", f"锚点「{text}」无效：应为「序号:摘要」，摘要为 64 位十六进制。"
            )
        return Anchor(int(found.group(1)), found.group(2).lower(), source="命令行")

    def memo_key(self) -> str:
        return f"{ANCHOR_PREFIX}{self.seq:012d}"


class Fault(Enum):
    MISSING = "MISSING"  # events deleted at or before this place
    ALTERED = "ALTERED"  # an event whose fields no longer give its digest
    INSERTED = "INSERTED"  # an event put in that was not appended by the service
    RELINKED = "RELINKED"  # an event linked to another than the one before it
    UNLINKED = "UNLINKED"  # an event inside the chain without its digest
    TRUNCATED = "TRUNCATED"  # events removed from the end
    REWRITTEN = "REWRITTEN"  # an anchor's place holds another digest: the chain was rewritten

    @property
    def label(self) -> str:
        return _FAULT_LABEL[self]


_FAULT_LABEL = {
    Fault.MISSING: "事件被删除",
    Fault.ALTERED: "事件被改动",
    Fault.INSERTED: "事件被插入",
    Fault.RELINKED: "链接断开",
    Fault.UNLINKED: "事件缺少摘要",
    Fault.TRUNCATED: "末尾事件被删除",
    Fault.REWRITTEN: "链被改写",
}


@dataclass(frozen=True)
class Break:
    """Where the chain breaks: the first place affected (0: before the chain), the event
    there if there is one, and what was found, in words."""

    fault: Fault
    seq: int
    event_id: str | None
    message: str


@dataclass(frozen=True)
class Verdict:
    head: Head
    unchained: int  # events outside the chain now
    checked: int  # events of the chain read
    anchors: int  # anchors checked
    breaks: tuple[Break, ...]  # by place, at most MAX_BREAKS
    found: int  # breaks found, all told
    resumed: Anchor | None = None  # the check began at this anchor, not at the chain's start

    @property
    def intact(self) -> bool:
        return not self.found

    @property
    def first(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


class Verifier:
    """Checks a chain fed to it in its stored order (place, then id), page by page, against
    its head, the number of events outside it and anchors. With `resume`, an anchor, it checks
    only from the anchor's place on (the daily run's check since the last one): the event there
    must still give the anchor's digest, and what follows must link to it."""

    def __init__(
        self,
        head: Head,
        unchained: int,
        anchors: Iterable[Anchor] = (),
        resume: Anchor | None = None,
    ) -> None:
        self._head = head
        self._unchained = unchained
        self._resume = resume
        self._last = self.after
        self._last_id: str | None = None
        # The digest the next event must link to; None: not known (the anchor's event is
        # checked against the anchor instead).
        self._running: str | None = GENESIS if resume is None else None
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._anchors: dict[int, list[Anchor]] = {}
        for anchor in (*anchors, *([resume] if resume is not None else [])):
            self._anchors.setdefault(anchor.seq, []).append(anchor)
        self._met: set[int] = set()
        self._breaks: list[Break] = []
        self._found = 0
        self._checked = 0

    @property
    def after(self) -> int:
        """The place after which the events are to be fed."""
        return self._head.start - 1 if self._resume is None else self._resume.seq - 1

    def feed(self, stored: Iterable[StoredEvent]) -> None:
        for one in stored:
            self._take(one)

    def _take(self, one: StoredEvent) -> None:
        self._checked += 1
        seq, named = one.seq, one.event.id
        if self._last_id is not None and seq <= self._last:
            self._break(
                Fault.INSERTED,
                seq,
                named,
                f"第 {seq} 位有两条事件（{self._last_id}、{named}）：其一是插入的。",
            )
            return
        expected = self._last + 1
        if one.previous is None or one.digest is None:
            self._break(Fault.UNLINKED, seq, named, f"第 {seq} 位事件（{named}）在链中却没有摘要。")
            self._advance(one, None)
            return
        if seq != expected or (self._running is not None and one.previous != self._running):
            self._relinked(one, expected)
        if digest(one.event, seq, one.previous) != one.digest:
            self._break(
                Fault.ALTERED,
                seq,
                named,
                f"第 {seq} 位事件（{named}）的内容与其摘要不符：被改动过。",
            )
        self._advance(one, one.digest)

    def _relinked(self, one: StoredEvent, expected: int) -> None:
        seq, named = one.seq, one.event.id
        earlier = self._recent.get(one.previous or "")
        if earlier is not None and earlier < self._last:
            self._break(
                Fault.INSERTED,
                earlier + 1,
                None,
                f"{_span(earlier + 1, self._last)}的事件是插入的：第 {seq} 位事件（{named}）"
                f"链接的是第 {earlier} 位。",
            )
        elif seq > expected:
            self._break(
                Fault.MISSING, expected, None, f"{_span(expected, seq - 1)}的事件缺失：被删除了。"
            )
        else:
            before = "链的起点" if seq == self.after + 1 else f"第 {seq - 1} 位事件"
            self._break(
                Fault.RELINKED,
                seq,
                named,
                f"第 {seq} 位事件（{named}）链接的不是{before}：其间有事件被删除，"
                "或前一事件被替换。",
            )

    def _advance(self, one: StoredEvent, own: str | None) -> None:
        self._last, self._last_id, self._running = one.seq, one.event.id, own
        if own is None:
            return
        self._recent[own] = one.seq
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        for anchor in self._anchors.get(one.seq, ()):
            self._met.add(id(anchor))
            if anchor.digest != own:
                self._break(
                    Fault.REWRITTEN,
                    one.seq,
                    one.event.id,
                    f"{_named(anchor)}记第 {one.seq} 位的摘要为 {anchor.digest[:16]}…，链中为 "
                    f"{own[:16]}…：此前的事件被改写过。",
                )

    def _break(
        self, fault: Fault, seq: int, event_id: str | None, message: str, *, kept: bool = False
    ) -> None:
        """Notes a break; past MAX_BREAKS only counted, unless `kept` (what the end finds)."""
        self._found += 1
        if kept or len(self._breaks) < MAX_BREAKS:
            self._breaks.append(Break(fault, seq, event_id, message))

    def verdict(self) -> Verdict:
        """What was found, once every event up to the head has been fed."""
        head, last = self._head, self._last
        if head.seq > last:
            self._break(
                Fault.TRUNCATED,
                last + 1,
                None,
                f"链头记到第 {head.seq} 位，{_span(last + 1, head.seq)}的事件缺失：被删除了。",
                kept=True,
            )
        checked = 0
        for seq, anchors in sorted(self._anchors.items()):
            if seq <= self.after:
                continue  # before what was checked
            for anchor in anchors:
                checked += 1
                if id(anchor) in self._met:
                    continue
                if seq > last:
                    self._break(
                        Fault.TRUNCATED,
                        last + 1,
                        None,
                        f"{_named(anchor)}记到第 {seq} 位，链只到第 {last} 位："
                        "末尾的事件被删除了。",
                        kept=True,
                    )
                else:
                    self._break(
                        Fault.MISSING,
                        seq,
                        None,
                        f"{_named(anchor)}所记第 {seq} 位的事件不在链中。",
                        kept=True,
                    )
        if self._resume is None:
            if self._unchained > head.unchained:
                more = self._unchained - head.unchained
                self._break(
                    Fault.INSERTED,
                    0,
                    None,
                    f"链外有 {self._unchained} 条没有链位置的事件，链开始时只有 "
                    f"{head.unchained} 条：多出的 {more} 条是插入的。",
                    kept=True,
                )
            elif self._unchained < head.unchained:
                self._break(
                    Fault.MISSING,
                    0,
                    None,
                    f"链开始前写下的事件原有 {head.unchained} 条，现只有 {self._unchained} 条："
                    "有事件被删除。",
                    kept=True,
                )
        breaks = sorted(self._breaks, key=lambda b: b.seq)
        return Verdict(
            head=head,
            unchained=self._unchained,
            checked=self._checked,
            anchors=checked,
            breaks=tuple(breaks),
            found=self._found,
            resumed=self._resume,
        )


def _span(first: int, last: int) -> str:
    return f"第 {first} 位" if first == last else f"第 {first} 至 {last} 位"


def _named(anchor: Anchor) -> str:
    when = "" if anchor.at is None else anchor.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC ")
    source = f"（{anchor.source}）" if anchor.source else ""
    return f"锚点 {when}{source}".replace("  ", " ")
