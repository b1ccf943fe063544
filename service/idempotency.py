"""Idempotency keys (issue 9, item 3): a client that sends a mutation with an
`Idempotency-Key` header may send it again, after a timeout or a dropped connection, and gets
the first answer back; nothing is written twice.

The key is taken in the same transaction as the request's first write (`Claiming`), so it is
taken if and only if the request wrote; two requests racing with one key cannot both write
(the second is refused as a duplicate by the store). The answer is kept once it is out. A key
belongs to the user who sent it, and is kept with a digest of the request: the same key with
another request is refused rather than answered with the first one's result.

When the store goes out of reach (a Bolt server killed, issue 22, point 10), a request may
not know whether its first write was committed; the key does: it is there if and only if
that write was. The process keeps what the request had got to (`Unfinished`: the result of
its first write, or its whole answer) until the client sends it again with the key, once the
store is back. Then, if the key is taken, the request goes on from its first write without
doing it again and its answer is kept and given; if it is not, the request runs as if sent for
the first time, once. Only the process that ran the request holds what it got to: a retry
that reaches another replica, or comes after a restart, is told that the write was done and
its answer is lost (409), never written twice.

A key is kept for a retention period (`LINEAGE_IDEMPOTENCY_HOURS`, a day by default), long
enough for any retry, and then forgotten: the answers it keeps may show an item's content, and
no store should hold them for ever. Once past it, the key may be taken again, and the daily
run removes what is past it (`purge`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from graph.errors import DuplicateId
from graph.store.base import GraphStore, GraphWriter, Wrapping

T = TypeVar("T")

HEADER = "idempotency-key"
MAX_LENGTH = 200


def problem(key: str) -> str | None:
    """Why `key` cannot be an idempotency key, or None."""
    if not 1 <= len(key) <= MAX_LENGTH or not key.isprintable():
        return f"Idempotency-Key 应为 1 至 {MAX_LENGTH} 个可打印字符。"
    return None


def memo_key(user_id: str, key: str) -> str:
    return f"{PREFIX}{user_id}:{key}"


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


PREFIX = "idempotency:"
# A key kept before keys had a time is as old as can be: the next purge removes it.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Kept:
    """What a key holds: the digest of its request, when it was taken and, once it is out,
    the answer with the operation and the items whose content it shows (for the audit trail
    of a replay)."""

    fingerprint: str
    taken_at: datetime
    answer: dict[str, Any] | None = None
    operation: str = ""
    items: tuple[str, ...] = field(default=())

    def encoded(self) -> str:
        return json.dumps(
            {
                "fingerprint": self.fingerprint,
                "taken_at": self.taken_at.isoformat(),
                "answer": self.answer,
                "operation": self.operation,
                "items": list(self.items),
            },
            ensure_ascii=False,
        )

    @staticmethod
    def decoded(text: str) -> Kept:
        value = json.loads(text)
        taken = value.get("taken_at")
        return Kept(
            str(value["fingerprint"]),
            datetime.fromisoformat(taken) if taken else _LONG_AGO,
            value.get("answer"),
            str(value.get("operation", "")),
            tuple(value.get("items", ())),
        )

    def expired(self, at: datetime, retention: timedelta) -> bool:
        return at - self.taken_at >= retention


@dataclass(frozen=True)
class Unfinished:
    """What a request sent with a key had got to when the store went out of reach: its key
    taken at `taken_at` (if the write that took it was committed), and either the result of
    that first write, the request to go on from there, or its whole `answer`, to be kept and
    given with the `operation` and the `items` it shows."""

    fingerprint: str
    taken_at: datetime
    result: object = None
    answer: dict[str, Any] | None = None
    operation: str = ""
    items: tuple[str, ...] = ()


class Unanswered:
    """The process's unfinished requests by memo key, until sent again (`take`). Bounded:
    past `size`, the oldest is forgotten, and its retry is told the answer is lost."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._held: OrderedDict[str, Unfinished] = OrderedDict()

    def put(self, key: str, unfinished: Unfinished) -> None:
        with self._lock:
            self._held[key] = unfinished
            self._held.move_to_end(key)
            while len(self._held) > self._size:
                self._held.popitem(last=False)

    def take(self, key: str) -> Unfinished | None:
        """Removes and returns what `key` holds: two retries at once cannot both go on."""
        with self._lock:
            return self._held.pop(key, None)


class Claiming(Wrapping):
    """The store of a request sent with a key: its first write also takes the key, in the
    same transaction. Everything else goes to the store as it is. `resumed`: the request was
    interrupted after that write was committed, and goes on from its result."""

    def __init__(
        self,
        store: GraphStore,
        user_id: str,
        key: str,
        digest: str,
        retention: timedelta,
        resumed: Unfinished | None = None,
    ) -> None:
        super().__init__(store)
        self.given = key
        self.key = memo_key(user_id, key)
        self.digest = digest
        self.retention = retention
        self.claimed = False
        self.resumed = resumed
        self.taken_at = datetime.now(UTC) if resumed is None else resumed.taken_at
        # The result of the first write, once it ran to its commit (committed or not).
        self._first: tuple[object] | None = None if resumed is None else (resumed.result,)
        self.wrote_after = False  # a write after the first was tried

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        if self.claimed:
            self.wrote_after = True
            return self.store.write(work)
        if self.resumed is not None:  # committed before: not done again
            self.claimed = True
            return cast(T, self.resumed.result)

        def claiming(tx: GraphWriter) -> T:
            result = work(tx)
            held = tx.memo(self.key)
            if held is not None and Kept.decoded(held).expired(self.taken_at, self.retention):
                tx.remove_memos([self.key])  # past its retention: the key is free again
            tx.add_memo(self.key, Kept(self.digest, self.taken_at).encoded())
            self._first = (result,)  # the driver may run it again: the last run's commits
            return result

        try:
            result = self.store.write(claiming)
        except DuplicateId as error:
            if error.kind != "idempotency_key":
                raise
            # Another request with this key wrote first, while this one ran.
            raise DuplicateId("idempotency_key", self.given) from error
        self.claimed = True
        return result

    def interrupted(self) -> Unfinished | None:
        """What to keep of a request the store's outage stopped, to go on from its first
        write once the key tells that it was committed: nothing if that write did not run to
        its commit, or if a later write was tried (its outcome no key tells)."""
        if self._first is None or self.wrote_after:
            return None
        return Unfinished(self.digest, self.taken_at, self._first[0])

    def keep(self, answer: dict[str, Any], operation: str, items: Sequence[str]) -> None:
        """The answer, for the requests sent again with the key."""
        kept = Kept(self.digest, self.taken_at, answer, operation, tuple(items))
        self.store.write(lambda tx: tx.put_memo(self.key, kept.encoded()))


PAGE = 500


def purge(store: GraphStore, retention: timedelta, at: datetime | None = None) -> int:
    """Removes the keys taken `retention` or longer before `at` (now), a page a transaction;
    how many it removed. A key is judged in the transaction that removes it, so one taken
    again meanwhile stays."""
    moment = at or datetime.now(UTC)
    removed = 0
    after: str | None = None
    while True:

        def page(tx: GraphWriter, after: str | None = after) -> tuple[int, str | None]:
            found = tx.memos(PREFIX, after, PAGE)
            old = [k for k, v in found if Kept.decoded(v).expired(moment, retention)]
            tx.remove_memos(old)
            return len(old), (found[-1][0] if len(found) == PAGE else None)

        count, after = store.write(page)
        removed += count
        if after is None:
            return removed
