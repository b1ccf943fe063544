"""Opaque cursors of connections: what a page's `endCursor` holds, given back as `after`."""

from __future__ import annotations

import base64
import binascii

from graph.errors import InvalidValue

BAD_CURSOR = "游标（after）无效：请使用上一页返回的 endCursor。"


def encode_cursor(key: str, kind: str = "item") -> str:
    """An opaque cursor: the key of the last node of a page, marked with what it pages."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def decode_cursor(cursor: str, kind: str = "item") -> str:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(f"{kind}:"):
        raise InvalidValue("after", BAD_CURSOR)
    return text.removeprefix(f"{kind}:")


def encode_position(position: int) -> str:
    """A cursor of a ranked list (a search), which has no key to go on from: the number of
    results before the next page."""
    return encode_cursor(str(position), "search")


def decode_position(cursor: str) -> int:
    position = decode_cursor(cursor, "search")
    # At most nine digits: a position, never a number too large for the store.
    if not (position.isascii() and position.isdigit() and len(position) <= 9):
        raise InvalidValue("after", BAD_CURSOR)
    return int(position)


def decode_place(cursor: str, kind: str) -> int:
    """A place in a list of fixed order (an analysis's entries) from its cursor."""
    place = decode_cursor(cursor, kind)
    # At most nine digits: a place, never a number too large to count.
    if not (place.isascii() and place.isdigit() and len(place) <= 9):
        raise InvalidValue("after", BAD_CURSOR)
    return int(place)
