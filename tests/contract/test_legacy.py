"""A store written before phrases (graph.phrase) is brought to them when it is opened: its
notices' texts and its records' summaries named other items in words, which every reader of
the item read, whoever may know those items (D-10; graph.store.legacy)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from graph.model import BasisCitation, Item, ItemKind, Keypoint, RecordKind
from graph.phrase import Names, item_id, item_title, keypoint_title
from graph.store import sqlite as sqlite_module
from graph.store.base import GraphStore, GraphWriter
from graph.store.neo4j import Neo4jStore
from graph.store.sqlite import MIGRATIONS, SqliteStore, _v8
from tests.contract.builders import (
    add,
    change,
    edge,
    file,
    item,
    keypoint,
    notice,
    organisation,
    person,
    record,
)
from tests.contract.conftest import Opener

DERIVED_TEXT = (
    "应定为「机密★10年」。密级依据：「S-1」的密点「K-1」密点 K-1（机密★10年，涉及已定密事项密点）"
    "（D-8）。依据文件 国保〔2024〕S-1号。"
)
NOTICE_TEXT = (
    "因「事项 S-1」（S-1）已于2024年3月1日变更，派生事项「事项 D-1」（D-1，现标志 机密★10年）"
    "须变更密级：绝密★10年。派生路径：S-1 → D-1。依据：D-13。请于2024年3月31日前处理。"
)
APPLIED_TEXT = f"执行变更通知 N-1（变更密级）：{NOTICE_TEXT}"
SOURCE_NAMES = ("事项 S-1", "S-1", "国保〔2024〕S-1号", "密点 K-1", "K-1")


def _world(store: GraphStore) -> tuple[dict[str, Item], dict[str, Keypoint]]:
    source, derived = item("S-1"), item("D-1", kind=ItemKind.DERIVED)
    point = keypoint("K-1", "S-1")
    cited = (
        BasisCitation("ITEM", "S-1", source.title, source.document_number, "机密★10年"),
        BasisCitation("KEYPOINT", "K-1", point.title, source.document_number, "机密★10年"),
    )

    def work(tx: GraphWriter) -> None:
        add(tx, organisation(), person("P-1"), person("P-2"), source, derived, point)
        tx.add_contained_keypoints("S-1", ["K-1"])
        tx.add_derivations([edge("D-1", "S-1", "K-1")])
        tx.add_records(
            [
                replace(record("R-D1", "D-1"), bases=cited),
                replace(record("R-N1", "D-1"), kind=RecordKind.CHANGE, bases=()),
            ]
        )
        file(tx, change("C-1"), notice("N-1", record_id="R-N1"))

    store.write(work)
    return {"S-1": source, "D-1": derived}, {"K-1": point}


def _as_written_before_phrases(store: GraphStore) -> None:
    """Puts the texts back as a store of the version before phrases held them, as the
    program of that version would have written them (another program, to this one)."""
    texts = [
        ("records", "summary", "R-D1", DERIVED_TEXT),
        ("records", "summary", "R-N1", APPLIED_TEXT),
        ("notices", "text", "N-1", NOTICE_TEXT),
    ]
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:
            for table, column, id, text in texts:
                # Names from the constants above only.
                db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (text, id))  # noqa: S608
            # The schema before phrases. PRAGMA takes no parameters; the number is ours.
            db.execute(f"PRAGMA user_version = {MIGRATIONS.index(_v8):d}")
        db.close()
        return
    assert isinstance(store, Neo4jStore)
    label = {"records": "Record", "notices": "Notice"}
    # The store's own driver, as a tool of the operator's would use the database's.
    with store._driver.session(database=store._database) as session:
        for table, column, id, text in texts:
            session.run(
                f"MATCH (n:{label[table]} {{id: $id}}) SET n.{column} = $text", id=id, text=text
            ).consume()


def test_a_store_written_before_phrases_names_items_by_reference_once_opened(
    opener: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An embedded store made by the version that brought phrases, taken back one version:
    # opened again, it runs that migration and every one after it.
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", MIGRATIONS[: MIGRATIONS.index(_v8) + 1])
    first = opener()
    monkeypatch.undo()
    items, keypoints = _world(first)
    _as_written_before_phrases(first)
    first.close()

    store = opener()  # the migration runs as the store opens
    records = {r.id: r for r in store.read(lambda tx: tx.records("D-1"))}
    (sent,) = store.read(lambda tx: list(tx.notices(["N-1"]).values()))
    names = Names(items, keypoints)

    derived, applied = records["R-D1"].summary, records["R-N1"].summary
    for phrase, text in (
        (derived, DERIVED_TEXT),
        (applied, APPLIED_TEXT),
        (sent.text, NOTICE_TEXT),
    ):
        assert names.spell(phrase) == text  # nothing lost: the same words for who may read all
        for hidden in SOURCE_NAMES:
            assert hidden not in phrase.words, (hidden, phrase)
    assert {item_id("S-1"), keypoint_title("K-1")} <= set(derived.mentions())
    assert {item_title("S-1"), item_id("S-1"), item_title("D-1")} <= set(sent.text.mentions())
    assert item_title("S-1") in set(applied.mentions())

    store.close()
    again = opener()  # a second opening finds nothing left to bring over
    assert again.read(lambda tx: tx.notices(["N-1"])["N-1"].text) == sent.text
