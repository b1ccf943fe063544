"""Texts that name items by reference (graph.phrase): building, storing, finding the names in
texts written before phrases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import InvalidValue
from graph.model import Classification, Item, Keypoint, Level, Years
from graph.phrase import (
    Kind,
    Mention,
    Names,
    Phrase,
    Show,
    decode,
    encode,
    item_id,
    item_title,
    join,
    keypoint_id,
    keypoint_title,
    legacy,
    mentioned,
)
from tests.unit.builders import source

SECRET = Classification(Level.SECRET, Years(10, date(2024, 1, 1)))


def _item(id: str, title: str, number: str) -> Item:
    return replace(source(id, Level.SECRET, SECRET.period), title=title, document_number=number)


def test_words_merge_and_mentions_stay_in_place() -> None:
    phrase = Phrase.of("因「", item_title("S-1"), "」", "（", item_id("S-1"), "）已解密", "")
    assert phrase.parts == ("因「", item_title("S-1"), "」（", item_id("S-1"), "）已解密")
    assert (phrase + "。").parts[-1] == "）已解密。"
    assert ("前" + phrase).parts[0] == "前因「"
    assert phrase.words == "因「」（）已解密"
    assert mentioned([phrase, Phrase.of(keypoint_id("K-1"))]) == ({"S-1"}, {"K-1"})
    assert join("、", [item_id("a"), item_id("b")]).parts == (item_id("a"), "、", item_id("b"))
    assert not Phrase.of("")


def test_rendering_names_what_it_is_given_and_ids_for_the_rest() -> None:
    source = _item("S-1", "关于某工程的通知", "某发〔2024〕1号")
    keypoint = Keypoint("K-1", "S-1", "选址", SECRET)
    names = Names({"S-1": source}, {"K-1": keypoint})
    phrase = Phrase.of(
        item_title("S-1"),
        "（",
        Mention(Kind.ITEM, "S-1", Show.NUMBER),
        "）的密点",
        keypoint_title("K-1"),
        "；",
        item_id("S-404"),
    )
    assert names.spell(phrase) == "关于某工程的通知（某发〔2024〕1号）的密点选址；S-404"
    assert names.owner("K-1") == source
    assert names.owner("K-404") is None


parts = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.builds(
            Mention,
            st.sampled_from(Kind),
            st.text(alphabet="SDK-0123456789", min_size=1, max_size=8),
            st.sampled_from(Show),
        ),
    ),
    max_size=8,
)


@settings(max_examples=100)
@given(parts)
def test_a_phrase_reads_back_as_it_was_stored(given_parts: list[str | Mention]) -> None:
    phrase = Phrase.of(*given_parts)
    assert decode(encode(phrase)) == phrase


@pytest.mark.parametrize(
    "value", ["text", [{"item": "S-1"}], [{"show": "id"}], [{"spaceship": "x", "show": "id"}], [1]]
)
def test_a_stored_phrase_that_is_not_one_is_refused(value: object) -> None:
    with pytest.raises(InvalidValue):
        decode(value)


def test_old_texts_have_their_names_found_again() -> None:
    text = (
        "因「关于某工程的通知」（S-1）已于2025年1月1日解密，派生事项「实施方案」（S-10，现标志 "
        "机密★10年）须解密。派生路径：S-1 → S-10。密点 S-1.K1「选址」。文号某发〔2024〕1号。"
    )
    phrase = legacy(
        text,
        [("S-1", "关于某工程的通知", "某发〔2024〕1号"), ("S-10", "实施方案", "")],
        [("S-1.K1", "选址")],
    )
    mentions = list(phrase.mentions())
    assert item_title("S-1") in mentions
    assert item_id("S-10") in mentions
    assert keypoint_id("S-1.K1") in mentions
    assert keypoint_title("S-1.K1") in mentions
    assert Mention(Kind.ITEM, "S-1", Show.NUMBER) in mentions
    # An id only as a whole id: S-1 is not read inside S-10 or S-1.K1.
    assert mentions.count(item_id("S-1")) == 2
    for hidden in ("关于某工程的通知", "S-1", "选址", "某发〔2024〕1号", "实施方案"):
        assert hidden not in phrase.words, hidden
    names = Names(
        {
            "S-1": _item("S-1", "关于某工程的通知", "某发〔2024〕1号"),
            "S-10": _item("S-10", "实施方案", ""),
        },
        {"S-1.K1": Keypoint("S-1.K1", "S-1", "选址", SECRET)},
    )
    assert names.spell(phrase) == text
