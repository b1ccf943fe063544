"""Picks the store from the `LINEAGE_STORE` URL: the only place that knows the adapters."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from graph.errors import InvalidValue
from graph.store.base import GraphStore
from graph.store.sqlite import SqliteStore

SUPPORTED = "sqlite:///relative/path.db or sqlite:////absolute/path.db"


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


def open_store(url: str) -> GraphStore:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteStore(path)
    raise InvalidValue("LINEAGE_STORE", f"不支持的存储「{scheme or url}」：应为 {SUPPORTED}。")
