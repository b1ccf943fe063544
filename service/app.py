"""The Starlette application: GraphQL at /graphql (with GraphiQL), a health check, and the
store opened and closed with the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.store.base import GraphStore
from service.api.context import Context
from service.api.schema import Limits, build_schema
from service.body_limit import BodyLimit
from service.composition import open_store
from service.config import Settings
from service.expiry import expire
from service.usecases import CHINA

log = logging.getLogger(__name__)


async def expire_daily(store: GraphStore) -> None:
    """Runs the expiry now and then each day a few minutes after midnight, China time. A
    failed run is logged and tried again the next day; the service goes on."""
    while True:
        try:
            await run_in_threadpool(expire, store)
        except Exception:
            log.exception("到期解密执行失败，将于次日重试。")
        moment = datetime.now(CHINA)
        tomorrow = datetime.combine(moment.date() + timedelta(days=1), time(0, 5), CHINA)
        await asyncio.sleep((tomorrow - moment).total_seconds())


class _GraphQL(GraphQL[Context, None]):
    def __init__(self, app: Starlette, settings: Settings) -> None:
        limits = Limits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
            introspection=not settings.production,
        )
        super().__init__(
            build_schema(limits),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=False,
        )
        self._app = app

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        store: GraphStore = self._app.state.store
        state = self._app.state
        return Context(
            store,
            poll_seconds=state.poll_seconds,
            query_timeout=state.query_timeout,
            mutation_timeout=state.mutation_timeout,
        )


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> Starlette:
    """The app on `store`, or on the store that `settings.store` names, opened at start-up."""
    chosen = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.store = (
            store
            if store is not None
            else open_store(chosen.store, cached_items=chosen.cached_items)
        )
        daily = asyncio.create_task(expire_daily(app.state.store)) if chosen.daily_expiry else None
        try:
            yield
        finally:
            if daily is not None:
                daily.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await daily
            if store is None:
                app.state.store.close()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    middleware = [Middleware(BodyLimit, max_bytes=chosen.max_body_bytes)]
    if chosen.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=chosen.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
        )
    app = Starlette(
        routes=[Route("/", home), Route("/healthz", health)],
        lifespan=lifespan,
        middleware=middleware,
    )
    app.state.poll_seconds = chosen.notice_poll_seconds
    app.state.query_timeout = chosen.query_timeout_seconds
    app.state.mutation_timeout = chosen.mutation_timeout_seconds
    graphql = _GraphQL(app, chosen)
    app.router.routes.append(Route("/graphql", graphql, methods=["GET", "POST"]))
    app.router.routes.append(WebSocketRoute("/graphql", graphql))
    return app
