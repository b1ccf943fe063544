"""Bulk import (issue 24, point 6): `lineage import` into an empty embedded store.

The whole file goes in within ONE transaction (graph.store.sqlite_bulk), not a temporary
file renamed into place: the command has already opened (maybe created and migrated) the
store, a server may hold it open, and the audit trail lives beside it; a rename would swap
the file under their connections. SQLite's commit is atomic, so a refused file, a crash or a
kill leaves the store exactly as empty as it was, and readers see nothing until the commit.

What it refuses, and with which error on which line, is what service.transfer.import_graph
refuses with batches of one line (`batch=1`): the first line, in file order, that the store's
writer would refuse given every line above it. (Larger batches write each batch's kinds in
an order of their own, so a line naming a line *below* it in the same batch gets through
there by luck of the batch; a file written by `lineage export` never has one, and on those
files every batch size agrees.) The lines that make up nearly all of a large file (items,
keypoints, DERIVED_FROM, the keypoints items contain, scope-rule links) are checked against
sets of the ids read so far, in the writer's order of checks, and written as rows without a
Python object per edge; a cycle and a repeated DERIVED_FROM edge are found once at the end,
over arrays (graph.cycle.first_closing_edge, a sort). Every other kind (organisations,
persons, rules, records, changes, notices, proposals and their links) is rare and goes
through the store's own writer in the same transaction, line by line.

Neither path checks the derivation rules (that each derived item is classified as its bases
require, D-8, D-9): an export may rightly hold items the rules would now classify otherwise
(a source declassified whose notices are not yet applied), and the audit (`lineage audit`)
is what reports them. The arrays built here (node numbers, the edges' ends) are where such a
check would start from.

The rows are those the batched path writes (tests/e2e/test_bulk_import.py compares stores
filled both ways), and the import's memo (transfer.PROGRESS) is noted done as there, so that
a second import into the store is refused alike.
"""

from __future__ import annotations

import gc
import hashlib
import json
import queue
import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from graph.cycle import first_closing_edge
from graph.errors import CycleRefused, DuplicateId, InvalidValue, LineageError, UnknownId
from graph.model import BasisCase, Derivation, Item, Keypoint, Organisation, Person, ScopeRule
from graph.store import exchange
from graph.store.base import GraphStore, GraphWriter
from graph.store.codec import item_fields, keypoint_fields
from graph.store.sqlite import SqliteStore
from graph.store.sqlite_bulk import BulkLoad
from service.transfer import (
    PROGRESS,
    ImportRefused,
    OnProgress,
    Progress,
    _add,
    _learned,
    _parse,
    _state,
    import_graph,
)

# Rows held before they are written: one executemany per table and this many rows.
FLUSH = 20_000
# Flushes queued for the writer thread at most.
QUEUED = 4
_EDGE_COLUMNS = ("child_id", "parent_id", "basis", "keypoint_ids")
# How often, in lines, the progress callback hears of the load.
TELL = 10_000
# The lines of a file that `lineage export` writes for the three most frequent kinds, which
# alone are read by a pattern rather than parsed: a line that matches is exactly the JSON
# object it looks like (no escapes, no control characters in its strings). Any other line,
# of these kinds too, is parsed and decoded as the batched path does.
_PLAIN = r'[^"\\\x00-\x1f]*'
_TEXT = f'"({_PLAIN})"'
_EDGE = re.compile(
    r'\{"kind":"derived_from","child_id":'
    + _TEXT
    + r',"parent_id":'
    + _TEXT
    + r',"basis":"([A-Z_]+)","keypoint_ids":\[((?:"'
    + _PLAIN
    + r'"(?:,"'
    + _PLAIN
    + r'")*)?)\]\}\r?\n?'
)
_CONTAINS = re.compile(
    r'\{"kind":"contains_keypoint","from":' + _TEXT + r',"to":' + _TEXT + r"\}\r?\n?"
)
_NULL_OR_TEXT = f'(?:null|"{_PLAIN}")'
_LIST = f'\\[(?:"{_PLAIN}"(?:,"{_PLAIN}")*)?\\]'
_SCOPE = f'\\{{"persons":{_LIST},"organisations":{_LIST}\\}}'
# An item line as `lineage export` writes it, in parts: the id, title, document number and
# organisation (groups 1, 3, 4 and 5), which the row holds as they are; its kind (2); its
# date (6); its status and classification (7); its scope, joint organisations and version
# (8). Every value is a plain string, a number or null in its fixed place, so that the line
# holds no key twice and each part's columns follow from its own text alone.
_ITEM = re.compile(
    r'\{"kind":"item","id":'
    + _TEXT
    + r',"item_kind":"([A-Z_]+)","title":'
    + _TEXT
    + r',"document_number":'
    + _TEXT
    + ',"organisation_id":'
    + _TEXT
    + ',"issued_on":'
    + _TEXT
    + ",("
    + f'"status":"{_PLAIN}","level":{_NULL_OR_TEXT},"period_kind":{_NULL_OR_TEXT},'
    + '"period_years":(?:null|\\d+),'
    + f'"period_start":{_NULL_OR_TEXT},"period_until":{_NULL_OR_TEXT},'
    + f'"period_condition":{_NULL_OR_TEXT}'
    + "),("
    + f'"scope":{_SCOPE},"scope_limit":(?:null|{_SCOPE}),'
    + f'"joint_organisation_ids":{_LIST},"version":\\d+'
    + r")\}\r?\n?"
)
# The columns of an item's row (graph.store.codec.item_fields) that the parts above assemble.
_ITEM_COLUMNS = (
    "id",
    "kind",
    "title",
    "document_number",
    "organisation_id",
    "issued_on",
    "status",
    "level",
    "period_kind",
    "period_years",
    "period_start",
    "period_until",
    "period_condition",
    "scope",
    "scope_limit",
    "joint_organisation_ids",
    "expires_on",
    "readers",
    "version",
)
_ITEM_HEAD = '{"kind":"item","id":"'
_EDGE_HEAD = '{"kind":"derived_from","child_id":"'
_CONTAINS_HEAD = '{"kind":"contains_keypoint","from":"'
_BASES = frozenset(case.value for case in BasisCase)
# The kinds written as rows here; every other kind goes through the store's writer.
_ROWS = frozenset(("item", "keypoint", "derived_from", "contains_keypoint", "classified_under"))


def bulk_import(
    store: SqliteStore, lines: Iterable[str], *, on_progress: OnProgress | None = None
) -> Counter[str]:
    """Imports JSON Lines into an empty SQLite store in one transaction; returns how many
    lines of each kind it wrote. A refused file raises what import_graph(batch=1) raises
    (ImportRefused naming the line, or InvalidValue for the header or a store not empty)
    and leaves the store as it was."""
    # The load holds millions of small objects for a while: the cyclic collector would walk
    # them again and again for nothing (none of them forms a cycle).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with store.bulk_transaction() as (db, tx):
            empty, noted = _state(tx)
            if not empty or noted is not None:
                raise InvalidValue("store", "导入目标须为空存储：请导入到新的数据库。")
            rows = BulkLoad(db)
            load = _Load(rows, tx)
            try:
                counts = load.run(lines, on_progress)
                load.rows.finish()
            finally:
                load.rows.stop()  # before the rollback, which must not meet its inserts
                rows.close()
            return counts
    finally:
        if collecting:
            gc.enable()


class _Rows:
    """Rows waiting for their executemany, per table, and the thread that writes them.

    SQLite lets go of the GIL while it inserts a row, so the rows of one flush go in on a
    second core while this thread reads the next lines: a writer thread takes each flush
    in turn (a short queue bounds the rows held). Only it touches the connection until
    `drain` returns, which a line through the store's writer, the memo and the end wait for."""

    def __init__(self, load: BulkLoad) -> None:
        self.load = load
        self.items: list[tuple[Any, ...]] = []
        self.keypoints: list[tuple[Any, ...]] = []
        self.edges: list[tuple[str, str, str, str]] = []
        self.contains: list[tuple[str, str]] = []
        self.classified: list[tuple[str, str]] = []
        self.item_columns: tuple[str, ...] = ()
        self.keypoint_columns: tuple[str, ...] = ()
        self.held = 0
        self._queue: queue.Queue[list[tuple[str, tuple[str, ...], list[Any]]] | None] = queue.Queue(
            maxsize=QUEUED
        )
        self._failed: BaseException | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._write, name="bulk-import", daemon=True)
        self._thread.start()

    def flush(self) -> None:
        """Hands the rows held to the writer thread, in the order of the file's kinds."""
        if self.held:
            self._queue.put(
                [
                    ("items", self.item_columns, self.items),
                    ("keypoints", self.keypoint_columns, self.keypoints),
                    ("derived_from", _EDGE_COLUMNS, self.edges),
                    ("contains_keypoint", ("item_id", "keypoint_id"), self.contains),
                    ("classified_under", ("item_id", "rule_id"), self.classified),
                ]
            )
        self.items, self.keypoints, self.edges, self.contains, self.classified = [], [], [], [], []
        self.held = 0

    def drain(self) -> None:
        """Returns once every row held so far is written; raises what writing them raised."""
        self.flush()
        self._queue.join()
        if self._failed is not None:
            raise self._failed

    def stop(self) -> None:
        """Ends the writer thread, dropping what it has not written (the transaction is to
        be rolled back), or after writing it all (drain first)."""
        if not self._thread.is_alive():
            return
        self._stopping = True
        self._queue.put(None)
        self._thread.join()

    def finish(self) -> None:
        self.drain()
        self.stop()
        self.load.finish()

    def _write(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._failed is None and not self._stopping:
                    for table, columns, rows in batch:
                        self.load.insert(table, columns, rows)
            except BaseException as error:  # handed to the reading thread at its drain
                self._failed = error
            finally:
                self._queue.task_done()


class _Load:
    """One pass over the file: each line checked against the ids of the lines above it."""

    def __init__(self, load: BulkLoad, tx: GraphWriter) -> None:
        self.rows = _Rows(load)
        self.tx = tx
        self.items: dict[str, int] = {}  # id -> node number, for the arrays of edges
        self.keypoints: set[str] = set()
        self.organisations: set[str] = set()
        self.persons: set[str] = set()
        self.rules: set[str] = set()
        self.children = array("i")
        self.parents = array("i")
        self.edge_lines = array("q")
        self.counts: Counter[str] = Counter()
        # The columns of an item's row that follow from each part of its line (_ITEM), by the
        # part's text, from items decoded in full whose checks passed: the organisations and
        # persons an item names are in its parts, and these sets only ever grow.
        self.item_heads: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.item_tails: dict[str, tuple[Any, ...]] = {}
        self.item_days: dict[str, str] = {}

    def run(self, lines: Iterable[str], on_progress: OnProgress | None) -> Counter[str]:
        digest = hashlib.sha256()
        numbered: Iterator[tuple[int, str]] = enumerate(lines, start=1)
        first = next(numbered, None)
        if first is None:
            raise InvalidValue("header", "导入文件为空。")
        digest.update(first[1].encode())
        old = None
        if exchange.check_header(_parse(first[0], first[1])) < exchange.PHRASED:
            old, numbered = _learned(numbered)
        if on_progress is not None:
            on_progress(1, None)
        last = 1
        # The hot loop: an edge without keypoints, and a contained keypoint, whose ids are
        # known, are held right here; any other line, and any line at fault, goes to _line.
        items, keypoints, rows = self.items, self.keypoints, self.rows
        edge, contains, item = _EDGE.fullmatch, _CONTAINS.fullmatch, _ITEM.fullmatch
        item_heads, item_tails, item_days = self.item_heads, self.item_tails, self.item_days
        children, parents, edge_lines = self.children, self.parents, self.edge_lines
        hashed: list[str] = []
        fast_contains = fast_edges = fast_items = 0
        for number, text in numbered:
            hashed.append(text)
            last = number
            if number % TELL == 0:
                digest.update("".join(hashed).encode())  # as line by line, for less
                hashed.clear()
                if on_progress is not None:
                    on_progress(number, None)
            if old is None:
                if text.startswith(_CONTAINS_HEAD):
                    matched = contains(text)
                    if matched is not None:
                        item_id, keypoint_id = matched.groups()
                        if item_id in items and keypoint_id in keypoints:
                            rows.contains.append((item_id, keypoint_id))
                            fast_contains += 1
                            rows.held += 1
                            if rows.held >= FLUSH:
                                rows.flush()
                            continue
                elif text.startswith(_EDGE_HEAD):
                    matched = edge(text)
                    if matched is not None and matched[3] in _BASES:
                        child, parent, basis, listed = matched.groups()
                        below, above = items.get(child), items.get(parent)
                        if (
                            below is not None
                            and above is not None
                            and child != parent
                            and (not listed or _known_keypoints(listed, keypoints))
                        ):
                            children.append(below)
                            parents.append(above)
                            edge_lines.append(number)
                            rows.edges.append((child, parent, basis, _keypoints_text(listed)))
                            fast_edges += 1
                            rows.held += 1
                            if rows.held >= FLUSH:
                                rows.flush()
                            continue
                elif text.startswith(_ITEM_HEAD):
                    matched = item(text)
                    if matched is not None:
                        id, kind, title, document, organisation, day, classed, scoped = (
                            matched.groups()
                        )
                        head = item_heads.get((kind, classed))
                        tail = item_tails.get(scoped)
                        issued = item_days.get(day)
                        if (
                            head is not None
                            and tail is not None
                            and issued is not None
                            and id not in items
                            and organisation in self.organisations
                        ):
                            items[id] = len(items)
                            row = (id, head[0], title, document, organisation, issued, *head[1:8])
                            rows.items.append((*row, *tail[:3], head[8], tail[3], tail[4]))
                            fast_items += 1
                            rows.held += 1
                            if rows.held >= FLUSH:
                                rows.flush()
                            continue
            try:
                self._line(number, text, old)
            except ImportRefused as refused:
                self._refuse_earlier(number)
                raise refused from refused.__cause__
        digest.update("".join(hashed).encode())
        self.counts["contains_keypoint"] += fast_contains
        self.counts["derived_from"] += fast_edges
        self.counts["item"] += fast_items
        self._refuse_earlier(None)
        self.rows.drain()
        self.tx.put_memo(PROGRESS, Progress(last, digest.hexdigest(), True).encoded())
        if on_progress is not None:
            on_progress(last, None)
        return self.counts

    def _line(self, number: int, text: str, old: exchange.Legacy | None) -> None:
        """Checks and holds (or writes) one line the hot loop did not take; raises
        ImportRefused naming it."""
        if not text.strip():
            return
        line = _parse(number, text)
        try:
            value = exchange.decode(line, old)
        except LineageError as error:
            raise ImportRefused(number, error) from error
        key = None
        if isinstance(value, Item):
            matched = _ITEM.fullmatch(text)
            # The key of the row's other fields, where the line's id, title and document
            # number are those it decodes to (a key repeated later in a line would not be).
            if matched is not None and (matched[1], matched[3], matched[4], matched[5]) == (
                value.id,
                value.title,
                value.document_number,
                value.organisation_id,
            ):
                key = ((matched[2], matched[7]), matched[8], matched[6])
        try:
            self._value(number, str(line["kind"]), value, key)
        except ImportRefused:
            raise
        except LineageError as error:
            raise ImportRefused(number, error) from error

    def _value(
        self, number: int, kind: str, value: object, key: tuple[tuple[str, str], str, str] | None
    ) -> None:
        """A decoded line, checked as the writer checks it alone (transfer._add); `key` is
        the texts of an item line's parts (_ITEM), if it has them."""
        if kind not in _ROWS:
            self._written(kind, value)
            return
        match value:
            case Item():
                self._item(value, key)
            case Keypoint():
                self._keypoint(value)
            case Derivation():
                ids = value.keypoint_ids
                self._edge(
                    number, value.child_id, value.parent_id, value.case.value, ids, json.dumps(ids)
                )
            case ("contains_keypoint", item_id, keypoint_id):
                self._contains(number, str(item_id), str(keypoint_id))
            case ("classified_under", item_id, rule_id):
                self._require(self.items, "item", (str(item_id),))
                self._require(self.rules, "scope_rule", (str(rule_id),))
                self._hold(self.rows.classified, (str(item_id), str(rule_id)), kind)
            case _:
                self._written(kind, value)

    def _written(self, kind: str, value: object) -> None:
        """A rare line, through the store's writer: what the writer checks reads the rows of
        the lines above it, so those are written first."""
        self.rows.drain()
        _add(self.tx, [value])
        match value:
            case Organisation():
                self.organisations.add(value.id)
            case Person():
                self.persons.add(value.id)
            case ScopeRule():
                self.rules.add(value.id)
        self.counts[kind] += 1

    def _item(self, item: Item, key: tuple[tuple[str, str], str, str] | None) -> None:
        # SqliteStore.add_items for one item: its id, then organisations, then persons.
        if item.id in self.items:
            raise DuplicateId("item", item.id)
        organisations = [item.organisation_id]
        persons: list[str] = []
        for scope in (item.scope, item.scope_limit):
            if scope is not None:
                persons += sorted(scope.persons)
                organisations += sorted(scope.organisations)
        organisations += sorted(item.joint_organisation_ids)
        self._require(self.organisations, "organisation", organisations)
        self._require(self.persons, "person", persons)
        self.items[item.id] = len(self.items)
        fields = item_fields(item)
        if not self.rows.item_columns:
            self.rows.item_columns = tuple(fields)
        row = tuple(fields.values())
        # Where the codec's columns are no longer those the parts assemble, nothing is kept
        # and every item is decoded in full.
        if key is not None and self.rows.item_columns == _ITEM_COLUMNS:
            self.item_heads[key[0]] = (row[1], *row[6:13], row[16])
            self.item_tails[key[1]] = (*row[13:16], row[17], row[18])
            self.item_days[key[2]] = row[5]
        self._hold(self.rows.items, row, "item")

    def _keypoint(self, keypoint: Keypoint) -> None:
        if keypoint.id in self.keypoints:
            raise DuplicateId("keypoint", keypoint.id)
        self._require(self.items, "item", (keypoint.item_id,))
        self.keypoints.add(keypoint.id)
        fields = keypoint_fields(keypoint)
        if not self.rows.keypoint_columns:
            self.rows.keypoint_columns = tuple(fields)
        self._hold(self.rows.keypoints, tuple(fields.values()), "keypoint")

    def _edge(
        self,
        number: int,
        child: str,
        parent: str,
        basis: str,
        keypoint_ids: tuple[str, ...],
        keypoints_text: str,
    ) -> None:
        # SqliteStore.add_derivations for one edge: itself, both ends, its keypoints; a
        # repeat and a cycle are found at the end, over all edges at once.
        try:
            if child == parent:
                raise CycleRefused(child, parent)
            self._require(self.items, "item", (child, parent))
            self._require(self.keypoints, "keypoint", keypoint_ids)
        except LineageError as error:
            raise ImportRefused(number, error) from error
        self.children.append(self.items[child])
        self.parents.append(self.items[parent])
        self.edge_lines.append(number)
        self._hold(self.rows.edges, (child, parent, basis, keypoints_text), "derived_from")

    def _contains(self, number: int, item_id: str, keypoint_id: str) -> None:
        try:
            self._require(self.items, "item", (item_id,))
            self._require(self.keypoints, "keypoint", (keypoint_id,))
        except LineageError as error:
            raise ImportRefused(number, error) from error
        self._hold(self.rows.contains, (item_id, keypoint_id), "contains_keypoint")

    def _hold(self, rows: list[Any], row: Any, kind: str) -> None:
        rows.append(row)
        self.counts[kind] += 1
        self.rows.held += 1
        if self.rows.held >= FLUSH:
            self.rows.flush()

    @staticmethod
    def _require(known: set[str] | dict[str, int], kind: str, ids: Iterable[str]) -> None:
        for id in ids:
            if id not in known:
                raise UnknownId(kind, id)

    def _refuse_earlier(self, before: int | None) -> None:
        """Raises for the first edge above line `before` (all of them for None) that repeats
        an earlier one or closes a cycle, the checks made at the end; nothing when none."""
        lines = np.frombuffer(self.edge_lines, dtype=np.int64)
        count = len(lines) if before is None else int(np.searchsorted(lines, before))
        if not count:
            return
        children = np.frombuffer(self.children, dtype=np.int32)[:count]
        parents = np.frombuffer(self.parents, dtype=np.int32)[:count]
        keys = children.astype(np.int64) * len(self.items) + parents
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        repeats = order[1:][ordered[1:] == ordered[:-1]]
        first_repeat = int(repeats.min()) if len(repeats) else count
        closing = first_closing_edge(
            children[:first_repeat], parents[:first_repeat], len(self.items)
        )
        if closing is not None:
            child, parent = self._ids(children[closing], parents[closing])
            raise ImportRefused(int(lines[closing]), CycleRefused(child, parent))
        if first_repeat < count:
            child, parent = self._ids(children[first_repeat], parents[first_repeat])
            error = DuplicateId("derivation", f"{child} -> {parent}")
            raise ImportRefused(int(lines[first_repeat]), error)

    def _ids(self, *numbers: np.int32) -> list[str]:
        """The ids of node numbers (a refusal's only: one pass over all ids)."""
        wanted = {int(n): i for i, n in enumerate(numbers)}
        found = [""] * len(numbers)
        for id, number in self.items.items():
            if number in wanted:
                found[wanted[number]] = id
        return found


def bulk_ready(store: GraphStore, resume: bool) -> SqliteStore | None:
    """The store, where an import goes the bulk way: an empty embedded store, not resumed.
    A store not empty, an import cut short and the Bolt store take import_graph's way."""
    if resume or not isinstance(store, SqliteStore):
        return None
    empty, noted = store.read(_state)
    return store if empty and noted is None else None


def import_into(
    store: GraphStore,
    lines: Iterable[str],
    *,
    resume: bool = False,
    on_progress: OnProgress | None = None,
) -> tuple[Counter[str], bool]:
    """What `lineage import` runs: the bulk import where `bulk_ready`, import_graph
    otherwise; returns the counts and whether it went the bulk way."""
    embedded = bulk_ready(store, resume)
    if embedded is not None:
        return bulk_import(embedded, lines, on_progress=on_progress), True
    return import_graph(store, lines, resume=resume, on_progress=on_progress), False


def _known_keypoints(listed: str, keypoints: set[str]) -> bool:
    """Whether every keypoint of an edge's list as the pattern read it ('"a","b"') is known."""
    return all(k in keypoints for k in listed[1:-1].split('","'))


def _keypoints_text(listed: str) -> str:
    """The keypoint ids of an edge as the store writes them (json.dumps of the tuple): ASCII
    ids are written as they are, quoted, with json's separator; others are dumped."""
    if not listed:
        return "[]"
    if listed.isascii():
        return "[" + listed.replace('","', '", "') + "]"
    return json.dumps(listed[1:-1].split('","'))
