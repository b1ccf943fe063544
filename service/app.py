"""The Starlette application: GraphQL at /graphql (with GraphiQL), a health check, and the
store opened and closed with the app's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.store.base import GraphStore
from service.api.context import Context
from service.api.schema import schema
from service.composition import open_store
from service.config import Settings


class _GraphQL(GraphQL[Context, None]):
    def __init__(self, app: Starlette) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=False)
        self._app = app

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        store: GraphStore = self._app.state.store
        return Context(store)


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> Starlette:
    """The app on `store`, or on the store that `settings.store` names, opened at start-up."""
    chosen = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.store = store if store is not None else open_store(chosen.store)
        try:
            yield
        finally:
            if store is None:
                app.state.store.close()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    app = Starlette(routes=[Route("/", home), Route("/healthz", health)], lifespan=lifespan)
    app.router.routes.append(Route("/graphql", _GraphQL(app), methods=["GET", "POST"]))
    return app
