"""What a command checks before it touches anything, so that a failed start creates nothing:
the embedded store's path, the files it reads, the port it listens on."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from urllib.parse import urlsplit

from graph.errors import LineageError
from service.composition import sqlite_path
from service.failure import Failure, unusable

WHERE = "请检查 --store 或 LINEAGE_STORE"


def store(url: str, *, starts: bool, create: bool = False) -> None:
    """Refuses an embedded store a typo would otherwise create. Its directory must exist
    (`create` makes it); a missing file is a new, empty store only for a command that `starts`
    one (serve, demo, import, restore, users add), never for one that reads what a store
    holds. A Bolt URL is checked when its store is opened."""
    if urlsplit(url).scheme != "sqlite":
        return
    try:
        path = sqlite_path(url)
    except LineageError as error:
        raise unusable(error.message) from error
    if path.is_dir():
        raise unusable(f"存储路径 {path} 是目录：{WHERE}，它应指向一个文件。")
    if path.exists() or create:
        return
    if not path.parent.is_dir():
        raise unusable(
            f"存储文件 {path} 所在的目录 {path.parent} 不存在：{WHERE}；"
            "确要新建该目录和存储，请加 --create。"
        )
    if not starts:
        raise unusable(
            f"存储文件 {path} 不存在：{WHERE}。新的存储由 lineage demo、import、restore "
            "或 serve 建立。"
        )


def input_file(path: Path) -> None:
    """A file the command is to read: there, a file, and readable."""
    if not path.exists():
        raise unusable(f"文件 {path} 不存在：请检查路径。")
    if path.is_dir():
        raise unusable(f"{path} 是目录，不是文件：请给出文件路径。")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise unusable(f"无法读取文件 {path}（{error.strerror}）：请检查其权限。") from error


def output_file(path: Path) -> None:
    """A file the command is to write: its directory exists and it is not a directory."""
    if path.is_dir():
        raise unusable(f"{path} 是目录，不是文件：请给出要写入的文件路径。")
    if not path.parent.is_dir():
        raise unusable(f"目录 {path.parent} 不存在：请先建立它，或换一个路径。")


def listening(host: str, port: int) -> socket.socket:
    """A socket bound to the address the service is to listen on, before anything else is
    done: a port in use stops the start before the store is opened or the expiry runs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn binds: a port left in TIME_WAIT by the last run may be taken again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise _unbindable(host, port, error) from error
    sock.set_inheritable(True)
    return sock


def _unbindable(host: str, port: int, error: OSError) -> Failure:
    change = "用 --port（或 LINEAGE_PORT）换一个端口"
    if error.errno == errno.EADDRINUSE:
        return unusable(
            f"端口 {port} 已被占用（{host}）：请停止占用它的程序（例如已在运行的血缘服务），"
            f"或{change}。"
        )
    if error.errno == errno.EACCES:
        return unusable(f"无权监听端口 {port}：1024 以下的端口须有特权，请{change}。")
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return unusable(
            f"无法监听地址 {host}：它不是本机的地址，请用 --host（或 LINEAGE_HOST）换一个，"
            "例如 127.0.0.1 或 0.0.0.0。"
        )
    return unusable(f"无法监听 {host}:{port}（{error.strerror or error}）：请{change}。")
