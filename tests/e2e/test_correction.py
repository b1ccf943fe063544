"""Corrections of the lineage over HTTP on both stores (issue 23, point 5), as a holder's
handler and official send them: a basis added or removed with its reason (D-11, D-13); the
item recomputed from all of its bases, unchanged where its classification still holds, else
changed with notices to its descendants by the one fan-out of changeClassification (D-12,
X-13); a proposal that keeps a classification its bases no longer allow refused (D-8); the
last basis kept (D-14); a cycle refused with its path, redacted (D-3, D-10); and an item the
caller may not read answered as one that does not exist (D-10). Every refusal writes nothing."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Gql
from tests.e2e.lifecycle import (
    PROBLEM,
    deciders,
    declassify,
    derive,
    item,
    refused,
    register_source,
    state,
)

CORRECTED = f"""
    __typename
    ... on BasisCorrected {{
      item {{ id marking version }}
      classificationChanged
      record {{ id kind handlerId officialId status articles reasoning summary
               bases {{ kind refId }} }}
      explanation {{ summary }}
      change {{
        change {{ id kind itemId basis before {{ marking }} after {{ marking }} recordId }}
        notices {{ itemId sourceId path actions markingBefore markingAfter text }}
        noticeCount
      }}
    }}
    ... on LineageCycle {{ message rule articles path }}
    {PROBLEM}
"""
ADD = f"mutation($input: AddBasisInput!) {{ addBasis(input: $input) {{ {CORRECTED} }} }}"
REMOVE = f"mutation($input: RemoveBasisInput!) {{ removeBasis(input: $input) {{ {CORRECTED} }} }}"
UPSTREAM = """
query($id: ID!) {
  lineage(id: $id, direction: UPSTREAM) {
    ... on Lineage { edges { childId parentId case keypointIds } }
  }
}"""
NOTICES_OF = """
query($id: ID!) {
  notices(filter: {sourceId: $id}) {
    ... on NoticeConnection { edges { node { itemId status } } }
  }
}"""
TRAIL = """
query($id: ID!) {
  auditTrail(filter: {itemId: $id}) {
    ... on AuditEventConnection { edges { node { action outcome userId detail askedIds } } }
  }
}"""
DECIDED = "2025-06-02"
REASON = "经复核，该事项还概括整合了另一份已定密文件的内容，补登其为派生依据（D-7(3), D-11）。"


def add(gql: Gql, item: str, parent: str, **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "itemId": item,
        "parentId": parent,
        "case": "SUMMARY",
        "reason": REASON,
        **deciders("org-institute"),
    }
    value.update(fields)
    result: dict[str, Any] = gql(ADD, {"input": value})["addBasis"]
    return result


def remove(gql: Gql, item: str, parent: str, **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "itemId": item,
        "parentId": parent,
        "reason": "经复核，该事项未采用该文件的内容，误登为依据，予以删除（D-11, D-14）。",
        **deciders("org-institute"),
    }
    value.update(fields)
    result: dict[str, Any] = gql(REMOVE, {"input": value})["removeBasis"]
    return result


def world(gql: Gql) -> None:
    """Two sources of the ministry; X derived from A by the institute, Y derived from X."""
    register_source(gql, "A", title="甲通知", level="SECRET", period={"kind": "YEARS", "years": 10})
    register_source(
        gql, "B", title="乙通知", level="CONFIDENTIAL", period={"kind": "YEARS", "years": 5}
    )
    register_source(
        gql, "C", title="丙通知", level="TOP_SECRET", period={"kind": "YEARS", "years": 20}
    )
    derive(gql, "X", bases=[{"parentId": "A", "case": "SUMMARY"}])
    derive(gql, "Y", title="再派生事项", bases=[{"parentId": "X", "case": "IDENTICAL"}])


def bases_of(gql: Gql, item: str) -> set[str]:
    edges = gql(UPSTREAM, {"id": item})["lineage"]["edges"]
    return {e["parentId"] for e in edges if e["childId"] == item}


def test_a_basis_that_leaves_the_classification_as_it_is_is_recorded_and_nothing_moves_d11(
    demo_gql: Gql,
) -> None:
    world(demo_gql)
    result = add(demo_gql, "X", "B")
    assert result["__typename"] == "BasisCorrected", result
    assert result["classificationChanged"] is False
    assert result["change"] is None
    assert result["item"] == {"id": "X", "marking": "机密★10年", "version": 2}
    record = result["record"]
    assert (record["kind"], record["handlerId"], record["officialId"]) == (
        "CHANGE",
        "p-zhou-jie",
        "p-wu-xia",
    )
    assert record["reasoning"] == REASON
    assert {"D-11", "D-13"} <= set(record["articles"])
    # The record cites every basis the item now rests on (D-11).
    assert {b["refId"] for b in record["bases"] if b["kind"] == "ITEM"} == {"A", "B"}
    assert "增加依据「乙通知」（B）" in record["summary"]
    assert bases_of(demo_gql, "X") == {"A", "B"}
    assert demo_gql(NOTICES_OF, {"id": "X"})["notices"]["edges"] == []
    # Audited as every write: who, what, on which items.
    events = [e["node"] for e in demo_gql(TRAIL, {"id": "X"})["auditTrail"]["edges"]]
    written = [e for e in events if e["action"] == "mutation addBasis"]
    assert [(e["outcome"], e["userId"]) for e in written] == [("OK", "p-wu-xia")]


def test_a_higher_basis_changes_the_item_and_notifies_its_descendants_d8_d12_x13(
    demo_gql: Gql,
) -> None:
    world(demo_gql)
    before = state(demo_gql)
    # The holder may not keep the lower level once a 绝密 basis is added (D-8): refused as
    # deriveItem refuses it, nothing written.
    refused(add(demo_gql, "X", "C", level="SECRET"), "DERIVED_LEVEL", "D-8")
    assert state(demo_gql) == before

    result = add(demo_gql, "X", "C")
    assert result["__typename"] == "BasisCorrected", result
    assert result["classificationChanged"] is True
    assert result["item"]["marking"] == "绝密★20年"
    done = result["change"]
    change = done["change"]
    assert (change["kind"], change["itemId"]) == ("CHANGE", "X")
    assert (change["before"]["marking"], change["after"]["marking"]) == ("机密★10年", "绝密★20年")
    assert change["recordId"] == result["record"]["id"]
    assert change["basis"] == REASON
    # Y, derived from X, must follow: one notice, as changeClassification sends them.
    (sent,) = done["notices"]
    assert done["noticeCount"] == 1
    assert (sent["itemId"], sent["sourceId"], sent["path"]) == ("Y", "X", ["X", "Y"])
    assert sent["actions"] == ["CHANGE_LEVEL", "CHANGE_PERIOD"]
    assert (sent["markingBefore"], sent["markingAfter"]) == ("机密★10年", "绝密★20年")
    assert "须变更" in sent["text"]
    listed = demo_gql(NOTICES_OF, {"id": "X"})["notices"]["edges"]
    assert [e["node"] for e in listed] == [{"itemId": "Y", "status": "PENDING"}]

    # Removing it again brings X back to what A requires, a change of X too; Y, which has not
    # applied its notice yet, is as X now requires: nothing to send, and the notice it had is
    # superseded (D-13).
    back = remove(demo_gql, "X", "C")
    assert back["__typename"] == "BasisCorrected", back
    assert back["item"]["marking"] == "机密★10年"
    assert back["classificationChanged"] is True
    assert back["change"]["notices"] == []
    assert bases_of(demo_gql, "X") == {"A"}
    listed = demo_gql(NOTICES_OF, {"id": "X"})["notices"]["edges"]
    assert [e["node"] for e in listed] == [{"itemId": "Y", "status": "SUPERSEDED"}]


def test_the_last_basis_cannot_be_removed_d14(demo_gql: Gql) -> None:
    world(demo_gql)
    before = state(demo_gql)
    refused(remove(demo_gql, "X", "A"), "LAST_BASIS", "D-14")
    not_a_basis = remove(demo_gql, "X", "B")
    assert not_a_basis["__typename"] == "InvalidInput", not_a_basis
    # A source has no lineage to correct (D-14): its basis is the scope rules.
    refused(add(demo_gql, "A", "B"), "NOT_DERIVED_ITEM", "D-14")
    # The reason is required (依据和理由, D-11).
    assert add(demo_gql, "X", "B", reason=" ")["__typename"] == "InvalidInput"
    assert state(demo_gql) == before


def test_a_basis_that_closes_a_cycle_is_refused_with_the_path_redacted_d3_d10(
    demo_gql: Gql,
) -> None:
    # X (institute, read by the province too) <- M (the province's own) <- Z (the province's,
    # read by the institute). The institute's official may not read M.
    register_source(demo_gql, "A", level="SECRET", period={"kind": "YEARS", "years": 10})
    derive(
        demo_gql,
        "X",
        bases=[{"parentId": "A", "case": "SUMMARY"}],
        scope={"organisations": ["org-institute", "org-province"]},
    )
    province = {
        "organisationId": "org-province",
        **deciders("org-province"),
        "issuedOn": "2024-07-01",
    }
    derive(
        demo_gql,
        "M",
        title="省内部意见",
        bases=[{"parentId": "X", "case": "SUMMARY"}],
        scope={"organisations": ["org-province"]},
        **province,
    )
    derive(
        demo_gql,
        "Z",
        title="省转发件",
        bases=[{"parentId": "M", "case": "IDENTICAL"}],
        scope={"organisations": ["org-province", "org-institute"]},
        **province,
    )
    before = state(demo_gql)
    result = add(demo_gql, "X", "Z")
    assert result["__typename"] == "LineageCycle", result
    assert (result["rule"], result["articles"]) == ("ACYCLIC_LINEAGE", ["D-3", "D-7"])
    path = result["path"]
    assert len(path) == 4
    assert path[:2] == ["X", "Z"]
    assert path[-1] == "X"
    assert path[2].startswith("hidden-")  # M, which the institute may not know (D-10)
    assert "M" not in path
    assert "省内部意见" not in result["message"]
    assert " → ".join(path) in result["message"]
    events = [e["node"] for e in demo_gql(TRAIL, {"id": "X"})["auditTrail"]["edges"]]
    refusal = [e for e in events if e["action"] == "mutation addBasis"]
    assert [(e["outcome"], e["detail"]) for e in refusal] == [("REFUSED", "ACYCLIC_LINEAGE")]
    # The province's official, who reads M, sees it by its id.
    as_province = add(demo_gql, "M", "Z", **deciders("org-province"))
    assert as_province["__typename"] == "LineageCycle", as_province
    assert as_province["path"] == ["M", "Z", "M"]
    assert state(demo_gql) == before


def test_an_item_the_caller_may_not_read_answers_as_a_missing_one_d10(demo_gql: Gql) -> None:
    register_source(demo_gql, "A", level="SECRET", period={"kind": "YEARS", "years": 10})
    derive(demo_gql, "X", bases=[{"parentId": "A", "case": "SUMMARY"}])
    derive(
        demo_gql,
        "M",
        bases=[{"parentId": "A", "case": "SUMMARY"}],
        scope={"organisations": ["org-province"]},
        organisationId="org-province",
        **deciders("org-province"),
    )

    def answer(result: dict[str, Any], id: str) -> dict[str, Any]:
        return {k: (v.replace(id, "?") if isinstance(v, str) else v) for k, v in result.items()}

    for unreadable, nowhere in (
        (add(demo_gql, "M", "A"), add(demo_gql, "D-NOWHERE", "A")),  # the item
        (add(demo_gql, "X", "M"), add(demo_gql, "X", "D-NOWHERE")),  # the basis added
        (remove(demo_gql, "X", "M"), remove(demo_gql, "X", "D-NOWHERE")),  # the basis removed
    ):
        assert unreadable["__typename"] == "NotFound", unreadable
        assert answer(unreadable, "M") == answer(nowhere, "D-NOWHERE")


CITE = f"""
mutation($input: RecordCitationInput!) {{
  recordCitation(input: $input) {{
    __typename ... on CitationRecorded {{ citation {{ itemId citedId note }} }} {PROBLEM}
  }}
}}"""
LINEAGE = """
query($id: ID!) {
  lineage(id: $id, direction: BOTH) {
    ... on Lineage {
      nodes { id redacted }
      edges { childId parentId }
      citations { itemId citedId note }
    }
  }
}"""
GRAPH = """
query($id: ID!) { lineageGraph(id: $id) { ... on LineageGraph { nodeCount data } } }"""
EXPORT = """
query($id: ID!, $format: ExportFormat!) {
  lineageExport(id: $id, format: $format) { ... on LineageExport { content } }
}"""
IMPACT = """
query($id: ID!) {
  impactAnalysis(change: {itemId: $id, declassify: true}) {
    __typename ... on ImpactAnalysis { total impacts { id } }
  }
}"""
NOTE = "仅引用其公开发布的统计口径，未采用其内容或密点（D-14）。"


def cite(gql: Gql, item: str, cited: str, **fields: Any) -> dict[str, Any]:
    value = {"itemId": item, "citedId": cited, "note": NOTE, "personId": "p-zhou-jie", **fields}
    result: dict[str, Any] = gql(CITE, {"input": value})["recordCitation"]
    return result


def test_a_citation_is_a_dotted_edge_and_no_basis_d14(demo_gql: Gql) -> None:
    register_source(demo_gql, "A", level="SECRET", period={"kind": "YEARS", "years": 10})
    register_source(
        demo_gql,
        "B",
        title="乙通知",
        level="TOP_SECRET",
        period={"kind": "YEARS", "years": 20},
        scope={"organisations": ["org-ministry", "org-institute"]},
    )
    derive(
        demo_gql,
        "X",
        bases=[{"parentId": "A", "case": "SUMMARY"}],
        scope={"organisations": ["org-institute", "org-county"]},
    )
    recorded = cite(demo_gql, "X", "B")
    assert recorded == {
        "__typename": "CitationRecorded",
        "citation": {"itemId": "X", "citedId": "B", "note": NOTE},
    }
    # Once only; and a basis is no citation.
    assert cite(demo_gql, "X", "B")["__typename"] == "AlreadyExists"
    assert cite(demo_gql, "X", "A")["__typename"] == "InvalidInput"

    # In the lineage: B is a node, linked by a citation and by no DERIVED_FROM edge.
    seen = demo_gql(LINEAGE, {"id": "X"})["lineage"]
    assert {n["id"] for n in seen["nodes"]} == {"A", "B", "X"}
    assert {(e["childId"], e["parentId"]) for e in seen["edges"]} == {("X", "A")}
    assert seen["citations"] == [{"itemId": "X", "citedId": "B", "note": NOTE}]
    data = demo_gql(GRAPH, {"id": "X"})["lineageGraph"]["data"]
    assert [(c["kind"], c["itemId"], c["citedId"]) for c in data["citations"]] == [
        ("CITES", "X", "B")
    ]
    assert all(e["parentId"] != "B" for e in data["edges"])
    dot = demo_gql(EXPORT, {"id": "X", "format": "DOT"})["lineageExport"]["content"]
    assert '"B" -> "X" [label="引用（非派生依据，D-14）", style=dotted];' in dot
    mermaid = demo_gql(EXPORT, {"id": "X", "format": "MERMAID"})["lineageExport"]["content"]
    assert "-.->" in mermaid

    # The 绝密 item cited raises nothing (D-8 reads bases only), and declassifying it reaches
    # nothing: a citation is in no impact analysis (D-12, X-13).
    assert item(demo_gql, "X")["marking"] == "机密★10年"
    impact = demo_gql(IMPACT, {"id": "B"})["impactAnalysis"]
    assert (impact["__typename"], impact["total"], impact["impacts"]) == ("ImpactAnalysis", 0, [])

    # The county reads X but not B: a placeholder, and no note (D-10).
    county = demo_gql(LINEAGE, {"id": "X"}, as_="p-zhao-min")["lineage"]
    (hidden,) = county["citations"]
    assert hidden["itemId"] == "X"
    assert hidden["citedId"].startswith("hidden-")
    assert hidden["note"] is None
    assert "乙通知" not in str(county)


def test_a_citation_of_an_item_the_caller_may_not_read_answers_as_a_missing_one_d10(
    demo_gql: Gql,
) -> None:
    register_source(demo_gql, "A", level="SECRET", period={"kind": "YEARS", "years": 10})
    register_source(demo_gql, "P", scope={"organisations": ["org-ministry"]})
    derive(
        demo_gql,
        "X",
        bases=[{"parentId": "A", "case": "SUMMARY"}],
        scope={"organisations": ["org-institute", "org-province"]},
    )
    unreadable, nowhere = cite(demo_gql, "X", "P"), cite(demo_gql, "X", "D-NOWHERE")
    assert unreadable["__typename"] == "NotFound", unreadable
    assert unreadable["message"].replace("P", "?") == nowhere["message"].replace("D-NOWHERE", "?")
    # Only the citing item's holder records it: the province reads X and B, holds neither.
    register_source(demo_gql, "B", title="乙通知")
    refused(cite(demo_gql, "X", "B", personId="p-wang-fang"), "CITATION_HOLDER", "D-14")


KEYPOINTS = """
query($id: ID!) { item(id: $id) { keypoints { id } } }"""


def test_a_basis_comes_with_the_keypoints_it_involves_d7_d8(demo_gql: Gql) -> None:
    world(demo_gql)
    register_source(
        demo_gql,
        "K",
        title="丁通知",
        level="SECRET",
        period={"kind": "YEARS", "years": 10},
        keypoints=[
            {
                "id": "K1",
                "title": "某参数",
                "level": "CONFIDENTIAL",
                "period": {"kind": "YEARS", "years": 5},
            },
            {
                "id": "K2",
                "title": "某布局",
                "level": "SECRET",
                "period": {"kind": "YEARS", "years": 10},
            },
        ],
    )
    before = state(demo_gql)
    refused(add(demo_gql, "X", "K", case="INVOLVES_KEYPOINT"), "KEYPOINT_REQUIRED", "D-7")
    assert state(demo_gql) == before

    added = add(demo_gql, "X", "K", case="INVOLVES_KEYPOINT", keypointIds=["K1"])
    assert added["__typename"] == "BasisCorrected", added
    assert added["classificationChanged"] is False  # 秘密 K1 under 机密 A (D-8)
    edges = demo_gql(UPSTREAM, {"id": "X"})["lineage"]["edges"]
    assert [e["keypointIds"] for e in edges if e["parentId"] == "K"] == [["K1"]]
    assert {k["id"] for k in demo_gql(KEYPOINTS, {"id": "X"})["item"]["keypoints"]} == {"K1"}
    assert {b["refId"] for b in added["record"]["bases"]} >= {"A", "K", "K1"}

    removed = remove(demo_gql, "X", "K")
    assert removed["__typename"] == "BasisCorrected", removed
    assert demo_gql(KEYPOINTS, {"id": "X"})["item"]["keypoints"] == []


def test_a_removed_basis_that_was_the_only_classified_one_declassifies_the_item_x13(
    demo_gql: Gql,
) -> None:
    world(demo_gql)
    # X rests on A and on B; B is declassified (X keeps A, so nothing moves for it then).
    assert add(demo_gql, "X", "B")["__typename"] == "BasisCorrected"
    assert declassify(demo_gql, "B", decidedOn=DECIDED)["__typename"] == "ChangeCommitted"
    assert item(demo_gql, "X")["status"] == "CLASSIFIED"

    done = remove(demo_gql, "X", "A")
    assert done["__typename"] == "BasisCorrected", done
    assert done["classificationChanged"] is True
    assert done["record"]["kind"] == "DECLASSIFICATION"
    assert done["record"]["status"] == "DECLASSIFIED_WORK_SECRET"
    change = done["change"]["change"]
    assert change["kind"] == "DECLASSIFICATION"
    (sent,) = done["change"]["notices"]
    assert (sent["itemId"], sent["actions"]) == ("Y", ["DECLASSIFY"])
    assert item(demo_gql, "X")["status"] == "DECLASSIFIED_WORK_SECRET"


FORESEEN = f"""
    __typename
    ... on ImpactAnalysis {{
      item {{ id marking version }}
      itemAfter {{ marking version }}
      total
      entries(first: 50) {{ edges {{ node {{ id actions markingAfter path }} }} }}
    }}
    ... on LineageCycle {{ message rule articles path }}
    {PROBLEM}
"""
ADD_PREVIEW = f"query($input: AddBasisInput!) {{ addBasisImpact(input: $input) {{ {FORESEEN} }} }}"
REMOVE_PREVIEW = (
    f"query($input: RemoveBasisInput!) {{ removeBasisImpact(input: $input) {{ {FORESEEN} }} }}"
)


REMOVAL = "经复核，该事项未采用该文件的内容，误登为依据，予以删除（D-11, D-14）。"


def foresee(gql: Gql, query: str, item: str, parent: str, **fields: Any) -> Any:
    """The preview of a correction, sent with the very input its mutation takes."""
    value: dict[str, Any] = {"itemId": item, "parentId": parent, **deciders("org-institute")}
    if query is ADD_PREVIEW:
        value.update(case="SUMMARY", reason=REASON)
    else:
        value.update(
            reason="经复核，该事项未采用该文件的内容，误登为依据，予以删除（D-11, D-14）。"
        )
    value.update(fields)
    name = "addBasisImpact" if query is ADD_PREVIEW else "removeBasisImpact"
    return gql(query, {"input": value})[name]


def test_a_correction_is_previewed_with_its_own_input_and_the_preview_equals_the_commit_d13(
    demo_gql: Gql,
) -> None:
    world(demo_gql)
    before = state(demo_gql)
    # Refused where the commit is refused, with the same problem, and nothing written.
    kept_low = foresee(demo_gql, ADD_PREVIEW, "X", "C", level="SECRET")
    refused(kept_low, "DERIVED_LEVEL", "D-8")
    assert kept_low == add(demo_gql, "X", "C", level="SECRET")
    last = foresee(demo_gql, REMOVE_PREVIEW, "X", "A")
    refused(last, "LAST_BASIS", "D-14")
    # A basis that holds the classification: no one must act.
    holds = foresee(demo_gql, ADD_PREVIEW, "X", "B")
    assert holds["__typename"] == "ImpactAnalysis", holds
    assert (holds["item"]["marking"], holds["itemAfter"]["marking"]) == ("机密★10年", "机密★10年")
    assert holds["total"] == 0
    # A higher basis: X would become 绝密 and Y be told to follow, as the commit then tells it.
    higher = foresee(demo_gql, ADD_PREVIEW, "X", "C")
    assert higher["itemAfter"]["marking"] == "绝密★20年"
    assert state(demo_gql) == before  # previews write nothing
    assert bases_of(demo_gql, "X") == {"A"}
    done = add(demo_gql, "X", "C")
    assert done["item"]["marking"] == higher["itemAfter"]["marking"]
    assert done["item"]["version"] == higher["itemAfter"]["version"]
    entries = [e["node"] for e in higher["entries"]["edges"]]
    assert higher["total"] == done["change"]["noticeCount"] == 1
    assert [(e["id"], e["actions"], e["markingAfter"], e["path"]) for e in entries] == [
        (n["itemId"], n["actions"], n["markingAfter"], n["path"]) for n in done["change"]["notices"]
    ]
    # Removing it again: the preview says X returns to 机密 and no one is to act.
    back = foresee(demo_gql, REMOVE_PREVIEW, "X", "C")
    assert (back["itemAfter"]["marking"], back["total"]) == ("机密★10年", 0)
    assert remove(demo_gql, "X", "C")["change"]["notices"] == []


def test_a_previewed_cycle_is_the_commit_s_lineage_cycle_d3(demo_gql: Gql) -> None:
    world(demo_gql)
    before = state(demo_gql)
    cycle = foresee(demo_gql, ADD_PREVIEW, "X", "Y")
    assert cycle["__typename"] == "LineageCycle", cycle
    assert cycle == add(demo_gql, "X", "Y")
    assert cycle["path"] == ["X", "Y", "X"]
    assert state(demo_gql) == before
