"""The README's tour runs as written against the demo data."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Gql

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_tour_answers_as_it_says(demo_gql: Gql) -> None:
    why, downstream, derive, impact, declassify, pending, apply = tour_blocks()

    item = demo_gql(why)["item"]
    assert item["marking"] == "机密★20年"
    assert item["expiry"] == "2044-03-01"

    nodes = demo_gql(downstream)["lineage"]["nodes"]
    ids = [n["item"]["id"] for n in nodes]
    assert len(ids) == len(set(ids))
    assert "D-INST-002" in ids

    refused = demo_gql(derive)["deriveItem"]
    assert refused["__typename"] == "RuleViolation"
    assert "D-8" in refused["articles"]

    accepted = demo_gql(derive.replace("level: CONFIDENTIAL", ""))["deriveItem"]
    assert accepted["__typename"] == "DeriveItemSuccess"
    assert accepted["item"]["marking"] == "机密★20年"

    report = demo_gql(impact)["impactAnalysis"]
    # The county's chain of six, and the item the tour derived from D-CITY-001 just above.
    assert (report["toDeclassify"], report["toChange"], report["toReview"]) == (7, 0, 1)
    impacted = {i["item"]["id"] for i in report["impacts"]}
    assert "D-INST-001" not in impacted

    committed = demo_gql(declassify)["declassify"]
    assert committed["__typename"] == "ChangeCommitted", committed
    sent = {n["itemId"] for n in committed["notices"]}
    assert sent == impacted, "the notices are what the dry run listed"

    page = demo_gql(pending)["notices"]
    assert page["pageInfo"]["hasNextPage"] is True  # the county holds four items
    first = page["edges"][0]["node"]
    assert first["statusAfter"] == "DECLASSIFIED_WORK_SECRET"

    applied = demo_gql(apply, {"id": first["id"]})["applyNotice"]
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    assert applied["item"]["id"] == first["itemId"]
    assert applied["item"]["status"] == "DECLASSIFIED_WORK_SECRET"
    assert applied["record"]["kind"] == "DECLASSIFICATION"
