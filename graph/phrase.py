"""Texts for people that name items and keypoints by reference, never by their content.

A notice, a written record's summary, an explanation or a finding names other items: the
source that changed, the bases that govern, the path between them. Stored as words, such a
text would carry a source's title to every reader of the derived item, who may not know it
(D-10). A `Phrase` keeps words and `Mention`s apart: a mention says which item or keypoint
goes there and what of it (its id, title or document number), and each reader's rendering
fills it in (service.redaction): what the reader may read, as it is; anything else as an
opaque placeholder id or （无权知悉）.

Pure values: building, joining, encoding for a store and rendering with a given lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from graph.errors import InvalidValue

if TYPE_CHECKING:  # graph.model holds phrases: it imports this module
    from graph.model import Item, Keypoint


class Kind(Enum):
    ITEM = "item"
    KEYPOINT = "keypoint"


class Show(Enum):
    """What of the node a mention puts in the text."""

    ID = "id"
    TITLE = "title"
    NUMBER = "number"  # 文号, of an item


@dataclass(frozen=True, slots=True)
class Mention:
    kind: Kind
    id: str
    show: Show


Part = str | Mention


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words and mentions, in order; adjacent words are kept merged."""

    parts: tuple[Part, ...] = ()

    @classmethod
    def of(cls, *pieces: Part | Phrase) -> Phrase:
        parts: list[Part] = []
        for piece in pieces:
            for part in piece.parts if isinstance(piece, Phrase) else (piece,):
                if isinstance(part, str):
                    if not part:
                        continue
                    if parts and isinstance(parts[-1], str):
                        parts[-1] += part
                        continue
                parts.append(part)
        return cls(tuple(parts))

    def __add__(self, other: Part | Phrase) -> Phrase:
        return Phrase.of(self, other)

    def __radd__(self, other: str) -> Phrase:
        return Phrase.of(other, self)

    def __bool__(self) -> bool:
        return bool(self.parts)

    def mentions(self) -> Iterator[Mention]:
        return (p for p in self.parts if isinstance(p, Mention))

    @property
    def words(self) -> str:
        """The words alone, without what the mentions would name: for looking up an article
        cited in a text, never for showing it."""
        return "".join(p for p in self.parts if isinstance(p, str))

    def render(self, name: Callable[[Mention], str]) -> str:
        return "".join(p if isinstance(p, str) else name(p) for p in self.parts)


def item_id(id: str) -> Mention:
    return Mention(Kind.ITEM, id, Show.ID)


def item_title(id: str) -> Mention:
    return Mention(Kind.ITEM, id, Show.TITLE)


def item_number(id: str) -> Mention:
    return Mention(Kind.ITEM, id, Show.NUMBER)


def keypoint_id(id: str) -> Mention:
    return Mention(Kind.KEYPOINT, id, Show.ID)


def keypoint_title(id: str) -> Mention:
    return Mention(Kind.KEYPOINT, id, Show.TITLE)


def join(separator: str, pieces: Iterable[Part | Phrase]) -> Phrase:
    out: list[Part | Phrase] = []
    for piece in pieces:
        if out:
            out.append(separator)
        out.append(piece)
    return Phrase.of(*out)


def mentioned(phrases: Iterable[Phrase]) -> tuple[set[str], set[str]]:
    """The ids of the items and of the keypoints that `phrases` mention."""
    items: set[str] = set()
    keypoints: set[str] = set()
    for phrase in phrases:
        for mention in phrase.mentions():
            (items if mention.kind is Kind.ITEM else keypoints).add(mention.id)
    return items, keypoints


# Stored and exported as JSON: a list of strings and one-key objects,
# ["因", {"item": "S-1", "show": "title"}, "已解密"].


def encode(phrase: Phrase) -> list[Any]:
    return [
        part if isinstance(part, str) else {part.kind.value: part.id, "show": part.show.value}
        for part in phrase.parts
    ]


def decode(value: object) -> Phrase:
    if not isinstance(value, list):
        raise InvalidValue("text", "文本应为 JSON 数组（文字与引用）。")
    parts: list[Part] = []
    for entry in value:
        if isinstance(entry, str):
            parts.append(entry)
            continue
        if not isinstance(entry, dict) or len(entry) != 2 or "show" not in entry:
            raise InvalidValue("text", f"文本中的引用无效：{str(entry)[:60]}")
        first, second = entry
        kind = second if first == "show" else first
        show = entry["show"]
        # By dict, not by calling the enums: a change's notices are read by the 100,000.
        found = _KINDS.get(kind), _SHOWS.get(show) if isinstance(show, str) else None
        if found[0] is None or found[1] is None:
            raise InvalidValue("text", f"文本中的引用无效：{str(entry)[:60]}")
        parts.append(Mention(found[0], str(entry[kind]), found[1]))
    return Phrase.of(*parts)


_KINDS = {kind.value: kind for kind in Kind}
_SHOWS = {show.value: show for show in Show}


@dataclass(frozen=True)
class Names:
    """The items and keypoints that mentions name, by id: what a rendering looks up."""

    items: Mapping[str, Item]
    keypoints: Mapping[str, Keypoint]

    def full(self, mention: Mention) -> str:
        """What the mention names, for a reader of everything (the operator, the command
        line); a node not here is named by its id."""
        if mention.show is Show.ID:
            return mention.id
        if mention.kind is Kind.ITEM:
            item = self.items.get(mention.id)
            if item is None:
                return mention.id
            return item.title if mention.show is Show.TITLE else item.document_number
        keypoint = self.keypoints.get(mention.id)
        return keypoint.title if keypoint is not None else mention.id

    def spell(self, phrase: Phrase) -> str:
        """`phrase` with every mention named in full."""
        return phrase.render(self.full)

    def owner(self, keypoint_id: str) -> Item | None:
        """The item that defines a keypoint, if both are here."""
        keypoint = self.keypoints.get(keypoint_id)
        return None if keypoint is None else self.items.get(keypoint.item_id)


NO_NAMES = Names({}, {})


# Texts written before phrases existed hold titles, numbers and ids as words. `legacy` finds
# them again, for the nodes the text is known to name, so that an old store or export file
# is brought to phrases (graph.store migrations, graph.store.exchange).

_ID_EDGE = r"[\w.:-]"


def legacy(
    text: str,
    items: Iterable[tuple[str, str, str]],
    keypoints: Iterable[tuple[str, str]] = (),
) -> Phrase:
    """`text` with each title, document number and id of the given items ((id, title,
    number)) and keypoints ((id, title)) turned into a mention; the longest first, an id only
    as a whole id (S-1 is not inside S-10 or S-1.K1)."""
    found: dict[str, Mention] = {}
    ids: dict[str, Mention] = {}
    for id, title, number in items:
        for value, show in ((title, Show.TITLE), (number, Show.NUMBER)):
            if len(value.strip()) >= 2:
                found.setdefault(value, Mention(Kind.ITEM, id, show))
        ids[id] = item_id(id)
    for id, title in keypoints:
        if len(title.strip()) >= 2:
            found.setdefault(title, keypoint_title(id))
        ids[id] = keypoint_id(id)
    if not found and not ids:
        return Phrase.of(text)
    alternatives = [re.escape(v) for v in sorted(found, key=len, reverse=True)]
    alternatives += [
        rf"(?<!{_ID_EDGE}){re.escape(i)}(?!{_ID_EDGE})" for i in sorted(ids, key=len, reverse=True)
    ]
    pattern = re.compile("|".join(alternatives))
    parts: list[Part] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(text[position : match.start()])
        value = match.group()
        parts.append(found.get(value) or ids[value])
        position = match.end()
    parts.append(text[position:])
    return Phrase.of(*parts)
