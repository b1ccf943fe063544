"""GraphQL documents and checks shared by the tests of changes, notices and expiry: what a
security office sends, and a snapshot of everything a refused request must leave as it was."""

from __future__ import annotations

from typing import Any

from service.demo import DECIDERS
from tests.e2e.conftest import Gql

PROBLEM = """
    ... on Problem { message }
    ... on AccessDenied { requirement }
    ... on RuleViolation { rule articles }
    ... on InvalidInput { field }
    ... on NotFound { kind id }
    ... on Conflict { kind id expectedVersion currentVersion }
"""

NOTICE_FIELDS = """
    id changeId sourceId itemId organisationId actions actionLabels markingBefore markingAfter
    statusAfter path articles keptBases text dueOn status supersededBy actedBy recordId
    proposalId
"""

CHANGE_FIELDS = """
    id kind itemId reason basis handlerId officialId decidedOn effectiveOn summary articles
    approvalReference consultedOrganisationIds recordId
    before { status marking }
    after { status marking classification { period { kind years start } } }
    keypointsAfter { id declassified classification { marking } }
"""

COMMITTED = f"""
    __typename
    ... on ChangeCommitted {{
      change {{ {CHANGE_FIELDS} }}
      record {{ id kind handlerId officialId decidedOn effectiveOn status articles }}
      notices {{ {NOTICE_FIELDS} }}
      noticeCount
      superseded
    }}
    {PROBLEM}
"""

DECLASSIFY = f"""
mutation($input: DeclassifyInput!) {{ declassify(input: $input) {{ {COMMITTED} }} }}
"""

CHANGE = f"""
mutation($input: ChangeClassificationInput!) {{
  changeClassification(input: $input) {{ {COMMITTED} }}
}}
"""

IMPACT = f"""
query($change: ProposedChangeInput!) {{
  impactAnalysis(change: $change) {{
    __typename
    ... on ImpactAnalysis {{
      impacts {{ item {{ id }} actions statusAfter markingAfter path articles keptBases }}
    }}
    {PROBLEM}
  }}
}}
"""

NOTICES = f"""
query($filter: NoticeFilter, $first: Int!, $after: String) {{
  notices(filter: $filter, first: $first, after: $after) {{
    __typename
    ... on NoticeConnection {{
      edges {{ cursor node {{ {NOTICE_FIELDS} }} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
    ... on InvalidInput {{ message field }}
  }}
}}
"""

NOTICE = f"query($id: ID!) {{ notice(id: $id) {{ {NOTICE_FIELDS} }} }}"

ACKNOWLEDGE = f"""
mutation($notice: ID!, $person: ID!) {{
  acknowledgeNotice(noticeId: $notice, personId: $person) {{
    __typename
    ... on NoticeSuccess {{ notice {{ {NOTICE_FIELDS} }} }}
    {PROBLEM}
  }}
}}
"""

APPLY = f"""
mutation($input: ApplyNoticeInput!) {{
  applyNotice(input: $input) {{
    __typename
    ... on ApplyNoticeSuccess {{
      notice {{ {NOTICE_FIELDS} }}
      item {{ id status marking }}
      record {{ id kind handlerId officialId decidedOn status articles summary }}
    }}
    {PROBLEM}
  }}
}}
"""

PROPOSE = f"""
mutation($input: ProposeChangeInput!) {{
  proposeChange(input: $input) {{
    __typename
    ... on ProposeChangeSuccess {{
      proposal {{ id itemId proposerId organisationId text noticeId }}
    }}
    {PROBLEM}
  }}
}}
"""

PROPOSALS = """
query($organisation: ID, $item: ID, $first: Int!, $after: String) {
  proposals(organisationId: $organisation, itemId: $item, first: $first, after: $after) {
    __typename
    ... on ProposalConnection {
      edges { node { id itemId proposerId organisationId text noticeId } }
      pageInfo { hasNextPage endCursor }
    }
    ... on InvalidInput { message field }
  }
}
"""

ITEM = """
query($id: ID!, $asOf: Date) {
  item(id: $id, asOf: $asOf) {
    id status marking expiry
    keypoints { id declassified }
    records { id kind handlerId officialId decidedOn effectiveOn status articles }
  }
}
"""

REGISTER_SOURCE = f"""
mutation($input: RegisterSourceInput!) {{
  registerSource(input: $input) {{
    __typename ... on RegisterSourceSuccess {{ item {{ id keypoints {{ id title }} }} }} {PROBLEM}
  }}
}}
"""

DERIVE = f"""
mutation($input: DeriveItemInput!) {{
  deriveItem(input: $input) {{
    __typename ... on DeriveItemSuccess {{ item {{ id marking expiry }} }} {PROBLEM}
  }}
}}
"""

# Everything a change, a notice or a proposal writes: items with their keypoints and records
# (every committed change writes a record on its source in the same transaction), notices and
# proposals.
STATE = """
{
  items(first: 100) {
    ... on ItemConnection {
      edges { node {
        id status marking
        classification { marking period { kind years start until } }
        scope { persons organisations }
        keypoints { id declassified classification { marking } }
        records { id }
      } }
      pageInfo { hasNextPage }
    }
  }
  notices(first: 100) {
    ... on NoticeConnection {
      edges { node { id status supersededBy actedBy recordId proposalId } }
      pageInfo { hasNextPage }
    }
  }
  proposals(first: 100) {
    ... on ProposalConnection { edges { node { id } } pageInfo { hasNextPage } }
  }
}
"""


def state(gql: Gql) -> dict[str, Any]:
    """What the store holds, for comparing before and after a refused request."""
    data = gql(STATE)
    for part in ("items", "notices", "proposals"):
        assert data[part]["pageInfo"]["hasNextPage"] is False, f"more {part} than one page"
    return data


def deciders(organisation: str) -> dict[str, str]:
    handler, official = DECIDERS[organisation]
    return {"handlerId": handler, "officialId": official}


def declassify(gql: Gql, item_id: str, **overrides: Any) -> dict[str, Any]:
    """Declassifies as the ministry's handler and official would, early (X-12) unless told."""
    value: dict[str, Any] = {
        "itemId": item_id,
        **deciders("org-ministry"),
        "reason": "CIRCUMSTANCES_CHANGED",
        "basis": "形势、条件发生变化，公开后不会损害国家安全和利益（X-12(二)）。",
    }
    value.update(overrides)
    return as_sent(gql, gql(DECLASSIFY, {"input": value})["declassify"])


def change(gql: Gql, item_id: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "itemId": item_id,
        **deciders("org-ministry"),
        "basis": "经审核，变更密级和保密期限（D-13）。",
    }
    value.update(overrides)
    return as_sent(gql, gql(CHANGE, {"input": value})["changeClassification"])


def as_sent(gql: Gql, result: dict[str, Any]) -> dict[str, Any]:
    """A committed change with every notice it sent and every one it superseded, as the
    tester (a supervisor of all) reads them: its decider sees only the notices to items it
    may read (test_access.py checks what it sees), and counts them all."""
    if result["__typename"] != "ChangeCommitted":
        return result
    change_id = result["change"]["id"]
    sent = [n for page, _ in notice_pages(gql, {"changeId": change_id}, 100) for n in page]
    assert result["noticeCount"] == len(sent), (result["noticeCount"], len(sent))
    seen = {n["id"] for n in result["notices"]}
    assert seen <= {n["id"] for n in sent}
    everything = [n for page, _ in notice_pages(gql, {}, 100) for n in page]
    superseded = sorted(n["id"] for n in everything if n["supersededBy"] == change_id)
    assert set(result["superseded"]) <= set(superseded)
    return {**result, "notices": sent, "superseded": superseded}


def committed(result: dict[str, Any]) -> dict[str, Any]:
    assert result["__typename"] == "ChangeCommitted", result
    return result


def refused(result: dict[str, Any], rule: str, article: str) -> None:
    assert result["__typename"] == "RuleViolation", result
    assert result["rule"] == rule, result
    assert article in result["articles"], result


def by_item(notices: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {n["itemId"]: n for n in notices}
    assert len(found) == len(notices), "one notice per item"
    return found


def item(gql: Gql, item_id: str, as_of: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = gql(ITEM, {"id": item_id, "asOf": as_of})["item"]
    return found


def notice(gql: Gql, notice_id: str, as_: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = gql(NOTICE, {"id": notice_id}, as_=as_)["notice"]
    return found


def notice_pages(
    gql: Gql, filter: dict[str, Any], first: int
) -> list[tuple[list[dict[str, Any]], bool]]:
    """Every page of `notices(filter)`, following endCursor: (nodes, hasNextPage) each."""
    pages: list[tuple[list[dict[str, Any]], bool]] = []
    after: str | None = None
    while True:
        page = gql(NOTICES, {"filter": filter, "first": first, "after": after})["notices"]
        assert page["__typename"] == "NoticeConnection", page
        nodes = [e["node"] for e in page["edges"]]
        has_next = page["pageInfo"]["hasNextPage"]
        pages.append((nodes, has_next))
        if not has_next:
            return pages
        assert len(pages) < 50, "paging does not end"
        after = page["pageInfo"]["endCursor"]


def register_source(gql: Gql, id: str | None = None, **fields: Any) -> str:
    """Registers a source; returns the id the service gave it, which the test may call `id`
    (conftest.Api.alias), and its keypoints by the `id` each names."""
    value: dict[str, Any] = {
        "title": "关于某事项的通知",
        "documentNumber": "某发〔2024〕1号",
        "organisationId": "org-ministry",
        "issuedOn": "2024-03-01",
        "level": "SECRET",
        "period": {"kind": "YEARS", "years": 10},
        "scope": {"organisations": ["org-ministry", "org-province", "org-institute"]},
        **deciders("org-ministry"),
    }
    value.update(fields)
    keypoint_names = {k["title"]: k.pop("id") for k in value.get("keypoints", []) if "id" in k}
    result = gql(REGISTER_SOURCE, {"input": value})["registerSource"]
    assert result["__typename"] == "RegisterSourceSuccess", result
    made = result["item"]
    if id is not None:
        gql.alias(id, made["id"])
    for keypoint in made["keypoints"]:
        if keypoint["title"] in keypoint_names:
            gql.alias(keypoint_names[keypoint["title"]], keypoint["id"])
    return id or str(made["id"])


def derive(gql: Gql, id: str | None = None, **fields: Any) -> dict[str, Any]:
    """Derives an item; the test may call it `id` (conftest.Api.alias)."""
    value: dict[str, Any] = {
        "title": "某派生事项",
        "documentNumber": "某研院〔2024〕9号",
        "organisationId": "org-institute",
        "issuedOn": "2024-06-01",
        "scope": {"organisations": ["org-institute"]},
        **deciders("org-institute"),
    }
    value.update(fields)
    result: dict[str, Any] = gql(DERIVE, {"input": value})["deriveItem"]
    assert result["__typename"] == "DeriveItemSuccess", result
    if id is not None:
        gql.alias(id, result["item"]["id"])
        result["item"]["id"] = id
    return result
