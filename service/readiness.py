"""/readyz: whether the service can serve, found by a real read of its store (the generations
of its tables: one small query, a round trip to the server on the Bolt store), within a few
seconds. /healthz says only that the process answers.

Probes that come while one is under way wait for it rather than start another, so a flood of
them makes one read at a time, and a store that hangs holds one worker thread, not one a
probe."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from graph.store.base import GraphStore

log = logging.getLogger(__name__)

# Seconds a probe waits for the store: a load balancer's probe gives up after a few.
TIMEOUT = 2.0


class Unready(Exception):
    """The store could not be read; `reason` says so in words that hold no secret (no URL, no
    password, no item): the error's kind only. The error itself goes to the log."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class Readiness:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout
        self._probe: asyncio.Future[dict[str, int]] | None = None

    async def generations(self, store: GraphStore) -> Mapping[str, int]:
        """The store's generations, read now (or by the probe under way); raises Unready."""
        probe = self._probe
        if probe is None or probe.done() or probe.get_loop() is not asyncio.get_running_loop():
            probe = self._probe = asyncio.ensure_future(
                run_in_threadpool(store.read, lambda tx: tx.generations())
            )
            # Read here whether or not a probe is still waiting for it.
            probe.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return await asyncio.wait_for(asyncio.shield(probe), self._timeout)
        except TimeoutError as error:
            raise Unready(
                f"存储在 {self._timeout:g} 秒内没有应答。", type(error).__name__
            ) from error
        except Exception as error:
            log.warning("就绪检查：存储无法读取。", exc_info=True)
            raise Unready("存储无法读取。", type(error).__name__) from error

    async def answer(self, store: GraphStore | None) -> Response:
        if store is None:
            return _unready("服务尚未启动完毕，或正在停止。", "Starting")
        try:
            await self.generations(store)
        except Unready as unready:
            return _unready(unready.reason, unready.kind)
        return JSONResponse({"status": "ready"})


def _unready(reason: str, kind: str) -> Response:
    return JSONResponse(
        {"status": "unavailable", "reason": reason, "error": kind},
        status_code=503,
        headers={"Retry-After": "5"},
    )
