"""Changes and declassifications of sources over HTTP on both stores, as a security office
sends them: the committed fan-out is exactly the dry run (D-12, X-13), partial declassification
(X-14), changes of level and period (D-13), and every guard (D-12, X-7..X-9, X-15, X-16, X-19)
refusing with its article and writing nothing."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.e2e.conftest import APPROVE, Gql, second_supervisor
from tests.e2e.lifecycle import (
    DECLASSIFY,
    IMPACT,
    by_item,
    change,
    committed,
    deciders,
    declassify,
    derive,
    item,
    notice,
    notice_pages,
    refused,
    register_source,
    state,
)

CHAIN = {"D-PROV-001", "D-CITY-001", "D-COUNTY-001", "D-COUNTY-002", "D-COUNTY-003", "D-COUNTY-004"}
SOURCE_TITLE = "关于某重点工程建设总体方案的通知"
DECIDED = "2025-06-02"


def dry_run(gql: Gql, proposed: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    report = gql(IMPACT, {"change": proposed})["impactAnalysis"]
    assert report["__typename"] == "ImpactAnalysis", report
    return {
        i["item"]["id"]: (
            i["actions"],
            i["markingAfter"],
            i["statusAfter"],
            i["path"],
            i["articles"],
            i["keptBases"],
        )
        for i in report["impacts"]
    }


def as_impacts(notices: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        n["itemId"]: (
            n["actions"],
            n["markingAfter"],
            n["statusAfter"],
            n["path"],
            n["articles"],
            n["keptBases"],
        )
        for n in by_item(notices).values()
    }


def test_declassifying_a_source_commits_exactly_the_dry_run_x13_x17(demo_gql: Gql) -> None:
    expected = dry_run(demo_gql, {"itemId": "S-2024-012", "declassify": True})
    assert set(expected) == {*CHAIN, "D-PROV-001-DRAFT"}

    result = committed(declassify(demo_gql, "S-2024-012", decidedOn=DECIDED))
    notices = result["notices"]
    assert len(notices) == len(expected)
    assert as_impacts(notices) == expected
    # A descendant that keeps the 绝密 keypoint of S-2023-007 is not declassified (D-12, X-13).
    assert not {"D-INST-001", "D-INST-002"} & {n["itemId"] for n in notices}

    # The change and its record: the handler drafted, the official decided.
    done = result["change"]
    assert done["kind"] == "DECLASSIFICATION"
    assert done["reason"] == "CIRCUMSTANCES_CHANGED"
    assert (done["handlerId"], done["officialId"]) == ("p-zhang-wei", "p-li-qiang")
    assert (done["decidedOn"], done["effectiveOn"]) == (DECIDED, DECIDED)
    assert {"X-7", "X-12", "X-17", "X-25"} <= set(done["articles"])
    assert done["before"] == {"status": "CLASSIFIED", "marking": "机密★20年"}
    assert done["after"]["status"] == "DECLASSIFIED_WORK_SECRET"
    assert done["after"]["marking"] == "机密★20年"  # the old marking stays visible
    assert result["record"]["id"] == done["recordId"]
    assert result["superseded"] == []
    assert demo_gql(
        "query($id: ID!) { change(id: $id) { id kind effectiveOn recordId } }", {"id": done["id"]}
    )["change"] == {
        "id": done["id"],
        "kind": "DECLASSIFICATION",
        "effectiveOn": DECIDED,
        "recordId": done["recordId"],
    }

    source = item(demo_gql, "S-2024-012")
    assert source["status"] == "DECLASSIFIED_WORK_SECRET"
    last = source["records"][-1]
    assert last["id"] == done["recordId"]
    assert (last["kind"], last["effectiveOn"], last["status"]) == (
        "DECLASSIFICATION",
        DECIDED,
        "DECLASSIFIED_WORK_SECRET",
    )
    assert item(demo_gql, "S-2024-012", "2025-06-01")["status"] == "CLASSIFIED"
    assert item(demo_gql, "S-2024-012", DECIDED)["status"] == "DECLASSIFIED_WORK_SECRET"
    # The notices only ask: the descendants stay as they are until their holders act.
    assert item(demo_gql, "D-PROV-001")["status"] == "CLASSIFIED"

    # Each notice tells its holder in Chinese what, why, along which path, by when (X-17(三)).
    for sent in notices:
        assert sent["status"] == "PENDING"
        assert sent["changeId"] == done["id"]
        assert sent["sourceId"] == "S-2024-012"
        assert sent["dueOn"] == "2025-07-02"  # thirty days after it took effect
        text = sent["text"]
        assert f"「{SOURCE_TITLE}」（S-2024-012）已于2025年6月2日解密" in text
        assert f"（{sent['itemId']}，现标志 {sent['markingBefore']}）" in text
        assert "派生路径：" + " → ".join(sent["path"]) in text
        assert "依据：" + "、".join(sent["articles"]) in text
        assert "请于2025年7月2日前处理" in text
        assert notice(demo_gql, sent["id"]) == sent
    found = by_item(notices)
    assert found["D-PROV-001"]["organisationId"] == "org-province"
    assert found["D-COUNTY-004"]["organisationId"] == "org-county"
    assert found["D-PROV-001-DRAFT"]["actions"] == ["REVIEW"]
    assert "须解密" in found["D-CITY-001"]["text"]

    # Each holder lists its own notices, page by page, none twice and none missing.
    for organisation, pages_expected in (
        ("org-county", [2, 2]),
        ("org-province", [2]),
        ("org-city", [1]),
        ("org-institute", [0]),
    ):
        pages = notice_pages(demo_gql, {"organisationId": organisation}, first=2)
        assert [len(nodes) for nodes, _ in pages] == pages_expected
        assert [more for _, more in pages] == [True] * (len(pages) - 1) + [False]
        listed = [n for nodes, _ in pages for n in nodes]
        assert sorted(n["id"] for n in listed) == sorted(
            n["id"] for n in notices if n["organisationId"] == organisation
        )
        assert listed == [notice(demo_gql, n["id"]) for n in listed]
    by_change = notice_pages(demo_gql, {"changeId": done["id"]}, first=3)
    assert sorted(n["id"] for nodes, _ in by_change for n in nodes) == sorted(
        n["id"] for n in notices
    )
    assert notice_pages(demo_gql, {"sourceId": "S-2023-007"}, first=3) == [([], False)]
    paging = "query($first: Int!, $after: String) { notices(first: $first, after: $after) { "
    paging += "__typename ... on InvalidInput { field } } }"
    for first, after in ((0, None), (501, None), (2, "not-a-cursor")):
        bad = demo_gql(paging, {"first": first, "after": after})["notices"]
        assert bad["__typename"] == "InvalidInput", (first, after, bad)


def test_partial_declassification_reaches_only_what_involves_the_keypoint_x14(
    demo_gql: Gql,
) -> None:
    base = {"parentId": "S-2024-012", "case": "INVOLVES_KEYPOINT"}
    k2 = derive(demo_gql, bases=[{**base, "keypointIds": ["S-2024-012.K2"]}])["item"]["id"]
    k12 = derive(demo_gql, bases=[{**base, "keypointIds": ["S-2024-012.K1", "S-2024-012.K2"]}])[
        "item"
    ]["id"]
    proposed = {"itemId": "S-2024-012", "declassify": True, "keypointIds": ["S-2024-012.K2"]}
    expected = dry_run(demo_gql, proposed)

    result = committed(
        declassify(demo_gql, "S-2024-012", keypointIds=["S-2024-012.K2"], decidedOn=DECIDED)
    )
    assert as_impacts(result["notices"]) == expected
    # Only the item that takes nothing else from the source follows; k12 keeps K1 (机密).
    assert set(expected) == {k2}
    sent = result["notices"][0]
    assert sent["actions"] == ["DECLASSIFY"]
    assert sent["statusAfter"] == "DECLASSIFIED_WORK_SECRET"
    assert "X-14" in sent["articles"]
    assert result["change"]["kind"] == "PARTIAL_DECLASSIFICATION"
    assert "X-14" in result["change"]["articles"]
    assert result["change"]["after"]["status"] == "CLASSIFIED"
    assert result["change"]["keypointsAfter"] == [
        {"id": "S-2024-012.K2", "declassified": True, "classification": {"marking": "秘密★10年"}}
    ]
    source = item(demo_gql, "S-2024-012")
    assert source["status"] == "CLASSIFIED"
    assert {k["id"]: k["declassified"] for k in source["keypoints"]} == {
        "S-2024-012.K1": False,
        "S-2024-012.K2": True,
    }
    for untouched in (*CHAIN, k12):
        assert notice_pages(demo_gql, {"itemId": untouched}, first=5) == [([], False)]

    # Declassifying K1 too leaves nothing classified that came from the source through keypoints.
    second = committed(declassify(demo_gql, "S-2024-012", keypointIds=["S-2024-012.K1"]))
    found = by_item(second["notices"])
    assert CHAIN | {k12} <= set(found)
    for item_id in CHAIN | {k12}:
        assert found[item_id]["actions"] == ["DECLASSIFY"], found[item_id]
    for item_id in ("D-PROV-001", k12):  # they involve the keypoint itself
        assert "X-14" in found[item_id]["articles"], found[item_id]
    assert "X-13" in found["D-CITY-001"]["articles"]  # its basis D-PROV-001 goes
    assert "D-INST-001" not in found  # keeps S-2023-007.K1 (绝密★长期)


def test_a_change_of_level_or_period_sends_change_notices_d13(demo_gql: Gql) -> None:
    level = committed(change(demo_gql, "S-2024-020", level="CONFIDENTIAL"))
    assert level["change"]["kind"] == "CHANGE"
    assert level["change"]["after"]["marking"] == "秘密★项目通过国家验收后解密"
    assert "D-13" in level["change"]["articles"]
    assert level["record"]["kind"] == "CHANGE"
    assert item(demo_gql, "S-2024-020")["marking"] == "秘密★项目通过国家验收后解密"
    [sent] = level["notices"]
    assert sent["itemId"] == "D-INST-003"
    assert sent["actions"] == ["CHANGE_LEVEL"]
    assert (sent["markingBefore"], sent["markingAfter"]) == (
        "机密★项目通过国家验收后解密",
        "秘密★项目通过国家验收后解密",
    )
    assert sent["statusAfter"] == "CLASSIFIED"
    assert sent["keptBases"] == ["S-2024-020"]
    assert "须变更密级" in sent["text"]
    assert "不予解密" in sent["text"]

    # The institute follows; then a new period alone asks only for the period.
    applied = demo_gql(
        "mutation($input: ApplyNoticeInput!) { applyNotice(input: $input) { __typename } }",
        {"input": {"noticeId": sent["id"], **deciders("org-institute")}},
    )
    assert applied["applyNotice"]["__typename"] == "ApplyNoticeSuccess"
    period = committed(change(demo_gql, "S-2024-020", period={"kind": "YEARS", "years": 10}))
    [sent] = period["notices"]
    assert sent["itemId"] == "D-INST-003"
    assert sent["actions"] == ["CHANGE_PERIOD"]
    assert (sent["markingBefore"], sent["markingAfter"]) == (
        "秘密★项目通过国家验收后解密",
        "秘密★10年",
    )

    # A keypoint changed (D-16): every item involving it changes level and period.
    keypoint = committed(
        change(
            demo_gql,
            "S-2024-012",
            keypoints=[
                {
                    "keypointId": "S-2024-012.K1",
                    "level": "CONFIDENTIAL",
                    "period": {"kind": "YEARS", "years": 10},
                }
            ],
        )
    )
    assert keypoint["change"]["kind"] == "KEYPOINT_CHANGE"
    found = by_item(keypoint["notices"])
    for item_id in CHAIN:
        assert found[item_id]["actions"] == ["CHANGE_LEVEL", "CHANGE_PERIOD"], found[item_id]
        assert found[item_id]["markingAfter"] == "秘密★10年"
        assert found[item_id]["statusAfter"] == "CLASSIFIED"


def test_a_descendant_with_another_classified_basis_is_never_declassified(
    demo_gql: Gql,
) -> None:
    expected = dry_run(demo_gql, {"itemId": "S-2023-007", "declassify": True})
    result = committed(declassify(demo_gql, "S-2023-007", approvalReference="某委批〔2025〕3号"))
    assert as_impacts(result["notices"]) == expected
    found = by_item(result["notices"])
    assert set(found) == {"D-INST-001", "D-INST-002"}
    for sent in found.values():
        assert sent["actions"] == ["CHANGE_LEVEL", "CHANGE_PERIOD"]
        assert sent["statusAfter"] == "CLASSIFIED"
        assert sent["markingAfter"] == "机密★20年"  # what S-2024-012.K1 requires
        assert sent["keptBases"]
        assert "不予解密" in sent["text"]
    assert found["D-INST-001"]["keptBases"] == ["D-PROV-001"]
    assert set(found["D-INST-002"]["keptBases"]) >= {"D-CITY-001"}


def test_guards_of_who_decides_refuse_and_write_nothing_d12_x7_d11(
    demo_gql: Gql, demo_client: TestClient
) -> None:
    before = state(demo_gql)
    # The holders of derived items, who may read them, still only propose (D-12).
    province_item = declassify(demo_gql, "D-PROV-001", **deciders("org-province"))
    refused(province_item, "DERIVED_FOLLOWS_SOURCE", "D-12")
    city_item = change(demo_gql, "D-CITY-001", **deciders("org-city"), level="CONFIDENTIAL")
    refused(city_item, "DERIVED_FOLLOWS_SOURCE", "D-12")
    # The ministry may not even read them (D-10): refused as if they were not there.
    hidden = declassify(demo_gql, "D-PROV-001")
    assert hidden["__typename"] == "NotFound", hidden
    assert "不在您的知悉范围内" in hidden["message"]
    province = declassify(demo_gql, "S-2024-012", **deciders("org-province"))
    refused(province, "DECIDING_ORGANISATION", "X-7")
    assert "国家某部" in province["message"]  # who decides instead
    refused(
        change(demo_gql, "S-2024-012", **deciders("org-city"), level="TOP_SECRET"),
        "DECIDING_ORGANISATION",
        "X-7",
    )
    same = declassify(demo_gql, "S-2024-012", handlerId="p-li-qiang", officialId="p-li-qiang")
    refused(same, "SEPARATE_DECIDER", "D-11")
    foreign_handler = declassify(demo_gql, "S-2024-012", handlerId="p-wang-fang")
    refused(foreign_handler, "DECIDER_ORGANISATION", "D-6")
    # A request naming someone else as its official is sent by the tester, who is none.
    unknown = declassify(demo_gql, "S-2024-012", officialId="p-nobody")
    assert unknown["__typename"] == "AccessDenied", unknown
    assert state(demo_gql) == before

    # Without a reason the request does not even reach the service.
    no_reason = {"itemId": "S-2024-012", **deciders("org-ministry"), "basis": "形势变化"}
    response = demo_client.post(
        "/graphql", json={"query": DECLASSIFY, "variables": {"input": no_reason}}
    )
    assert response.status_code == 200
    assert "reason" in response.json()["errors"][0]["message"]
    for overrides, field in (
        ({"basis": "  "}, "basis"),
        ({"effectiveOn": "2099-01-01"}, "effectiveOn"),
        ({"decidedOn": "2099-01-01"}, "effectiveOn"),
        ({"decidedOn": DECIDED, "effectiveOn": "2025-01-01"}, "effectiveOn"),
        (  # before the source was issued
            {"effectiveOn": "2024-01-01", "reason": "PUBLICATION_REQUIRED", "dueOn": "2099-01-01"},
            "effectiveOn",
        ),
    ):
        result = declassify(demo_gql, "S-2024-012", **overrides)
        assert result["__typename"] == "InvalidInput", (overrides, result)
        assert result["field"] == field, (overrides, result)
    early = declassify(demo_gql, "S-2024-012", reason="PERIOD_EXPIRED")
    refused(early, "PERIOD_NOT_ENDED", "X-11")
    refused(
        change(demo_gql, "S-2024-020", level="CONFIDENTIAL", handlerId="p-li-qiang"),
        "SEPARATE_DECIDER",
        "D-11",
    )
    assert state(demo_gql) == before


def test_guards_of_long_term_process_and_joint_items_x15_x16_x8(demo_gql: Gql) -> None:
    before = state(demo_gql)
    long_term = declassify(demo_gql, "S-2023-007")
    refused(long_term, "LONG_TERM_APPROVAL", "X-15")
    assert "approvalReference" in long_term["message"]
    assert state(demo_gql) == before
    approved = committed(declassify(demo_gql, "S-2023-007", approvalReference="某委批〔2025〕3号"))
    assert approved["change"]["approvalReference"] == "某委批〔2025〕3号"
    assert "X-15" in approved["change"]["articles"]
    assert item(demo_gql, "S-2023-007")["status"] == "DECLASSIFIED_WORK_SECRET"

    # A draft of S-2024-012 may not be declassified while S-2024-012 stands.
    draft_id = register_source(demo_gql, processItemOf="S-2024-012")
    before = state(demo_gql)
    refused(declassify(demo_gql, draft_id), "PROCESS_ITEM_FIRST", "X-16")
    assert state(demo_gql) == before
    draft = committed(
        declassify(
            demo_gql,
            draft_id,
            processItemJustification="征求意见稿内容已全部公开，解密不影响原事项保密。",
        )
    )
    assert "X-16" in draft["change"]["articles"]
    # Its reasons are kept with the decision, for its written record and review form.
    assert draft["change"]["basis"].endswith(
        "（过程稿先于主事项解密的理由：征求意见稿内容已全部公开，解密不影响原事项保密，X-16）"
    )
    assert item(demo_gql, draft_id)["status"] == "DECLASSIFIED_WORK_SECRET"
    assert item(demo_gql, "S-2024-012")["status"] == "CLASSIFIED"

    # A joint classification: the lead declassifies after consulting the others.
    joint_id = register_source(demo_gql, jointOrganisationIds=["org-province"])
    before = state(demo_gql)
    joint = declassify(demo_gql, joint_id)
    refused(joint, "JOINT_CONSULTATION", "X-8")
    assert "org-province" in joint["message"]
    partner = declassify(
        demo_gql, joint_id, **deciders("org-province"), consultedOrganisationIds=["org-ministry"]
    )
    refused(partner, "DECIDING_ORGANISATION", "X-8")
    assert state(demo_gql) == before
    consulted = committed(declassify(demo_gql, joint_id, consultedOrganisationIds=["org-province"]))
    assert consulted["change"]["consultedOrganisationIds"] == ["org-province"]
    assert "X-8" in consulted["change"]["articles"]
    assert item(demo_gql, joint_id)["status"] == "DECLASSIFIED_WORK_SECRET"


def test_a_level_only_item_kept_classified_needs_a_period_from_the_decision_x19(
    demo_gql: Gql,
) -> None:
    before = state(demo_gql)
    refused(change(demo_gql, "S-2022-015", level="SECRET"), "LEVEL_ONLY_REVIEW", "X-19")
    assert state(demo_gql) == before
    kept = committed(
        change(
            demo_gql,
            "S-2022-015",
            level="SECRET",
            period={"kind": "YEARS", "years": 5},
            decidedOn=DECIDED,
        )
    )
    after = kept["change"]["after"]
    assert after["marking"] == "机密★5年"
    assert after["classification"]["period"] == {"kind": "YEARS", "years": 5, "start": DECIDED}
    assert item(demo_gql, "S-2022-015")["expiry"] == "2030-06-02"
    [sent] = kept["notices"]
    assert sent["itemId"] == "D-CITY-002"
    assert sent["actions"] == ["CHANGE_LEVEL", "CHANGE_PERIOD"]
    assert sent["markingAfter"] == "机密★5年"


WORLD = """
mutation {
  a: registerOrganisation(input: {id: "org-a", name: "甲部", authority: TOP_SECRET}) {
    __typename
  }
  b: registerOrganisation(input: {id: "org-b", name: "乙局", superiorId: "org-a"}) {
    __typename
    ... on RegisterOrganisationSuccess { organisation { superiorId } grant { id status } }
  }
  c: registerOrganisation(input: {id: "org-c", name: "丙厅"}) { __typename }
  n: registerOrganisation(input: {id: "org-n", name: "丁委"}) { __typename }
  ha: registerPerson(input: {id: "h-a", name: "承办甲", organisationId: "org-a"}) { __typename }
  oa: registerPerson(input: {id: "o-a", name: "责任甲", organisationId: "org-a"}) { __typename }
  hb: registerPerson(input: {id: "h-b", name: "承办乙", organisationId: "org-b"}) { __typename }
  ob: registerPerson(input: {id: "o-b", name: "责任乙", organisationId: "org-b"}) { __typename }
  hc: registerPerson(input: {id: "h-c", name: "承办丙", organisationId: "org-c"}) { __typename }
  oc: registerPerson(input: {id: "o-c", name: "责任丙", organisationId: "org-c"}) { __typename }
  hn: registerPerson(input: {id: "h-n", name: "承办丁", organisationId: "org-n"}) { __typename }
  on: registerPerson(input: {id: "o-n", name: "责任丁", organisationId: "org-n"}) { __typename }
}
"""


def by(organisation: str) -> dict[str, str]:
    letter = organisation.removeprefix("org-")
    return {"handlerId": f"h-{letter}", "officialId": f"o-{letter}"}


def own_source(gql: Gql, organisation: str) -> str:
    return register_source(
        gql,
        organisationId=organisation,
        # Every organisation of the world may read it: what is tested is who decides.
        scope={"organisations": ["org-a", "org-b", "org-c", "org-n"]},
        **by(organisation),
    )


def test_a_superior_and_a_successor_may_decide_x7_x9(gql: Gql) -> None:
    world = gql(WORLD)
    assert {v["__typename"] for v in world.values()} == {
        "RegisterOrganisationSuccess",
        "RegisterPersonSuccess",
    }
    s_a = own_source(gql, "org-a")
    s_b = own_source(gql, "org-b")
    s_c = own_source(gql, "org-c")
    # The superior is requested, not linked: until a second person approves it, the superior
    # decides nothing of its subordinate's, and its supervisors read nothing of it.
    assert world["b"]["organisation"] == {"superiorId": None}
    assert world["b"]["grant"]["status"] == "PENDING"
    before = state(gql)
    refused(declassify(gql, s_b, **by("org-a")), "DECIDING_ORGANISATION", "X-9")
    assert state(gql) == before
    approver = second_supervisor(gql)
    # The tester filed it, and so may not approve it.
    own = gql(APPROVE, {"id": world["b"]["grant"]["id"]})["approveGrant"]
    assert (own["__typename"], own["requirement"]) == ("AccessDenied", "SECOND_PERSON")
    approved = gql(APPROVE, {"id": world["b"]["grant"]["id"]}, as_=approver)["approveGrant"]
    assert approved["grant"]["status"] == "APPROVED", approved
    before = state(gql)
    refused(declassify(gql, s_b, **by("org-c")), "DECIDING_ORGANISATION", "X-9")
    # A subordinate does not decide on what its superior classified (X-9 ¶1: it proposes).
    refused(declassify(gql, s_a, **by("org-b")), "DECIDING_ORGANISATION", "X-7")
    assert state(gql) == before
    superior = committed(declassify(gql, s_b, **by("org-a")))
    assert "X-9" in superior["change"]["articles"]
    assert "上级机关" in superior["change"]["summary"]
    assert item(gql, s_b)["status"] == "DECLASSIFIED_WORK_SECRET"

    merged = gql(
        'mutation { recordSuccession(organisationId: "org-c", successorId: "org-n") { '
        "__typename ... on GrantRequested { grant { id status organisationId targetId } } } }"
    )["recordSuccession"]
    assert merged["grant"]["status"] == "PENDING"
    assert (merged["grant"]["organisationId"], merged["grant"]["targetId"]) == ("org-c", "org-n")
    # Not yet in force: the old organisation still decides, the successor not.
    before = state(gql)
    refused(declassify(gql, s_c, **by("org-n")), "DECIDING_ORGANISATION", "X-7")
    assert state(gql) == before
    approved = gql(APPROVE, {"id": merged["grant"]["id"]}, as_=approver)["approveGrant"]
    assert approved["grant"]["status"] == "APPROVED", approved
    organisation = '{ organisation(id: "org-c") { successorId } }'
    assert gql(organisation)["organisation"] == {"successorId": "org-n"}
    before = state(gql)
    old = declassify(gql, s_c, **by("org-c"))
    refused(old, "DECIDING_ORGANISATION", "X-7")
    assert "丁委" in old["message"]
    assert state(gql) == before
    successor = committed(declassify(gql, s_c, **by("org-n")))
    assert "X-7" in successor["change"]["articles"]
    assert "承继" in successor["change"]["summary"]
    assert item(gql, s_c)["status"] == "DECLASSIFIED_WORK_SECRET"
    # Declassified once is declassified: a second time has nothing left to decide.
    again = declassify(gql, s_c, **by("org-n"))
    assert again["__typename"] == "InvalidInput", again
