"""`lineage export` / `lineage import`: a graph moves between stores whole, ids and records kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.change import DeclassificationReason
from graph.errors import InvalidValue
from graph.phrase import Phrase, decode, mentioned
from graph.store.base import GraphReader, GraphStore, ItemQuery
from graph.store.sqlite import SqliteStore
from service import usecases
from service.accounts import actor_of_person
from service.change import Decision, commit_change
from service.cli import app as cli
from service.composition import open_store
from service.correction import CiteItem, record_citation
from service.demo import load_demo
from service.grants import approve_grant
from service.impact import ProposedChange
from service.notices import NewProposal, apply_notice, propose_change
from service.redaction import names_in
from service.transfer import ImportRefused, export_graph, import_graph
from tests.bolt import BoltServer


def snapshot(tx: GraphReader) -> dict[str, object]:
    """Everything a store holds, read through the port."""
    items = tx.find_items(ItemQuery(limit=500))
    ids = [i.id for i in items]
    return {
        "organisations": tx.all_organisations(),
        "persons": tx.all_persons(),
        "rules": tx.all_scope_rules(),
        "items": items,
        "keypoints": tx.keypoints_of(ids),
        "parents": tx.parents(ids),
        "citations": tx.citations(ids),
        "contains": tx.contained_keypoints(ids),
        "classified": tx.scope_rule_links(ids),
        "process": tx.process_links(ids),
        "records": tx.records_of(ids),
        "changes": tx.changes_of(ids),
        "notices": tx.notices_of(ids),
        "proposals": tx.proposals_of(ids),
    }


def changed_demo(store: GraphStore) -> None:
    """The demo, then what issue 4 adds: a superior, a succession, a declassification with its
    notices, one notice applied and one answered with a proposal."""
    load_demo(store)
    placed = usecases.register_organisation(
        store,
        usecases.NewOrganisation("org-a-new", "某新设局", superior_id="org-province"),
        SYSTEM,
    )
    merged = usecases.record_succession(store, "org-institute", "org-a-new", SYSTEM)
    # Each widens reading: in force once a second person, a supervisor, approves (service.grants).
    supervisor = actor_of_person(store, "p-sun-hong")
    for filed in (placed.grant, merged):
        assert filed is not None
        approve_grant(store, filed.grant.id, supervisor)
    committed = commit_change(
        store,
        ProposedChange("S-2024-012", declassify=True, keypoint_ids=("S-2024-012.K1",)),
        Decision(
            "p-zhang-wei",
            "p-li-qiang",
            "部分内容已公开。",
            DeclassificationReason.CIRCUMSTANCES_CHANGED,
        ),
        SYSTEM,
    )
    # A citation that uses no content (D-14): format 5 carries it.
    record_citation(
        store,
        CiteItem("D-INST-001", "D-COUNTY-001", "仅引用其公开的结论，未采用其内容。", "p-zhou-jie"),
        SYSTEM,
    )
    by_item = {n.item_id: n for n in committed.notices}
    apply_notice(store, by_item["D-PROV-001"].id, "p-wang-fang", "p-liu-yang", None, SYSTEM)
    propose_change(
        store,
        NewProposal(
            "D-CITY-001", "p-chen-jing", "建议维持原密级。", notice_id=by_item["D-CITY-001"].id
        ),
        SYSTEM,
    )


def exported(store: GraphStore) -> list[str]:
    lines: list[str] = []
    export_graph(store, lines.append, page=3)  # small pages: the paging itself is exercised
    return lines


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "a.db")
    changed_demo(source)
    lines = exported(source)
    target = SqliteStore(tmp_path / "b.db")
    counts = import_graph(target, lines, batch=7)
    assert counts["item"] == 29  # the demo's 17 and the bureau's 12
    # The demo's 30, the declassification's and the applied notice's.
    assert counts["record"] == 32
    assert counts["change"] == 2  # the demo's overdue one (demo_inspection) and this one
    assert counts["notice"] >= 2
    assert counts["proposal"] == 1
    assert counts["cites"] == 1
    assert counts["successor"] == counts["superior"] == 1
    assert target.read(snapshot) == source.read(snapshot)
    assert exported(target)[1:] == lines[1:]  # all but the header's time
    source.close()
    target.close()


def test_cli_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    dump = tmp_path / "graph.jsonl"
    assert runner.invoke(cli, ["demo", "--store", a]).exit_code == 0
    out = runner.invoke(cli, ["export", "--store", a, "-o", str(dump)])
    assert out.exit_code == 0, out.output
    result = runner.invoke(cli, ["import", str(dump), "--store", b])
    assert result.exit_code == 0, result.output
    assert "item 29" in result.output
    again = runner.invoke(cli, ["import", str(dump), "--store", b])
    assert again.exit_code == 1  # refused data, not a usage error
    assert "空存储" in again.output


def test_a_bad_line_names_its_number_and_its_batch_is_not_written(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "a.db")
    load_demo(source)
    lines = exported(source)
    source.close()
    broken = list(lines)
    position = next(i for i, text in enumerate(broken) if '"kind":"derived_from"' in text)
    edge = json.loads(broken[position])
    edge["parent_id"] = "NO-SUCH-ITEM"
    broken[position] = json.dumps(edge)
    target = SqliteStore(tmp_path / "b.db")
    with pytest.raises(ImportRefused) as refused:
        import_graph(target, broken, batch=10_000)
    assert refused.value.line_number == position + 1
    assert "NO-SUCH-ITEM" in refused.value.message
    # One batch held everything: nothing of it stays.
    assert target.read(lambda tx: tx.find_items(ItemQuery(limit=5))) == []
    target.close()


def _item_lines(lines: list[str]) -> list[int]:
    return [i for i, text in enumerate(lines) if text.startswith('{"kind":"item"')]


def _stored_items(store: GraphStore) -> set[str]:
    return {i.id for i in store.read(lambda tx: tx.find_items(ItemQuery(limit=500)))}


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param("not json {", id="refused-as-read"),
        pytest.param("unknown-organisation", id="refused-as-written"),
    ],
)
def test_the_batches_before_a_refused_line_stay_written(tmp_path: Path, fault: str) -> None:
    """Whether the line is refused as it is read or as it is written, every batch before its
    own is written and none after it."""
    source = SqliteStore(tmp_path / "a.db")
    load_demo(source)
    lines = exported(source)
    source.close()
    items = _item_lines(lines)
    position = items[len(items) // 2]
    if fault == "unknown-organisation":
        line = json.loads(lines[position])
        line["organisation_id"] = "NO-SUCH-ORGANISATION"
        lines[position] = json.dumps(line, ensure_ascii=False)
    else:
        lines[position] = fault
    batch = 4
    target = SqliteStore(tmp_path / "b.db")
    with pytest.raises(ImportRefused) as refused:
        import_graph(target, lines, batch=batch)
    assert refused.value.line_number == position + 1
    # Batches count the lines after the header (index 0): the refused one starts here.
    start = 1 + (position - 1) // batch * batch
    before = {json.loads(lines[i])["id"] for i in items if i < start}
    assert before
    assert _stored_items(target) == before
    target.close()


def test_an_import_cut_short_goes_on_with_resume_and_only_with_its_own_file(
    tmp_path: Path,
) -> None:
    """A refused line stops the import after the batches before it; the same file, mended
    after that place, goes on from there with --resume, and the store ends as a whole import
    of the mended file would."""
    source = SqliteStore(tmp_path / "a.db")
    load_demo(source)
    lines = exported(source)
    source.close()
    position = _item_lines(lines)[len(_item_lines(lines)) // 2]
    mended = list(lines)
    broken = list(lines)
    broken[position] = "not json {"
    target_path = tmp_path / "b.db"
    target = SqliteStore(target_path)
    with pytest.raises(ImportRefused):
        import_graph(target, broken, batch=4)
    written = _stored_items(target)
    with pytest.raises(InvalidValue, match=r"已写入至第 \d+ 行.*--resume"):
        import_graph(target, mended, batch=4)
    other = [lines[0], *reversed(lines[1:])]
    with pytest.raises(InvalidValue, match="与未完成的导入所写的不同"):
        import_graph(target, other, batch=4, resume=True)
    assert _stored_items(target) == written, "a refused resume writes nothing"

    counts = import_graph(target, mended, batch=4, resume=True)
    whole = SqliteStore(tmp_path / "c.db")
    import_graph(whole, mended)
    assert target.read(snapshot) == whole.read(snapshot)
    assert sum(counts.values()) < len(lines) - 1, "only the lines after the written batches"
    with pytest.raises(InvalidValue, match="须为空存储"):
        import_graph(target, mended, resume=True)
    target.close()
    whole.close()


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ('{"kind": "organisation", "id": "x"}', "导出文件头"),
        ('{"kind": "header", "format": "lineage-export", "version": 99}', "版本 99"),
    ],
)
def test_a_foreign_or_newer_file_is_refused(tmp_path: Path, first: str, message: str) -> None:
    store = SqliteStore(tmp_path / "b.db")
    with pytest.raises(InvalidValue, match=message):
        import_graph(store, [first])
    store.close()


def test_a_version_1_file_still_reads(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "b.db")
    lines = [
        '{"kind": "header", "format": "lineage-export", "version": 1}',
        '{"kind": "organisation", "id": "o-1", "name": "某局", "authority": null}',
    ]
    counts = import_graph(store, lines)
    found = store.read(lambda tx: tx.organisation("o-1"))
    store.close()
    assert counts["organisation"] == 1
    assert found is not None
    assert (found.superior_id, found.successor_id) == (None, None)


def test_a_version_3_file_has_its_texts_brought_to_phrases(tmp_path: Path) -> None:
    """Before version 4, notices' texts and records' summaries named other items in words:
    read, the same words name them by reference (graph.store.legacy), and a reader who may
    not know them is shown none of them."""
    source = SqliteStore(tmp_path / "a.db")
    changed_demo(source)
    named: dict[str, tuple[str, ...]] = {}  # each text's id -> what only references may name

    def spelled(tx: GraphReader, line: dict[str, object]) -> dict[str, object]:
        if line["kind"] == "record":
            phrase = decode(line["summary"])
            line = {**line, "summary": names_in(tx, [phrase]).spell(phrase)}
        elif line["kind"] == "notice":
            phrase = decode(json.loads(str(line["text"])))
            line = {**line, "text": names_in(tx, [phrase]).spell(phrase)}
        else:
            return line
        items, keypoints = mentioned([phrase])
        found = tx.items(items)
        points = tx.keypoints(keypoints)
        named[str(line["id"])] = (
            *(v for i in found.values() for v in (i.id, i.title, i.document_number) if v),
            *(v for k in points.values() for v in (k.id, k.title)),
        )
        return line

    old = [json.loads(line) for line in exported(source)]
    old[0]["version"] = 3
    old = source.read(lambda tx: [spelled(tx, line) for line in old])
    target = SqliteStore(tmp_path / "b.db")
    import_graph(target, [json.dumps(line, ensure_ascii=False) for line in old], batch=7)

    def texts(tx: GraphReader) -> dict[str, tuple[str, Phrase]]:
        ids = [i.id for i in tx.find_items(ItemQuery(limit=500))]
        out = {r.id: r.summary for r in tx.records_of(ids)}
        out.update({n.id: n.text for n in tx.notices_of(ids)})
        return {id: (names_in(tx, [p]).spell(p), p) for id, p in out.items()}

    before, after = source.read(texts), target.read(texts)
    assert {id: text for id, (text, _) in after.items()} == {
        id: text for id, (text, _) in before.items()
    }
    assert any("D-CITY-001" in hidden for hidden in named.values())  # the texts do name items
    for id, hidden in named.items():
        words = after[id][1].words
        for value in hidden:
            assert value not in words, (id, value)
    source.close()
    target.close()


def test_unknown_kinds_are_refused_not_dropped(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "b.db")
    lines = [
        '{"kind": "header", "format": "lineage-export", "version": 1}',
        '{"kind": "spaceship", "id": "x"}',
    ]
    with pytest.raises(ImportRefused, match="第 2 行"):
        import_graph(store, lines)
    store.close()


def test_round_trip_sqlite_to_bolt_and_back(tmp_path: Path, bolt_server: BoltServer) -> None:
    """The demo moves SQLite -> Bolt -> SQLite and arrives whole."""
    first = SqliteStore(tmp_path / "first.db")
    changed_demo(first)
    middle = open_store(bolt_server.new_database())
    last = SqliteStore(tmp_path / "last.db")
    try:
        import_graph(middle, exported(first), batch=50)
        assert middle.read(snapshot) == first.read(snapshot)
        lines: list[str] = []
        export_graph(middle, lines.append, page=4)
        import_graph(last, lines)
        assert last.read(snapshot) == first.read(snapshot)
        assert exported(last)[1:] == exported(first)[1:]
    finally:
        for store in (first, middle, last):
            store.close()
