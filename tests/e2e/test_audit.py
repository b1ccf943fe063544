"""The D-21 audit (issue 7, point 1) on both stores: the demo shows each of the eight cases in
the bureau's files and nowhere else; each case, made by writing to the store past the use
cases (as another program or an old version could), is found with its path, articles and the
organisation that must correct it; the findings respect the reader's access; `lineage audit`
exits 1 when it finds anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.audit import Case
from graph.change import DeclassificationReason
from graph.model import (
    BasisCase,
    Classification,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    RecordKind,
    Unmarked,
    UntilDate,
)
from graph.phrase import Phrase
from graph.store.base import GraphStore, GraphWriter
from service.change import Decision, commit_change
from service.cli import app as cli
from service.composition import open_store
from service.demo import load_demo
from service.findings import audit
from service.impact import ProposedChange
from tests.e2e.conftest import Gql

FINDINGS = """
query($filter: AuditFindingFilter, $first: Int! = 100) {
  auditFindings(filter: $filter, first: $first) {
    __typename
    ... on AuditFindingConnection {
      total
      edges { node { itemId caseNumber case caseLabel organisationId explanation path articles
                     item { id marking } } }
      pageInfo { hasNextPage }
    }
    ... on Problem { message }
  }
}"""


def _declassified(item: Item) -> Item:
    return item.decided(replace(item, status=ItemStatus.DECLASSIFIED_WORK_SECRET))


def improper(store: GraphStore) -> None:
    """The demo, then one improper item for each case of D-21."""
    load_demo(store)
    items = store.read(
        lambda tx: tx.items(
            ["D-COUNTY-002", "D-INST-003", "D-CITY-002", "D-INST-001", "S-2022-015", "S-2025-003"]
        )
    )

    def work(tx: GraphWriter) -> None:
        # 1: the county's arrangement marked lower than its basis (机密).
        county = items["D-COUNTY-002"]
        lower = Classification(Level.CONFIDENTIAL, county.classification.period)  # type: ignore[union-attr]
        tx.update_items([county.decided(replace(county, classification=lower))])
        # 2: the test outline marked higher than the plan it follows (机密).
        outline = items["D-INST-003"]
        higher = Classification(Level.TOP_SECRET, outline.classification.period)  # type: ignore[union-attr]
        tx.update_items([outline.decided(replace(outline, classification=higher))])
        # 4 and 7: the city's report marked 秘密 with no period, and its basis declassified
        # behind its back (no notice was sent).
        report = items["D-CITY-002"]
        level_only = Classification(Level.CONFIDENTIAL, Unmarked(date(2022, 6, 15)))
        tx.update_items([report.decided(replace(report, classification=level_only))])
        tx.update_items([_declassified(items["S-2022-015"])])
        # 6: the institute's report declassified while both of its bases stand.
        tx.update_items([_declassified(items["D-INST-001"])])
        # 3: derived with no written record; 8: "derived" from nothing.
        source = items["S-2025-003"]
        for id in ("D-NO-RECORD", "D-ORPHAN"):
            tx.add_item(
                Item(
                    id=id,
                    kind=ItemKind.DERIVED,
                    title=f"无记录的派生事项 {id}",
                    document_number=f"某省发改〔2025〕{id}",
                    organisation_id="org-province",
                    issued_on=date(2025, 4, 1),
                    status=ItemStatus.CLASSIFIED,
                    classification=Classification(
                        Level.CONFIDENTIAL, UntilDate(date(2030, 12, 31))
                    ),
                    scope=KnowledgeScope(organisations=frozenset({"org-province"})),
                )
            )
        tx.add_derivations([Derivation("D-NO-RECORD", source.id, BasisCase.SUMMARY)])
        tx.add_record(
            DecisionRecord(
                id="R-ORPHAN",
                item_id="D-ORPHAN",
                kind=RecordKind.DERIVED,
                handler_id="p-wang-fang",
                official_id="p-liu-yang",
                decided_on=date(2025, 4, 1),
                recorded_at=datetime(2025, 4, 1, tzinfo=UTC),
                status=ItemStatus.CLASSIFIED,
                classification=None,
                scope=KnowledgeScope(organisations=frozenset({"org-province"})),
                bases=(),
                summary=Phrase.of("记录"),
            )
        )

    store.write(work)
    # 5: the emergency-stock source declassified early in 2025; its notices were due a month
    # later and nobody has acted on them.
    commit_change(
        store,
        ProposedChange("S-2025-003", declassify=True),
        Decision(
            "p-zhang-wei",
            "p-li-qiang",
            "储备布局调整，公开后不会损害国家安全。",
            DeclassificationReason.CIRCUMSTANCES_CHANGED,
            decided_on=date(2025, 6, 1),
            due_on=date(2025, 7, 1),
        ),
        SYSTEM,
    )


# The demo's inspection case (service.demo_inspection): each case once, in the bureau's files.
IN_THE_DEMO = {
    ("D-BUR-001", Case.UNDER_CLASSIFIED),
    ("D-BUR-002", Case.OVER_CLASSIFIED),
    ("D-BUR-003", Case.PROCEDURE),
    ("D-BUR-004", Case.MARKING),
    ("D-BUR-005", Case.NOT_CHANGED),
    ("D-BUR-006", Case.WRONGLY_DECLASSIFIED),
    ("D-BUR-007", Case.NOT_DECLASSIFIED),
    ("D-BUR-008", Case.OTHER),
    ("D-BUR-008", Case.PROCEDURE),  # "derived" from nothing, its record cites nothing
}
MADE_HERE = {
    ("D-COUNTY-002", Case.UNDER_CLASSIFIED),
    ("D-INST-003", Case.OVER_CLASSIFIED),
    ("D-NO-RECORD", Case.PROCEDURE),
    ("D-ORPHAN", Case.PROCEDURE),  # its record cites no basis
    ("D-CITY-002", Case.MARKING),
    ("D-NO-RECORD", Case.NOT_CHANGED),  # D-PROV-002 keeps its scope rule: no notice
    ("D-INST-001", Case.WRONGLY_DECLASSIFIED),
    ("D-CITY-002", Case.NOT_DECLASSIFIED),
    ("D-ORPHAN", Case.OTHER),
    # Compared with their bases as they stand, the items below a wrong one are wrong too:
    # the county's breakdown is now higher than the lowered arrangement it follows, and the
    # assessment higher than what its one standing basis (机密) requires.
    ("D-COUNTY-003", Case.OVER_CLASSIFIED),
    ("D-INST-002", Case.OVER_CLASSIFIED),
}
EXPECTED = IN_THE_DEMO | MADE_HERE


@pytest.fixture
def store(db_url: str) -> Any:
    opened = open_store(db_url)
    try:
        yield opened
    finally:
        opened.close()


def test_the_demo_shows_each_case_in_the_bureau_and_nowhere_else(store: GraphStore) -> None:
    load_demo(store)
    found = audit(store, SYSTEM).findings
    assert {(f.item_id, f.case) for f in found} == IN_THE_DEMO
    assert {f.case for f in found} == set(Case)  # all eight (issue 7, point 7)
    assert {f.organisation_id for f in found} == {"org-bureau"}
    by = {(f.item_id, f.case): f for f in found}
    assert by[("D-BUR-005", Case.NOT_CHANGED)].path == ("S-BUR-003", "D-BUR-005")
    assert by[("D-BUR-001", Case.UNDER_CLASSIFIED)].path == ("S-BUR-001", "D-BUR-001")
    assert "已解密" in by[("D-BUR-007", Case.NOT_DECLASSIFIED)].explanation.words


def test_each_case_of_d21_is_found_with_why_and_who(store: GraphStore) -> None:
    improper(store)
    found = audit(store, SYSTEM).findings
    assert {(f.item_id, f.case) for f in found} == EXPECTED
    by = {(f.item_id, f.case): f for f in found}
    under = by[("D-COUNTY-002", Case.UNDER_CLASSIFIED)]
    assert under.organisation_id == "org-county"
    assert under.path == ("D-COUNTY-001", "D-COUNTY-002")
    assert {"D-21(1)", "D-8"} <= set(under.articles)
    assert "秘密★20年" in under.explanation.words
    assert "机密★20年" in under.explanation.words
    late = by[("D-NO-RECORD", Case.NOT_CHANGED)]
    assert late.path == ("S-2025-003", "D-NO-RECORD")
    assert "2025-07-01" in late.explanation.words
    assert {"D-21(5)", "D-12", "D-13"} <= set(late.articles)
    assert "X-11" not in by[("D-CITY-002", Case.MARKING)].articles
    assert "D-21(7)" in by[("D-CITY-002", Case.NOT_DECLASSIFIED)].articles
    only = audit(store, SYSTEM, cases=[Case.OTHER], organisation_id="org-province").findings
    assert [(f.item_id, f.case) for f in only] == [("D-ORPHAN", Case.OTHER)]
    others = audit(store, SYSTEM, cases=[Case.OTHER]).findings
    assert [f.item_id for f in others] == ["D-BUR-008", "D-ORPHAN"]


def test_findings_respect_the_readers_access_over_graphql(db_url: str, demo_gql: Gql) -> None:
    opened = open_store(db_url)
    try:
        improper(opened)
    finally:
        opened.close()
    everything = demo_gql(FINDINGS, as_="p-sun-hong")["auditFindings"]
    assert everything["total"] == len(EXPECTED)
    assert {(e["node"]["itemId"], e["node"]["case"]) for e in everything["edges"]} == {
        (i, c.name) for i, c in EXPECTED
    }
    county = demo_gql(FINDINGS, as_="p-zhao-min")["auditFindings"]
    assert {e["node"]["itemId"] for e in county["edges"]} == {"D-COUNTY-002", "D-COUNTY-003"}
    assert county["total"] == 2
    # The institute's finding names the city's rules, which the institute may not read.
    institute = demo_gql(FINDINGS, {"filter": {"itemId": "D-INST-002"}}, as_="p-wu-xia")[
        "auditFindings"
    ]
    (assessment,) = [e["node"] for e in institute["edges"]]
    assert assessment["path"][0].startswith("hidden-")
    assert "某市重点工程建设实施细则" not in assessment["explanation"]
    paged = demo_gql(FINDINGS, {"first": 3}, as_="p-sun-hong")["auditFindings"]
    assert len(paged["edges"]) == 3
    assert paged["pageInfo"]["hasNextPage"] is True
    late = demo_gql(FINDINGS, {"filter": {"cases": ["NOT_CHANGED"]}}, as_="p-liu-yang")[
        "auditFindings"
    ]
    nodes = {e["node"]["itemId"]: e["node"] for e in late["edges"]}
    assert set(nodes) == {"D-NO-RECORD"}
    assert nodes["D-NO-RECORD"]["caseNumber"] == 5
    # The province may read the ministry's source: the path shows it.
    assert nodes["D-NO-RECORD"]["path"] == ["S-2025-003", "D-NO-RECORD"]
    assert demo_gql(FINDINGS, as_="admin")["auditFindings"]["total"] == 0


def test_the_command_line_audit_exits_1_when_it_finds_anything(db_url: str) -> None:
    opened = open_store(db_url)
    try:
        load_demo(opened)
    finally:
        opened.close()
    clean = CliRunner().invoke(cli, ["audit", "--organisation", "org-county", "--store", db_url])
    assert clean.exit_code == 0, clean.output
    assert "共发现 0 项" in clean.output
    demo = CliRunner().invoke(cli, ["audit", "--json", "--store", db_url])
    assert demo.exit_code == 1, demo.output
    assert len([line for line in demo.output.splitlines() if line.startswith("{")]) == 9
    opened = open_store(db_url)
    try:
        improper(opened)
    finally:
        opened.close()
    dirty = CliRunner().invoke(cli, ["audit", "--json", "--store", db_url])
    assert dirty.exit_code == 1, dirty.output
    lines = [line for line in dirty.output.splitlines() if line.startswith("{")]
    assert len(lines) == len(EXPECTED)
    county = CliRunner().invoke(cli, ["audit", "--organisation", "org-county", "--store", db_url])
    assert county.exit_code == 1
    assert "D-COUNTY-002  D-21(1)" in county.output
