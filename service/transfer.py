"""Moving a whole graph between stores: `lineage export` and `lineage import`.

Export reads one consistent snapshot (one read transaction) and streams it out by pages of
items, so memory stays flat however large the graph. Import writes batches of lines, each in
one transaction, into an empty store; every line is checked as it would be by the API's store
(duplicate ids, unknown references, cycles), and a refused line names its line number.

Each batch's transaction also notes how far the import got and a digest of the lines up to
there (the store's memo `import`), so that an import cut short (a refused line, a crash, a
kill) goes on with `resume` from the line after its last batch, with the same file, mended
after that place if need be.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import orjson

from graph.change import Change, Notice, Proposal
from graph.errors import InvalidValue, LineageError, UnknownId
from graph.model import (
    Citation,
    DecisionRecord,
    Derivation,
    Item,
    Keypoint,
    Organisation,
    Person,
    ScopeRule,
)
from graph.store import exchange
from graph.store.base import GraphReader, GraphStore, GraphWriter, ItemQuery
from service.usecases import now

PAGE = 1000
# Lines a transaction of an import writes. Larger batches gain nothing measurable (5,000 and
# 20,000 lines: BENCHMARKS.md, issue 8), and a refused line costs less to name in a small one.
BATCH = 1000
# The memo (GraphReader.memo) of how far an import got.
PROGRESS = "import"
# Told how far the work got: (done, total), total None when not known (service.progress).
OnProgress = Callable[[int, int | None], object]
# The passes of an export over the items, each page by page (_lines).
PASSES = 6


def export_graph(
    store: GraphStore,
    write: Callable[[str], object],
    page: int = PAGE,
    *,
    on_progress: OnProgress | None = None,
) -> Counter[str]:
    """Writes the whole graph as JSON Lines through `write` (one call a line, newline
    included); returns how many lines of each kind. `on_progress` hears of each page of
    items, counted as the share of the export it stands for (in items: the export passes
    over them PASSES times)."""

    def work(tx: GraphReader) -> Counter[str]:
        counts: Counter[str] = Counter()
        visited = None if on_progress is None else _passes(on_progress, tx.count_items())
        for line in _lines(tx, page, visited):
            counts[str(line["kind"])] += 1
            write(exchange.dumps(line) + "\n")
        return counts

    return store.read(work)


def _passes(on_progress: OnProgress, items: int) -> Callable[[int], None]:
    """Told of each page of items an export has passed over, tells `on_progress`."""
    on_progress(0, items)
    visited = 0

    def tell(done: int) -> None:
        nonlocal visited
        visited += done
        on_progress(visited // PASSES, items)

    return tell


def _item_pages(
    tx: GraphReader, page: int, visited: Callable[[int], object] | None = None
) -> Iterator[list[Item]]:
    after: str | None = None
    while True:
        items = tx.find_items(ItemQuery(after=after, limit=page))
        if not items:
            return
        yield items
        if visited is not None:
            visited(len(items))
        after = items[-1].id


def _lines(
    tx: GraphReader, page: int, visited: Callable[[int], object] | None = None
) -> Iterator[dict[str, object]]:
    yield exchange.header(now())
    organisations = tx.all_organisations()
    for organisation in organisations:
        yield exchange.encode(organisation)
    # Superiors and successors may name an organisation that comes later: links, once all are out.
    for organisation in organisations:
        if organisation.superior_id:
            yield exchange.link("superior", organisation.id, organisation.superior_id)
        if organisation.successor_id:
            yield exchange.link("successor", organisation.id, organisation.successor_id)
    for person in tx.all_persons():
        yield exchange.encode(person)
    for rule in tx.all_scope_rules():
        yield exchange.encode(rule)
    for items in _item_pages(tx, page, visited):
        for item in items:
            yield exchange.encode(item)
    # Edges and records only once every node is out, so an import never meets a dangling id.
    for items in _item_pages(tx, page, visited):
        ids = [i.id for i in items]
        for keypoint in tx.keypoints_of(ids):
            yield exchange.encode(keypoint)
    for items in _item_pages(tx, page, visited):
        ids = [i.id for i in items]
        for edge in tx.parents(ids):
            yield exchange.encode(edge)
        for item_id, keypoint_ids in tx.contained_keypoints(ids).items():
            for keypoint_id in keypoint_ids:
                yield exchange.link("contains_keypoint", item_id, keypoint_id)
        for item_id, rule_id in tx.scope_rule_links(ids):
            yield exchange.link("classified_under", item_id, rule_id)
        for item_id, main_id in tx.process_links(ids):
            yield exchange.link("process_item_of", item_id, main_id)
        for record in tx.records_of(ids):
            yield exchange.encode(record)
        # Each citation once, with the page of the item citing (D-14).
        page_ids = set(ids)
        for citation in tx.citations(ids):
            if citation.item_id in page_ids:
                yield exchange.encode(citation)
    # A change names its record, a notice its change (and the one that superseded it), a
    # proposal its notice: each kind only once every one it may name is out.
    for items in _item_pages(tx, page, visited):
        for change in tx.changes_of([i.id for i in items]):
            yield exchange.encode(change)
    # A notice answered by a proposal and the proposal name each other: the notice goes out
    # without it, and an `answered` link joins them once both are in.
    answered: list[tuple[str, str]] = []
    for items in _item_pages(tx, page, visited):
        for notice in tx.notices_of([i.id for i in items]):
            if notice.proposal_id is not None:
                answered.append((notice.id, notice.proposal_id))
            yield exchange.encode(replace(notice, proposal_id=None))
    for items in _item_pages(tx, page, visited):
        for proposal in tx.proposals_of([i.id for i in items]):
            yield exchange.encode(proposal)
    for notice_id, proposal_id in answered:
        yield exchange.link("answered", notice_id, proposal_id)


class ImportRefused(LineageError):
    """A line of the input could not be imported; earlier batches stay written."""

    def __init__(self, line_number: int, reason: LineageError) -> None:
        super().__init__(f"第 {line_number} 行：{reason.message}", reason.articles)
        self.line_number = line_number
        self.reason = reason


@dataclass(frozen=True)
class Progress:
    """How far an import got: the last line written, and the SHA-256 of the lines up to it."""

    line: int
    digest: str
    done: bool

    def encoded(self) -> str:
        return json.dumps({"line": self.line, "digest": self.digest, "done": self.done})

    @staticmethod
    def decoded(text: str) -> Progress:
        value = json.loads(text)
        return Progress(int(value["line"]), str(value["digest"]), bool(value["done"]))


def import_graph(
    store: GraphStore,
    lines: Iterable[str],
    batch: int = BATCH,
    *,
    resume: bool = False,
    on_progress: OnProgress | None = None,
) -> Counter[str]:
    """Imports JSON Lines into an empty store, or with `resume` goes on with an import that
    was cut short; returns how many lines of each kind this run wrote. When a line is
    refused, the batches before its own stay written. `on_progress` hears of the last line
    written after each batch (the total is the caller's to know)."""
    empty, noted = store.read(_state)
    earlier = None if noted is None else Progress.decoded(noted)
    if not empty:
        if earlier is None or earlier.done:
            raise InvalidValue("store", "导入目标须为空存储：请导入到新的数据库。")
        if not resume:
            raise InvalidValue(
                "store",
                f"该存储中有一次未完成的导入，已写入至第 {earlier.line} 行："
                "用同一文件加 --resume 继续，或导入到新的数据库。",
            )
    counts: Counter[str] = Counter()
    digest = hashlib.sha256()
    numbered: Iterator[tuple[int, str]] = enumerate(lines, start=1)
    first = next(numbered, None)
    if first is None:
        raise InvalidValue("header", "导入文件为空。")
    digest.update(first[1].encode())
    old = None
    if exchange.check_header(_parse(first[0], first[1])) < exchange.PHRASED:
        old, numbered = _learned(numbered)
    last = 1
    if not empty and earlier is not None:
        last = _skip(numbered, digest, earlier)
    if on_progress is not None:
        on_progress(last, None)
    pending: list[_Line] = []
    for number, text in numbered:
        digest.update(text.encode())
        last = number
        if not text.strip():
            continue
        pending.append(_decoded(number, text, old))
        if len(pending) >= batch:
            _write_batch(store, pending, counts, Progress(number, digest.hexdigest(), False))
            pending = []
            if on_progress is not None:
                on_progress(number, None)
    _write_batch(store, pending, counts, Progress(last, digest.hexdigest(), True))
    if on_progress is not None:
        on_progress(last, None)
    return counts


def _learned(
    numbered: Iterator[tuple[int, str]],
) -> tuple[exchange.Legacy, Iterator[tuple[int, str]]]:
    """A file before phrases is read twice: once for the names its texts hold in words (an
    item comes before the records that cite it, a record before the notice it applied), then
    to import. The lines go to a temporary file in between: the input may be a pipe."""
    old = exchange.Legacy()
    # Closed by the generator that reads it back, once the import has read it all.
    spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
    for number, text in numbered:
        if text.strip():
            old.learn(_parse(number, text))
        spool.write(text if text.endswith("\n") else text + "\n")
    spool.seek(0)

    def again() -> Iterator[tuple[int, str]]:
        with spool:
            yield from enumerate(spool, start=2)

    return old, again()


def _skip(numbered: Iterator[tuple[int, str]], digest: hashlib._Hash, earlier: Progress) -> int:
    """Reads past the lines an earlier run wrote, refusing another file than its own."""
    for number, text in numbered:
        digest.update(text.encode())
        if number == earlier.line:
            break
    if digest.hexdigest() != earlier.digest:
        raise InvalidValue(
            "file",
            f"该文件的前 {earlier.line} 行与未完成的导入所写的不同：请用原文件继续，"
            "或导入到新的数据库。",
        )
    return earlier.line


# A line of the input: its number, its kind, and what it decodes to.
_Line = tuple[int, str, object]


def _decoded(number: int, text: str, old: exchange.Legacy | None) -> _Line:
    line = _parse(number, text)
    try:
        value = exchange.decode(line, old)
    except LineageError as error:
        raise ImportRefused(number, error) from error
    return number, str(line["kind"]), value


def _state(tx: GraphReader) -> tuple[bool, str | None]:
    """Whether the store is empty, and how far an import into it got."""
    empty = not tx.all_organisations() and not tx.find_items(ItemQuery(limit=1))
    return empty, tx.memo(PROGRESS)


def _parse(number: int, text: str) -> dict[str, object]:
    try:
        # orjson: parsing was a fifth of an import's time with the standard library's json.
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ImportRefused(
            number, InvalidValue("line", f"不是有效的 JSON：{error.msg}")
        ) from error
    if not isinstance(value, dict):
        raise ImportRefused(number, InvalidValue("line", "每行应为一个 JSON 对象。"))
    return value


def _write_batch(
    store: GraphStore, batch: list[_Line], counts: Counter[str], progress: Progress
) -> None:
    """Writes a batch with one batched call per run of same-kind lines, and how far the
    import got. When that is refused, the batch is tried again line by line in a new
    transaction, to name the line at fault; either way a refused batch leaves nothing behind."""

    def batched(tx: GraphWriter) -> Counter[str]:
        written: Counter[str] = Counter()
        for kind, run in _runs(batch):
            _add(tx, [value for _, _, value in run])
            written[kind] += len(run)
        tx.put_memo(PROGRESS, progress.encoded())
        return written

    def singly(tx: GraphWriter) -> Counter[str]:
        written: Counter[str] = Counter()
        for number, kind, value in batch:
            try:
                _add(tx, [value])
            except LineageError as error:
                raise ImportRefused(number, error) from error
            written[kind] += 1
        tx.put_memo(PROGRESS, progress.encoded())
        return written

    try:
        counts.update(store.write(batched))
    except LineageError:
        counts.update(store.write(singly))


# The order in which a batch's kinds are written: each after every kind its lines may name
# (a proposal names its notice, a notice its change and record, a change its record), links
# and edges after all nodes. Lines name only lines above them (exchange), so a batch sorted
# by this order, stably, writes the same as line by line, with one call per kind.
_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        (
            "organisation",
            "person",
            "scope_rule",
            "item",
            "keypoint",
            "record",
            "change",
            "notice",
            "proposal",
            "superior",
            "successor",
            "contains_keypoint",
            "classified_under",
            "process_item_of",
            "answered",
            "derived_from",
            "cites",
        )
    )
}


def _runs(batch: list[_Line]) -> Iterator[tuple[str, list[_Line]]]:
    """The lines of each kind, written together with one batched call."""
    run: list[_Line] = []
    for entry in sorted(batch, key=lambda entry: _ORDER.get(entry[1], len(_ORDER))):
        if run and entry[1] != run[0][1]:
            yield run[0][1], run
            run = []
        run.append(entry)
    if run:
        yield run[0][1], run


def _add(tx: GraphWriter, values: list[object]) -> None:
    first = values[0]
    match first:
        case Item():
            tx.add_items([v for v in values if isinstance(v, Item)])
        case Keypoint():
            tx.add_keypoints([v for v in values if isinstance(v, Keypoint)])
        case Derivation():
            tx.add_derivations([v for v in values if isinstance(v, Derivation)])
        case Citation():
            tx.add_citations([v for v in values if isinstance(v, Citation)])
        case DecisionRecord():
            tx.add_records([v for v in values if isinstance(v, DecisionRecord)])
        case Notice():
            tx.add_notices([v for v in values if isinstance(v, Notice)])
        case ("contains_keypoint", _, _):
            tx.add_containments([(str(v[1]), str(v[2])) for v in values if isinstance(v, tuple)])
        case ("classified_under", _, _):
            for item_id, rule_ids in _grouped(values).items():
                tx.add_classified_under(item_id, rule_ids)
        case _:
            for value in values:
                _add_one(tx, value)


def _grouped(links: list[object]) -> dict[str, list[str]]:
    """Links (kind, from, to) by their first end, in order."""
    out: dict[str, list[str]] = {}
    for link in links:
        if isinstance(link, tuple):
            out.setdefault(str(link[1]), []).append(str(link[2]))
    return out


def _add_one(tx: GraphWriter, value: object) -> None:
    match value:
        case Organisation():
            tx.add_organisation(value)
        case Person():
            tx.add_person(value)
        case ScopeRule():
            tx.add_scope_rule(value)
        case ("contains_keypoint", item_id, keypoint_id):
            tx.add_contained_keypoints(str(item_id), [str(keypoint_id)])
        case ("classified_under", item_id, rule_id):
            tx.add_classified_under(str(item_id), [str(rule_id)])
        case ("process_item_of", item_id, main_id):
            tx.add_process_item_of(str(item_id), str(main_id))
        case ("superior", organisation_id, superior_id):
            organisation = _organisation(tx, str(organisation_id))
            tx.update_organisation(replace(organisation, superior_id=str(superior_id)))
        case ("successor", organisation_id, successor_id):
            organisation = _organisation(tx, str(organisation_id))
            tx.update_organisation(replace(organisation, successor_id=str(successor_id)))
        case ("answered", notice_id, proposal_id):
            notice = tx.notices([str(notice_id)]).get(str(notice_id))
            if notice is None:
                raise UnknownId("notice", str(notice_id))
            tx.update_notices([replace(notice, proposal_id=str(proposal_id))])
        case Change():
            tx.add_change(value)
        case Notice():
            tx.add_notices([value])
        case Proposal():
            tx.add_proposal(value)


def _organisation(tx: GraphReader, organisation_id: str) -> Organisation:
    found = tx.organisation(organisation_id)
    if found is None:
        raise UnknownId("organisation", organisation_id)
    return found
