"""The bulk import (service.bulk) against the batched one (service.transfer.import_graph): the
same files give the same rows, and a refused file the same error on the same line, with the
bulk store left empty."""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bench import lineages
from graph.errors import InvalidValue
from graph.store import exchange
from graph.store.sqlite import SqliteStore
from service.bulk import bulk_import, import_into
from service.cli import app as cli
from service.transfer import ImportRefused, export_graph, import_graph
from tests.e2e.test_transfer import changed_demo, exported

# Tables whose rows depend on how they were written, not on what: the generation counters
# move once per batch (graph.store.cache), and FTS5 lays out its segments by its writes
# (the search index is compared by what it finds).
UNCOMPARED = ("generations", "item_search_data", "item_search_idx", "item_search_docsize")


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a store's file, rowids included, in order, and its schema."""
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if name not in UNCOMPARED and not name.startswith("sqlite_")
        ]
        found: dict[str, list[tuple[object, ...]]] = {
            "schema": db.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).fetchall()
        }
        for table in tables:
            if table == "item_search":
                continue
            rowid = "" if _without_rowid(db, table) else "rowid, "
            found[table] = db.execute(f"SELECT {rowid}* FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608
        db.execute("INSERT INTO item_search (item_search) VALUES ('integrity-check')")
        found["search"] = db.execute(
            "SELECT rowid FROM item_search WHERE item_search MATCH '\"000\"' ORDER BY rowid"
        ).fetchall()
    return found


def _without_rowid(db: sqlite3.Connection, table: str) -> bool:
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    return "WITHOUT ROWID" in str(sql).upper()


def both_ways(tmp_path: Path, lines: list[str], batch: int = 1000) -> tuple[Path, Path]:
    """The file imported batched and in bulk, each into a new store; their paths."""
    batched, bulk = tmp_path / "batched.db", tmp_path / "bulk.db"
    store = SqliteStore(batched)
    import_graph(store, lines, batch)
    store.close()
    store = SqliteStore(bulk)
    bulk_import(store, lines)
    store.close()
    return batched, bulk


def assert_same(tmp_path: Path, lines: list[str], batch: int = 1000) -> None:
    batched, bulk = both_ways(tmp_path, lines, batch)
    assert rows(bulk) == rows(batched)
    exports = []
    for path in (batched, bulk):
        store = SqliteStore(path)
        exports.append(exported(store)[1:])  # all but the header's time
        store.close()
    assert exports[0] == exports[1]
    assert len(exports[0]) == len([line for line in lines if line.strip()]) - 1


def test_the_demo_with_every_kind_of_line_gives_the_same_rows(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "source.db")
    changed_demo(source)
    lines = exported(source)
    source.close()
    kinds = {json.loads(line)["kind"] for line in lines}
    assert {"record", "change", "notice", "proposal", "answered", "cites"} <= kinds
    assert_same(tmp_path, lines, batch=7)


def test_a_realistic_lineage_gives_the_same_rows(tmp_path: Path) -> None:
    lines = _file(tmp_path)
    assert any('"keypoint_ids":["' in line for line in lines)  # the pattern with keypoints
    assert_same(tmp_path, lines)


def test_lines_the_patterns_do_not_read_are_decoded_alike(tmp_path: Path) -> None:
    """Edges and links written otherwise than `lineage export` writes them (spaces, another
    order of keys, escapes, ids not ASCII), items of other shapes, blank lines."""
    path = tmp_path / "lineage.jsonl"
    lineages.write(path, 300, 3)
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines()):
        line = json.loads(text)
        if number % 3 == 0 and line["kind"] in ("derived_from", "contains_keypoint", "item"):
            if line["kind"] == "item" and number % 2:
                line["version"] = 2
                line.pop("joint_organisation_ids")
            text = json.dumps(dict(reversed(line.items())), ensure_ascii=number % 2 == 0)
        lines.append(text + "\n")
        if number % 50 == 0:
            lines.append("\n")
    assert_same(tmp_path, lines)


def _empty(path: Path) -> bool:
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name != "generations" and not name.startswith(("sqlite_", "item_search"))
        ]
        return all(
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0  # noqa: S608
            for table in tables
        )


def refused_both_ways(tmp_path: Path, lines: list[str]) -> ImportRefused:
    """The file refused batched (one line a batch, and the default batches) and in bulk with
    the same error on the same line; the bulk store empty after it."""
    errors = []
    for batch in (1, 1000):
        store = SqliteStore(tmp_path / f"batched-{batch}.db")
        with pytest.raises(ImportRefused) as refused:
            import_graph(store, lines, batch)
        store.close()
        errors.append(refused.value)
    store = SqliteStore(tmp_path / "bulk.db")
    with pytest.raises(ImportRefused) as refused:
        bulk_import(store, lines)
    store.close()
    assert _empty(tmp_path / "bulk.db")
    for error in errors:
        assert (refused.value.line_number, refused.value.message) == (
            error.line_number,
            error.message,
        )
        assert type(refused.value.reason) is type(error.reason)
        assert refused.value.articles == error.articles
    return refused.value


def _file(tmp_path: Path, size: int = 3000) -> list[str]:
    return list(_lines(size))


@functools.cache
def _lines(size: int) -> tuple[str, ...]:
    """A realistic lineage (with keypoints from about 3,000 items) as a file's lines."""
    return tuple(exchange.dumps(line) + "\n" for line in lineages.lines(size, 11))


def _where(lines: list[str], kind: str, nth: int = 0) -> int:
    return [i for i, text in enumerate(lines) if f'"kind":"{kind}"' in text][nth]


def _edited(lines: list[str], position: int, **changes: object) -> list[str]:
    line = json.loads(lines[position])
    line.update(changes)
    return [*lines[:position], exchange.dumps(line) + "\n", *lines[position + 1 :]]


def _edge(child: str, parent: str, basis: str = "SUMMARY") -> str:
    return (
        exchange.dumps(
            {
                "kind": "derived_from",
                "child_id": child,
                "parent_id": parent,
                "basis": basis,
                "keypoint_ids": [],
            }
        )
        + "\n"
    )


def test_a_cycle_is_refused_on_the_edge_that_closes_it(tmp_path: Path) -> None:
    lines = _file(tmp_path)
    first = json.loads(lines[_where(lines, "derived_from")])
    # An edge from the first edge's child down to a grandchild, and the edge that closes the
    # cycle parent -> child -> grandchild -> parent right after it, mid-file.
    below = next(
        i
        for i, text in enumerate(lines)
        if '"kind":"derived_from"' in text and json.loads(text)["parent_id"] == first["child_id"]
    )
    grandchild = json.loads(lines[below])["child_id"]
    position = below + 1
    cyclic = [*lines[:position], _edge(first["parent_id"], grandchild), *lines[position:]]
    assert position < len(lines) // 2
    refused = refused_both_ways(tmp_path, cyclic)
    assert refused.line_number == position + 1
    assert "成环" in refused.message
    assert refused.articles == ("D-3", "D-7")


def test_a_self_loop_is_refused(tmp_path: Path) -> None:
    lines = _file(tmp_path)
    position = _where(lines, "derived_from", 10)
    child = json.loads(lines[position])["child_id"]
    looped = [*lines[:position], _edge(child, child), *lines[position:]]
    assert refused_both_ways(tmp_path, looped).line_number == position + 1


@pytest.mark.parametrize(
    ("kind", "nth", "field", "value", "words"),
    [
        pytest.param("derived_from", 30, "parent_id", "NO-SUCH-ITEM", "NO-SUCH-ITEM", id="edge"),
        pytest.param("derived_from", 5, "keypoint_ids", ["NO-SUCH-KP"], "NO-SUCH-KP", id="kp"),
        pytest.param("contains_keypoint", 3, "to", "NO-SUCH-KP", "NO-SUCH-KP", id="contains"),
        pytest.param("item", 40, "organisation_id", "NO-SUCH-ORG", "NO-SUCH-ORG", id="item-org"),
        pytest.param("keypoint", 0, "item_id", "NO-SUCH-ITEM", "NO-SUCH-ITEM", id="keypoint"),
        pytest.param("classified_under", 1, "to", "NO-SUCH-RULE", "NO-SUCH-RULE", id="rule"),
        pytest.param("person", 1, "organisation_id", "NO-SUCH-ORG", "NO-SUCH-ORG", id="person"),
        pytest.param("superior", 0, "to", "NO-SUCH-ORG", "NO-SUCH-ORG", id="superior"),
    ],
)
def test_a_dangling_reference_is_refused(
    tmp_path: Path, kind: str, nth: int, field: str, value: object, words: str
) -> None:
    lines = _file(tmp_path)
    position = _where(lines, kind, nth)
    refused = refused_both_ways(tmp_path, _edited(lines, position, **{field: value}))
    assert refused.line_number == position + 1
    assert words in refused.message


@pytest.mark.parametrize("kind", ["item", "keypoint", "derived_from", "organisation"])
def test_a_duplicate_is_refused(tmp_path: Path, kind: str) -> None:
    lines = _file(tmp_path)
    position = _where(lines, kind, 2)
    later = _where(lines, "derived_from", 100) if kind == "derived_from" else position + 1
    repeated = [*lines[:later], lines[position], *lines[later:]]
    refused = refused_both_ways(tmp_path, repeated)
    assert refused.line_number == later + 1
    assert "已存在" in refused.message


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        pytest.param("not json {", None, None, id="not-json"),
        pytest.param("[1, 2]", None, None, id="not-an-object"),
        pytest.param('{"kind":"gossip"}', None, None, id="unknown-kind"),
        pytest.param(None, "level", "ULTRA_SECRET", id="no-such-level"),
        pytest.param(None, "period_kind", "FOREVER", id="no-such-period"),
        pytest.param(None, "issued_on", "yesterday", id="not-a-date"),
        pytest.param(None, "version", True, id="version-bool"),
    ],
)
def test_a_bad_line_is_refused(
    tmp_path: Path, text: str | None, field: str | None, value: object
) -> None:
    lines = _file(tmp_path)
    position = _where(lines, "item", 50)
    if text is None:
        bad = _edited(lines, position, **{str(field): value})
    else:
        bad = [*lines[:position], text + "\n", *lines[position:]]
    assert refused_both_ways(tmp_path, bad).line_number == position + 1


def test_a_repeated_edge_above_lines_the_writer_checks_is_refused(tmp_path: Path) -> None:
    """The demo's records, notices and proposals come after its edges: the repeat is still
    the fault named, not a constraint of the table."""
    source = SqliteStore(tmp_path / "source.db")
    changed_demo(source)
    lines = exported(source)
    source.close()
    position = _where(lines, "derived_from", 3)
    repeated = [*lines[: position + 1], lines[position], *lines[position + 1 :]]
    assert "已存在" in refused_both_ways(tmp_path, repeated).message


def test_the_first_fault_wins_whichever_check_finds_it(tmp_path: Path) -> None:
    """A repeated edge (found at the end) above a dangling one (found as read): the repeat."""
    lines = _file(tmp_path)
    early, late = _where(lines, "derived_from", 20), _where(lines, "derived_from", 80)
    faulty = _edited(lines, late, parent_id="NO-SUCH-ITEM")
    faulty = [*faulty[:early], faulty[early - 1], *faulty[early:]]
    assert refused_both_ways(tmp_path, faulty).line_number == early + 1


def test_a_store_not_empty_is_refused_and_kept(tmp_path: Path) -> None:
    lines = _file(tmp_path, 100)
    store = SqliteStore(tmp_path / "b.db")
    bulk_import(store, lines)
    before = rows(tmp_path / "b.db")
    with pytest.raises(InvalidValue, match="空存储"):
        bulk_import(store, lines)
    counts, bulk = (None, None)
    with pytest.raises(InvalidValue, match="空存储"):
        counts, bulk = import_into(store, lines)
    assert (counts, bulk) == (None, None)
    store.close()
    assert rows(tmp_path / "b.db") == before


def test_an_empty_or_foreign_file_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "b.db")
    with pytest.raises(InvalidValue, match="为空"):
        bulk_import(store, [])
    with pytest.raises(InvalidValue, match="导出文件头"):
        bulk_import(store, ['{"kind":"item"}\n'])
    store.close()
    assert _empty(tmp_path / "b.db")


def test_a_version_1_and_a_version_3_file_read_alike(tmp_path: Path) -> None:
    """Files before phrases are read twice (transfer._learned): the bulk path does the same."""
    source = SqliteStore(tmp_path / "source.db")
    changed_demo(source)
    lines = exported(source)
    source.close()
    old = [json.loads(line) for line in lines]
    old[0]["version"] = 3
    for line in old:
        if line["kind"] == "notice":
            line["text"] = "旧的通知文字"
        if line["kind"] == "record":
            line["summary"] = "旧的记录摘要"
    assert_same(tmp_path, [json.dumps(line, ensure_ascii=False) + "\n" for line in old], 5)


def test_the_cli_imports_in_bulk_and_a_refused_file_leaves_nothing(tmp_path: Path) -> None:
    lines = _file(tmp_path, 200)
    good = tmp_path / "good.jsonl"
    good.write_text("".join(lines), encoding="utf-8")
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(cli, ["import", str(good), "--store", url])
    assert result.exit_code == 0, result.output
    store = SqliteStore(tmp_path / "cli.db")
    again: list[str] = []
    export_graph(store, again.append)
    store.close()
    assert sorted(again[1:]) == sorted(line for line in lines[1:])

    position = _where(lines, "derived_from", 150)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(_edited(lines, position, child_id="NO-SUCH")), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'refused.db'}"
    refused = runner.invoke(cli, ["import", str(bad), "--store", url])
    assert refused.exit_code == 1
    said = " ".join(refused.output.replace("│", " ").split())
    assert f"第 {position + 1} 行" in said
    assert "未写入任何内容" in said
    assert _empty(tmp_path / "refused.db")


@st.composite
def files(draw: st.DrawFn) -> list[str]:
    """A small lineage of a few items with edges drawn at random (cycles, repeats and
    dangling ids included), keypoints and their links."""
    size = draw(st.integers(2, 12))
    base, keypoint = _base()
    lines = [line for line in base if '"kind":"item"' not in line]
    template = json.loads(next(line for line in base if '"kind":"item"' in line))
    for k in range(size):
        lines.append(exchange.dumps({**template, "id": f"N{k}", "title": f"项{k}"}) + "\n")
    lines.append(exchange.dumps({**keypoint, "id": "N0.K1", "item_id": "N0"}) + "\n")
    names = [f"N{k}" for k in range(size)] + ["N-MISSING"]
    edges = draw(
        st.lists(
            st.tuples(st.sampled_from(names), st.sampled_from(names), st.booleans()), max_size=25
        )
    )
    for child, parent, by_keypoint in edges:
        line = json.loads(_edge(child, parent))
        if by_keypoint:
            line.update(basis="INVOLVES_KEYPOINT", keypoint_ids=["N0.K1"])
        lines.append(exchange.dumps(line) + "\n")
    return lines


@functools.cache
def _base() -> tuple[list[str], dict[str, object]]:
    """The head of a small lineage (organisations to its first items), and a keypoint line."""
    lines = _lines(3000)
    early = ("header", "organisation", "superior", "person", "scope_rule", "item")
    head = [line for line in lines if json.loads(line)["kind"] in early]
    keypoint = next(json.loads(line) for line in lines if '"kind":"keypoint"' in line)
    return head, keypoint


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=files())
def test_random_files_are_taken_or_refused_alike(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("drawn")
    outcomes: list[tuple[int, str] | None] = []
    for way in ("batched", "bulk"):
        store = SqliteStore(folder / f"{way}.db")
        try:
            if way == "bulk":
                bulk_import(store, lines)
            else:
                import_graph(store, lines, 1)
            outcomes.append(None)
        except ImportRefused as error:
            outcomes.append((error.line_number, error.message))
        finally:
            store.close()
    assert outcomes[0] == outcomes[1]
    if outcomes[0] is None:
        batched, bulk = rows(folder / "batched.db"), rows(folder / "bulk.db")
        assert batched == bulk
    else:
        assert _empty(folder / "bulk.db")


@pytest.mark.parametrize("refused", [False, True])
def test_the_connection_is_given_back_as_it_was(tmp_path: Path, refused: bool) -> None:
    """Foreign keys on, CHECK constraints on, the page cache, sorting threads and temporary
    store as before, whether the load went in or was refused; the progress heard to the end."""
    lines = _file(tmp_path, 200)
    if refused:
        lines = _edited(lines, _where(lines, "derived_from", 100), parent_id="NO-SUCH")
    store = SqliteStore(tmp_path / "b.db")
    pragmas = ("foreign_keys", "ignore_check_constraints", "cache_size", "threads", "temp_store")

    def read(tx: object) -> tuple[int, ...]:
        db = store._connection()
        return tuple(int(db.execute(f"PRAGMA {name}").fetchone()[0]) for name in pragmas)

    before = store.read(read)
    heard: list[int] = []
    if refused:
        with pytest.raises(ImportRefused):
            bulk_import(store, lines, on_progress=lambda done, _: heard.append(done))
    else:
        bulk_import(store, lines, on_progress=lambda done, _: heard.append(done))
        assert heard[-1] == len(lines)
    assert store.read(read) == before
    assert before[:2] == (1, 0)
    store.close()
