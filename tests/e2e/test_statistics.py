"""The annual statistics (X-26, issue 7 point 5) on both stores: per organisation and year,
from the written records and the notices; only the organisations a reader belongs to or
supervises; the same as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.e2e.conftest import Gql

STATISTICS = """query($year: Int!) { annualStatistics(year: $year) {
  __typename
  ... on AnnualStatistics { csv organisations { organisationId classified derived changed
    declassified declassifiedByReason { reason count } madePublic noticesReceived
    noticesPending noticesOverdue } }
  ... on Problem { message } } }"""
DECLASSIFY = """mutation { declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei",
  reason: CIRCUMSTANCES_CHANGED, basis: "形势变化。"}) { __typename } }"""


def year(gql: Gql, value: int, user: str = "p-sun-hong") -> dict[str, dict[str, Any]]:
    found = gql(STATISTICS, {"year": value}, as_=user)["annualStatistics"]
    assert found["__typename"] == "AnnualStatistics", found
    return {r["organisationId"]: r for r in found["organisations"]}


def test_each_year_counts_what_each_organisation_did(demo_gql: Gql) -> None:
    y2024 = year(demo_gql, 2024)
    assert (y2024["org-ministry"]["classified"], y2024["org-ministry"]["derived"]) == (2, 0)
    assert y2024["org-county"]["derived"] == 4
    assert y2024["org-institute"]["derived"] == 3
    assert year(demo_gql, 2022)["org-city"]["derived"] == 1

    assert demo_gql(DECLASSIFY, as_="p-li-qiang")["declassify"]["__typename"] == "ChangeCommitted"
    now = year(demo_gql, 2026)
    ministry = now["org-ministry"]
    assert ministry["declassified"] == 1
    assert ministry["declassifiedByReason"] == [
        {
            "reason": "定密时的形势、条件发生变化，公开后不会损害国家安全和利益（X-12(2)）",
            "count": 1,
        }
    ]
    county = now["org-county"]
    assert (county["noticesReceived"], county["noticesPending"], county["noticesOverdue"]) == (
        4,
        4,
        0,
    )
    assert year(demo_gql, 2025)["org-county"]["noticesReceived"] == 0


def test_a_reader_sees_its_own_organisation_and_those_it_supervises(demo_gql: Gql) -> None:
    assert set(year(demo_gql, 2024, "p-zhao-min")) == {"org-county"}
    assert len(year(demo_gql, 2024, "p-sun-hong")) >= 6
    assert year(demo_gql, 2024, "admin") == {}
    found = demo_gql(STATISTICS, {"year": 2024}, as_="p-zhao-min")["annualStatistics"]
    rows = list(csv.reader(io.StringIO(found["csv"].lstrip("\ufeff"))))
    assert rows[0][:4] == ["年度", "机关、单位标识", "机关、单位", "原定密"]
    assert rows[1][:5] == ["2024", "org-county", "某县工业和信息化局", "0", "4"]
    future = demo_gql(STATISTICS, {"year": 2999}, as_="p-zhao-min")["annualStatistics"]
    assert future["__typename"] == "InvalidInput"
