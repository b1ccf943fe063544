"""Texts written before phrases (graph.phrase), brought to phrases.

A store written by an earlier version, and an export file of an earlier format, hold change
notices and written records whose words name other items: the source's title and id, the
path, the bases. Each such text is turned into a phrase by finding again, in its words, the
nodes it is known to name: a notice names its source, its item, its path and the bases it
keeps; a record names its own item, the bases it cites, and, where it applied a notice, what
that notice names. The stores' migrations and the import of an older file use this.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from graph.model import BasisCitation
from graph.phrase import Phrase, legacy
from graph.store.codec import Fields, citations_from, phrase_json

# An item as a text may name it: id, title, document number.
Named = tuple[str, str, str]


def notice_refs(
    source_id: str, item_id: str, path: Sequence[str], kept_bases: Sequence[str]
) -> list[str]:
    """The items a notice's text names."""
    return list(dict.fromkeys((source_id, item_id, *path, *kept_bases)))


def notice_text(text: str, refs: Sequence[str], names: Mapping[str, Named]) -> Phrase:
    return legacy(text, [names[r] for r in refs if r in names])


def record_summary(
    text: str,
    item_id: str,
    citations: Sequence[BasisCitation],
    applied: Iterable[str],
    names: Mapping[str, Named],
) -> Phrase:
    """A record's summary; `applied` are the items named by the notice the record applied."""
    cited = [(c.ref_id, c.title, c.document_number) for c in citations if c.kind == "ITEM"]
    keypoints = [(c.ref_id, c.title) for c in citations if c.kind == "KEYPOINT"]
    known = [names[i] for i in dict.fromkeys((item_id, *applied)) if i in names]
    return legacy(text, [*known, *cited], keypoints)


def wanted(
    notices: Iterable[tuple[str, str, Sequence[str], Sequence[str]]], records: Iterable[str]
) -> set[str]:
    """The items whose names a batch of notices ((source, item, path, kept bases)) and
    records (their items) needs."""
    out = set(records)
    for source_id, item_id, path, kept in notices:
        out.update(notice_refs(source_id, item_id, path, kept))
    return out


# Both stores hold notices and records with the codec's field names (graph.store.codec): their
# migrations read the old rows and write back what these give.


def stored_notice_refs(row: Fields) -> list[str]:
    """The items a stored notice's text names, from its row."""
    return notice_refs(
        row["source_id"], row["item_id"], json.loads(row["path"]), json.loads(row["kept_bases"])
    )


def stored_summary(
    row: Fields, applied: Mapping[str, Sequence[str]], names: Mapping[str, Named]
) -> str:
    """A stored record's summary, from its row, as the JSON of its phrase."""
    return phrase_json(
        record_summary(
            row["summary"],
            row["item_id"],
            citations_from(row["bases"]),
            applied.get(row["id"], ()),
            names,
        )
    )
