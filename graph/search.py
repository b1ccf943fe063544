"""Item search by words of a title, a document number (文号) or an id, as the stores run it.

A search text is split into words at white space; an item is found when every word occurs
in its title, its document number or its id (Latin letters in any case). Found items are
ranked by what each item holds, never by statistics of the whole index (bm25's or Lucene's
rarity of a word, average lengths): those count the items a reader may not read, and the
order of what it may read would tell it how often a word occurs in titles it may not see.
So: an item whose document number or id is the whole text first; then items whose title
holds every word; then shorter titles (the words are more of them); then by id. Both stores
rank alike.

The stores' full-text indexes cut text into pieces of three characters (SQLite's trigram
tokenizer) or two (Lucene's CJK analyzer): the index proposes the items that hold the pieces
of the words it can find, and each item is checked against its own text. A search with no
word of three characters has no key into a trigram index: it takes the exact matches of its
text by the indexes of numbers and ids, then the items in id order, and stops at the end of
the page, unranked beyond the exact matches (on both stores alike).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# More words than this in one search are ignored: each costs a condition in the query.
MAX_WORDS = 8

# SQLite's trigram tokenizer indexes three characters at a time.
TRIGRAM = 3

# Characters of the CJK blocks, which Lucene's CJK analyzer cuts into overlapping pairs;
# anything else (Latin letters, digits, punctuation) its standard tokenizer cuts into words,
# where a part of a word is no token, so only pure CJK words go to that index.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")

# What Lucene's query syntax gives a meaning to; escaped with a backslash.
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


@dataclass(frozen=True)
class Words:
    """A search text taken apart: `all` the words (in order, without repeats), `text` the
    whole text for the exact match of a number or id."""

    text: str
    all: tuple[str, ...]

    def indexed(self, shortest: int) -> tuple[str, ...]:
        """The words an index of pieces of `shortest` characters can find."""
        return tuple(w for w in self.all if len(w) >= shortest)

    def checked(self, shortest: int) -> tuple[str, ...]:
        """The words such an index cannot find, to check against each item."""
        return tuple(w for w in self.all if len(w) < shortest)


def words(text: str) -> Words:
    """The words of a search text; no words for a text of white space."""
    found = tuple(dict.fromkeys(text.split()))[:MAX_WORDS]
    return Words(" ".join(text.split()), found)


def fts5_query(indexed: tuple[str, ...]) -> str:
    """An FTS5 query for the items whose text holds every trigram of every word: each one
    quoted (a double quote inside doubled), so that none is read as FTS5 syntax (AND, NOT,
    *, column filters). It proposes; whether an item holds the word itself is checked."""
    trigrams = dict.fromkeys(
        w[at : at + TRIGRAM] for w in indexed for at in range(len(w) - TRIGRAM + 1)
    )
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams)


def cjk_words(found: Words) -> tuple[str, ...]:
    """The words Lucene's CJK analyzer finds as they are: CJK characters only, at least two
    (one character alone is no pair of the index)."""
    return tuple(w for w in found.all if len(w) >= 2 and _CJK.fullmatch(w))


def lucene_query(cjk: tuple[str, ...]) -> str:
    """A Lucene query that every word must match, each as a phrase of its character pairs."""
    return " AND ".join('"' + _LUCENE_SPECIAL.sub(r"\\\1", w) + '"' for w in cjk)


def like_pattern(word: str) -> str:
    """A LIKE pattern for `word` anywhere, with `\\` as the escape of %, _ and itself."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
