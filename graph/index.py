"""The lineage graph in arrays (issue 24, point 1): node numbers for item ids, DERIVED_FROM as
compressed rows (CSR) in both directions, and the item attributes the rules read as numpy
columns. Traversal over it (`descendants`, `layers`) touches integer arrays only, so its cost
is that of the nodes and edges reached, in numpy, never a Python object per item.

Not yet used by the service: this is the building block the impact analysis, the bulk commit
and the import are to be rewired onto.

Updates, and why they are shaped so:

- Nodes are numbered once and keep their number: node columns grow by doubling their
  capacity (amortised O(1) per appended item), so a column is always current and a number
  handed out stays valid.
- Edges appended after a build go to a small *delta* (coordinate lists), which traversal reads
  beside the CSR (a binary search per frontier node). When the delta grows past an eighth of
  the CSR (and `MIN_DELTA`), it is merged: a rebuild of both CSRs in O(n + m), paid once per
  m/8 appended edges, so appends cost amortised O(1) and a commit that adds a few edges never
  rebuilds the arrays the next analysis reads.
- Ids appended since the last merge are looked up in a dict; the others by binary search in a
  sorted copy of the ids (numpy `searchsorted`), which a memory-mapped load shares.

Edges are identified by (child, parent): a repeated pair keeps its first form, as the stores
refuse a second one. A repeat in the delta costs traversal nothing (it is counted alike on both
sides of an in-degree) and is dropped at the merge.

An index is not safe to append to while another thread reads it: the service is to append to
a copy or under its writer's lock, and publish the index of a generation once it is complete.
Removing edges (a corrected basis) is not supported yet: rebuild.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from graph.lineage import Index
from graph.model import (
    BasisCase,
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    PeriodKind,
    period_kind,
)
from graph.store import codec
from graph.store.base import GraphReader, ItemQuery

Int32s = npt.NDArray[np.int32]
Int8s = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]
G = TypeVar("G", bound=np.generic)

# Codes of the enumerated columns: a value's position in its enumeration. The header of a saved
# index lists them, and a load whose enumerations have since changed is refused.
STATUSES = tuple(ItemStatus)
KINDS = tuple(ItemKind)
PERIODS = tuple(PeriodKind)
CASES = tuple(BasisCase)
_STATUS = {s: i for i, s in enumerate(STATUSES)}
_KIND = {k: i for i, k in enumerate(KINDS)}
_PERIOD = {p: i for i, p in enumerate(PERIODS)}
_CASE = {c: i for i, c in enumerate(CASES)}
# The period code of an item never classified, and its end day where the period has no dated
# end (a condition, long-term, or no classification).
NO_PERIOD = -1
NO_DAY = 0

# The tables whose generation the index reflects (graph.store.cache's counters), and the
# database's identity where the store keeps one (the SQLite store's migration 13).
TABLES = ("items", "derived_from", "identity")
# The delta is merged once it holds this many edges and an eighth of the CSR's.
MIN_DELTA = 4096
FORMAT = "lineage-graph-index"
VERSION = 2
PAGE = 5000
# `layers` counts a round's edges with one pass over the graph when they number at least
# 1/DENSE of its nodes, by a sort otherwise.
DENSE = 16

_COLUMNS = (
    "level",
    "end_day",
    "period",
    "status",
    "kind",
    "organisation",
    "classification",
    "scope",
    "scope_limit",
)
# What the fan-out groups descendants by (graph.propagation.Profiles).
PROFILE_COLUMNS = ("classification", "scope", "scope_limit", "status", "organisation")
_CSR = ("down_rows", "down", "down_form", "up_rows", "up", "up_form")
# What a store's scan gives of an item: id, kind, status, organisation id, classification,
# scope, scope limit; of an edge: child id, parent id, case, keypoint ids.
ItemRow = tuple[
    str, ItemKind, ItemStatus, str, Classification | None, KnowledgeScope, KnowledgeScope | None
]
EdgeRow = tuple[str, str, BasisCase, tuple[str, ...]]
# An edge's form: its case and the keypoints it involves (D-7), numbered in `forms`.
Form = tuple[BasisCase, tuple[str, ...]]


@dataclass
class Journal:
    """What one write transaction did to the tables the index reflects, in order: items
    added or changed (their new values), DERIVED_FROM edges added, and edges removed (child
    id, parent id). A store's writer fills it; `GraphIndex.patched` applies it."""

    items: list[Item] = field(default_factory=list)
    added: list[Derivation] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items) + len(self.added) + len(self.removed)


class Tables:
    """The values the index's number columns point into, each numbered once: organisations
    by id, classifications, knowledge scopes (for both `scope` and `scope_limit`) and edge
    forms. Number 0 of `classifications` and `scopes` stands for none. A large graph repeats
    few of them, so a column of numbers costs 4 bytes an item and equal values compare as
    equal numbers."""

    def __init__(
        self,
        organisations: Sequence[str] = (),
        classifications: Sequence[Classification | None] = (None,),
        scopes: Sequence[KnowledgeScope | None] = (None,),
        forms: Sequence[Form] = (),
    ) -> None:
        self.organisations = list(organisations)
        self.classifications = list(classifications)
        self.scopes = list(scopes)
        self.forms = list(forms)
        self._numbers: dict[str, dict[Any, int]] = {
            name: {value: n for n, value in enumerate(getattr(self, name))}
            for name in ("organisations", "classifications", "scopes", "forms")
        }

    def number(self, table: str, value: Any) -> int:
        """`value`'s number in `table`, numbered anew where it is not there yet."""
        numbers = self._numbers[table]
        found = numbers.get(value)
        if found is None:
            values: list[Any] = getattr(self, table)
            found = numbers[value] = len(values)
            values.append(value)
        return found

    def copy(self) -> Tables:
        return Tables(self.organisations, self.classifications, self.scopes, self.forms)

    def encoded(self) -> dict[str, Any]:
        """The tables as JSON values, for a saved index's header."""
        return {
            "organisations": self.organisations,
            "classifications": [codec.classification_fields(c) for c in self.classifications],
            "scopes": [None if s is None else codec.scope_json(s) for s in self.scopes],
            "forms": [[case.value, list(keys)] for case, keys in self.forms],
        }

    @classmethod
    def decoded(cls, data: Mapping[str, Any]) -> Tables:
        return cls(
            data["organisations"],
            [codec.classification_from(c) for c in data["classifications"]],
            [codec.limit_of(s) for s in data["scopes"]],
            [(BasisCase(case), tuple(keys)) for case, keys in data["forms"]],
        )


class GraphIndex:
    """DERIVED_FROM over numbered items, and their columns. Node numbers run from 0 to `size`
    - 1; `down` rows lead from a parent to its children, `up` rows from a child to its
    parents (its bases), each target with its edge's form (a number into `tables.forms`: the
    case and the keypoints involved, int32).

    Columns, one entry per node: `level` (the rank of its level, 0 for none), `end_day` (the
    ordinal of the day its period ends, unmarked periods made explicit; `NO_DAY` when there
    is no dated end), `period` (`PERIODS` code, `NO_PERIOD` when never classified), `status`
    (`STATUSES` code), `kind` (`KINDS` code), `organisation` (a number into
    `tables.organisations`), and the numbers of its `classification` (into
    `tables.classifications`), `scope` and `scope_limit` (into `tables.scopes`). `generation`
    is the store's generation of `TABLES` the index reflects; a caller that appends what it
    writes moves it on."""

    def __init__(
        self,
        ids: npt.NDArray[np.str_],
        sorted_nodes: Int32s,
        columns: Mapping[str, npt.NDArray[Any]],
        tables: Tables,
        child: Int32s,
        parent: Int32s,
        form: Int32s,
        generation: Mapping[str, int] | None = None,
        csr: tuple[Int32s, Int32s, Int32s, Int32s, Int32s, Int32s] | None = None,
    ) -> None:
        """Use `from_values`, `from_reader` or `load`. `csr`, where given, must be the edges'
        CSRs as `_csr` builds them (a load reads them rather than sort again)."""
        # Only the tables it reflects: a write elsewhere (notices, users) leaves it current.
        self.generation = {t: g for t, g in (generation or {}).items() if t in TABLES}
        self._ids = ids
        self._base_nodes = len(ids)
        self._sorted_nodes = sorted_nodes
        in_order = bool(np.array_equal(sorted_nodes, np.arange(len(ids), dtype=np.int32)))
        # A build numbers ids in sorted order, so the sorted copy is the ids themselves.
        self._sorted_ids = ids if in_order else ids[sorted_nodes]
        self._in_order = in_order
        self._appended: dict[str, int] = {}
        self._appended_ids: list[str] = []
        self._size = len(ids)
        self._columns: dict[str, npt.NDArray[Any]] = dict(columns)
        self.tables = tables
        if csr is None:
            csr = _csr(child, parent, form, len(ids))
        self._down_rows, self._down, self._down_form, self._up_rows, self._up, self._up_form = csr
        self._delta: tuple[Int32s, Int32s, Int32s] = (
            _empty(np.int32),
            _empty(np.int32),
            _empty(np.int32),
        )
        self._delta_used = 0
        self._delta_sorted: tuple[Int32s, Int32s, Int32s, Int32s] | None = None
        self._fan_out: Index | None = None

    # Building

    @classmethod
    def from_values(
        cls,
        items: Iterable[Item],
        edges: Iterable[Derivation],
        generation: Mapping[str, int] | None = None,
    ) -> GraphIndex:
        """The index of `items` and the DERIVED_FROM `edges` between them. Nodes are numbered
        in the order of their ids. Raises ValueError for an edge naming an item not given."""
        rows = {item.id: item for item in items}
        ids = np.array(sorted(rows), dtype=str)
        tables = Tables()
        columns = _columns_of([rows[i] for i in ids.tolist()], tables)
        index = cls(
            ids,
            np.arange(len(ids), dtype=np.int32),
            columns,
            tables,
            _empty(np.int32),
            _empty(np.int32),
            _empty(np.int32),
            generation,
        )
        child, parent, form = index._numbered(edges)
        index._set_csr(_csr(child, parent, form, index._size))
        return index

    @classmethod
    def from_rows(
        cls,
        items: Iterable[ItemRow],
        edges: Iterable[EdgeRow],
        generation: Mapping[str, int] | None = None,
    ) -> GraphIndex:
        """The index of item rows and DERIVED_FROM edge rows as a store scans them, without
        an `Item` per row: what the columns hold, with each classification, scope and form
        decoded once by the store (equal values shared), and each distinct classification's
        columns computed once. Rows may come in any order; nodes are numbered by id."""
        tables = Tables()
        number = tables.number
        ids: list[str] = []
        kinds, statuses, organisations, classifications, scopes, limits = ([] for _ in range(6))
        for item_id, kind, status, organisation, classification, scope, limit in items:
            ids.append(item_id)
            kinds.append(_KIND[kind])
            statuses.append(_STATUS[status])
            organisations.append(number("organisations", organisation))
            classifications.append(number("classifications", classification))
            scopes.append(number("scopes", scope))
            limits.append(number("scopes", limit))
        names = np.array(ids, dtype=str)
        order = np.argsort(names, kind="stable")
        # Per classification, numbered: level, end day and period kind (X-11's explicit end).
        given = np.array(
            [_classification_columns(c) for c in tables.classifications], dtype=np.int64
        ).reshape(-1, 3)
        numbered = np.array(classifications, dtype=np.int32)[order]
        columns: dict[str, npt.NDArray[Any]] = {
            "level": given[numbered, 0].astype(np.int8),
            "end_day": given[numbered, 1].astype(np.int32),
            "period": given[numbered, 2].astype(np.int8),
            "status": np.array(statuses, dtype=np.int8)[order],
            "kind": np.array(kinds, dtype=np.int8)[order],
            "organisation": np.array(organisations, dtype=np.int32)[order],
            "classification": numbered,
            "scope": np.array(scopes, dtype=np.int32)[order],
            "scope_limit": np.array(limits, dtype=np.int32)[order],
        }
        sorted_names = names[order]
        index = cls(
            sorted_names,
            np.arange(len(ids), dtype=np.int32),
            columns,
            tables,
            _empty(np.int32),
            _empty(np.int32),
            _empty(np.int32),
            generation,
        )
        children, parents, forms = [], [], []
        for child, parent, case, keypoint_ids in edges:
            children.append(child)
            parents.append(parent)
            forms.append(number("forms", (case, keypoint_ids)))
        child_nodes = index.numbers(children)
        parent_nodes = index.numbers(parents)
        missing = np.flatnonzero((child_nodes < 0) | (parent_nodes < 0))
        if len(missing):
            at = int(missing[0])
            raise ValueError(
                f"The edge {children[at]} -> {parents[at]} names an item the index does not hold."
            )
        index._set_csr(
            _csr(child_nodes, parent_nodes, np.array(forms, dtype=np.int32), index._size)
        )
        return index

    @classmethod
    def from_reader(cls, tx: GraphReader, page: int = PAGE) -> GraphIndex:
        """The index of every item and edge a store holds, read in one transaction: pages of
        items by id (`find_items`), the edges into each page (`parents`), and the generation
        of the snapshot read. The port has no cheaper whole-table read yet; a store that keeps
        DERIVED_FROM whole (the SQLite store's `_whole_lineage`) could lend it."""
        generations = tx.generations()
        items: list[Item] = []
        edges: list[Derivation] = []
        after: str | None = None
        while True:
            batch = tx.find_items(ItemQuery(after=after, limit=page))
            items.extend(batch)
            edges.extend(tx.parents([i.id for i in batch]))
            if len(batch) < page:
                break
            after = batch[-1].id
        generation = {t: generations[t] for t in TABLES if t in generations}
        return cls.from_values(items, edges, generation)

    # Nodes

    @property
    def size(self) -> int:
        return self._size

    @property
    def edge_count(self) -> int:
        """Edges held, counting a repeat still in the delta."""
        return len(self._up) + self._delta_used

    def column(self, name: str) -> npt.NDArray[Any]:
        """Column `name` (see the class), one entry per node; a view, not to be written."""
        return self._columns[name][: self._size]

    @property
    def organisations(self) -> list[str]:
        return self.tables.organisations

    @property
    def classification(self) -> Int32s:
        return self.column("classification")

    @property
    def scope(self) -> Int32s:
        return self.column("scope")

    @property
    def scope_limit(self) -> Int32s:
        return self.column("scope_limit")

    def fan_out(self) -> Index:
        """The index as the fan-out reads a lineage (`fan_out_index`), built on first use; a
        race between readers only repeats the work."""
        if self._fan_out is None:
            self._fan_out = fan_out_index(self)
        return self._fan_out

    @property
    def level(self) -> Int8s:
        return self.column("level")

    @property
    def end_day(self) -> Int32s:
        return self.column("end_day")

    @property
    def period(self) -> Int8s:
        return self.column("period")

    @property
    def status(self) -> Int8s:
        return self.column("status")

    @property
    def kind(self) -> Int8s:
        return self.column("kind")

    @property
    def organisation(self) -> Int32s:
        return self.column("organisation")

    @property
    def in_id_order(self) -> bool:
        """Whether node numbers follow the order of the ids (as a build numbers them; an
        appended id is numbered after the others)."""
        return self._in_order and not self._appended_ids

    def number(self, item_id: str) -> int | None:
        """The node number of `item_id`, or None."""
        found = self.numbers([item_id])[0]
        return None if found < 0 else int(found)

    def numbers(self, item_ids: Sequence[str]) -> Int32s:
        """The node number of each of `item_ids`, -1 where it is not in the index."""
        out = np.full(len(item_ids), -1, dtype=np.int32)
        if not len(item_ids):
            return out
        wanted = np.asarray(item_ids, dtype=str)
        sorted_ids = self._sorted_ids
        if len(sorted_ids):
            at = np.searchsorted(sorted_ids, wanted)
            inside = at < len(sorted_ids)
            hit = np.zeros(len(wanted), dtype=bool)
            hit[inside] = sorted_ids[at[inside]] == wanted[inside]
            out[hit] = self._sorted_nodes[at[hit]]
        if self._appended:
            for i in np.flatnonzero(out < 0).tolist():
                out[i] = self._appended.get(item_ids[i], -1)
        return out

    def ids(self, nodes: npt.NDArray[np.integer[Any]]) -> list[str]:
        """The item ids of `nodes`."""
        wanted = np.asarray(nodes, dtype=np.int64)
        base = self._base_nodes
        if not self._appended_ids:
            found: list[str] = self._ids[wanted].tolist()
            return found
        extra = self._appended_ids
        known = iter(self._ids[wanted[wanted < base]].tolist())
        return [next(known) if node < base else extra[node - base] for node in wanted.tolist()]

    # Appending

    def append_items(self, items: Iterable[Item]) -> Int32s:
        """Adds `items` as new nodes, or patches the columns of those already in (a changed or
        declassified item). Their node numbers, in order."""
        batch = list(items)
        numbers = self.numbers([i.id for i in batch])
        for position in np.flatnonzero(numbers < 0).tolist():
            item_id = batch[position].id
            number = self._appended.get(item_id)  # an id given twice in `batch`
            if number is None:
                number = self._base_nodes + len(self._appended_ids)
                self._appended[item_id] = number
                self._appended_ids.append(item_id)
            numbers[position] = number
        self._size = max(self._size, int(numbers.max()) + 1) if len(batch) else self._size
        values = _columns_of(batch, self.tables)
        for name in _COLUMNS:
            column = _room(self._columns[name], self._size)
            column[numbers] = values[name]
            self._columns[name] = column
        return numbers

    def append_edges(self, edges: Iterable[Derivation]) -> None:
        """Adds DERIVED_FROM `edges` between items already in. Raises ValueError for an edge
        naming an item not in the index (append the items first)."""
        child, parent, form = self._numbered(edges)
        used, added = self._delta_used, len(child)
        if not added:
            return
        end = used + added
        grown_child = _room(self._delta[0], end)
        grown_parent = _room(self._delta[1], end)
        grown_form = _room(self._delta[2], end)
        grown_child[used:end], grown_parent[used:end], grown_form[used:end] = child, parent, form
        self._delta = (grown_child, grown_parent, grown_form)
        self._delta_used = used + added
        self._delta_sorted = None
        if self._delta_used >= max(MIN_DELTA, len(self._up) // 8):
            self.merge()

    def patched(self, journal: Journal, generation: Mapping[str, int]) -> GraphIndex:
        """A new index: this one with `journal` applied, reflecting `generation`, merged (so
        that readers may share it without writing to it). This one is left as it is, for the
        readers that still hold it: columns are copied (O(n), a few milliseconds at a million
        items), the CSRs shared unless edges were added or removed."""
        new = GraphIndex.__new__(GraphIndex)
        new.__dict__.update(self.__dict__)
        new.generation = {t: g for t, g in generation.items() if t in TABLES}
        new._columns = {name: np.array(column) for name, column in self._columns.items()}
        new.tables = self.tables.copy()
        new._appended = dict(self._appended)
        new._appended_ids = list(self._appended_ids)
        new._delta = tuple(np.array(a) for a in self._delta)  # type: ignore[assignment]
        new._fan_out = None
        if journal.items:
            new.append_items(journal.items)
        if journal.removed:
            new._remove_edges(journal.removed)
        if journal.added:
            new.append_edges(journal.added)
        new.merge()
        return new

    def _remove_edges(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Drops the edges (child id, parent id) given, rebuilding both CSRs: a corrected
        basis is rare, and a rebuild is linear."""
        self.merge()
        child = self.numbers([c for c, _ in pairs]).astype(np.int64)
        parent = self.numbers([p for _, p in pairs]).astype(np.int64)
        width = max(self._size, 1)
        gone = child * width + parent
        counts = np.diff(self._up_rows).astype(np.int32)
        owners = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        kept = ~np.isin(owners.astype(np.int64) * width + self._up, gone)
        self._set_csr(_csr(owners[kept], self._up[kept], self._up_form[kept], self._size))

    def merge(self) -> None:
        """Merges the appended ids and edges into the sorted ids and the CSRs (done by
        `append_edges` when the delta is large, and before `save`)."""
        if self._appended_ids:
            self._ids = np.concatenate([self._ids, np.array(self._appended_ids, dtype=str)])
            self._base_nodes = len(self._ids)
            self._sorted_nodes = np.argsort(self._ids, kind="stable").astype(np.int32)
            self._sorted_ids = self._ids[self._sorted_nodes]
            self._in_order = bool(
                np.array_equal(self._sorted_nodes, np.arange(len(self._ids), dtype=np.int32))
            )
            self._appended, self._appended_ids = {}, []
        if self._delta_used or len(self._down_rows) != self._size + 1:
            counts = np.diff(self._up_rows).astype(np.int32)
            base_child = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
            used = self._delta_used
            child = np.concatenate([base_child, self._delta[0][:used]])
            parent = np.concatenate([self._up, self._delta[1][:used]])
            form = np.concatenate([self._up_form, self._delta[2][:used]])
            self._set_csr(_csr(child, parent, form, self._size))
            self._delta = (_empty(np.int32), _empty(np.int32), _empty(np.int32))
            self._delta_used = 0
            self._delta_sorted = None

    # Edges, for traversal

    def children_of(self, nodes: Int32s) -> tuple[Int32s, Int32s]:
        """Each edge leaving `nodes` downwards, as (parent, child) arrays."""
        return self._gather(nodes, down=True)

    def parents_of(self, nodes: Int32s) -> tuple[Int32s, Int32s]:
        """Each edge into `nodes` from their bases, as (child, parent) arrays."""
        return self._gather(nodes, down=False)

    def csr(self, down: bool = True) -> tuple[Int32s, Int32s, Int32s]:
        """The rows, targets and forms of one direction, the delta merged first."""
        self.merge()
        if down:
            return self._down_rows, self._down, self._down_form
        return self._up_rows, self._up, self._up_form

    def case(self, forms: Int32s) -> Int8s:
        """The `CASES` code of each of `forms`."""
        cases = np.array([_CASE[case] for case, _ in self.tables.forms], dtype=np.int8)
        found: Int8s = cases[forms] if len(cases) else _empty(np.int8)
        return found

    def _gather(self, nodes: Int32s, down: bool) -> tuple[Int32s, Int32s]:
        rows, targets = (self._down_rows, self._down) if down else (self._up_rows, self._up)
        owners, found = _rows_of(rows, targets, nodes)
        if not self._delta_used:
            return owners, found
        by_parent, parent_child, by_child, child_parent = self._sorted_delta()
        keys, values = (by_parent, parent_child) if down else (by_child, child_parent)
        starts = np.searchsorted(keys, nodes, side="left").astype(np.int32)
        ends = np.searchsorted(keys, nodes, side="right").astype(np.int32)
        more_owners, more = _slices(values, starts, ends, nodes)
        return np.concatenate([owners, more_owners]), np.concatenate([found, more])

    def _sorted_delta(self) -> tuple[Int32s, Int32s, Int32s, Int32s]:
        """The delta sorted by parent (with each child) and by child (with each parent),
        sorted again only after an append."""
        if self._delta_sorted is None:
            used = self._delta_used
            child, parent = self._delta[0][:used], self._delta[1][:used]
            down = np.argsort(parent, kind="stable")
            up = np.argsort(child, kind="stable")
            self._delta_sorted = (parent[down], child[down], child[up], parent[up])
        return self._delta_sorted

    def _numbered(self, edges: Iterable[Derivation]) -> tuple[Int32s, Int32s, Int32s]:
        batch = list(edges)
        child = self.numbers([e.child_id for e in batch])
        parent = self.numbers([e.parent_id for e in batch])
        missing = np.flatnonzero((child < 0) | (parent < 0))
        if len(missing):
            edge = batch[int(missing[0])]
            raise ValueError(
                f"The edge {edge.child_id} -> {edge.parent_id} names an item the index does "
                "not hold; add the item first."
            )
        number = self.tables.number
        form = np.array([number("forms", (e.case, e.keypoint_ids)) for e in batch], dtype=np.int32)
        return child, parent, form

    def _set_csr(self, csr: tuple[Int32s, Int32s, Int32s, Int32s, Int32s, Int32s]) -> None:
        self._down_rows, self._down, self._down_form, self._up_rows, self._up, self._up_form = csr

    # Persistence

    def save(self, path: Path) -> None:
        """Writes the index to the directory `path`: one `.npy` file per array (so that `load`
        can map them) and `header.json` with the generation, the sizes and the enumerations.
        Written beside it and swapped in, so a reader finds the old index or the new one."""
        self.merge()
        path = Path(path)
        fresh = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        fresh.mkdir(parents=True)
        csr = (self._down_rows, self._down, self._down_form, self._up_rows, self._up, self._up_form)
        arrays: dict[str, npt.NDArray[Any]] = {"ids": self._ids, "sorted_nodes": self._sorted_nodes}
        arrays.update(zip(_CSR, csr, strict=True))
        arrays.update({name: self.column(name) for name in _COLUMNS})
        for name, array in arrays.items():
            np.save(fresh / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "generation": self.generation,
            "nodes": self._size,
            "edges": len(self._up),
            "tables": self.tables.encoded(),
            "enumerations": _enumerations(),
        }
        (fresh / "header.json").write_text(json.dumps(header), encoding="utf-8")
        old = path.with_name(f"{path.name}.{uuid.uuid4().hex}.old")
        if path.exists():
            path.rename(old)
        fresh.rename(path)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(
        cls, path: Path, generation: Mapping[str, int], mmap: bool = True
    ) -> GraphIndex | None:
        """The index saved at `path` if it reflects `generation` (of `TABLES`) and this
        version of the code; None otherwise (missing, stale, or unreadable): the caller
        rebuilds it. With `mmap`, the arrays are mapped rather than read, so that opening
        costs what is touched; an append copies the columns it grows."""
        path = Path(path)
        try:
            header = json.loads((path / "header.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        wanted = {t: generation[t] for t in TABLES if t in generation}
        if (
            header.get("format") != FORMAT
            or header.get("version") != VERSION
            or header.get("generation") != wanted
            or header.get("enumerations") != _enumerations()
        ):
            return None
        mode: Any = "r" if mmap else None
        names = ("ids", "sorted_nodes", *_CSR, *_COLUMNS)
        try:
            read = {
                name: np.load(path / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
                for name in names
            }
        except (OSError, ValueError):
            return None
        if len(read["ids"]) != header["nodes"] or len(read["up"]) != header["edges"]:
            return None
        csr: Any = tuple(read[name] for name in _CSR)
        try:
            tables = Tables.decoded(header["tables"])
        except (KeyError, TypeError, ValueError):
            return None
        return cls(
            read["ids"],
            read["sorted_nodes"],
            {name: read[name] for name in _COLUMNS},
            tables,
            _empty(np.int32),
            _empty(np.int32),
            _empty(np.int32),
            header["generation"],
            csr,
        )


# Traversal


def descendants(index: GraphIndex, sources: npt.ArrayLike) -> Int32s:
    """The nodes reached from `sources` by one DERIVED_FROM edge or more, downwards, each
    once: a source only where it lies below another. Breadth-first in whole frontiers, each
    round one gather over the CSR rows of the frontier and a visited mask, so the cost is
    linear in the nodes and edges reached (plus masks of the graph's size, allocated once).
    Frontier after frontier; the order within a frontier means nothing."""
    size = index.size
    seen = np.zeros(size, dtype=bool)
    place = np.zeros(size, dtype=np.int32)
    frontier = np.unique(np.asarray(sources, dtype=np.int32))
    found: list[Int32s] = []
    while len(frontier):
        _, reached = index.children_of(frontier)
        reached = _once(reached[~seen[reached]], place)
        seen[reached] = True
        found.append(reached)
        frontier = reached
    return np.concatenate(found) if found else _empty(np.int32)


def layers(index: GraphIndex, nodes: npt.ArrayLike) -> Int32s:
    """The topological layer of each of `nodes` (aligned with it) within the subgraph they
    span, as graph.propagation's fan-out takes them: layer 0 holds the nodes with no parent
    among `nodes`, and a node lies one layer below the last of its parents among them (the
    length of the longest path to it inside `nodes`). Kahn's algorithm by whole frontiers,
    the in-degrees counted only over edges inside `nodes`. Raises ValueError on a cycle."""
    wanted = np.asarray(nodes, dtype=np.int32)
    size = index.size
    inside = np.zeros(size, dtype=bool)
    inside[wanted] = True
    # Each node once: a node given twice would count its parents twice.
    distinct = _once(wanted, np.zeros(size, dtype=np.int32))
    owners, parents = index.parents_of(distinct)
    pending = np.bincount(owners[inside[parents]], minlength=size).astype(np.int32)
    layer_of = np.full(size, -1, dtype=np.int32)
    frontier = distinct[pending[distinct] == 0]
    depth = 0
    place = np.zeros(size, dtype=np.int32)
    while len(frontier):
        layer_of[frontier] = depth
        _, reached = index.children_of(frontier)
        reached = reached[inside[reached]]
        if len(reached) * DENSE >= size:
            # Many edges: one count over the whole graph costs less than a sort of them, and
            # at most DENSE times their number, so the walk stays linear.
            pending -= np.bincount(reached, minlength=size).astype(np.int32)
            reached = _once(reached, place)
        else:
            reached, counts = _counted(reached)
            pending[reached] -= counts
        frontier = reached[pending[reached] == 0]
        depth += 1
    out = layer_of[wanted]
    if (out < 0).any():
        raise ValueError("DERIVED_FROM has a cycle among the nodes given.")
    return out


# Arrays


def _once(values: Int32s, place: Int32s) -> Int32s:
    """`values` without repeats, by a stamp per value rather than a sort (np.unique): each
    value's last place is written into `place` (of the graph's size, reused), and only the
    entry at that place is kept. Linear, and about twice as fast as a sort per frontier."""
    steps = np.arange(len(values), dtype=np.int32)
    place[values] = steps
    kept: Int32s = values[place[values] == steps]
    return kept


def _counted(values: Int32s) -> tuple[Int32s, Int32s]:
    """The distinct `values`, ascending, and how often each occurs: `np.unique(values,
    return_counts=True)` by one sort and the run boundaries, which costs less than half."""
    if not len(values):
        return values, values
    ordered = np.sort(values)
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int32)
    distinct: Int32s = ordered[starts]
    return distinct, counts


def _empty(dtype: type[G]) -> npt.NDArray[G]:
    return np.zeros(0, dtype=dtype)


def _room(array: npt.NDArray[G], size: int) -> npt.NDArray[G]:
    """`array`, or a copy with room for `size` entries, capacity doubled: appends one by one
    copy each entry O(1) times on average. A read-only (mapped) array is copied on growth."""
    if len(array) >= size and array.flags.writeable:
        return array
    grown = np.zeros(max(size, 2 * len(array), 16), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


def _csr(
    child: Int32s, parent: Int32s, form: Int32s, size: int
) -> tuple[Int32s, Int32s, Int32s, Int32s, Int32s, Int32s]:
    """Both CSRs of the edges (child, parent, form) over `size` nodes, each pair once (its
    first form): rows by parent with their children, and rows by child with their parents,
    targets ascending within a row."""
    key = child.astype(np.int64) * max(size, 1) + parent
    # Unique keys come sorted by child then parent: the `up` order, repeats dropped.
    _, first = np.unique(key, return_index=True)
    child, parent, form = child[first], parent[first], form[first]
    down = np.argsort(parent, kind="stable")
    return (
        _offsets(parent, size),
        child[down].astype(np.int32),
        form[down].astype(np.int32),
        _offsets(child, size),
        parent.astype(np.int32),
        form.astype(np.int32),
    )


def _offsets(owners: Int32s, size: int) -> Int32s:
    rows = np.zeros(size + 1, dtype=np.int32)
    np.cumsum(np.bincount(owners, minlength=size), out=rows[1:])
    return rows


def _rows_of(rows: Int32s, targets: Int32s, nodes: Int32s) -> tuple[Int32s, Int32s]:
    """The entries of CSR rows `nodes`, row after row, with the node of each. A node beyond
    the rows (appended since the last merge) has none."""
    last = len(rows) - 1
    clipped = np.minimum(nodes, last)
    return _slices(targets, rows[clipped], rows[np.minimum(nodes + 1, last)], nodes)


def _slices(values: Int32s, starts: Int32s, ends: Int32s, owners: Int32s) -> tuple[Int32s, Int32s]:
    """values[starts[i]:ends[i]] for each i, concatenated, with owners[i] beside each."""
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    if not total:
        return _empty(np.int32), _empty(np.int32)
    # Each entry's place: its slice's start, plus its rank within the slice.
    shift = np.repeat(starts.astype(np.int64) - np.cumsum(lengths) + lengths, lengths)
    places = shift + np.arange(total, dtype=np.int64)
    return np.repeat(owners, lengths).astype(np.int32), values[places].astype(np.int32)


def _classification_columns(classification: Classification | None) -> tuple[int, int, int]:
    """A classification's level rank, end day (`NO_DAY` without a dated end) and period
    kind (`PERIODS` code), as the columns hold them: (0, NO_DAY, NO_PERIOD) for none."""
    if classification is None:
        return (0, NO_DAY, NO_PERIOD)
    expiry = classification.expiry
    return (
        classification.level.rank,
        NO_DAY if expiry is None else expiry.toordinal(),
        _PERIOD[period_kind(classification.period)],
    )


def _columns_of(items: Sequence[Item], tables: Tables) -> dict[str, npt.NDArray[Any]]:
    """The columns of `items`, numbering new values into `tables`."""
    level, end_day, period, status, kind, organisation = [], [], [], [], [], []
    classifications, scopes, limits = [], [], []
    number = tables.number
    for item in items:
        classification = item.classification
        if classification is None:
            level.append(0)
            end_day.append(NO_DAY)
            period.append(NO_PERIOD)
        else:
            expiry = classification.expiry
            level.append(classification.level.rank)
            end_day.append(NO_DAY if expiry is None else expiry.toordinal())
            period.append(_PERIOD[period_kind(classification.period)])
        status.append(_STATUS[item.status])
        kind.append(_KIND[item.kind])
        organisation.append(number("organisations", item.organisation_id))
        classifications.append(number("classifications", item.classification))
        scopes.append(number("scopes", item.scope))
        limits.append(number("scopes", item.scope_limit))
    return {
        "level": np.array(level, dtype=np.int8),
        "end_day": np.array(end_day, dtype=np.int32),
        "period": np.array(period, dtype=np.int8),
        "status": np.array(status, dtype=np.int8),
        "kind": np.array(kind, dtype=np.int8),
        "organisation": np.array(organisation, dtype=np.int32),
        "classification": np.array(classifications, dtype=np.int32),
        "scope": np.array(scopes, dtype=np.int32),
        "scope_limit": np.array(limits, dtype=np.int32),
    }


def _enumerations() -> dict[str, list[str]]:
    return {
        "status": [s.value for s in STATUSES],
        "kind": [k.value for k in KINDS],
        "period": [p.value for p in PERIODS],
        "case": [c.value for c in CASES],
    }


# The fan-out's view


def fan_out_index(graph: GraphIndex) -> Index:
    """The whole graph as the fan-out reads a lineage (graph.lineage.Index), over the index's
    own arrays: node numbers are the index's, edge kinds its forms (plus one: kind 0 gives
    nothing), and a layer is taken in node order, which is id order. Built once per index
    (`GraphIndex.fan_out`); the index must not be appended to afterwards."""
    down_rows, down, _ = graph.csr(down=True)
    up_rows, up, up_form = graph.csr(down=False)
    forms = graph.tables.forms
    kinds: list[Derivation | None] = [None]
    kinds.extend(Derivation("", "", case, keys) for case, keys in forms)

    def names(nodes: npt.NDArray[np.int64]) -> list[str]:
        return graph.ids(nodes)

    def nodes(item_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        return graph.numbers(item_ids).astype(np.int64)

    def bases(item_id: str) -> dict[str, Derivation]:
        node = graph.number(item_id)
        if node is None:
            return {}
        row = slice(int(up_rows[node]), int(up_rows[node + 1]))
        parents = graph.ids(up[row])
        return {
            parent: Derivation(item_id, parent, *forms[form])
            for parent, form in zip(parents, up_form[row].tolist(), strict=True)
        }

    def columns(of: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        chosen = [graph.column(name)[of] for name in PROFILE_COLUMNS]
        return np.stack(chosen, axis=1).astype(np.int64)

    return Index(
        size=graph.size,
        kinds=kinds,
        parent_rows=up_rows.astype(np.int64),
        parents=up.astype(np.int64),
        edge_kinds=up_form.astype(np.int64) + 1,
        children=down.astype(np.int64),
        child_rows=down_rows.astype(np.int64),
        position=np.arange(graph.size, dtype=np.int64),
        names=names,
        nodes=nodes,
        bases=bases,
        columns=columns,
        by_id=graph.in_id_order,
    )
