"""Threads with event loops of their own, where the GraphQL work of HTTP requests runs (issue
21, point 5): parsing, validating, resolving, rendering exports and forms.

The server's event loop then only reads requests, authenticates them (in the thread pool),
records them in the audit trail and writes answers, so that /healthz is answered while a
request works: Python hands the interpreter from thread to thread every switch interval
(service.app sets a millisecond). Each user's requests run on one executor, chosen by the
user: one user's expensive requests hold one thread, and another user's share the interpreter
with them rather than wait behind them (unless both draw the same executor). On its executor,
a request still runs side by side with the others while it waits for the store.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")
# Worker threads each executor's loop may run store calls on at once.
WORKERS = 8


class Executor:
    def __init__(self, name: str = "graphql") -> None:
        self._loop = asyncio.new_event_loop()
        self._stopped: asyncio.Future[None] = self._loop.create_future()
        self._root: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        """The name of its thread."""
        return self._thread.name

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            # Run as a task of run_until_complete, which anyio takes for the loop's root task:
            # it keeps the worker threads of run_in_threadpool for as long as that task lives.
            # Under run_forever it took each request's task for the root, and ended its
            # workers with it: a new thread, and a new store connection, for every request.
            self._loop.run_until_complete(self._until_stopped())
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _until_stopped(self) -> None:
        self._root = asyncio.current_task()
        # Each worker thread holds a store connection (three open files for SQLite): a few
        # per executor, beside the server loop's forty, keep a process well within its files.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKERS
        await self._stopped

    async def run(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Runs `work()` on the executor's loop and waits for it; cancelled, it is cancelled
        there too."""
        future = asyncio.run_coroutine_threadsafe(work(), self._loop)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def close(self) -> None:
        """Stops the loop once what it runs now has been cancelled, and waits for the thread."""
        if not self._thread.is_alive():
            return

        async def cancelled() -> None:
            tasks = [
                t for t in asyncio.all_tasks() if t not in (asyncio.current_task(), self._root)
            ]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancelled(), self._loop).result()
        self._loop.call_soon_threadsafe(self._stopped.set_result, None)
        self._thread.join()


class Executors:
    """A few executors; each user's requests go to one of them, chosen by the user, so that one
    user's expensive requests share the interpreter with another's rather than queue before
    them (unless both users draw the same one)."""

    def __init__(self, count: int) -> None:
        self._all = [Executor(f"graphql-{n}") for n in range(count)]

    def of(self, user_id: str) -> Executor:
        return self._all[zlib.crc32(user_id.encode()) % len(self._all)]

    def close(self) -> None:
        for executor in self._all:
            executor.close()
