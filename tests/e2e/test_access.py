"""Who may see and do what (issue 5), over HTTP on both stores with the demo's users: no or bad
credentials, revoked and rotated tokens, JWTs from single sign-on, roles, acting in one's own
name, the wrong organisation, the knowledge scope (D-10), redaction in lineage, impact
analysis and explanations (counts included), and the audit trail."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from graph.access import Role
from graph.store.sqlite import trail_path
from service.accounts import NewUser, add_user, issue_token, revoke_token, revoke_user
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.e2e.conftest import Api, signed_in

ITEM = "query($id: ID!) { item(id: $id) { id title documentNumber } }"
ME = "{ me { userId personId organisationId roles } }"
LINEAGE = """
query($id: ID!) {
  lineage(id: $id, direction: DOWNSTREAM) {
    __typename
    ... on Lineage { root nodes { id depth redacted item { id title } }
                     edges { childId parentId keypointIds } }
    ... on Problem { message }
  }
}"""
IMPACT = """
query($id: ID!) {
  impactAnalysis(change: {itemId: $id, declassify: true}) {
    __typename
    ... on ImpactAnalysis {
      total redacted toDeclassify toChange toReview
      impacts { id redacted item { id title } actions statusAfter path keptBases summary }
    }
    ... on Problem { message }
  }
}"""
DERIVE = """
mutation($input: DeriveItemInput!) {
  deriveItem(input: $input) {
    __typename
    ... on DeriveItemSuccess { item { id marking } }
    ... on Problem { message }
    ... on AccessDenied { requirement }
    ... on RuleViolation { rule }
  }
}"""
TRAIL = """
query($filter: AuditFilter, $first: Int! = 50) {
  auditTrail(filter: $filter, first: $first) {
    __typename
    ... on AuditEventConnection {
      edges { node { action outcome userId personId organisationId address itemIds askedIds
                     detail } }
    }
    ... on Problem { message }
    ... on AccessDenied { requirement }
  }
}"""

# Content of the ministry's source and of the province's opinion, which the county may not read.
SOURCE_TITLE = "关于某重点工程建设总体方案的通知"
SOURCE_NUMBER = "某部发〔2024〕12号"
OPINION_TITLE = "某省贯彻落实某重点工程建设总体方案的实施意见"
OPINION_NUMBER = "某省发改〔2024〕31号"
# What the county's handler may read of the items below the city.
COUNTY_READS = {"D-CITY-001", "D-COUNTY-001", "D-COUNTY-002", "D-COUNTY-003", "D-COUNTY-004"}


@pytest.fixture
def api(demo_client: TestClient) -> Api:
    return Api(demo_client)


def anonymous(client: TestClient, headers: dict[str, str]) -> Any:
    return client.post("/graphql", json={"query": ME}, headers=headers)


def derive_input(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "title": "某县征地补偿实施办法",
        "documentNumber": "某县工信〔2024〕30号",
        "organisationId": "org-county",
        "issuedOn": "2024-08-01",
        "bases": [{"parentId": "D-COUNTY-001", "case": "SUMMARY"}],
        "scope": {"organisations": ["org-county"]},
        "handlerId": "p-zhao-min",
    }
    value.update(overrides)
    return value


# Authentication


def test_a_request_without_valid_credentials_gets_401_and_no_data(demo_client: TestClient) -> None:
    store = demo_client.app.state.store  # type: ignore[attr-defined]
    good = issue_token(store, "p-zhao-min", revoke_others=False).bearer
    token_id = good.removeprefix("lin_").split("_")[0]
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Basic cDp4"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer lin_0000000000000000_guess"},
        {"Authorization": f"Bearer lin_{token_id}_not-the-secret"},
        {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"},  # a JWT, and none configured
    ):
        response = anonymous(demo_client, headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    ok = anonymous(demo_client, {"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200
    assert ok.json()["data"]["me"] == {
        "userId": "p-zhao-min",
        "personId": "p-zhao-min",
        "organisationId": "org-county",
        "roles": ["HANDLER"],
    }
    # The page of GraphiQL and the health check hold no data and stay open.
    fresh = TestClient(demo_client.app)
    assert fresh.get("/healthz").status_code == 200
    assert fresh.get("/graphql", headers={"accept": "text/html"}).status_code == 200


def test_revoked_expired_and_rotated_tokens_stop_working_at_once(demo_client: TestClient) -> None:
    store = demo_client.app.state.store  # type: ignore[attr-defined]

    def status(token: str) -> int:
        code: int = anonymous(demo_client, {"Authorization": f"Bearer {token}"}).status_code
        return code

    first = issue_token(store, "p-chen-jing", revoke_others=False)
    assert status(first.bearer) == 200
    revoke_token(store, first.token.id)
    assert status(first.bearer) == 401

    old = issue_token(store, "p-chen-jing", revoke_others=False).bearer
    rotated = issue_token(store, "p-chen-jing").bearer  # rotation revokes the others
    assert (status(old), status(rotated)) == (401, 200)

    soon = issue_token(store, "p-chen-jing", revoke_others=False, expires_in=timedelta(seconds=1))
    assert status(soon.bearer) == 200
    expired = issue_token(store, "p-yang-lei", revoke_others=False, expires_in=timedelta(seconds=1))
    future = datetime.now(UTC) + timedelta(seconds=2)
    while datetime.now(UTC) < future:
        pass
    assert status(expired.bearer) == 401

    revoke_user(store, "p-chen-jing")
    assert status(rotated) == 401
    assert status(soon.bearer) == 401


@pytest.fixture
def sso(db_url: str) -> Iterator[tuple[TestClient, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    store = open_store(db_url)
    load_demo(store)
    store.close()
    settings = Settings(
        store=db_url,
        daily_expiry=False,
        jwt_key=public.decode(),
        jwt_issuer="https://sso.example",
        jwt_audience="lineage",
    )
    with TestClient(create_app(settings)) as client:
        yield client, key


def test_a_jwt_from_the_configured_issuer_signs_in_its_user(
    sso: tuple[TestClient, rsa.RSAPrivateKey],
) -> None:
    client, key = sso
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    later = datetime.now(UTC) + timedelta(minutes=5)

    def claims(**changes: Any) -> dict[str, Any]:
        value: dict[str, Any] = {
            "sub": "p-huang-tao",
            "iss": "https://sso.example",
            "aud": "lineage",
            "exp": later,
        }
        value.update(changes)
        return {k: v for k, v in value.items() if v is not None}

    def status(token: str) -> int:
        code: int = anonymous(client, {"Authorization": f"Bearer {token}"}).status_code
        return code

    good = jwt.encode(claims(), key, algorithm="RS256")
    response = anonymous(client, {"Authorization": f"Bearer {good}"})
    assert response.status_code == 200
    assert response.json()["data"]["me"]["roles"] == ["OFFICIAL"]  # from the service
    for refused in (
        jwt.encode(claims(iss="https://elsewhere.example"), key, algorithm="RS256"),
        jwt.encode(claims(aud="another"), key, algorithm="RS256"),
        jwt.encode(claims(exp=datetime.now(UTC) - timedelta(minutes=5)), key, algorithm="RS256"),
        jwt.encode(claims(exp=None), key, algorithm="RS256"),
        jwt.encode(claims(sub="p-nobody"), key, algorithm="RS256"),
        jwt.encode(claims(sub="' OR '1'='1"), key, algorithm="RS256"),
        jwt.encode(claims(), other, algorithm="RS256"),
        jwt.encode(claims(), "a-shared-secret-of-32-bytes-long!", algorithm="HS256"),
    ):
        assert status(refused) == 401
    revoke_user(client.app.state.store, "p-huang-tao")  # type: ignore[attr-defined]
    assert status(good) == 401


# Roles, one's own name, the organisation


def test_only_an_official_decides_and_only_in_its_own_name(api: Api) -> None:
    handler = api(DERIVE, {"input": derive_input()}, as_="p-zhao-min")["deriveItem"]
    assert handler["__typename"] == "AccessDenied"
    assert handler["requirement"] == "ROLE:OFFICIAL"
    someone_else = api(DERIVE, {"input": derive_input(officialId="p-yang-lei")}, as_="p-huang-tao")[
        "deriveItem"
    ]
    assert (someone_else["__typename"], someone_else["requirement"]) == (
        "AccessDenied",
        "ACT_AS_SELF",
    )
    # Drafting and deciding are two persons (D-11).
    alone = api(DERIVE, {"input": derive_input(handlerId="p-huang-tao")}, as_="p-huang-tao")
    assert alone["deriveItem"]["rule"] == "SEPARATE_DECIDER"
    supervisor = api(DERIVE, {"input": derive_input()}, as_="p-sun-hong")["deriveItem"]
    assert supervisor["requirement"] == "ROLE:OFFICIAL"
    admin = api(DERIVE, {"input": derive_input()}, as_="admin")["deriveItem"]
    assert admin["requirement"] == "ROLE:OFFICIAL"
    # Without an officialId the caller decides; the item is written in its name.
    done = api(DERIVE, {"input": derive_input()}, as_="p-huang-tao")["deriveItem"]
    assert done["__typename"] == "DeriveItemSuccess", done
    record = api(
        "query($id: ID!) { item(id: $id) { records { handlerId officialId } } }",
        {"id": done["item"]["id"]},
        as_="p-huang-tao",
    )["item"]["records"]
    assert record == [{"handlerId": "p-zhao-min", "officialId": "p-huang-tao"}]


def test_a_handler_without_the_handler_role_is_refused(api: Api) -> None:
    store = api.store
    load = (
        'mutation { registerPerson(input: {id: "p-new", name: "新人", '
        'organisationId: "org-county"}) { __typename } }'
    )
    assert api(load, as_="admin")["registerPerson"]["__typename"] == "RegisterPersonSuccess"
    add_user(store, NewUser("p-new", frozenset({Role.SUPERVISOR}), person_id="p-new"))
    refused = api(DERIVE, {"input": derive_input(handlerId="p-new")}, as_="p-huang-tao")
    assert refused["deriveItem"]["requirement"] == "HANDLER_ROLE"


def test_registering_organisations_and_persons_is_the_administrators(api: Api) -> None:
    register = (
        'mutation { registerOrganisation(input: {id: "org-x", name: "某单位"}) '
        "{ __typename ... on AccessDenied { requirement } } }"
    )
    for user in ("p-li-qiang", "p-sun-hong", "p-zhao-min"):
        result = api(register, as_=user)["registerOrganisation"]
        assert result == {"__typename": "AccessDenied", "requirement": "ROLE:ADMINISTRATOR"}
    assert api(register, as_="admin")["registerOrganisation"]["__typename"] == (
        "RegisterOrganisationSuccess"
    )


def test_the_wrong_organisation_is_refused_by_the_article(api: Api) -> None:
    # The city's official may read the source it derives from, but decides only for the city
    # (D-6, D-11), and on the ministry's source not at all.
    for_county = api(
        DERIVE,
        {"input": derive_input(bases=[{"parentId": "D-CITY-001", "case": "SUMMARY"}])},
        as_="p-yang-lei",
    )["deriveItem"]
    assert (for_county["__typename"], for_county["rule"]) == (
        "RuleViolation",
        "DECIDER_ORGANISATION",
    )
    declassify = """
    mutation { declassify(input: {itemId: "S-2024-012", handlerId: "p-chen-jing",
      reason: CIRCUMSTANCES_CHANGED, basis: "形势变化。"}) {
      __typename ... on RuleViolation { rule articles } ... on Problem { message } } }"""
    city = api(declassify, as_="p-yang-lei")["declassify"]
    assert (city["__typename"], city["rule"]) == ("RuleViolation", "DECIDING_ORGANISATION")


# The knowledge scope (D-10)


def test_outside_the_knowledge_scope_an_item_is_not_there(api: Api) -> None:
    # The county may not read the province's opinion: to it, it reads as a missing id.
    assert api(ITEM, {"id": "D-PROV-001"}, as_="p-zhao-min")["item"] is None
    assert api(ITEM, {"id": "D-COUNTY-001"}, as_="p-zhao-min")["item"]["id"] == "D-COUNTY-001"
    keypoint = '{ keypoint(id: "S-2024-012.K1") { id title } }'
    assert api(keypoint, as_="p-zhao-min")["keypoint"] is None
    assert api(keypoint, as_="p-li-qiang")["keypoint"]["title"] == "工程选址坐标"
    # A lookup and a derivation from it read the same as from an id that does not exist.
    hidden = api(LINEAGE, {"id": "D-PROV-001"}, as_="p-zhao-min")["lineage"]["message"]
    missing = api(LINEAGE, {"id": "D-NOWHERE"}, as_="p-zhao-min")["lineage"]["message"]
    assert hidden.replace("D-PROV-001", "X") == missing.replace("D-NOWHERE", "X")
    bases = [{"parentId": "D-PROV-001", "case": "SUMMARY"}]
    derived = api(DERIVE, {"input": derive_input(bases=bases)}, as_="p-huang-tao")["deriveItem"]
    assert derived["__typename"] == "NotFound"
    assert OPINION_TITLE not in str(derived)
    # Lists leave it out, and their pages stay full.
    items = (
        "{ items(first: 2) { ... on ItemConnection "
        "{ edges { node { id } } pageInfo { hasNextPage } } } }"
    )
    page = api(items, as_="p-zhao-min")["items"]
    assert [e["node"]["id"] for e in page["edges"]] == ["D-CITY-001", "D-COUNTY-001"]
    assert page["pageInfo"]["hasNextPage"] is True
    due = "{ dueForReview(withinDays: 3650) { ... on ItemConnection { edges { node { id } } } } }"
    city_due = {e["node"]["id"] for e in api(due, as_="p-chen-jing")["dueForReview"]["edges"]}
    assert city_due == {"S-2022-015", "D-CITY-002"}  # of what ends by 2036, all it may read
    every_due = {e["node"]["id"] for e in api(due, as_="p-sun-hong")["dueForReview"]["edges"]}
    assert every_due > city_due
    assert api(due, as_="admin")["dueForReview"]["edges"] == []


def test_changes_notices_and_proposals_are_read_by_those_who_may(api: Api) -> None:
    declassify = """
    mutation { declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei",
      reason: CIRCUMSTANCES_CHANGED, basis: "形势变化。"}) {
      __typename ... on ChangeCommitted { change { id } noticeCount } } }"""
    committed = api(declassify, as_="p-li-qiang")["declassify"]
    change_id = committed["change"]["id"]
    notices = """query($change: ID!) { notices(filter: {changeId: $change}, first: 50) {
      ... on NoticeConnection { edges { node { id itemId } } } } }"""

    def sent(user: str) -> dict[str, str]:
        edges = api(notices, {"change": change_id}, as_=user)["notices"]["edges"]
        return {e["node"]["itemId"]: e["node"]["id"] for e in edges}

    everything = sent("p-sun-hong")
    assert len(everything) == committed["noticeCount"] == 7
    county = sent("p-zhao-min")
    assert set(county) == COUNTY_READS  # of the seven, those it may read
    one = f'{{ notice(id: "{everything["D-PROV-001"]}") {{ id }} }}'
    assert api(one, as_="p-zhao-min")["notice"] is None
    assert api(one, as_="p-liu-yang")["notice"] == {"id": everything["D-PROV-001"]}
    change = f'{{ change(id: "{change_id}") {{ id }} }}'
    assert api(change, as_="p-zhao-min")["change"] is None  # the source is not the county's
    assert api(change, as_="p-li-qiang")["change"] == {"id": change_id}
    as_of = '{ item(id: "D-PROV-001", asOf: "2025-01-01") { id } }'
    assert api(as_of, as_="p-zhao-min")["item"] is None
    assert api(as_of, as_="p-liu-yang")["item"] == {"id": "D-PROV-001"}

    propose = """mutation($notice: ID!) { proposeChange(input: {itemId: "D-COUNTY-001",
      noticeId: $notice, text: "建议维持原密级。"}) { __typename ... on ProposeChangeSuccess {
      proposal { id organisationId } } } }"""
    filed = api(propose, {"notice": county["D-COUNTY-001"]}, as_="p-zhao-min")["proposeChange"]
    assert filed["proposal"]["organisationId"] == "org-ministry"
    listed = """{ proposals(first: 50) { ... on ProposalConnection {
      edges { node { id itemId } } } } }"""

    def proposals(user: str) -> list[str]:
        return [e["node"]["id"] for e in api(listed, as_=user)["proposals"]["edges"]]

    mine = [filed["proposal"]["id"]]
    # Filed with the ministry, which may not read the county's item: still its to read.
    assert proposals("p-li-qiang") == mine
    assert proposals("p-huang-tao") == mine  # the proposer's organisation
    assert proposals("p-wu-xia") == []  # the institute has nothing to do with it


def test_an_explanation_names_no_basis_its_reader_may_not_read(api: Api) -> None:
    query = """{ item(id: "D-CITY-001") {
      bases { parentId }
      explanation { summary notes
        contributions { refId title redacted classification { marking } } }
      records { summary bases { refId title documentNumber marking redacted } }
    } }"""
    county = api(query, as_="p-zhao-min")["item"]
    text = str(county)
    for secret in (OPINION_TITLE, OPINION_NUMBER, "D-PROV-001", SOURCE_TITLE):
        assert secret not in text, secret
    (edge,) = county["bases"]
    assert edge["parentId"].startswith("hidden-")
    (contribution,) = county["explanation"]["contributions"]
    assert contribution == {
        "refId": edge["parentId"],
        "title": "（无权知悉）",
        "redacted": True,
        "classification": {"marking": "机密★20年"},  # it still explains the item's own
    }
    cited = county["records"][0]["bases"][0]
    assert (cited["refId"], cited["title"], cited["documentNumber"], cited["redacted"]) == (
        edge["parentId"],
        "（无权知悉）",
        "（无权知悉）",
        True,
    )
    keypoints = (
        '{ item(id: "D-COUNTY-001") { keypoints { id title itemId redacted '
        "classification { marking } } } }"
    )
    (involved,) = api(keypoints, as_="p-zhao-min")["item"]["keypoints"]
    # A keypoint is content of the ministry's source that defines it (D-10, D-16): the county
    # sees its classification, which explains its own item's, and nothing that names it.
    assert involved["title"] == "（无权知悉）"
    assert involved["redacted"] is True
    assert involved["id"].startswith("hidden-")
    assert "S-2024-012" not in involved["id"]
    assert involved["itemId"].startswith("hidden-")
    assert involved["id"] != involved["itemId"]
    assert involved["classification"] == {"marking": "机密★20年"}
    city = api(keypoints, as_="p-sun-hong")["item"]["keypoints"]
    assert [k["title"] for k in city] == ["工程选址坐标"]  # the bureau reads the source
    city = api(query, as_="p-yang-lei")["item"]  # the city may read the opinion
    assert city["bases"] == [{"parentId": "D-PROV-001"}]
    assert OPINION_TITLE in str(city)


# Redaction in lineage and impact results


def test_a_lineage_shows_placeholders_that_keep_its_shape(api: Api) -> None:
    full = api(LINEAGE, {"id": "S-2024-012"}, as_="p-sun-hong")["lineage"]
    county = api(LINEAGE, {"id": "D-CITY-001"}, as_="p-zhao-min")["lineage"]
    assert county["root"] == "D-CITY-001"
    shown = {n["id"] for n in county["nodes"] if not n["redacted"]}
    assert shown == COUNTY_READS
    hidden = [n for n in county["nodes"] if n["redacted"]]
    assert len(hidden) == 1  # the institute's assessment, a diamond below the city
    assert hidden[0]["item"] is None
    assert hidden[0]["id"].startswith("hidden-")
    assert {e["childId"] for e in county["edges"]} >= {hidden[0]["id"]}
    # The same placeholder id each time, for this reader.
    again = api(LINEAGE, {"id": "D-CITY-001"}, as_="p-zhao-min")["lineage"]
    assert again == county
    ministry = api(LINEAGE, {"id": "S-2024-012"}, as_="p-li-qiang")["lineage"]
    assert len(ministry["nodes"]) == len(full["nodes"])
    assert len(ministry["edges"]) == len(full["edges"])
    assert sum(not n["redacted"] for n in ministry["nodes"]) == 1  # its own source
    body = str(ministry)
    for title in {n["item"]["title"] for n in full["nodes"]} - {SOURCE_TITLE}:
        assert title not in body
    # Between two placeholders, not even the keypoints an edge involves.
    assert all(
        e["keypointIds"] == []
        for e in ministry["edges"]
        if e["childId"].startswith("hidden-") and e["parentId"].startswith("hidden-")
    )


def test_an_impact_analysis_counts_only_what_its_reader_may_know(api: Api) -> None:
    full = api(IMPACT, {"id": "S-2024-012"}, as_="p-sun-hong")["impactAnalysis"]
    ministry = api(IMPACT, {"id": "S-2024-012"}, as_="p-li-qiang")["impactAnalysis"]
    assert (full["total"], full["redacted"], full["toDeclassify"], full["toReview"]) == (7, 0, 6, 1)
    assert (ministry["total"], ministry["redacted"]) == (7, 7)
    assert (ministry["toDeclassify"], ministry["toChange"], ministry["toReview"]) == (0, 0, 0)
    for entry in ministry["impacts"]:
        assert entry["item"] is None
        assert entry["redacted"]
        assert (entry["actions"], entry["path"], entry["keptBases"], entry["summary"]) == (
            [],
            [],
            [],
            None,
        )
        assert entry["statusAfter"] is None
    body = str(ministry)
    for entry in full["impacts"]:
        assert entry["item"]["title"] not in body
        assert entry["item"]["id"] not in body


def test_hidden_mode_leaves_out_what_a_reader_may_not_read(db_url: str) -> None:
    store = open_store(db_url)
    load_demo(store)
    store.close()
    settings = Settings(store=db_url, daily_expiry=False, redaction="hide")
    with TestClient(create_app(settings)) as client:
        api = Api(signed_in(client))
        ministry = api(IMPACT, {"id": "S-2024-012"}, as_="p-li-qiang")["impactAnalysis"]
        assert (ministry["total"], ministry["redacted"], ministry["impacts"]) == (0, 0, [])
        county = api(IMPACT, {"id": "S-2024-012"}, as_="p-zhao-min")
        assert county["impactAnalysis"]["__typename"] == "NotFound"  # it may not read the source
        lineage = api(LINEAGE, {"id": "D-CITY-001"}, as_="p-zhao-min")["lineage"]
        ids = {n["id"] for n in lineage["nodes"]}
        assert ids == COUNTY_READS
        assert not any(n["redacted"] for n in lineage["nodes"])
        assert all(e["childId"] in ids and e["parentId"] in ids for e in lineage["edges"])
        everything = api(IMPACT, {"id": "S-2024-012"}, as_="p-sun-hong")["impactAnalysis"]
        assert (everything["total"], everything["redacted"]) == (7, 0)


# The audit trail


def trail(
    api: Api, as_: str = "p-sun-hong", first: int = 50, **filter: Any
) -> list[dict[str, Any]]:
    found = api(TRAIL, {"filter": filter, "first": first}, as_=as_)["auditTrail"]
    assert found["__typename"] == "AuditEventConnection", found
    return [e["node"] for e in found["edges"]]


def test_reads_writes_refusals_and_failed_sign_ins_are_recorded(
    api: Api, demo_client: TestClient
) -> None:
    api(ITEM, {"id": "D-COUNTY-004"}, as_="p-zhao-min")
    api(ITEM, {"id": "D-PROV-001"}, as_="p-zhao-min")  # outside its scope: nothing shown
    api(DERIVE, {"input": derive_input()}, as_="p-zhao-min")  # a handler does not decide
    done = api(DERIVE, {"input": derive_input()}, as_="p-huang-tao")["deriveItem"]
    anonymous(demo_client, {"Authorization": "Bearer lin_0_guess"})

    read = trail(api, itemId="D-COUNTY-004")
    assert read[0]["action"] == "query item"
    assert (read[0]["outcome"], read[0]["userId"], read[0]["organisationId"]) == (
        "OK",
        "p-zhao-min",
        "org-county",
    )
    assert read[0]["address"]  # from where
    # Outside its scope: nothing of it was shown, and the probe is found by the id it asked.
    (probe,) = trail(api, itemId="D-PROV-001")
    assert (probe["action"], probe["userId"], probe["itemIds"], probe["askedIds"]) == (
        "query item",
        "p-zhao-min",
        [],
        ["D-PROV-001"],
    )
    assert (probe["outcome"], probe["detail"]) == ("OK", "NOTHING_SHOWN")
    denied = trail(api, outcome="DENIED")
    assert denied[0]["action"] == "mutation deriveItem"
    assert denied[0]["detail"] == "ROLE:OFFICIAL"
    # A refusal names what the request named: its organisation, basis and persons.
    assert set(denied[0]["askedIds"]) == {"org-county", "D-COUNTY-001", "p-zhao-min"}
    assert denied[0]["itemIds"] == []
    written = trail(api, itemId=done["item"]["id"])
    assert [e["action"] for e in written] == ["mutation deriveItem"]
    assert written[0]["userId"] == "p-huang-tao"
    failed = trail(api, outcome="UNAUTHENTICATED")
    assert failed[0]["userId"] is None
    assert failed[0]["detail"] == "令牌无效。"
    # No content in the trail: ids only.
    assert "某县征地补偿实施办法" not in str(trail(api))


def test_only_auditors_and_supervisors_read_the_trail(api: Api) -> None:
    """The auditor (安全审计员) reads all of it; a supervisor (an external 保密行政管理部门 or
    a superior) the events of the organisations it supervises; no one else, the
    administrator included (三员分立)."""
    api(ITEM, {"id": "D-COUNTY-004"}, as_="p-zhao-min")
    api(ITEM, {"id": "D-CITY-001"}, as_="p-yang-lei")
    for user in ("p-zhao-min", "p-li-qiang", "admin"):
        refused = api(TRAIL, {"filter": {}}, as_=user)["auditTrail"]
        assert refused["__typename"] == "AccessDenied", user
    load = (
        'mutation { registerPerson(input: {id: "p-county-audit", name: "县审计", '
        'organisationId: "org-county"}) { __typename } }'
    )
    api(load, as_="admin")
    grant = add_user(
        api.store,
        NewUser("p-county-audit", frozenset({Role.SUPERVISOR}), person_id="p-county-audit"),
    ).grant
    assert grant is not None
    # Until the bureau's supervisor approves it, the new supervisor is none (D-10).
    assert api(TRAIL, {"filter": {}}, as_="p-county-audit")["auditTrail"]["requirement"] == (
        "ROLE:AUDITOR|SUPERVISOR"
    )
    approve = "mutation($id: ID!) { approveGrant(id: $id) { __typename } }"
    assert api(approve, {"id": grant.id}, as_="p-sun-hong")["approveGrant"] == {
        "__typename": "GrantDecided"
    }
    county = trail(api, as_="p-county-audit")
    assert county
    assert {e["organisationId"] for e in county} == {"org-county"}
    assert trail(api, as_="p-county-audit", organisationId="org-city") == []
    assert {e["organisationId"] for e in trail(api)} >= {"org-county", "org-city"}
    # The auditor reads every event, the administrator's and the command line's too.
    every = trail(api, as_="auditor", first=500)
    assert {e["organisationId"] for e in every} >= {"org-county", "org-city", None}
    assert {"admin", "p-sun-hong", "p-zhao-min"} <= {e["userId"] for e in every}


def test_nothing_in_the_api_alters_or_deletes_the_trail(api: Api) -> None:
    mutations = api("{ __schema { mutationType { fields { name } } } }", as_="p-sun-hong")[
        "__schema"
    ]["mutationType"]["fields"]
    assert not [m["name"] for m in mutations if re.search("audit|trail", m["name"], re.I)]


def test_an_answer_whose_reading_cannot_be_recorded_is_not_given(tmp_path: Path) -> None:
    """The embedded store's trail is broken by hand (its table renamed by another program):
    the next read is refused whole."""
    db_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = open_store(db_url)
    load_demo(store)
    store.close()
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
        api = Api(signed_in(client))
        assert api(ITEM, {"id": "D-COUNTY-004"}, as_="p-zhao-min")["item"]["id"] == "D-COUNTY-004"
        path = trail_path(tmp_path / "lineage.db")
        with sqlite3.connect(path) as broken:
            broken.execute("ALTER TABLE audit_events RENAME TO gone")
        body = api.post(ITEM, {"id": "D-COUNTY-004"}, as_="p-zhao-min")
        assert body["data"] is None
        assert "审计记录无法写入" in body["errors"][0]["message"]
        assert "某乡镇" not in str(body)
