"""An official who decides sees what the decision does (issue 23, point 8), over HTTP on both
stores with the demo's users: where descendants lie outside the official's knowledge scope,
the impact analysis says how many would have to act and how, in all and per holding
organisation, without the content of any of them (D-10); in `hide` mode it counts only what
the reader may read, as it shows."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.e2e.conftest import Api, Gql, signed_in
from tests.e2e.lifecycle import derive
from tests.e2e.test_expiry import derived, source, world, years

ANALYSIS = """
query($change: ProposedChangeInput!) {
  impactAnalysis(change: $change) {
    __typename
    ... on ImpactAnalysis {
      total redacted toDeclassify toChange toReview allToDeclassify allToChange allToReview
      byOrganisation {
        organisationId organisationName total hidden toDeclassify toChange toReview
      }
      impacts(first: 500) { id redacted actions item { id title organisationId } }
    }
    ... on Problem { message }
  }
}"""
DECLASSIFY = {"itemId": "S-2024-012", "declassify": True}
TITLES = "{ items(first: 500) { ... on ItemConnection { edges { node { id title } } } } }"


@pytest.fixture
def api(demo_client: TestClient) -> Api:
    return Api(demo_client)


def analysis(api: Gql, change: dict[str, Any], as_: str) -> dict[str, Any]:
    found: dict[str, Any] = api(ANALYSIS, {"change": change}, as_=as_)["impactAnalysis"]
    assert found["__typename"] == "ImpactAnalysis", found
    return found


def tallies(found: dict[str, Any]) -> dict[str, tuple[int, int, int, int, int]]:
    return {
        t["organisationId"]: (
            t["total"],
            t["hidden"],
            t["toDeclassify"],
            t["toChange"],
            t["toReview"],
        )
        for t in found["byOrganisation"]
    }


def counted(found: dict[str, Any]) -> tuple[int, int, int]:
    return found["allToDeclassify"], found["allToChange"], found["allToReview"]


def test_an_official_who_may_read_no_descendant_sees_what_each_organisation_must_do(
    api: Api,
) -> None:
    """The ministry's official may read the source, and none of its seven descendants: the
    readable counts are 0, the counts over all say six are declassified and one reviewed,
    and per organisation who must act: the same as the official who may read them all."""
    full = analysis(api, DECLASSIFY, "p-sun-hong")
    ministry = analysis(api, DECLASSIFY, "p-li-qiang")
    assert (ministry["total"], ministry["redacted"]) == (7, 7)
    assert (ministry["toDeclassify"], ministry["toChange"], ministry["toReview"]) == (0, 0, 0)
    assert counted(ministry) == counted(full) == (6, 0, 1)
    expected = {
        "org-city": (1, 1, 1, 0, 0),
        "org-county": (4, 4, 4, 0, 0),
        "org-province": (2, 2, 1, 0, 1),  # the draft is reviewed with its main item
    }
    assert tallies(ministry) == expected
    assert tallies(full) == {o: (t, 0, d, c, r) for o, (t, _, d, c, r) in expected.items()}
    names = {t["organisationId"]: t["organisationName"] for t in ministry["byOrganisation"]}
    assert names["org-county"] == "某县工业和信息化局"
    assert sum(t["total"] for t in ministry["byOrganisation"]) == ministry["total"]
    # Placeholders stay placeholders: no id, title, action or organisation of any of them.
    titles = {
        e["node"]["id"]: e["node"]["title"] for e in api(TITLES, as_="p-sun-hong")["items"]["edges"]
    }
    text = str(ministry)
    for entry in full["impacts"]:
        assert entry["id"] not in text
        assert entry["item"]["title"] not in text
    assert all(titles[i] not in text for i in titles if i.startswith("D-"))
    for entry in ministry["impacts"]:
        assert (entry["redacted"], entry["item"], entry["actions"]) == (True, None, [])


def test_an_official_who_may_read_some_descendants_sees_all_counted(api: Api) -> None:
    """The province's reader may read its two; the five of the city and the county are
    counted per organisation as hidden."""
    province = analysis(api, DECLASSIFY, "p-liu-yang")
    assert (province["total"], province["redacted"]) == (7, 5)
    assert (province["toDeclassify"], province["toReview"]) == (1, 1)
    assert counted(province) == (6, 0, 1)
    assert tallies(province) == {
        "org-city": (1, 1, 1, 0, 0),
        "org-county": (4, 4, 4, 0, 0),
        "org-province": (2, 0, 1, 0, 1),
    }


def test_a_change_counts_the_hidden_descendants_that_must_change(gql: Gql) -> None:
    """Downgrading a source whose derived items are held by its own organisation, which the
    deciding official may read, and by another, outside its knowledge scope: one it may read
    must change, three must in all, two of them the other organisation's."""
    world(gql)
    source(gql, "S-CH", "2024-01-01", years(20))
    derive(
        gql,
        id="D-CHA",
        organisationId="org-a",
        issuedOn="2024-02-01",
        bases=[{"parentId": "S-CH", "case": "SUMMARY"}],
        scope={"organisations": ["org-a"]},
        handlerId="h-a",
        officialId="o-a",
    )
    derived(gql, "D-CH1", "2024-02-01", [{"parentId": "S-CH", "case": "SUMMARY"}])
    derived(gql, "D-CH2", "2024-02-01", [{"parentId": "D-CH1", "case": "IDENTICAL"}])
    change = {"itemId": "S-CH", "level": "CONFIDENTIAL", "period": years(10)}
    official = analysis(gql, change, "o-a")
    assert (official["total"], official["redacted"], official["toChange"]) == (3, 2, 1)
    assert counted(official) == (0, 3, 0)
    assert tallies(official) == {"org-a": (1, 0, 0, 1, 0), "org-b": (2, 2, 0, 2, 0)}
    names = {t["organisationId"]: t["organisationName"] for t in official["byOrganisation"]}
    assert names == {"org-a": "甲部", "org-b": "乙局"}
    shown = {i["id"] for i in official["impacts"] if not i["redacted"]}
    assert shown == {"D-CHA"}
    holder = analysis(gql, change, "tester")
    assert (holder["redacted"], holder["toChange"], counted(holder)) == (0, 3, (0, 3, 0))


def test_in_hide_mode_the_counts_count_only_what_is_shown(db_url: str) -> None:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    settings = Settings(store=db_url, daily_expiry=False, redaction="hide")
    with TestClient(create_app(settings)) as client:
        api = Api(signed_in(client))
        ministry = analysis(api, DECLASSIFY, "p-li-qiang")
        assert (ministry["total"], counted(ministry), ministry["byOrganisation"]) == (
            0,
            (0, 0, 0),
            [],
        )
        province = analysis(api, DECLASSIFY, "p-liu-yang")
        assert tallies(province) == {"org-province": (2, 0, 1, 0, 1)}
