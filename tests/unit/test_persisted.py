"""Persisted queries (service.persisted): what a request's body resolves to, the cache's bound,
the manifests read and written, and the operations cut from a .graphql source."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from graph.errors import InvalidValue
from service import persisted
from service.persisted import Cache, Policy, Refusal, Registry, Resolved, resolve

DOC = '{ item(id: "A") { id } }'
DIGEST = hashlib.sha256(DOC.encode()).hexdigest()


def hashed(digest: str = DIGEST, version: int = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def policy(size: int = 10, registered: dict[str, str] | None = None, only: bool = False) -> Policy:
    return Policy(Registry(registered), Cache(size) if size else None, only)


def test_a_document_sent_alone_passes_as_it_is() -> None:
    body = {"query": DOC}
    assert resolve(body, policy()) == Resolved(body, "sent")


def test_an_unknown_hash_is_not_found_then_stored_then_a_hit() -> None:
    chosen = policy()
    missed = resolve({"extensions": hashed()}, chosen)
    assert missed == Refusal(persisted.NOT_FOUND, persisted.NOT_FOUND_MESSAGE, 200)
    assert isinstance(missed, Refusal)
    assert missed.error()["message"] == "PersistedQueryNotFound"
    stored = resolve({"query": DOC, "extensions": hashed()}, chosen)
    assert isinstance(stored, Resolved)
    assert stored.outcome == "stored"
    hit = resolve({"extensions": hashed(), "variables": {"x": 1}}, chosen)
    assert hit == Resolved({"extensions": hashed(), "variables": {"x": 1}, "query": DOC}, "hit")


def test_a_hash_is_taken_in_upper_case_as_in_lower() -> None:
    chosen = policy()
    resolve({"query": DOC, "extensions": hashed(DIGEST.upper())}, chosen)
    assert isinstance(resolve({"extensions": hashed()}, chosen), Resolved)


def test_a_hash_that_is_not_the_documents_is_refused_and_not_kept() -> None:
    chosen = policy()
    wrong = hashed("0" * 64)
    refused = resolve({"query": DOC, "extensions": wrong}, chosen)
    assert isinstance(refused, Refusal)
    assert refused.code == persisted.HASH_MISMATCH
    assert refused.status == 400
    assert resolve({"extensions": wrong}, chosen) == Refusal(
        persisted.NOT_FOUND, persisted.NOT_FOUND_MESSAGE, 200
    )


@pytest.mark.parametrize(
    "extensions",
    [hashed(version=2), {"persistedQuery": "x"}, hashed("abc"), hashed(17)],  # type: ignore[arg-type]
)
def test_a_malformed_persisted_query_is_refused(extensions: dict[str, object]) -> None:
    refused = resolve({"query": DOC, "extensions": extensions}, policy())
    assert isinstance(refused, Refusal)
    assert refused.code == persisted.NOT_SUPPORTED_VERSION


def test_the_cache_drops_the_least_recently_used() -> None:
    cache = Cache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now b is the least recently used
    cache.put("c", "C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    assert len(cache) == 2


def test_without_a_cache_an_unknown_hash_is_not_supported() -> None:
    refused = resolve({"extensions": hashed()}, policy(size=0))
    assert isinstance(refused, Refusal)
    assert refused.code == persisted.NOT_SUPPORTED
    assert refused.error()["message"] == "PersistedQueryNotSupported"
    assert resolve({"query": DOC, "extensions": hashed()}, policy(size=0)) == Resolved(
        {"query": DOC, "extensions": hashed()}, "sent"
    )


def test_registered_documents_are_known_by_hash_from_the_start() -> None:
    chosen = policy(registered={DIGEST: DOC})
    assert resolve({"extensions": hashed()}, chosen) == Resolved(
        {"extensions": hashed(), "query": DOC}, "registered"
    )
    assert chosen.registry.is_registered(DIGEST)
    assert chosen.cache is not None
    assert len(chosen.cache) == 0


def test_only_registered_refuses_everything_else() -> None:
    chosen = policy(size=0, registered={DIGEST: DOC}, only=True)
    other = "{ me { userId } }"
    for body, code in (
        ({"query": other}, persisted.ONLY_REGISTERED),
        ({"query": other, "extensions": hashed(persisted.sha256_of(other))}, "NOT_REGISTERED"),
        ({"extensions": hashed(persisted.sha256_of(other))}, "NOT_REGISTERED"),
    ):
        refused = resolve(body, chosen)
        assert isinstance(refused, Refusal)
        assert refused.code.endswith(code)
        assert refused.status == 400
    for body in ({"query": DOC}, {"query": DOC, "extensions": hashed()}, {"extensions": hashed()}):
        found = resolve(body, chosen)
        assert isinstance(found, Resolved)
        assert found.outcome == "registered"
        assert found.body["query"] == DOC


def test_manifests_of_apollo_and_of_graphql_code_generator_are_read(tmp_path: Path) -> None:
    apollo = tmp_path / "apollo.json"
    operations = persisted.operations("query A { me { userId } }\nquery B { me { roles } }")
    apollo.write_text(json.dumps(persisted.manifest(operations)))
    read = Registry.read(apollo)
    assert len(read) == 2
    assert all(read.document(o.digest) == o.body for o in operations)
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({DIGEST: DOC}))
    assert Registry.read(codegen).document(DIGEST) == DOC


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("not json", "不是 JSON"),
        ("[]", "应为 JSON 对象"),
        (json.dumps({"0" * 64: DOC}), "不是其查询文本的 SHA-256"),
        (json.dumps({DIGEST: 1}), "字符串"),
        (json.dumps({"format": persisted.APOLLO_FORMAT, "version": 2}), "第 1 版"),
        (json.dumps({"format": persisted.APOLLO_FORMAT, "version": 1}), "operations"),
    ],
)
def test_a_manifest_it_cannot_use_is_refused_with_the_reason(
    tmp_path: Path, content: str, said: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(InvalidValue) as refused:
        Registry.read(path)
    assert said in refused.value.message
    assert str(path) in refused.value.message


def test_a_missing_manifest_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue) as refused:
        Registry.read(tmp_path / "missing.json")
    assert "LINEAGE_PERSISTED_QUERIES" in refused.value.message


def test_each_operation_takes_the_fragments_it_uses_and_no_other() -> None:
    source = """
    fragment Deep on User { userId }
    fragment Outer on User { ...Deep roles }
    fragment Unused on User { personId }
    query Mine { me { ...Outer } }
    mutation Other { __typename }
    """
    mine, other = persisted.operations(source)
    assert (mine.name, mine.kind, other.name, other.kind) == ("Mine", "query", "Other", "mutation")
    assert "fragment Outer" in mine.body
    assert "fragment Deep" in mine.body
    assert "Unused" not in mine.body
    assert "fragment" not in other.body
    assert persisted.operations(source)[0].digest == mine.digest  # the same text each time


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("{ me { userId } }", "未命名"),
        ("query A { me { ...Missing } }", "Missing"),
        ("query A { me { userId } } query A { me { roles } }", "重复"),
        ("query A {", "无法解析"),
    ],
)
def test_a_source_that_cannot_be_registered_is_refused(source: str, said: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        persisted.operations(source)
    assert said in refused.value.message
