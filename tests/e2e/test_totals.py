"""One shape for answers over HTTP, on both stores with the demo (issue 23, point 6): every
connection's totalCount is the number of nodes its pages hold, whatever the page and for
each reader; the lists that were plain (the impacts of an analysis, the requests to decide,
the reminders) are connections too, and say what the deprecated fields said; the same name
means the same thing (`classificationAfter`); problems carry their articles."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api, Gql
from tests.e2e.lifecycle import declassify

Page = dict[str, Any]


def walk(
    gql: Gql,
    query: str,
    path: list[str],
    variables: dict[str, Any] | None = None,
    *,
    first: int = 2,
    as_: str | None = None,
) -> tuple[list[Any], list[int]]:
    """Every node of a connection, following endCursor with pages of `first`; and the
    totalCount each page gave."""
    nodes: list[Any] = []
    totals: list[int] = []
    after: str | None = None
    for _ in range(200):
        answer: Any = gql(query, {**(variables or {}), "first": first, "after": after}, as_=as_)
        for step in path:
            answer = answer[step]
        assert "edges" in answer, answer
        assert len(answer["edges"]) <= first
        nodes.extend(e["node"] for e in answer["edges"])
        totals.append(answer["totalCount"])
        if not answer["pageInfo"]["hasNextPage"]:
            return nodes, totals
        after = answer["pageInfo"]["endCursor"]
    raise AssertionError("paging does not end")


def counted(
    gql: Gql, query: str, path: list[str], variables: dict[str, Any] | None = None, **kw: Any
) -> list[Any]:
    """The nodes of a connection, having checked that every page gave their number."""
    nodes, totals = walk(gql, query, path, variables, **kw)
    assert set(totals) == {len(nodes)}, (totals, len(nodes))
    return nodes


ITEMS = """query($filter: ItemFilter, $first: Int!, $after: String) {
  items(filter: $filter, first: $first, after: $after) {
    __typename
    ... on ItemConnection { totalCount edges { cursor node { id } }
      pageInfo { hasNextPage endCursor } }
    ... on Problem { message articles } ... on InvalidInput { field } } }"""


def test_items_count_what_each_reader_may_read_with_every_filter(demo_gql: Gql) -> None:
    for reader in ("p-sun-hong", "p-chen-jing", "p-zhao-min"):
        everything = counted(demo_gql, ITEMS, ["items"], {"filter": None}, first=7, as_=reader)
        assert len({i["id"] for i in everything}) == len(everything)
        for chosen in (
            {"organisationId": "org-city"},
            {"status": "CLASSIFIED", "level": "SECRET"},
            {"kind": "DERIVED"},
            {"text": "通知"},
            {"text": "D-COUNTY"},
        ):
            found = counted(demo_gql, ITEMS, ["items"], {"filter": chosen}, as_=reader)
            assert {i["id"] for i in found} <= {i["id"] for i in everything}, chosen
    city = counted(demo_gql, ITEMS, ["items"], {"filter": None}, first=50, as_="p-chen-jing")
    every = counted(demo_gql, ITEMS, ["items"], {"filter": None}, first=50, as_="p-sun-hong")
    assert 0 < len(city) < len(every)


def test_a_bad_cursor_is_invalid_input_on_after(demo_gql: Gql) -> None:
    for query, root in (
        (ITEMS, "items"),
        (NOTICES, "notices"),
        (GRANTS, "grantsToDecide"),
        (REMINDER_GROUPS, "reminderGroups"),
    ):
        variables = {"filter": None, "days": 3650, "first": 5, "after": "not-a-cursor"}
        answer = demo_gql(query, variables, as_="p-sun-hong")[root]
        assert answer["__typename"] == "InvalidInput", (root, answer)
        assert answer["field"] == "after"
        assert answer["articles"] == []
    # A cursor of another list is no cursor here.
    (first,) = demo_gql(ITEMS, {"first": 1, "after": None})["items"]["edges"]
    wrong = demo_gql(NOTICES, {"filter": None, "first": 5, "after": first["cursor"]})
    assert wrong["notices"]["__typename"] == "InvalidInput"


NOTICES = """query($filter: NoticeFilter, $first: Int!, $after: String) {
  notices(filter: $filter, first: $first, after: $after) {
    __typename
    ... on NoticeConnection { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id itemId after { classification { marking } } markingAfter
                     classificationAfter { marking level period { text } } } } }
    ... on Problem { message articles } ... on InvalidInput { field } } }"""
PROPOSALS = """query($first: Int!, $after: String) { proposals(first: $first, after: $after) {
  ... on ProposalConnection { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id } } } } }"""
DUE = """query($first: Int!, $after: String) {
  dueForReview(withinDays: 3650, first: $first, after: $after) {
    ... on ItemConnection { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
  } }"""
TRAIL = """query($filter: AuditFilter, $first: Int!, $after: String) {
  auditTrail(filter: $filter, first: $first, after: $after) {
    ... on AuditEventConnection { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id } } } } }"""
FINDINGS = """query($first: Int!, $after: String) { auditFindings(first: $first, after: $after) {
  ... on AuditFindingConnection { total totalCount pageInfo { hasNextPage endCursor }
    edges { node { itemId } } } } }"""
PROPOSE = """mutation($input: ProposeChangeInput!) { proposeChange(input: $input) {
  __typename ... on Problem { message } } }"""


def test_notices_proposals_due_items_and_the_trail_are_counted(demo_gql: Gql) -> None:
    assert declassify(demo_gql, "S-2024-012")["__typename"] == "ChangeCommitted"
    sent = counted(demo_gql, NOTICES, ["notices"], {"filter": None})
    assert len(sent) >= 6
    for notice in sent:
        # The same name means the same thing: the item's classification as the notice makes it.
        assert notice["classificationAfter"] == (
            None
            if notice["after"]["classification"] is None
            else {**notice["classificationAfter"], **notice["after"]["classification"]}
        )
        if notice["classificationAfter"] is not None:
            assert notice["classificationAfter"]["marking"] == notice["markingAfter"]
    city = counted(
        demo_gql, NOTICES, ["notices"], {"filter": {"organisationId": "org-city"}}, first=1
    )
    assert {n["id"] for n in city} < {n["id"] for n in sent}
    # The city's reader counts the notices to the items it may read, no more.
    seen = counted(demo_gql, NOTICES, ["notices"], {"filter": None}, as_="p-chen-jing")
    assert {n["id"] for n in seen} <= {n["id"] for n in sent}

    for item, person in (("D-CITY-001", "p-chen-jing"), ("D-INST-003", "p-zhou-jie")):
        text = "建议原定密机关审核是否继续保密。"
        fields = {
            "itemId": item,
            "proposerId": person,
            "text": text,
            "organisationId": "org-ministry",
        }
        filed = demo_gql(PROPOSE, {"input": fields})["proposeChange"]
        assert filed["__typename"] == "ProposeChangeSuccess", filed
    assert len(counted(demo_gql, PROPOSALS, ["proposals"], first=1)) >= 2
    assert counted(demo_gql, DUE, ["dueForReview"], first=3)

    trail = counted(demo_gql, TRAIL, ["auditTrail"], {"filter": None}, first=20, as_="auditor")
    assert len(trail) > 10
    denied = {"filter": {"outcome": "DENIED"}}
    counted(demo_gql, TRAIL, ["auditTrail"], denied, first=3, as_="auditor")
    findings, _ = walk(demo_gql, FINDINGS, ["auditFindings"], first=2)
    page = demo_gql(FINDINGS, {"first": 1, "after": None})["auditFindings"]
    assert page["totalCount"] == page["total"] == len(findings)


IMPACT = """query($change: ProposedChangeInput!, $first: Int!, $after: String) {
  impactAnalysis(change: $change) {
    __typename ... on Problem { message }
    ... on ImpactAnalysis {
      total proposed { marking } classificationAfter { marking }
      impacts(first: 500) { id after { marking } }
      entries(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { id redacted classificationAfter { marking } statusAfter } } } } } }"""


def test_the_entries_of_an_analysis_page_as_its_impacts_did(demo_gql: Gql) -> None:
    keypoint = {"itemId": "S-2024-012", "declassify": True, "keypointIds": ["S-2024-012.K1"]}
    for change in (keypoint, {"itemId": "S-2024-012", "declassify": True}):
        for reader in ("p-sun-hong", "p-chen-jing"):
            entries, totals = walk(
                demo_gql,
                IMPACT,
                ["impactAnalysis", "entries"],
                {"change": change},
                as_=reader,
            )
            whole = demo_gql(IMPACT, {"change": change, "first": 1}, as_=reader)
            assert "total" in whole["impactAnalysis"], whole
            analysis = whole["impactAnalysis"]
            # The deprecated `proposed` said what `classificationAfter` says.
            assert analysis["classificationAfter"] == analysis["proposed"]
            assert set(totals) == {analysis["total"]} == {len(entries)}
            assert [e["id"] for e in entries] == [e["id"] for e in analysis["impacts"]]
            # The deprecated `after` said what `classificationAfter` says.
            assert [e["classificationAfter"] for e in entries] == [
                e["after"] for e in analysis["impacts"]
            ]
    assert isinstance(demo_gql, Api)
    bad = demo_gql.post(IMPACT, {"change": keypoint, "first": 1, "after": "x"})
    assert bad["errors"][0]["extensions"]["field"] == "after"


GRANTS = """query($first: Int!, $after: String) { grantsToDecide(first: $first, after: $after) {
  __typename
  ... on GrantConnection { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } }
  ... on Problem { message articles } ... on InvalidInput { field }
  ... on AccessDenied { requirement } } }"""
PENDING = "{ pendingGrants { ... on GrantList { grants { id } } } }"
SUCCESSION = """mutation($from: ID!, $to: ID!) { recordSuccession(organisationId: $from,
  successorId: $to) { ... on GrantRequested { grant { id } } } }"""


def test_the_requests_to_decide_are_a_connection(demo_gql: Gql) -> None:
    for old, new in (("org-county", "org-city"), ("org-institute", "org-province")):
        demo_gql(SUCCESSION, {"from": old, "to": new}, as_="admin")
    listed = demo_gql(PENDING, as_="p-sun-hong")["pendingGrants"]["grants"]
    assert len(listed) == 2
    paged = counted(demo_gql, GRANTS, ["grantsToDecide"], first=1, as_="p-sun-hong")
    assert paged == listed
    refused = demo_gql(GRANTS, {"first": 5, "after": None}, as_="p-zhao-min")["grantsToDecide"]
    assert refused["__typename"] == "AccessDenied"
    assert isinstance(refused["articles"], list)


REMINDERS = """query($days: Int!) { reminders(withinDays: $days) {
  organisationId count items { id } } }"""
REMINDER_GROUPS = """query($days: Int!, $first: Int!, $after: String) {
  reminderGroups(withinDays: $days, first: $first, after: $after) {
    __typename
    ... on ReminderGroupConnection { totalCount pageInfo { hasNextPage endCursor }
      edges { node { organisationId count
        dueItems(first: 500) { totalCount edges { node { id } } } } } }
    ... on Problem { message articles } ... on InvalidInput { field } } }"""
DUE_ITEMS = """query($first: Int!, $after: String) { reminderGroups(withinDays: 3650) {
  ... on ReminderGroupConnection { edges { node { organisationId
    dueItems(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { id } } } } } } } }"""


def test_the_reminder_groups_and_their_items_are_connections(demo_gql: Gql) -> None:
    for reader in ("p-sun-hong", "p-chen-jing"):
        old = demo_gql(REMINDERS, {"days": 3650}, as_=reader)["reminders"]
        groups = counted(
            demo_gql, REMINDER_GROUPS, ["reminderGroups"], {"days": 3650}, first=1, as_=reader
        )
        assert [
            (g["organisationId"], g["count"], [e["node"] for e in g["dueItems"]["edges"]])
            for g in groups
        ] == [(g["organisationId"], g["count"], g["items"]) for g in old]
        assert [g["dueItems"]["totalCount"] for g in groups] == [g["count"] for g in old]
    # The bureau's items, two at a time, in the order the group lists them.
    every = demo_gql(REMINDERS, {"days": 3650}, as_="p-sun-hong")["reminders"]
    bureau = next(g for g in every if g["organisationId"] == "org-bureau")

    def of_bureau(answer: dict[str, Any]) -> dict[str, Any]:
        group: dict[str, Any]
        (group,) = [
            e["node"]["dueItems"]
            for e in answer["reminderGroups"]["edges"]
            if e["node"]["organisationId"] == "org-bureau"
        ]
        return group

    nodes: list[Any] = []
    after = None
    while True:
        page = of_bureau(demo_gql(DUE_ITEMS, {"first": 2, "after": after}, as_="p-sun-hong"))
        assert page["totalCount"] == len(bureau["items"])
        nodes.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert nodes == bureau["items"]
    # Each page is a read in the audit trail, with the items it showed.
    events = demo_gql(LAST_EVENTS, as_="p-sun-hong")["auditTrail"]["edges"]
    last = next(e["node"] for e in events if e["node"]["userId"] == "p-sun-hong")
    assert last["action"] == "query reminderGroups"
    assert set(last["itemIds"]) == {i["id"] for i in nodes[len(nodes) - len(page["edges"]) :]}


LAST_EVENTS = """{ auditTrail(first: 5) { ... on AuditEventConnection {
  edges { node { action userId itemIds } } } } }"""


LINEAGE = """query($id: ID!) { lineage(id: $id) { __typename
  ... on NotFound { message kind articles } } }"""


def test_an_id_the_caller_may_not_read_is_not_found_as_one_that_does_not_exist(
    demo_gql: Gql,
) -> None:
    hidden = demo_gql(LINEAGE, {"id": "D-INST-003"}, as_="p-liu-yang")["lineage"]
    missing = demo_gql(LINEAGE, {"id": "S-NONE"}, as_="p-liu-yang")["lineage"]
    assert hidden["__typename"] == missing["__typename"] == "NotFound"
    assert hidden["articles"] == missing["articles"] == []
    assert hidden["message"].replace("D-INST-003", "?") == missing["message"].replace("S-NONE", "?")
