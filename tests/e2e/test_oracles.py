"""No oracle (D-10): for every query and mutation that takes an id, naming one the caller may
not read answers exactly as naming one that never existed, apart from the id itself.

The county (赵敏 its handler, 黄涛 its official) reads its own items and not the ministry's
source S-2024-012, its keypoints, its records and changes, nor the province's D-PROV-001 and
the notices to it. Each request is sent twice, once with a hidden id and once with an id no
node ever had, and the two answers, the ids put aside, are the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from graph.model import RecordKind
from graph.store.base import GraphStore, NoticeQuery
from tests.e2e.conftest import Api, Gql
from tests.e2e.lifecycle import PROBLEM, committed, declassify

HANDLER, OFFICIAL = "p-zhao-min", "p-huang-tao"
DECIDE = {"handlerId": HANDLER, "officialId": OFFICIAL}
ANSWER = f"__typename {PROBLEM}"
ITEMS = "... on ItemConnection { edges { node { id } } }"


@dataclass(frozen=True)
class Hidden:
    """What the county may not read, of each kind, and an id of that kind that never was."""

    ids: dict[str, str]
    missing: dict[str, str]


@pytest.fixture
def hidden(demo_gql: Gql) -> Hidden:
    # A declassification of part of S-2024-012 sends notices, to D-PROV-001 among others.
    done = committed(declassify(demo_gql, "S-2024-012", keypointIds=["S-2024-012.K1"]))
    assert isinstance(demo_gql, Api)
    store: GraphStore = demo_gql.store
    notice = next(
        n
        for n in store.read(lambda tx: tx.find_notices(NoticeQuery(limit=None)))
        if n.item_id == "D-PROV-001"
    )
    (record,) = [
        r for r in store.read(lambda tx: tx.records("S-2024-012")) if r.kind is RecordKind.ORIGINAL
    ]
    return Hidden(
        ids={
            "item": "S-2024-012",
            "derived": "D-PROV-001",
            "keypoint": "S-2024-012.K2",
            "record": record.id,
            "notice": notice.id,
            "change": done["change"]["id"],
        },
        missing={
            "item": "S-NEVER-1",
            "derived": "D-NEVER-1",
            "keypoint": "K-NEVER-1",
            "record": "R-NEVER-1",
            "notice": "N-NEVER-1",
            "change": "C-NEVER-1",
        },
    )


Request = tuple[str, str, Callable[[str], dict[str, Any]], str]  # kind, query, variables, as

CASES: dict[str, Request] = {
    "item": (
        "item",
        "query($id: ID!) { item(id: $id) { id title } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "item asOf": (
        "item",
        'query($id: ID!) { item(id: $id, asOf: "2025-01-01") { id } }',
        lambda i: {"id": i},
        HANDLER,
    ),
    "keypoint": (
        "keypoint",
        "query($id: ID!) { keypoint(id: $id) { id title } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "lineage": (
        "item",
        f"query($id: ID!) {{ lineage(id: $id) {{ __typename {PROBLEM} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "lineageGraph": (
        "derived",
        f"query($id: ID!) {{ lineageGraph(id: $id) {{ __typename {PROBLEM} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "lineageExport": (
        "item",
        f"query($id: ID!) {{ lineageExport(id: $id, format: JSON) {{ __typename {PROBLEM} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "impactAnalysis": (
        "item",
        f"query($c: ProposedChangeInput!) {{ impactAnalysis(change: $c) {{ {ANSWER} }} }}",
        lambda i: {"c": {"itemId": i, "declassify": True}},
        OFFICIAL,
    ),
    "notice": (
        "notice",
        "query($id: ID!) { notice(id: $id) { id text } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "change": (
        "change",
        "query($id: ID!) { change(id: $id) { id } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "notices by item": (
        "derived",
        "query($f: NoticeFilter) { notices(filter: $f) { __typename "
        "... on NoticeConnection { edges { node { id } } } } }",
        lambda i: {"f": {"itemId": i}},
        HANDLER,
    ),
    "notices by source": (
        "item",
        "query($f: NoticeFilter) { notices(filter: $f) { __typename "
        "... on NoticeConnection { edges { node { id } } } } }",
        lambda i: {"f": {"sourceId": i}},
        HANDLER,
    ),
    "proposals": (
        "derived",
        "query($id: ID) { proposals(itemId: $id) { __typename "
        "... on ProposalConnection { edges { node { id } } } } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "recordForm": (
        "record",
        f"query($id: ID!) {{ recordForm(recordId: $id) {{ {ANSWER} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "reviewForm": (
        "record",
        f"query($id: ID!) {{ reviewForm(recordIds: [$id]) {{ {ANSWER} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "auditFindings": (
        "derived",
        "query($id: ID) { auditFindings(filter: {itemId: $id}) { __typename "
        "... on AuditFindingConnection { total } } }",
        lambda i: {"id": i},
        HANDLER,
    ),
    "derive from": (
        "item",
        f"mutation($in: DeriveItemInput!) {{ deriveItem(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": _derived(bases=[{"parentId": i, "case": "SUMMARY"}])},
        OFFICIAL,
    ),
    "derive as a process item of": (
        "derived",
        f"mutation($in: DeriveItemInput!) {{ deriveItem(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": _derived(processItemOf=i)},
        OFFICIAL,
    ),
    "derive involving a keypoint": (
        "keypoint",
        f"mutation($in: DeriveItemInput!) {{ deriveItem(input: $in) {{ {ANSWER} }} }}",
        lambda i: {
            "in": _derived(
                bases=[
                    {"parentId": "D-COUNTY-001", "case": "INVOLVES_KEYPOINT", "keypointIds": [i]}
                ]
            )
        },
        OFFICIAL,
    ),
    "change a classification": (
        "item",
        f"mutation($in: ChangeClassificationInput!) {{ changeClassification(input: $in) "
        f"{{ {ANSWER} }} }}",
        lambda i: {"in": {"itemId": i, "level": "TOP_SECRET", "basis": "试探。", **DECIDE}},
        OFFICIAL,
    ),
    "declassify": (
        "item",
        f"mutation($in: DeclassifyInput!) {{ declassify(input: $in) {{ {ANSWER} }} }}",
        lambda i: {
            "in": {"itemId": i, "reason": "CIRCUMSTANCES_CHANGED", "basis": "试探。", **DECIDE}
        },
        OFFICIAL,
    ),
    "apply a notice": (
        "notice",
        f"mutation($in: ApplyNoticeInput!) {{ applyNotice(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"noticeId": i, **DECIDE}},
        OFFICIAL,
    ),
    "preview a change": (
        "item",
        f"query($in: ChangeClassificationInput!) {{ changeImpact(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"itemId": i, "level": "TOP_SECRET", "basis": "试探。", **DECIDE}},
        OFFICIAL,
    ),
    "preview a declassification": (
        "item",
        f"query($in: DeclassifyInput!) {{ declassifyImpact(input: $in) {{ {ANSWER} }} }}",
        lambda i: {
            "in": {"itemId": i, "reason": "CIRCUMSTANCES_CHANGED", "basis": "试探。", **DECIDE}
        },
        OFFICIAL,
    ),
    "preview applying a notice": (
        "notice",
        f"query($in: ApplyNoticeInput!) {{ applyNoticeImpact(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"noticeId": i, **DECIDE}},
        OFFICIAL,
    ),
    "acknowledge a notice": (
        "notice",
        f"mutation($id: ID!) {{ acknowledgeNotice(noticeId: $id) {{ {ANSWER} }} }}",
        lambda i: {"id": i},
        HANDLER,
    ),
    "propose on an item": (
        "derived",
        f"mutation($in: ProposeChangeInput!) {{ proposeChange(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"itemId": i, "text": "试探。", "organisationId": "org-ministry"}},
        HANDLER,
    ),
    "propose answering a notice": (
        "notice",
        f"mutation($in: ProposeChangeInput!) {{ proposeChange(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"itemId": "D-COUNTY-001", "text": "试探。", "noticeId": i}},
        HANDLER,
    ),
    "review": (
        "item",
        f"mutation($in: RecordReviewInput!) {{ recordReview(input: $in) {{ {ANSWER} }} }}",
        lambda i: {"in": {"itemIds": [i], "reasoning": "试探。", **DECIDE}},
        OFFICIAL,
    ),
}


def _derived(**fields: Any) -> dict[str, Any]:
    return {
        "title": "县里的新文件",
        "documentNumber": "某县工信〔2025〕1号",
        "organisationId": "org-county",
        "issuedOn": "2025-01-06",
        "bases": [{"parentId": "D-COUNTY-001", "case": "SUMMARY"}],
        "scope": {"organisations": ["org-county"]},
        **DECIDE,
        **fields,
    }


@pytest.mark.parametrize("case", list(CASES))
def test_a_hidden_id_answers_as_one_that_never_was(
    demo_gql: Gql, hidden: Hidden, case: str
) -> None:
    kind, query, variables, as_ = CASES[case]
    assert isinstance(demo_gql, Api)

    def answer(id: str) -> str:
        body = demo_gql.post(query, variables(id), as_=as_)
        return json.dumps(body, ensure_ascii=False).replace(id, "⟨id⟩")

    secret, never = hidden.ids[kind], hidden.missing[kind]
    assert answer(secret) == answer(never)


def test_a_keypoint_of_a_hidden_source_is_named_by_its_placeholder(demo_gql: Gql) -> None:
    """The county's D-COUNTY-001 involves the ministry's keypoint S-2024-012.K1 (D-7(2)): it
    sees it by a placeholder, derives by that placeholder, and the keypoint's own id answers
    as a keypoint that never was."""
    # A placeholder names a node for its reader alone: the official who decides reads it.
    query = '{ item(id: "D-COUNTY-001") { keypoints { id redacted } } }'
    seen = demo_gql(query, as_=OFFICIAL)["item"]["keypoints"]
    (placeholder,) = [k["id"] for k in seen if k["redacted"]]
    query = (
        f"mutation($in: DeriveItemInput!) {{ deriveItem(input: $in) {{ {ANSWER} "
        "... on DeriveItemSuccess { item { id marking keypoints { id redacted } "
        "bases { keypointIds } } } } }"
    )

    def derive(keypoint: str) -> dict[str, Any]:
        basis = {"parentId": "D-COUNTY-001", "case": "INVOLVES_KEYPOINT", "keypointIds": [keypoint]}
        result: dict[str, Any] = demo_gql(query, {"in": _derived(bases=[basis])}, as_=OFFICIAL)[
            "deriveItem"
        ]
        return result

    made = derive(placeholder)
    assert made["__typename"] == "DeriveItemSuccess", made
    assert made["item"]["marking"] == "机密★20年"  # the keypoint's (D-8, D-9)
    assert made["item"]["keypoints"] == [{"id": placeholder, "redacted": True}]
    assert made["item"]["bases"] == [{"keypointIds": [placeholder]}]
    real = derive("S-2024-012.K1")
    never = derive("K-NEVER-1")
    assert real["__typename"] == "NotFound"
    assert real["message"].replace("S-2024-012.K1", "⟨id⟩") == never["message"].replace(
        "K-NEVER-1", "⟨id⟩"
    )
