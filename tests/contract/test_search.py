"""Item search by words of a title, a document number or an id (graph.search), on every store:
Chinese words of two, three and six characters, numbers, several words, ranking, paging, the
reader's filter inside the query (nothing it may not read is found, counted or ranked), and
text that would mean something to a query language."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graph.access import Actor
from graph.model import Item, ItemKind, KnowledgeScope, Level
from graph.store.base import GraphStore, ItemQuery
from graph.store.neo4j import Neo4jStore
from graph.store.sqlite import SqliteStore
from tests.bolt import ExternalNeo4j
from tests.contract.builders import ORG, build, item, organisation, person
from tests.contract.test_access import reader

HIDDEN_ORG = "O-2"


def titled(id: str, title: str, number: str, *, hidden: bool = False) -> Item:
    if hidden:
        scope = KnowledgeScope(organisations=frozenset({HIDDEN_ORG}))
        return replace(
            item(id, organisation_id=HIDDEN_ORG, scope=scope), title=title, document_number=number
        )
    return replace(item(id), title=title, document_number=number)


ITEMS = [
    titled("S-1", "关于加强国家秘密载体管理工作的通知", "国保发〔2024〕15号"),
    titled("S-2", "国家秘密定密管理暂行办法实施细则", "国保发〔2024〕16号"),
    titled("S-3", "关于印发保密工作要点的通知", "京保办〔2023〕3号"),
    titled("S-4", "涉密人员管理规定", "国保发〔2024〕1号"),
    titled("S-5", "依据国保发〔2024〕1号制定的涉密人员管理实施方案", "京保办〔2024〕8号"),
    titled("S-6", "关于A1的说明", "京保办〔2024〕9号"),
    titled("S-7", "检查记录", "A1"),
    titled("S-8", "完成率100%的报告", "京保办〔2024〕10号"),
    # What the reader (of O-1) may not read: its words must find nothing for it.
    titled("H-1", "绝密核设施选址论证报告的通知", "国科密〔2024〕7号", hidden=True),
]

READER = reader("p-1", {ORG}, supervised=set())


@pytest.fixture
def searched(store: GraphStore) -> GraphStore:
    build(store, [organisation(), organisation(HIDDEN_ORG), person("p-1"), *ITEMS])
    return store


def found(
    store: GraphStore,
    text: str,
    actor: Actor | None = READER,
    *,
    limit: int = 50,
    offset: int = 0,
    **filters: object,
) -> list[str]:
    query = ItemQuery(
        text=text,
        limit=limit,
        offset=offset,
        readable=actor.read_filter() if actor else None,
        **filters,  # type: ignore[arg-type]
    )
    return [i.id for i in store.read(lambda tx: tx.find_items(query))]


def test_chinese_words_of_two_three_and_six_characters(searched: GraphStore) -> None:
    # Both titles hold the word: the shorter first.
    assert found(searched, "国家秘密") == ["S-2", "S-1"]
    assert found(searched, "秘密载体管理") == ["S-1"]
    assert found(searched, "定密管") == ["S-2"]
    # Two characters are no key into a trigram index: found all the same, in id order.
    assert found(searched, "通知") == ["S-1", "S-3"]
    assert found(searched, "涉密") == ["S-4", "S-5"]
    assert found(searched, "无此词") == []


def test_an_exact_document_number_comes_first(searched: GraphStore) -> None:
    # S-5's title holds the number, and titles rank first, but S-4's number is the text.
    assert found(searched, "国保发〔2024〕1号") == ["S-4", "S-5"]
    assert found(searched, "A1") == ["S-7", "S-6"]  # the same without the index
    assert found(searched, "国保发〔2024〕1") == ["S-5", "S-4", "S-2", "S-1"]  # none is exact
    assert found(searched, "S-3") == ["S-3"]  # an id


def test_every_word_must_be_held_by_the_title_number_or_id(searched: GraphStore) -> None:
    assert found(searched, "保密 通知") == ["S-3"]
    # S-5's title holds both words; the others hold 国保发 in their numbers only.
    assert found(searched, "管理 国保发") == ["S-5", "S-4", "S-2", "S-1"]
    assert found(searched, "  管理   国保发 ") == ["S-5", "S-4", "S-2", "S-1"]
    assert found(searched, "管理 京保办") == ["S-5"]
    assert found(searched, "通知 2023") == ["S-3"]


def test_latin_letters_in_any_case(searched: GraphStore) -> None:
    assert found(searched, "a1") == ["S-6", "S-7"]  # the case differs: nothing is exact
    assert found(searched, "s-4") == ["S-4"]


def test_what_the_reader_may_not_read_is_not_found_nor_matched(searched: GraphStore) -> None:
    everyone = None
    for text in ("核设施", "国科密", "绝密核设施选址", "H-1", "论证报告", "国科密〔2024〕7号"):
        assert found(searched, text) == [], text
        assert found(searched, text, everyone) == ["H-1"], text
    assert found(searched, "通知", everyone) == ["H-1", "S-1", "S-3"]
    # A word of the hidden title with a word of a readable one: each item must hold both.
    assert found(searched, "核设施 通知") == []
    assert found(searched, "通知 核设施", everyone) == ["H-1"]
    # Nor by its organisation, and nothing past the end of what the reader may read.
    assert found(searched, "通知", organisation_id=HIDDEN_ORG) == []
    assert found(searched, "通知", offset=2) == []


def test_the_order_of_what_a_reader_finds_is_the_same_whatever_it_may_not_read(
    searched: GraphStore,
) -> None:
    """Ranking by statistics of the whole index (bm25's rarity of a word, Lucene's score)
    would move readable items as hidden ones come and go, and so tell how often a word
    occurs in titles the reader may not see."""
    texts = ("管理 国保发", "国家秘密", "国保发〔2024〕1", "管理 涉密", "通知", "京保办 2024")
    before = {text: found(searched, text) for text in texts}
    crowd = [
        titled(f"H-{n:02d}", f"管理管理国家秘密管理规定之{n}", f"国保发〔2024〕{n}", hidden=True)
        for n in range(2, 30)
    ]
    build(searched, crowd)
    assert {text: found(searched, text) for text in texts} == before
    assert len(found(searched, "管理 国保发", None)) == 4 + len(crowd)


def test_pages_go_on_in_the_ranked_order(searched: GraphStore) -> None:
    whole = found(searched, "管理 国保发")
    pages = [found(searched, "管理 国保发", limit=2, offset=at) for at in (0, 2, 4)]
    assert pages == [whole[:2], whole[2:4], []]
    # Without the index: the exact match, then the scan, across a page boundary.
    assert [found(searched, "A1", limit=1, offset=at) for at in (0, 1, 2)] == [
        ["S-7"],
        ["S-6"],
        [],
    ]
    assert found(searched, "通知", limit=1, offset=1) == ["S-3"]


def test_the_other_filters_hold(searched: GraphStore) -> None:
    assert found(searched, "管理 国保发", kind=ItemKind.DERIVED) == []
    assert found(searched, "管理 国保发", level=Level.SECRET) == ["S-5", "S-4", "S-2", "S-1"]
    assert found(searched, "管理", organisation_id=ORG) == ["S-1", "S-2", "S-4", "S-5"]


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"" OR "',
        '"通知"',  # quotes in a word of the index's: its trigrams hold them
        'a"b* OR x',
        "' OR 1=1 --",
        "NOT",
        "管理 OR",
        "*",
        "title:管理",
        "_",
        "%%",  # S-8's title holds one
        "\\",
        "(通知)",
        "AND 通知 NOT",
    ],
)
def test_text_that_means_something_to_a_query_language_is_only_text(
    searched: GraphStore, text: str
) -> None:
    assert found(searched, text) == []


def test_percent_and_underscore_are_characters(searched: GraphStore) -> None:
    assert found(searched, "0%") == ["S-8"]  # no key into the index: LIKE, escaped
    assert found(searched, "100%") == ["S-8"]
    assert found(searched, "率1") == ["S-8"]


def test_a_text_of_spaces_finds_every_readable_item(searched: GraphStore) -> None:
    readable = [i.id for i in ITEMS if not i.id.startswith("H")]
    assert found(searched, "   ") == sorted(readable)


def test_items_added_later_are_found(searched: GraphStore) -> None:
    build(searched, [titled("S-9", "新增的保密工作总结", "京保办〔2025〕1号")])
    assert found(searched, "保密工作") == ["S-9", "S-3"]
    assert found(searched, "总结") == ["S-9"]


def test_what_each_store_searches_with(request: pytest.FixtureRequest, store: GraphStore) -> None:
    """The suite's Bolt server, unless NEO4J_URI names a Neo4j, is ArcadeDB's Bolt plugin
    (tests/bolt.py), which has no Neo4j full-text procedures: the store finds that out when it
    opens and scans instead, so every test of this file ran the scan there; a Neo4j 5 answers
    them, and the same tests then go through its index (README, "Running on Neo4j")."""
    if isinstance(store, Neo4jStore):
        server = request.getfixturevalue("bolt_server")
        assert store.full_text is isinstance(server, ExternalNeo4j)
    else:
        assert isinstance(store, SqliteStore)
        # The index the migration made, empty with the store.
        assert store._connection().execute("SELECT count(*) FROM item_search").fetchone()[0] == 0
