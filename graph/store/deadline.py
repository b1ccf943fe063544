"""How long a request's store work may take. The API sets a deadline for the thread that does
the work; a store checks it before it commits, and rolls back what is late, so that a request
the client was told had timed out has written nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# (the monotonic time it ends, the seconds it allowed)
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("deadline", default=None)


class StoreTimeout(Exception):
    """The request's time ran out; its transaction is rolled back. Not a LineageError: the
    request was not refused for what it asked, and says so in its own words."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"请求超过 {seconds:g} 秒的时限，已中止，未写入任何内容。")
        self.seconds = seconds


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Work started inside, threads started from here included (they inherit the context),
    must end within `seconds`; None sets no deadline."""
    token = _deadline.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left before the deadline (0 once it passed); None without one."""
    current = _deadline.get()
    return None if current is None else max(0.0, current[0] - time.monotonic())


def check() -> None:
    """Raises StoreTimeout once the deadline has passed."""
    current = _deadline.get()
    if current is not None and time.monotonic() >= current[0]:
        raise StoreTimeout(current[1])


def allowed() -> float:
    """The seconds the current deadline allows (0 without one)."""
    current = _deadline.get()
    return 0.0 if current is None else current[1]
