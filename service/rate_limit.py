"""How often one user may ask (issue 21, point 5): a token bucket per user.

Each user's bucket holds up to `burst` requests and fills at `rate` a second; a request takes
one, or waits until there is one. The buckets live in the memory of one process: with several
replicas (or uvicorn workers) a user may send that much to each.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimit:
    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # user: (requests left, when)

    def take(self, user: str) -> float:
        """Takes a request from `user`'s bucket: 0 when there was one, otherwise the seconds
        until there is (and nothing is taken). A rate of 0 takes nothing and never waits."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        left, then = self._buckets.get(user, (float(self.burst), now))
        left = min(float(self.burst), left + (now - then) * self.rate)
        if left >= 1:
            self._buckets[user] = (left - 1, now)
            return 0.0
        self._buckets[user] = (left, now)
        return (1 - left) / self.rate
