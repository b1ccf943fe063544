"""A WebSocket connection lives no longer than the credential it signed in with.

At connection_init the connection authenticates once; afterwards its credential is checked
again before every message the connection sends and, by a watcher, every poll interval while
it is open, even when nothing flows. A token revoked or expired, a JWT expired, a user
revoked or removed, or an actor that is no longer the one that signed in (roles, person,
organisations, supervision) ends the session: the connection is closed with 4401, the
client signs in again with what it may now do, and the closing is recorded in the audit
trail. Once ended, nothing more is sent.

The credential stays here, in the connection's context, and is never logged or shown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from graph.access import Actor
from graph.trail import Outcome
from service.accounts import Unauthenticated
from service.auditing import AuditLog, event

log = logging.getLogger(__name__)

# graphql-transport-ws's code for a connection without valid credentials (as for a subscribe
# sent before connection_init); 1011 for a credential that could not be checked at all.
UNAUTHORISED = 4401
UNCHECKED = 1011
# A close frame's reason holds at most 123 bytes of UTF-8 (RFC 6455, 5.5).
REASON_BYTES = 123
CHANGED = "用户的角色、人员、机关或监督范围已变更，请重新连接。"
AUDITED_ACTION = "websocket session"

Authenticate = Callable[[str], Awaitable[Actor]]
Close = Callable[[int, str], Awaitable[None]]


class Session:
    """The credential of one WebSocket connection, from its connection_init to its close."""

    def __init__(
        self, authenticate: Authenticate, close: Close, audit: AuditLog | None, address: str
    ) -> None:
        self._authenticate = authenticate
        self._close = close
        self._audit = audit
        self._address = address
        self._bearer: str | None = None
        self._actor: Actor | None = None
        self._watcher: asyncio.Task[None] | None = None
        self.ended: str | None = None  # why the session ended, once it has

    def __repr__(self) -> str:  # never the credential
        who = self._actor.user_id if self._actor else None
        return f"Session(user={who!r}, ended={self.ended!r})"

    def begin(self, bearer: str, actor: Actor, every: float) -> None:
        """Signed in as `actor`; from now on checked every `every` seconds until closed."""
        self._bearer, self._actor = bearer, actor
        self._watcher = asyncio.create_task(self._watch(every))

    def stop(self) -> None:
        """The connection has closed: nothing more to watch, nothing to keep."""
        if self._watcher is not None:
            self._watcher.cancel()
        self._bearer = None
        if self.ended is None:
            self.ended = "连接已关闭。"

    async def check(self) -> bool:
        """True while the credential stands for the actor that signed in (or none has signed
        in yet); otherwise the session ends, the connection is closed, and False."""
        if self.ended is not None:
            return False
        if self._bearer is None or self._actor is None:
            return True
        try:
            actor = await self._authenticate(self._bearer)
        except Unauthenticated as error:
            await self._end(UNAUTHORISED, str(error), Outcome.UNAUTHENTICATED)
            return False
        except Exception:
            # Fail closed: a credential that cannot be checked is not trusted with more.
            log.exception("无法重新核验 WebSocket 连接的凭据，连接已关闭。")
            await self._end(UNCHECKED, "无法重新核验凭据。", Outcome.ERROR)
            return False
        if actor != self._actor:
            await self._end(UNAUTHORISED, CHANGED, Outcome.UNAUTHENTICATED)
            return False
        return True

    async def _watch(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            if not await self.check():
                return

    async def _end(self, code: int, reason: str, outcome: Outcome) -> None:
        if self.ended is not None:
            return
        self.ended = reason  # before any await: nothing more is sent from here on
        actor, self._bearer = self._actor, None
        # Recorded first: the event is queued at once, and the close that follows ends the
        # connection's tasks, which may be this one.
        if self._audit is not None:
            try:
                await self._audit.record(
                    event(actor, AUDITED_ACTION, outcome, detail=reason, address=self._address)
                )
            except Exception:  # the connection is closed all the same; the failure is logged
                log.exception("未能记录一次 WebSocket 会话的结束。")
        # The connection may be gone already (the client left meanwhile).
        with contextlib.suppress(Exception):
            await self._close(code, _clipped(f"会话已结束：{reason}"))


def _clipped(reason: str) -> str:
    encoded = reason.encode()
    if len(encoded) <= REASON_BYTES:
        return reason
    return encoded[:REASON_BYTES].decode(errors="ignore")
