"""The queries graph.search writes for the stores' indexes: words taken apart, and query
syntax in a word kept as text. The Lucene query is checked here as text only: the suite's
Bolt server has no full-text procedures (README, "Running on Neo4j")."""

from __future__ import annotations

from graph import search


def test_words_are_split_at_white_space_without_repeats() -> None:
    found = search.words("  保密要害部门\t2024  保密要害部门 通知 ")
    assert found.all == ("保密要害部门", "2024", "通知")
    assert found.text == "保密要害部门 2024 保密要害部门 通知"
    assert found.indexed(search.TRIGRAM) == ("保密要害部门", "2024")
    assert found.checked(search.TRIGRAM) == ("通知",)
    assert search.words("   ").all == ()
    assert len(search.words(" ".join(f"词{n}" for n in range(20))).all) == search.MAX_WORDS


def test_the_fts5_query_asks_for_every_trigram_each_quoted() -> None:
    assert search.fts5_query(("保密要害",)) == '"保密要" AND "密要害"'
    assert search.fts5_query(("abc", "abcd")) == '"abc" AND "bcd"'  # no repeats
    assert search.fts5_query(('a"b*',)) == '"a""b" AND """b*"'


def test_only_chinese_words_of_two_characters_go_to_lucene_escaped() -> None:
    found = search.words("通知 密 A1 国保发〔2024〕 保密-要害 涉密载体")
    assert search.cjk_words(found) == ("通知", "涉密载体")
    assert search.lucene_query(("通知", "涉密载体")) == '"通知" AND "涉密载体"'
    assert search.lucene_query(('密"级:*',)) == '"密\\"级\\:\\*"'


def test_like_patterns_escape_their_wildcards() -> None:
    assert search.like_pattern("100%_\\") == "%100\\%\\_\\\\%"
