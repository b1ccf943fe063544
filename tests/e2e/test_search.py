"""Item search over GraphQL (`items(filter: {text})`) on the demo data: ranked, paged by
cursors that go on in the ranked order, and of only what the reader may read."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.e2e.conftest import Api

SEARCH = """query($text: String, $first: Int!, $after: String) {
  items(filter: {text: $text}, first: $first, after: $after) {
    __typename
    ... on ItemConnection { edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
    ... on InvalidInput { message field }
  }
}"""
COUNTY, SUPERVISOR = "p-zhao-min", "p-sun-hong"


@pytest.fixture
def api(demo_client: TestClient) -> Api:
    return Api(demo_client)


def search(api: Api, text: str | None, as_: str, first: int = 50, after: str | None = None) -> Any:
    answer = api(SEARCH, {"text": text, "first": first, "after": after}, as_=as_)
    return answer["items"]


def ids(page: Any) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


def test_a_search_finds_by_chinese_words_what_the_reader_may_read(api: Api) -> None:
    # Both titles hold the words and are as long: then by id.
    assert ids(search(api, "重点工程", COUNTY)) == ["D-CITY-001", "D-COUNTY-001"]
    everything = ids(search(api, "重点工程", SUPERVISOR))
    assert {"S-2024-012", "D-PROV-001", "D-CITY-001", "D-COUNTY-001"} <= set(everything)
    # The ministry's source and the province's opinion hold these words; the county finds
    # nothing, as for words no title holds.
    assert ids(search(api, "总体方案", COUNTY)) == []
    assert "S-2024-012" in ids(search(api, "总体方案", SUPERVISOR))
    assert ids(search(api, "某部发〔2024〕12号", COUNTY)) == []
    assert ids(search(api, "征地", COUNTY)) == [
        "D-COUNTY-001",
        "D-COUNTY-002",
        "D-COUNTY-003",
        "D-COUNTY-004",
    ]


def test_the_exact_number_first_and_cursors_that_go_on_in_that_order(api: Api) -> None:
    number = "某县工信〔2024〕12号"
    whole = search(api, number, COUNTY)
    assert ids(whole) == ["D-COUNTY-003", "D-COUNTY-004"]  # the second's number holds it
    first = search(api, number, COUNTY, first=1)
    assert ids(first) == ["D-COUNTY-003"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = search(api, number, COUNTY, first=1, after=first["pageInfo"]["endCursor"])
    assert ids(second) == ["D-COUNTY-004"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["edges"][0]["cursor"] == whole["edges"][1]["cursor"]


def test_a_cursor_of_one_order_is_refused_in_the_other(api: Api) -> None:
    listed = search(api, None, COUNTY, first=1)
    searched = search(api, "征地", COUNTY, first=1)
    for text, cursor in (
        ("征地", listed["pageInfo"]["endCursor"]),
        (None, searched["pageInfo"]["endCursor"]),
        ("征地", "bm90IGEgY3Vyc29y"),
    ):
        refused = search(api, text, COUNTY, after=cursor)
        assert refused["__typename"] == "InvalidInput"
        assert "游标" in refused["message"]
