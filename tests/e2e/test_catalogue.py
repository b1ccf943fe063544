"""The catalogue of declassified items made public (X-24, issue 7 point 4) on both stores:
what went public in the range, for every reader, and nothing kept as a work secret; no secret
marking in it (X-25); the same as CSV."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import Gql

DECLASSIFY = """mutation($item: ID!, $afterwards: Afterwards!, $on: Date) {
  declassify(input: {itemId: $item, handlerId: "p-zhang-wei", reason: PUBLICATION_REQUIRED,
    basis: "依法予以公开。", afterwards: $afterwards, effectiveOn: $on}) { __typename } }"""
CATALOGUE = """query($since: Date!, $until: Date!) {
  declassifiedCatalogue(since: $since, until: $until) {
    __typename
    ... on DeclassifiedCatalogue { entries { itemId title documentNumber organisationName
      declassifiedOn reason articles } csv }
    ... on Problem { message } } }"""


def test_the_catalogue_lists_what_went_public_and_nothing_else(demo_gql: Gql) -> None:
    for item, afterwards, on in (
        ("S-2022-015", "PUBLIC", "2026-03-01"),
        ("S-2025-003", "WORK_SECRET", "2026-03-02"),
    ):
        result = demo_gql(
            DECLASSIFY, {"item": item, "afterwards": afterwards, "on": on}, as_="p-li-qiang"
        )
        assert result["declassify"]["__typename"] == "ChangeCommitted", result
    year = {"since": "2026-01-01", "until": "2026-12-31"}
    # Public now: every reader sees it, the county too, outside its old knowledge scope.
    for reader in ("p-sun-hong", "p-zhao-min"):
        found = demo_gql(CATALOGUE, year, as_=reader)["declassifiedCatalogue"]
        assert [e["itemId"] for e in found["entries"]] == ["S-2022-015"]
    (entry,) = found["entries"]
    assert entry["title"] == "某专项工作会议纪要"
    assert entry["declassifiedOn"] == "2026-03-01"
    assert "X-12" in entry["reason"]
    assert "秘密" not in str(entry).replace("国家秘密", "")  # no marking left
    rows = list(csv.reader(io.StringIO(found["csv"].lstrip("\ufeff"))))
    assert rows[0][:5] == ["事项标识", "事项名称", "文号", "定密机关、单位", "解密时间"]
    assert rows[1][:2] == ["S-2022-015", "某专项工作会议纪要"]
    assert len(rows) == 2
    before = demo_gql(CATALOGUE, {"since": "2026-01-01", "until": "2026-02-28"}, as_="p-zhao-min")
    assert before["declassifiedCatalogue"]["entries"] == []
    backwards = demo_gql(CATALOGUE, {"since": "2026-12-31", "until": "2026-01-01"}, as_="admin")
    assert backwards["declassifiedCatalogue"]["__typename"] == "InvalidInput"
