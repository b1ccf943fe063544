"""A WebSocket session (service.session) without a server: what it does when its credential
cannot be checked at all, and the close reasons it sends. The end-to-end behaviour (revoked,
expired, changed) is tested over a real WebSocket in tests/e2e/test_sessions.py; here the
authentication and the close are stand-ins, declared as such, for what no real store does on
demand: fail."""

from __future__ import annotations

import asyncio

from graph.access import Actor
from service.accounts import Unauthenticated
from service.session import REASON_BYTES, UNAUTHORISED, UNCHECKED, Session

ACTOR = Actor(user_id="u-1", name="赵敏", person_id="p-1", organisation_id="org-county")


class Closes:
    """Stand-in for a WebSocket's close: remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    async def __call__(self, code: int, reason: str) -> None:
        self.calls.append((code, reason))


def test_a_credential_that_cannot_be_checked_closes_the_session() -> None:
    async def unreachable(bearer: str) -> Actor:
        raise ConnectionError("the store is down")

    async def run() -> None:
        closes = Closes()
        session = Session(unreachable, closes, None, "127.0.0.1:1")
        session.begin("lin_x_y", ACTOR, 60)
        assert not await session.check()
        assert not await session.check()  # ended once, closed once
        session.stop()
        assert closes.calls == [(UNCHECKED, "会话已结束：无法重新核验凭据。")]
        assert "lin_x_y" not in repr(session)

    asyncio.run(run())


def test_a_long_reason_is_cut_to_what_a_close_frame_holds() -> None:
    async def refused(bearer: str) -> Actor:
        raise Unauthenticated("令牌" * 100)

    async def run() -> None:
        closes = Closes()
        session = Session(refused, closes, None, "")
        session.begin("lin_x_y", ACTOR, 60)
        assert not await session.check()
        session.stop()
        ((code, reason),) = closes.calls
        assert code == UNAUTHORISED
        assert reason.startswith("会话已结束：令牌")
        assert len(reason.encode()) <= REASON_BYTES

    asyncio.run(run())


def test_before_sign_in_there_is_nothing_to_check() -> None:
    async def never(bearer: str) -> Actor:
        raise AssertionError("not asked before a sign-in")

    async def run() -> None:
        closes = Closes()
        session = Session(never, closes, None, "")
        assert await session.check()
        assert closes.calls == []

    asyncio.run(run())
