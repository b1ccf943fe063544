"""Scope rules as a pick list finds them (ScopeRuleQuery): by issuer, level and words, paged
by id, with the count of every page; both stores alike."""

from __future__ import annotations

from graph.model import Level, ScopeRule
from graph.store.base import GraphStore, ScopeRuleQuery
from tests.contract.builders import build

RULES = [
    ScopeRule("R-1", "武器装备科研生产 型号 GX-7", "装备工作国家秘密范围的规定", Level.SECRET, 10),
    ScopeRule("R-2", "型号研制进度", "装备工作国家秘密范围的规定", Level.TOP_SECRET, None, True),
    ScopeRule("R-3", "统计数据 汇总", "统计工作国家秘密范围的规定", Level.CONFIDENTIAL, 5),
    ScopeRule("R-4", "100%_完成 的指标", "统计工作国家秘密范围的规定", Level.SECRET, 10),
    ScopeRule("R-5", "外事 活动", "外事工作国家秘密范围的规定", Level.SECRET, 20),
]
ISSUERS = {"R-1": "国防科工局", "R-2": "国防科工局", "R-3": "国家统计局", "R-4": "国家统计局"}


def _rules() -> list[ScopeRule]:
    return [
        ScopeRule(r.id, r.title, r.document, r.level, r.years, r.long_term, ISSUERS.get(r.id, ""))
        for r in RULES
    ]


def _ids(store: GraphStore, query: ScopeRuleQuery) -> list[str]:
    return [r.id for r in store.read(lambda tx: tx.find_scope_rules(query))]


def _count(store: GraphStore, query: ScopeRuleQuery) -> int:
    return store.read(lambda tx: tx.count_scope_rules(query))


def test_every_rule_by_id_whole(store: GraphStore) -> None:
    build(store, _rules())

    found = store.read(lambda tx: tx.find_scope_rules(ScopeRuleQuery()))

    assert found == _rules()
    assert _count(store, ScopeRuleQuery()) == 5


def test_pages_go_on_after_the_last_id(store: GraphStore) -> None:
    build(store, _rules())

    first = _ids(store, ScopeRuleQuery(limit=2))
    second = _ids(store, ScopeRuleQuery(after=first[-1], limit=2))
    third = _ids(store, ScopeRuleQuery(after=second[-1], limit=2))

    assert (first, second, third) == (["R-1", "R-2"], ["R-3", "R-4"], ["R-5"])
    # The count is that of every page, whatever the page asked.
    assert _count(store, ScopeRuleQuery(after="R-3", limit=1)) == 5


def test_by_issuer_whole_name_and_level(store: GraphStore) -> None:
    build(store, _rules())

    assert _ids(store, ScopeRuleQuery(issuer="国防科工局")) == ["R-1", "R-2"]
    assert _ids(store, ScopeRuleQuery(issuer="国防")) == []  # a name, not a word of one
    assert _ids(store, ScopeRuleQuery(issuer="")) == ["R-5"]
    assert _ids(store, ScopeRuleQuery(level=Level.SECRET)) == ["R-1", "R-4", "R-5"]
    query = ScopeRuleQuery(issuer="国家统计局", level=Level.SECRET)
    assert (_ids(store, query), _count(store, query)) == (["R-4"], 1)


def test_every_word_in_title_document_or_id(store: GraphStore) -> None:
    build(store, _rules())

    assert _ids(store, ScopeRuleQuery(words=("型号",))) == ["R-1", "R-2"]
    assert _ids(store, ScopeRuleQuery(words=("型号", "gx-7"))) == ["R-1"]  # any case
    assert _ids(store, ScopeRuleQuery(words=("统计工作",))) == ["R-3", "R-4"]  # the document
    assert _ids(store, ScopeRuleQuery(words=("r-5",))) == ["R-5"]  # the id
    assert _ids(store, ScopeRuleQuery(words=("型号", "统计"))) == []
    query = ScopeRuleQuery(words=("统计",), level=Level.CONFIDENTIAL)
    assert (_ids(store, query), _count(store, query)) == (["R-3"], 1)


def test_like_wildcards_in_a_word_are_letters(store: GraphStore) -> None:
    build(store, _rules())

    assert _ids(store, ScopeRuleQuery(words=("100%_",))) == ["R-4"]
    assert _ids(store, ScopeRuleQuery(words=("%",))) == ["R-4"]
    assert _ids(store, ScopeRuleQuery(words=("_",))) == ["R-4"]
    assert _count(store, ScopeRuleQuery(words=("\\",))) == 0


def test_nothing_matches_nothing(store: GraphStore) -> None:
    assert _ids(store, ScopeRuleQuery(words=("型号",))) == []
    assert _count(store, ScopeRuleQuery()) == 0
