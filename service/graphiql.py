"""GraphiQL, the API's page for people (GET /graphql unless LINEAGE_PRODUCTION), served from
the service's own files: our page and its script, and GraphiQL's files taken from the npm
registry (web/graphiql/vendor/, with their licences; scripts/vendor-graphiql refreshes them).
Nothing comes from another origin, so it works on an intranet without internet, and no
third-party server's code runs on a page that holds a bearer token."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB = Path(__file__).with_name("web")
PAGE = WEB / "graphiql.html"
ASSETS = WEB / "graphiql"
# Only the service's own scripts and styles; GraphiQL's stylesheet carries its fonts and a
# few icons as data: URLs. connect-src 'self' admits /graphql and its WebSocket.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page() -> Response:
    """The page itself, which refers to nothing but /graphiql/ and /graphql."""
    return HTMLResponse(PAGE.read_bytes(), headers=HEADERS)


def assets() -> ASGIApp:
    """Its files, under the same policy; compressed (GraphiQL's script is 3.5 MB as its
    package ships it, a fifth of that compressed)."""
    files = GZipMiddleware(StaticFiles(directory=ASSETS), minimum_size=1024)

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(HEADERS)
            await send(message)

        await files(scope, receive, with_headers)

    return served
