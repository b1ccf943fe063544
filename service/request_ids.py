"""Request ids: each HTTP request and WebSocket connection gets one, taken from the client's
`X-Request-Id` when it is well-formed (a proxy or a caller that traces its own requests sends
one) or made here, echoed in the answer's header, put on every log record written while it
is handled (service.logs) and recorded in its audit event (service.auditing).

The id lives in a context variable: tasks and worker threads started while a request is
handled inherit it; the executors' loops do not (service.executor), so work sent there is
wrapped with `carried`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

T = TypeVar("T")

HEADER = "X-Request-Id"
# What a client's id may be: short, of characters no log line, header or trail mangles.
# Anything else is replaced, not cleaned: an id that does not match is not the client's.
MAX_LENGTH = 64
_WELL_FORMED = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")

_current: ContextVar[str] = ContextVar("request_id", default="")


def current() -> str:
    """The id of the request being handled; empty outside one (the command line, the daily
    run)."""
    return _current.get()


def chosen(given: str | None) -> str:
    """The client's id if it is well-formed, otherwise a new one."""
    if given is not None and _WELL_FORMED.fullmatch(given):
        return given
    return uuid.uuid4().hex


def carried(work: Callable[[], Coroutine[Any, Any, T]]) -> Callable[[], Coroutine[Any, Any, T]]:
    """`work` with the current request id set where its coroutine runs (another loop)."""
    request_id = current()

    async def within() -> T:
        _current.set(request_id)
        return await work()

    return within


class RequestIds:
    """ASGI middleware: sets the id of each HTTP request and WebSocket connection and echoes it
    in the answer (the response's headers, the WebSocket's accept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None
        )
        request_id = chosen(given)
        token = _current.set(request_id)

        async def echoed(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, echoed)
        finally:
            _current.reset(token)
