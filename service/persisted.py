"""Persisted queries: documents a client names by their SHA-256 instead of sending them.

Two kinds, as Apollo's clients know them:

- automatic persisted queries (APQ): a client sends `extensions.persistedQuery = {version: 1,
  sha256Hash}` alone; a hash the service does not know is answered `PersistedQueryNotFound`,
  and the client sends the document again with its hash, which the service checks and keeps.
  What is kept is a cache (`Cache`), bounded, least recently used first out: losing it costs
  a client one more round trip, nothing else.
- a registered set (`Registry`), read from a manifest file a deployment names
  (LINEAGE_PERSISTED_QUERIES): Apollo's persisted query manifest or GraphQL Code Generator's
  `{hash: document}`. With LINEAGE_PERSISTED_ONLY the service runs nothing else.

`resolve` turns a request's body into the body strawberry runs, or into a `Refusal`; the
document it gives goes through the same limits, cost, rate limit and audit as one sent in
full (service.app). Pure apart from the cache it is given."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

from graph.errors import InvalidValue

APOLLO_FORMAT = "apollo-persisted-query-manifest"
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
# Apollo's clients look for this message (older ones for nothing else), and send the document.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"
NOT_FOUND_DETAIL = "服务不认识这个查询摘要：请连同查询文本和摘要再发一次（自动持久化查询）。"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
NOT_SUPPORTED_MESSAGE = "PersistedQueryNotSupported"
NOT_SUPPORTED_DETAIL = (
    "本服务未启用自动持久化查询（LINEAGE_PERSISTED_CACHE_SIZE=0）：请发送查询文本。"
)
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_SUPPORTED_VERSION = "PERSISTED_QUERY_VERSION_UNSUPPORTED"
NOT_REGISTERED = "PERSISTED_QUERY_NOT_REGISTERED"
ONLY_REGISTERED = "PERSISTED_QUERY_REQUIRED"


def sha256_of(document: str) -> str:
    """The hash a client sends: SHA-256 of the document's UTF-8 text, in lower-case hex."""
    return hashlib.sha256(document.encode()).hexdigest()


class Registry:
    """The registered documents, by hash: what a deployment allows when it allows nothing
    else. Read once, at start-up; never changes while the service runs."""

    def __init__(self, documents: Mapping[str, str] | None = None) -> None:
        self._documents = dict(documents or {})

    def __len__(self) -> int:
        return len(self._documents)

    def is_registered(self, digest: str) -> bool:
        return digest in self._documents

    def document(self, digest: str) -> str | None:
        return self._documents.get(digest)

    @classmethod
    def read(cls, path: Path) -> Registry:
        """The manifest at `path`; InvalidValue, naming the file and what is wrong, for one
        that is missing, not JSON, of an unknown shape, or whose hash and document differ."""
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise InvalidValue(
                "persisted_queries",
                f"持久化查询清单「{path}」无法读取：{error.strerror or error}"
                "（LINEAGE_PERSISTED_QUERIES）。",
            ) from error
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise InvalidValue(
                "persisted_queries", f"持久化查询清单「{path}」不是 JSON：{error}。"
            ) from error
        return cls(entries(value, str(path)))


def entries(value: Any, name: str = "清单") -> dict[str, str]:
    """hash -> document of a manifest: Apollo's (`{"format": "apollo-persisted-query-manifest",
    "version": 1, "operations": [{"id", "body", "name", "type"}]}`) or a plain `{hash:
    document}` (GraphQL Code Generator's persisted documents). Each hash must be the SHA-256 of
    its document: the service checks what a client sends by it."""

    def invalid(why: str) -> InvalidValue:
        return InvalidValue("persisted_queries", f"持久化查询清单「{name}」无效：{why}")

    if not isinstance(value, dict):
        raise invalid("应为 JSON 对象。")
    pairs: list[tuple[Any, Any]]
    if value.get("format") == APOLLO_FORMAT:
        if value.get("version") != 1:
            raise invalid("只支持 Apollo 清单的第 1 版（version: 1）。")
        operations = value.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise invalid("operations 应为对象的列表。")
        pairs = [(o.get("id"), o.get("body")) for o in operations]
    else:
        pairs = list(value.items())
    found: dict[str, str] = {}
    for digest, document in pairs:
        if not isinstance(digest, str) or not isinstance(document, str):
            raise invalid("每一项应有字符串的摘要和查询文本。")
        if sha256_of(document) != digest.lower():
            raise invalid(f"摘要 {digest} 不是其查询文本的 SHA-256。")
        found[digest.lower()] = document
    return found


@dataclass(frozen=True)
class Operation:
    """One named operation as a document of its own: the operation and the fragments it uses,
    printed by graphql-core, so that the same source always gives the same text and hash."""

    name: str
    kind: str  # query, mutation or subscription
    body: str

    @property
    def digest(self) -> str:
        return sha256_of(self.body)


def operations(source: str, name: str = "文档") -> list[Operation]:
    """The named operations of a GraphQL source (a .graphql file), each with its fragments.
    InvalidValue for a source that does not parse, an operation without a name, a name used
    twice, or a fragment it spreads that the source does not define."""
    try:
        document = parse(source)
    except GraphQLError as error:
        raise InvalidValue("document", f"「{name}」无法解析：{error.message}") from error
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: list[Operation] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.name is None:
            raise InvalidValue(
                "document", f"「{name}」中有未命名的操作：清单中的每个操作须有名字。"
            )
        used: dict[str, FragmentDefinitionNode] = {}
        waiting: list[Node] = [definition]
        while waiting:
            for spread in _spreads(waiting.pop()):
                if spread not in used:
                    if spread not in fragments:
                        raise InvalidValue("document", f"「{name}」中的片段 {spread} 未定义。")
                    used[spread] = fragments[spread]
                    waiting.append(fragments[spread])
        body = print_ast(DocumentNode(definitions=(definition, *used.values())))
        found.append(Operation(definition.name.value, definition.operation.value, body))
    names = [o.name for o in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidValue("document", f"「{name}」中操作名重复：{'、'.join(twice)}。")
    return found


def _spreads(node: Node) -> list[str]:
    spreads: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            spreads.append(spread.name.value)

    visit(node, Spreads())
    return spreads


def manifest(documents: Iterable[Operation]) -> dict[str, Any]:
    """Apollo's persisted query manifest of the operations."""
    return {
        "format": APOLLO_FORMAT,
        "version": 1,
        "operations": [
            {"id": o.digest, "name": o.name, "type": o.kind, "body": o.body} for o in documents
        ],
    }


class Cache:
    """Automatic persisted queries' documents, at most `size` of them, the least recently used
    dropped first. Shared by the server's threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, digest: str) -> str | None:
        with self._lock:
            document = self._documents.get(digest)
            if document is not None:
                self._documents.move_to_end(digest)
            return document

    def put(self, digest: str, document: str) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._documents[digest] = document
            self._documents.move_to_end(digest)
            while len(self._documents) > self.size:
                self._documents.popitem(last=False)


@dataclass(frozen=True)
class Policy:
    """What the service accepts: the registered set, the cache of automatic persisted queries
    (None: the protocol is off), and whether anything else may run (`only_registered`)."""

    registry: Registry
    cache: Cache | None
    only_registered: bool = False


@dataclass(frozen=True)
class Refusal:
    """A request refused before it runs: its code (extensions.code), a sentence, the status."""

    code: str
    message: str
    status: int = 400

    def error(self) -> dict[str, Any]:
        if self.code == NOT_FOUND:
            extensions = {"code": NOT_FOUND, "detail": NOT_FOUND_DETAIL}
            return {"message": NOT_FOUND_MESSAGE, "extensions": extensions}
        if self.code == NOT_SUPPORTED:
            extensions = {"code": NOT_SUPPORTED, "detail": NOT_SUPPORTED_DETAIL}
            return {"message": NOT_SUPPORTED_MESSAGE, "extensions": extensions}
        return {"message": self.message, "extensions": {"code": self.code}}


@dataclass(frozen=True)
class Resolved:
    """The body to run (with its document), and how it was found, for the metrics: `sent`
    (a document alone), `registered`, `hit` (the cache) or `stored` (sent with its hash, kept)."""

    body: dict[str, Any]
    outcome: str


def resolve(body: dict[str, Any], policy: Policy) -> Resolved | Refusal:
    """The body strawberry runs for the one sent, or why it is refused."""
    extensions = body.get("extensions")
    asked = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    query = body.get("query")
    if asked is None:
        if policy.only_registered and query is not None:
            if isinstance(query, str) and policy.registry.is_registered(sha256_of(query)):
                return Resolved(body, "registered")  # a registered document, word for word
            return only_registered_refusal()
        return Resolved(body, "sent")
    if not isinstance(asked, dict) or asked.get("version") != 1:
        return Refusal(
            NOT_SUPPORTED_VERSION,
            "持久化查询只支持第 1 版：extensions.persistedQuery 应为 "
            '{"version": 1, "sha256Hash": "…"}。',
        )
    digest = asked.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64:
        return Refusal(
            NOT_SUPPORTED_VERSION,
            "extensions.persistedQuery.sha256Hash 应为 64 位十六进制的 SHA-256 摘要。",
        )
    digest = digest.lower()
    if query is not None:
        if not isinstance(query, str) or sha256_of(query) != digest:
            return Refusal(
                HASH_MISMATCH,
                f"查询文本的 SHA-256 与所给摘要 {digest} 不符：摘要应为查询文本 UTF-8 编码的 "
                "SHA-256（小写十六进制）。",
            )
        if policy.registry.is_registered(digest):
            return Resolved(body, "registered")
        if policy.only_registered:
            return _not_registered(digest)
        if policy.cache is None:
            return Resolved(body, "sent")
        policy.cache.put(digest, query)
        return Resolved(body, "stored")
    registered = policy.registry.document(digest)
    if registered is not None:
        return Resolved({**body, "query": registered}, "registered")
    if policy.only_registered:
        return _not_registered(digest)
    if policy.cache is None:
        # Apollo's clients stop sending hashes alone on this, rather than twice each time.
        return Refusal(NOT_SUPPORTED, NOT_SUPPORTED_MESSAGE, 200)
    kept = policy.cache.get(digest)
    if kept is None:
        return Refusal(NOT_FOUND, NOT_FOUND_MESSAGE, 200)
    return Resolved({**body, "query": kept}, "hit")


def only_registered_refusal() -> Refusal:
    return Refusal(
        ONLY_REGISTERED,
        "本服务只执行已登记的查询（LINEAGE_PERSISTED_ONLY）：请以 "
        'extensions.persistedQuery = {"version": 1, "sha256Hash": "…"} 发送已登记查询的'
        "摘要，或发送与清单中一字不差的查询文本（清单由 lineage persisted-queries build 生成）。",
    )


def _not_registered(digest: str) -> Refusal:
    return Refusal(
        NOT_REGISTERED,
        f"摘要 {digest} 的查询未登记：本服务只执行持久化查询清单"
        "（LINEAGE_PERSISTED_QUERIES）中的查询，请将它加入清单后重新部署。",
    )
