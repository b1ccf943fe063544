"""Picks the store from the `LINEAGE_STORE` URL: the only place that knows the adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from graph.errors import InvalidValue
from graph.store.base import GraphStore

SUPPORTED = (
    "sqlite:///relative/path.db、sqlite:////absolute/path.db，"
    "或 neo4j://user:password@host:7687/database（也可用 bolt://）"
)
BOLT_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def sqlite_path(url: str) -> Path:
    """`sqlite:///lineage.db` -> lineage.db; `sqlite:////var/lib/lineage.db` -> /var/lib/...;
    the same form as SQLAlchemy's URLs."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/"):
        raise InvalidValue("LINEAGE_STORE", f"无法识别的存储地址「{url}」：应为 {SUPPORTED}。")
    path = parts.path[1:]
    if not path:
        raise InvalidValue("LINEAGE_STORE", f"存储地址「{url}」缺少文件路径：应为 {SUPPORTED}。")
    return Path(path)


@dataclass(frozen=True)
class BoltTarget:
    """Where a Bolt store lives: the driver's URI, credentials and database."""

    uri: str
    auth: tuple[str, str] | None
    database: str | None


def bolt_target(url: str) -> BoltTarget:
    """`neo4j://user:password@host:7687/database`; the password may be percent-encoded."""
    parts = urlsplit(url)
    if parts.scheme not in BOLT_SCHEMES or not parts.hostname:
        raise InvalidValue("LINEAGE_STORE", f"无法识别的存储地址「{url}」：应为 {SUPPORTED}。")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    uri = f"{parts.scheme}://{host}:{parts.port or 7687}"
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    database = parts.path.strip("/") or None
    return BoltTarget(uri, auth, database)


def redacted(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def open_store(url: str, *, cached_items: int = 2_000_000) -> GraphStore:
    """The store `url` names, keeping up to `cached_items` items in memory."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from graph.store.sqlite import SqliteStore

        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStore(path, cached_items=cached_items)
    if scheme in BOLT_SCHEMES:
        from graph.store.neo4j import Neo4jStore

        target = bolt_target(url)
        return Neo4jStore(target.uri, target.auth, target.database, cached_items=cached_items)
    raise InvalidValue(
        "LINEAGE_STORE", f"不支持的存储「{scheme or redacted(url)}」：应为 {SUPPORTED}。"
    )
