"""Hostile input (issue 9, item 5): requests generated from the schema itself
(hypothesis-graphql), valid ones and invalid ones, sent to the app on each store with the
demo data. Whatever comes, the answer is a GraphQL answer or a clear refusal: never a 500,
never a stack trace or a path of the code, never an unexpected (masked) error; and a request
refused whole writes nothing. The limits on depth, aliases, tokens and body size have their
own tests (test_hardening.py)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from starlette.testclient import TestClient

from service.cli import schema_text
from service.transfer import export_graph

SCHEMA = schema_text()
SCALARS = {
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "JSON": st.just(nodes.String("{}")),
}
MASKED = "服务内部错误。"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def graph(client: TestClient) -> list[str]:
    lines: list[str] = []
    export_graph(client.app.state.store, lines.append)  # type: ignore[attr-defined]
    return "".join(lines).splitlines()[1:]


def sent(client: TestClient, query: str) -> dict[str, Any]:
    """The answer to `query`, checked to be a GraphQL answer or a clear refusal."""
    before = graph(client) if "mutation" in query else None
    answer = client.post("/graphql", json={"query": query})
    assert answer.status_code in (200, 400), (answer.status_code, query, answer.text[:500])
    for leak in ("Traceback", 'File "', ".py", "/work/", "site-packages"):
        assert leak not in answer.text, (leak, query, answer.text[:500])
    body: dict[str, Any] = answer.json()
    for error in body.get("errors", []):
        assert isinstance(error["message"], str)
        assert error["message"], query
        assert error["message"] != MASKED, (query, body)
    if before is not None and body.get("data") is None:
        assert graph(client) == before, f"a request refused whole wrote something: {query}"
    return body


@FUZZ
@given(query=from_schema(SCHEMA, custom_scalars=SCALARS))
def test_requests_of_the_schema_get_answers_never_crashes(
    demo_client: TestClient, query: str
) -> None:
    sent(demo_client, query)


@FUZZ
@given(query=from_schema(SCHEMA, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
def test_requests_against_the_schema_are_refused_clearly_and_write_nothing(
    demo_client: TestClient, query: str
) -> None:
    body = sent(demo_client, query)
    assert body.get("errors"), (query, body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'{"query": 1}',
        b'{"query": "{ me { id } }", "variables": "x"}',
        b'{"query": "{ me { id } }", "operationName": 3}',
        b'{"query": "query A { me { id } } query B { me { id } }"}',
        b'{"query": "\\u0000"}',
        b'{"query": "{ item(id: \\"\\u0000\\") { id } }"}',
        b'{"query": "mutation { __typename }", "extensions": {"persistedQuery": {}}}',
    ],
)
def test_malformed_bodies_are_refused_clearly(demo_client: TestClient, body: bytes) -> None:
    before = graph(demo_client)
    answer = demo_client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code in (200, 400), answer.text[:300]
    assert "Traceback" not in answer.text
    assert MASKED not in answer.text
    assert graph(demo_client) == before
