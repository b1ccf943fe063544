"""Hostile strings in the arguments of queries and mutations, on both stores (issue 5, point
7): no internal error, nothing changed by a read, and every string a write stores comes back
exactly as it was sent. Every SQL and Cypher value is a parameter; these check it from the
outside."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.e2e.conftest import Api

PAYLOADS = [
    "' OR '1'='1",
    "x'); DROP TABLE items; --",
    '"}) MATCH (n) DETACH DELETE n //',
    "`) MATCH (n) DETACH DELETE n RETURN 1 //",
    "$ids",
    "\\' \\\" %_* {id: 'x'} 𝕏",
    "1 UNION SELECT * FROM persons",
]

SETUP = """
mutation {
  o: registerOrganisation(input: {id: "org-a", name: "甲单位", authority: TOP_SECRET}) {
    __typename
  }
  h: registerPerson(input: {id: "h-a", name: "承办人", organisationId: "org-a"}) { __typename }
  f: registerPerson(input: {id: "o-a", name: "责任人", organisationId: "org-a"}) { __typename }
}"""

SNAPSHOT = """{
  items(first: 100) { ... on ItemConnection { edges { node { id title status marking } } } }
  organisation(id: "org-a") { id name }
}"""

READS = [
    "query($v: ID!) { item(id: $v) { id } }",
    "query($v: ID!) { organisation(id: $v) { id } }",
    "query($v: ID!) { keypoint(id: $v) { id } }",
    "query($v: ID!) { notice(id: $v) { id } }",
    "query($v: ID!) { change(id: $v) { id } }",
    "query($v: ID!) { lineage(id: $v, direction: BOTH) { __typename } }",
    "query($v: ID!) { items(filter: {organisationId: $v}) { __typename } }",
    "query($v: ID!) { notices(filter: {itemId: $v, organisationId: $v}) { __typename } }",
    "query($v: ID!) { impactAnalysis(change: {itemId: $v, declassify: true}) { __typename } }",
    "query($v: ID!) { notices(filter: {sourceId: $v, changeId: $v}) { __typename } }",
    "query($v: ID!) { proposals(organisationId: $v, itemId: $v) { __typename } }",
    "query($v: ID!) { dueForReview(withinDays: 30, organisationId: $v) { __typename } }",
    'query($v: ID!) { expiryPreview(asOf: "2100-01-01", organisationId: $v) { __typename } }',
    'query($v: ID!) { item(id: $v, asOf: "2025-01-01") { id } }',
    "query($v: ID!) { auditTrail(filter: {userId: $v, itemId: $v}) { __typename } }",
    "query($v: ID!) { auditTrail(filter: {organisationId: $v}) { __typename } }",
    "query($v: String!) { auditTrail(after: $v) { __typename } }",
    "query($v: String!) { items(after: $v) { __typename } }",
]

SOURCE = """
mutation($input: RegisterSourceInput!) {
  registerSource(input: $input) {
    __typename
    ... on RegisterSourceSuccess { item { id title documentNumber keypoints { id title } } }
    ... on Problem { message }
  }
}"""


def post(
    api: Api, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
) -> Any:
    body = api.post(query, variables, as_=as_)
    for error in body.get("errors", []):
        assert error["message"] != "服务内部错误。", (query, variables)
    return body


@pytest.fixture
def ready(client: TestClient) -> Api:
    api = Api(client)
    assert "errors" not in post(api, SETUP)
    return api


@pytest.mark.parametrize("payload", PAYLOADS)
def test_reads_with_hostile_ids_find_nothing_and_change_nothing(ready: Api, payload: str) -> None:
    before = post(ready, SNAPSHOT)
    for query in READS:
        post(ready, query, {"v": payload})
    assert post(ready, SNAPSHOT) == before


@pytest.mark.parametrize("payload", PAYLOADS)
def test_written_strings_come_back_exactly(ready: Api, payload: str) -> None:
    source = {
        "title": payload,
        "documentNumber": payload[:100],
        "organisationId": "org-a",
        "issuedOn": "2024-03-01",
        "level": "SECRET",
        "period": {"kind": "YEARS", "years": 10},
        "scope": {"organisations": ["org-a"]},
        "handlerId": "h-a",
        "officialId": "o-a",
        "keypoints": [
            {"title": payload, "level": "SECRET", "period": {"kind": "YEARS", "years": 10}}
        ],
    }
    written = post(ready, SOURCE, {"input": source})["data"]["registerSource"]
    assert written["__typename"] == "RegisterSourceSuccess", written
    item = written["item"]
    assert (item["title"], item["documentNumber"]) == (payload, payload[:100])
    read = post(
        ready,
        "query($v: ID!) { item(id: $v) { title documentNumber keypoints { title } } }",
        {"v": item["id"]},
    )["data"]["item"]
    assert read == {
        "title": payload,
        "documentNumber": payload[:100],
        "keypoints": [{"title": payload}],
    }
    renamed = post(
        ready,
        'mutation($n: String!) { registerOrganisation(input: {id: "org-b", name: $n}) '
        "{ __typename } }",
        {"n": payload},
    )
    assert "errors" not in renamed
    assert post(ready, '{ organisation(id: "org-b") { name } }')["data"] == {
        "organisation": {"name": payload}
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_credentials_are_refused_with_401(ready: Api, payload: str) -> None:
    for bearer in (payload, f"lin_{payload}", f"lin_{payload}_{payload}", f"{payload}.{payload}.x"):
        response = ready.client.post(
            "/graphql",
            json={"query": "{ me { userId } }"},
            # Raw bytes: a header carries no text beyond latin-1, but a client may send any.
            headers={b"Authorization": f"Bearer {bearer}".encode()},
        )
        assert response.status_code == 401, bearer
        assert "data" not in response.json()
    assert post(ready, SNAPSHOT)["data"]["organisation"]["id"] == "org-a"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_ids_in_mutations_write_nothing(ready: Api, payload: str) -> None:
    before = post(ready, SNAPSHOT)
    for mutation, variables in (
        (
            "mutation($v: ID!) { acknowledgeNotice(noticeId: $v) { __typename } }",
            {"v": payload},
        ),
        (
            "mutation($v: ID!) { proposeChange(input: {itemId: $v, text: $v, noticeId: $v}) "
            "{ __typename } }",
            {"v": payload},
        ),
        (
            "mutation($v: ID!) { recordSuccession(organisationId: $v, successorId: $v) "
            "{ __typename } }",
            {"v": payload},
        ),
    ):
        post(ready, mutation, variables)  # as the tester, an administrator
        post(ready, mutation, variables, as_="o-a")  # as an official and handler of org-a
    assert post(ready, SNAPSHOT) == before
