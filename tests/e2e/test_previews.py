"""Previews of decisions over HTTP on both stores, as a front end sends them (issue 23, point
1): changeImpact, declassifyImpact and applyNoticeImpact take the very input of
changeClassification, declassify and applyNotice; a preview is refused where the commit is,
with the same problem, writes nothing, is recorded as a read, and lists what the commit then
sends (D-12, D-13, X-13, X-14, X-17, X-19)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Gql
from tests.e2e.lifecycle import (
    APPLY,
    CHANGE,
    DECLASSIFY,
    PROBLEM,
    by_item,
    committed,
    deciders,
    declassify,
    derive,
    notice_pages,
    register_source,
    state,
)
from tests.e2e.test_access import trail

ANALYSIS = f"""
    __typename
    ... on ImpactAnalysis {{
      item {{ id version marking }}
      itemAfter {{
        id status marking version
        scope {{ persons organisations }} scopeLimit {{ persons organisations }}
      }}
      proposed {{ marking }} statusAfter declassifiedKeypoints
      keypointsAfter {{ id declassified classification {{ marking }} }}
      total toDeclassify toChange toReview redacted
      impacts {{
        id redacted item {{ id }} actions statusAfter markingAfter path articles keptBases
      }}
    }}
    {PROBLEM}
"""

CHANGE_IMPACT = f"""
query($input: ChangeClassificationInput!) {{ changeImpact(input: $input) {{ {ANALYSIS} }} }}
"""
DECLASSIFY_IMPACT = f"""
query($input: DeclassifyInput!) {{ declassifyImpact(input: $input) {{ {ANALYSIS} }} }}
"""
APPLY_IMPACT = f"""
query($input: ApplyNoticeInput!) {{ applyNoticeImpact(input: $input) {{ {ANALYSIS} }} }}
"""

CHANGE_BASIS = "经审核，变更密点的密级和保密期限（D-13, D-16）。"


def change_input(item_id: str, **fields: Any) -> dict[str, Any]:
    return {"itemId": item_id, **deciders("org-ministry"), "basis": CHANGE_BASIS, **fields}


def declassify_input(item_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "itemId": item_id,
        **deciders("org-ministry"),
        "reason": "CIRCUMSTANCES_CHANGED",
        "basis": "形势、条件发生变化（X-12(二)）。",
        **fields,
    }


def unchanged(gql: Gql) -> tuple[dict[str, Any], dict[str, int]]:
    """Everything a decision writes, and the store's generations (they move with every write
    but the audit trail's)."""
    generations = gql.client.app.state.store.read(lambda tx: tx.generations())  # type: ignore[attr-defined]
    return state(gql), {k: v for k, v in generations.items() if "audit" not in k}


def entries(analysis: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The entries the decider may read, by item; the others are placeholders (D-10)."""
    assert analysis["__typename"] == "ImpactAnalysis", analysis
    assert len(analysis["impacts"]) == analysis["total"]
    shown = [i for i in analysis["impacts"] if not i["redacted"]]
    assert len(shown) == analysis["total"] - analysis["redacted"]
    found = {
        i["id"]: (
            i["actions"],
            i["statusAfter"],
            i["markingAfter"],
            i["path"],
            i["articles"],
            i["keptBases"],
        )
        for i in shown
    }
    assert len(found) == len(shown)
    return found


def as_foreseen(
    analysis: dict[str, Any], notices: list[dict[str, Any]]
) -> dict[str, tuple[Any, ...]]:
    """The notices a commit sent, as its preview showed them to the decider: one entry for
    each, those it may read in full."""
    assert len(notices) == analysis["total"], (len(notices), analysis["total"])
    readable = {i["id"] for i in analysis["impacts"] if not i["redacted"]}
    return {k: v for k, v in sent(notices).items() if k in readable}


def sent(notices: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        n["itemId"]: (
            n["actions"],
            n["statusAfter"],
            n["markingAfter"],
            n["path"],
            n["articles"],
            n["keptBases"],
        )
        for n in by_item(notices).values()
    }


def seen_by_ministry(gql: Gql, **basis: Any) -> str:
    """An item the province derives from S-2024-012 for the ministry to know as well: the
    ministry's official reads its entry in a preview; the demo's own descendants are outside
    its knowledge scope, placeholders to it (D-10)."""
    organisations = ["org-province", "org-ministry", "org-county"]
    made = derive(
        gql,
        organisationId="org-province",
        bases=[{"parentId": "S-2024-012", **basis}],
        scope={"organisations": organisations},
        **deciders("org-province"),
    )
    return str(made["item"]["id"])


def notices_of(gql: Gql, change_id: str) -> list[dict[str, Any]]:
    return [n for page, _ in notice_pages(gql, {"changeId": change_id}, 100) for n in page]


def test_a_keypoint_change_is_previewed_then_committed_as_previewed_d13_d16(
    demo_gql: Gql,
) -> None:
    mine = seen_by_ministry(demo_gql, case="INVOLVES_KEYPOINT", keypointIds=["S-2024-012.K1"])
    wanted = change_input(
        "S-2024-012",
        keypoints=[
            {
                "keypointId": "S-2024-012.K1",
                "level": "CONFIDENTIAL",
                "period": {"kind": "YEARS", "years": 10},
            }
        ],
        decidedOn="2025-06-02",
    )
    before = unchanged(demo_gql)
    preview = demo_gql(CHANGE_IMPACT, {"input": wanted})["changeImpact"]
    assert unchanged(demo_gql) == before, "a preview wrote something"
    foreseen = entries(preview)
    # The source keeps its marking; its keypoint changes, and every item that involves it.
    assert preview["item"]["marking"] == preview["itemAfter"]["marking"] == "机密★20年"
    assert preview["itemAfter"]["version"] == preview["item"]["version"] + 1
    assert preview["keypointsAfter"] == [
        {
            "id": "S-2024-012.K1",
            "declassified": False,
            "classification": {"marking": "秘密★10年"},
        }
    ]
    assert preview["declassifiedKeypoints"] == []
    assert set(foreseen) == {mine}
    assert foreseen[mine][:3] == (["CHANGE_LEVEL", "CHANGE_PERIOD"], "CLASSIFIED", "秘密★10年")
    assert foreseen[mine][3] == ["S-2024-012", mine]
    # The chain below the province's opinion follows too, as placeholders to the ministry.
    assert preview["redacted"] >= 6
    assert preview["toChange"] == 1

    # The same input, committed, sends exactly what was previewed.
    result = committed(demo_gql(CHANGE, {"input": wanted})["changeClassification"])
    assert result["change"]["kind"] == "KEYPOINT_CHANGE"
    assert result["change"]["keypointsAfter"] == [
        {"id": "S-2024-012.K1", "declassified": False, "classification": {"marking": "秘密★10年"}}
    ]
    assert as_foreseen(preview, notices_of(demo_gql, result["change"]["id"])) == foreseen

    # The preview was recorded as a read of the source by its decider.
    [event] = [
        e
        for e in trail(demo_gql, itemId="S-2024-012")  # type: ignore[arg-type]
        if e["action"] == "query changeImpact"
    ]
    assert (event["outcome"], event["personId"]) == ("OK", "p-li-qiang")


def test_a_scope_limit_change_is_previewed_then_committed_as_previewed_d10_d13(
    demo_gql: Gql,
) -> None:
    mine = seen_by_ministry(demo_gql, case="SUMMARY")
    limit = {"organisations": ["org-ministry", "org-province", "org-city", "org-institute"]}
    wanted = change_input("S-2024-012", scopeLimit=limit)
    before = unchanged(demo_gql)
    preview = demo_gql(CHANGE_IMPACT, {"input": wanted})["changeImpact"]
    assert unchanged(demo_gql) == before, "a preview wrote something"
    foreseen = entries(preview)
    assert preview["itemAfter"]["scopeLimit"] == {
        "persons": [],
        "organisations": sorted(limit["organisations"]),
    }
    # The county is outside the new limit: the item the county knows of narrows (D-10).
    assert foreseen[mine][0] == ["CHANGE_SCOPE"]
    assert preview["proposed"]["marking"] == "机密★20年"

    result = committed(demo_gql(CHANGE, {"input": wanted})["changeClassification"])
    assert as_foreseen(preview, notices_of(demo_gql, result["change"]["id"])) == foreseen


def test_a_partial_declassification_is_previewed_with_the_declassify_input_x14(
    demo_gql: Gql,
) -> None:
    mine = seen_by_ministry(demo_gql, case="INVOLVES_KEYPOINT", keypointIds=["S-2024-012.K1"])
    wanted = declassify_input("S-2024-012", keypointIds=["S-2024-012.K1"])
    preview = demo_gql(DECLASSIFY_IMPACT, {"input": wanted})["declassifyImpact"]
    foreseen = entries(preview)
    assert preview["declassifiedKeypoints"] == ["S-2024-012.K1"]
    assert preview["statusAfter"] == "CLASSIFIED"
    assert foreseen[mine][:2] == (["DECLASSIFY"], "DECLASSIFIED_WORK_SECRET")
    assert "X-14" in foreseen[mine][4]
    result = committed(demo_gql(DECLASSIFY, {"input": wanted})["declassify"])
    assert as_foreseen(preview, notices_of(demo_gql, result["change"]["id"])) == foreseen


def test_a_preview_is_refused_where_the_commit_is_with_the_same_problem(demo_gql: Gql) -> None:
    before = unchanged(demo_gql)
    changes = [
        # A level-only item kept classified needs a period.
        change_input("S-2022-015", level="SECRET"),
        # The province may not decide on the ministry's source.
        change_input("S-2024-012", level="TOP_SECRET", **deciders("org-province")),
        # The handler drafts and another, the official, decides (D-11).
        change_input("S-2024-012", level="TOP_SECRET", handlerId="p-li-qiang"),
        change_input("S-2024-012", level="TOP_SECRET", basis="  "),
        change_input("S-2024-012", level="TOP_SECRET", decidedOn="2099-01-01"),
        change_input("S-2024-012", level="TOP_SECRET", expectedVersion=99),
        change_input("NOPE", level="TOP_SECRET"),
        # A derived item follows its sources (D-12).
        change_input("D-PROV-001", level="TOP_SECRET", **deciders("org-province")),
        change_input("S-2024-012", keypoints=[{"keypointId": "S-2023-007.K1", "level": "SECRET"}]),
    ]
    kinds = set()
    for wanted in changes:
        preview = demo_gql(CHANGE_IMPACT, {"input": wanted})["changeImpact"]
        commit = demo_gql(CHANGE, {"input": wanted})["changeClassification"]
        assert preview["__typename"] != "ImpactAnalysis", (wanted, preview)
        assert preview == commit, wanted
        kinds.add((preview["__typename"], preview.get("rule"), preview.get("field")))
    declassifications = [
        declassify_input("S-2023-007"),  # long-term: the central authority approves
        declassify_input("S-2024-012", reason="PERIOD_EXPIRED"),  # not ended
        declassify_input("S-2024-012", **deciders("org-city")),
    ]
    for wanted in declassifications:
        preview = demo_gql(DECLASSIFY_IMPACT, {"input": wanted})["declassifyImpact"]
        commit = demo_gql(DECLASSIFY, {"input": wanted})["declassify"]
        assert preview["__typename"] != "ImpactAnalysis", (wanted, preview)
        assert preview == commit, wanted
        kinds.add((preview["__typename"], preview.get("rule"), preview.get("field")))
    assert unchanged(demo_gql) == before
    assert {
        ("RuleViolation", "LEVEL_ONLY_REVIEW", None),
        ("RuleViolation", "DECIDING_ORGANISATION", None),
        ("RuleViolation", "SEPARATE_DECIDER", None),
        ("RuleViolation", "DERIVED_FOLLOWS_SOURCE", None),
        ("RuleViolation", "LONG_TERM_APPROVAL", None),
        ("RuleViolation", "PERIOD_NOT_ENDED", None),
        ("InvalidInput", None, "basis"),
        ("InvalidInput", None, "effectiveOn"),
        ("InvalidInput", None, "keypointIds"),
        ("Conflict", None, None),
        ("NotFound", None, None),
    } <= kinds
    # A refused preview is recorded as refused, with its rule.
    refusals = [
        e
        for e in trail(demo_gql, itemId="S-2022-015")  # type: ignore[arg-type]
        if e["action"] == "query changeImpact"
    ]
    assert [(e["outcome"], e["detail"]) for e in refusals] == [("REFUSED", "LEVEL_ONLY_REVIEW")]


def test_applying_a_notice_is_previewed_with_what_it_passes_on_d13(demo_gql: Gql) -> None:
    declassified = committed(declassify(demo_gql, "S-2024-012"))
    [notice] = [n for n in declassified["notices"] if n["itemId"] == "D-PROV-001"]
    # Derived from the province's item after the decision: the fan-out could not reach it.
    later = derive(
        demo_gql,
        organisationId="org-province",
        bases=[{"parentId": "D-PROV-001", "case": "SUMMARY"}],
        scope={"organisations": ["org-province"]},
        **deciders("org-province"),
    )["item"]["id"]
    wanted = {"noticeId": notice["id"], **deciders("org-province")}

    before = unchanged(demo_gql)
    preview = demo_gql(APPLY_IMPACT, {"input": wanted})["applyNoticeImpact"]
    assert unchanged(demo_gql) == before, "a preview wrote something"
    assert preview["item"]["id"] == preview["itemAfter"]["id"] == "D-PROV-001"
    assert preview["itemAfter"]["status"] == preview["statusAfter"] == "DECLASSIFIED_WORK_SECRET"
    foreseen = entries(preview)
    assert set(foreseen) == {later}
    assert foreseen[later][0] == ["DECLASSIFY"]
    assert foreseen[later][3] == ["S-2024-012", "D-PROV-001", later]

    # Another organisation's official may not apply it (D-12, D-13): the same answer.
    other = {"noticeId": notice["id"], **deciders("org-city")}
    refused = demo_gql(APPLY_IMPACT, {"input": other})["applyNoticeImpact"]
    assert refused == demo_gql(APPLY, {"input": other})["applyNotice"]
    assert refused["__typename"] == "RuleViolation", refused
    assert unchanged(demo_gql) == before

    applied = demo_gql(APPLY, {"input": wanted})["applyNotice"]
    assert applied["__typename"] == "ApplyNoticeSuccess", applied
    assert applied["item"]["status"] == preview["itemAfter"]["status"]
    passed = [n for n in notices_of(demo_gql, declassified["change"]["id"]) if n["itemId"] == later]
    assert sent(passed) == foreseen


def test_an_extension_beyond_the_scope_rule_needs_its_approval_in_the_preview_too_x19(
    demo_gql: Gql,
) -> None:
    # Classified under SR-ENG-3 (机密, at most 15 years): 18 years goes beyond it, within the
    # statutory 20.
    source = register_source(demo_gql, scopeRuleIds=["SR-ENG-3"])
    longer = change_input(source, period={"kind": "YEARS", "years": 18})
    before = unchanged(demo_gql)
    preview = demo_gql(CHANGE_IMPACT, {"input": longer})["changeImpact"]
    assert preview["__typename"] == "RuleViolation", preview
    assert (preview["rule"], preview["articles"]) == ("EXTENSION_APPROVAL", ["X-19"])
    assert preview == demo_gql(CHANGE, {"input": longer})["changeClassification"]
    assert unchanged(demo_gql) == before

    approved = {**longer, "approvalReference": "某部批〔2025〕7号"}
    preview = demo_gql(CHANGE_IMPACT, {"input": approved})["changeImpact"]
    assert preview["__typename"] == "ImpactAnalysis", preview
    assert preview["itemAfter"]["marking"] == preview["proposed"]["marking"] == "机密★18年"
    assert preview["total"] == 0
    result = committed(demo_gql(CHANGE, {"input": approved})["changeClassification"])
    assert "X-19" in result["change"]["articles"]
    assert result["change"]["after"]["marking"] == "机密★18年"
