"""The answer of a request that met the store out of reach (issue 22, point 10): a Bolt
server restarting, or a cluster between leaders. Not a refusal of what was asked and not an
internal error: HTTP 503 with `Retry-After`, and a GraphQL error with the code
STORE_UNAVAILABLE and a sentence in Chinese saying what to do. It shows no data, whatever part
of the request had run: a request is answered whole or not at all."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse

from graph.errors import CommitUnknown, StoreUnavailable

CODE = "STORE_UNAVAILABLE"
# A restarted server of the tests listens again within about 10 s, a cluster has a new leader
# within a few; a client that waits this long and tries again meets the server back or
# another 503.
RETRY_AFTER = 5
HEADERS = {"Retry-After": str(RETRY_AFTER)}


def extensions(error: StoreUnavailable) -> dict[str, Any]:
    """`commitUnknown` tells a client that its write may have been done: it must send it again
    with the same Idempotency-Key (service.idempotency), never with a new one."""
    return {
        "code": CODE,
        "retryAfter": RETRY_AFTER,
        "commitUnknown": isinstance(error, CommitUnknown),
    }


def message(error: StoreUnavailable) -> str:
    return f"{error.message}（{RETRY_AFTER} 秒后可重试）"


def graphql_error(error: StoreUnavailable) -> GraphQLError:
    return GraphQLError(message(error), extensions=extensions(error))


def body(error: StoreUnavailable) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message(error), "extensions": extensions(error)}],
    }


def response(error: StoreUnavailable) -> JSONResponse:
    """The whole answer of a request refused before GraphQL ran (authentication, an
    idempotency key's lookup)."""
    return JSONResponse(body(error), status_code=503, headers=HEADERS)
