"""How the command line fails: one sentence in Chinese on stderr that says what to do, and an
exit code a script can act on; the traceback only with `lineage --debug`.

The codes (`lineage --help` and the README say the same):

- 0: done;
- 1: the command ran and found something, or the data refused it: findings of `lineage
  audit`, a broken audit chain, a refused import or restore, an unknown id, a rule of the
  regulations (the sentence names it);
- 2: the command could not run as given, and nothing was done: a usage error (an unknown
  option, a malformed value), or what it names is unusable (a file missing, a store URL
  wrong or unreachable, a port taken);
- 3: an unexpected failure (a fault of the program or of the machine).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from contextvars import ContextVar
from enum import IntEnum
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from graph.errors import LineageError, StoreUnavailable, StoreVersionError


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    FAILED = 3


EXIT_CODES = (
    "退出码：0 完成；1 有发现（lineage audit、trail verify）或数据被拒绝（导入、恢复、规则、"
    "不存在的标识）；2 命令无法按所给执行，未做任何改动（用法错误，或文件、存储、端口不可用）；"
    "3 意外故障（加 --debug 查看详情）。"
)

# Set by `lineage --debug`: failures then show their traceback too.
debugging: ContextVar[bool] = ContextVar("debugging", default=False)


class Failure(Exception):
    """A failure the command line explains in one sentence, with its exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def refused(message: str) -> Failure:
    """The data or the rules refused the command (exit 1)."""
    return Failure(message, ExitCode.REFUSED)


def unusable(message: str) -> Failure:
    """The command cannot run as given; nothing was done (exit 2)."""
    return Failure(message, ExitCode.USAGE)


def of_lineage(error: LineageError) -> Failure:
    """A refusal of the service as the command line reports it: a store it cannot reach or
    read is unusable, anything else the data refused."""
    if isinstance(error, StoreUnavailable):
        said = error.message.rstrip("。.")
        return unusable(
            f"{said}。请确认图数据库正在运行，地址、用户名和口令无误（--store 或 LINEAGE_STORE）。"
        )
    if isinstance(error, StoreVersionError):
        return unusable(error.message)
    return refused(error.message)


def of_os(error: OSError) -> Failure:
    """A file the command could not use."""
    name = error.filename if error.filename is not None else ""
    said = {
        errno.ENOENT: f"文件「{name}」不存在：请检查路径。",
        errno.EACCES: f"无权访问「{name}」：请检查文件权限，或换一个路径。",
        errno.EPERM: f"无权访问「{name}」：请检查文件权限，或换一个路径。",
        errno.EISDIR: f"「{name}」是目录，不是文件：请给出文件路径。",
        errno.ENOTDIR: f"「{name}」的上级路径中有一项不是目录：请检查路径。",
        errno.ENOSPC: f"磁盘空间不足，无法写入「{name}」：请腾出空间后重试。",
        errno.EROFS: f"「{name}」所在的文件系统只读：请换一个可写的路径。",
    }.get(error.errno or 0)
    if said is None:
        said = f"无法使用「{name}」：{error.strerror or error}。" if name else f"{error}。"
    return unusable(said)


class LineageGroup(TyperGroup):
    """The `lineage` command: runs a command and turns whatever it raises into one sentence
    and an exit code, in place of click's usage panel and Python's traceback."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        token = debugging.set(False)
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except BaseException as error:  # every failure ends here, said once
            _fail(error, debugging.get())
        finally:
            debugging.reset(token)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _fail(error: BaseException, debug: bool) -> NoReturn:
    kinds = _kinds(error)
    if isinstance(error, SystemExit):
        raise error
    if "NoArgsIsHelpError" in kinds:
        sys.exit(ExitCode.USAGE)  # the help was shown
    if isinstance(error, KeyboardInterrupt):
        typer.echo("已中断。", err=True)
        sys.exit(130)
    if isinstance(error, BrokenPipeError):
        # The reader of stdout went away (`lineage export | head`): nothing more goes there,
        # nor at exit (Python's advice for SIGPIPE).
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitCode.REFUSED)
    try:
        failure = _explained(error, kinds)
    except Exception:
        failure = Failure(f"{type(error).__name__}: {error}", ExitCode.FAILED)
    if debug:
        traceback.print_exception(error)
    # One line, even where a driver's message brought its own line breaks.
    typer.echo(f"lineage：{' '.join(failure.message.split())}", err=True)
    sys.exit(failure.code)


def _kinds(error: BaseException) -> set[str]:
    """The names of the error's classes: typer raises the exceptions of the click it carries
    within (typer._click), which are known here by their names, as typer knows them."""
    return {kind.__name__ for kind in type(error).__mro__}


def _explained(error: BaseException, kinds: set[str]) -> Failure:
    if isinstance(error, Failure):
        return error
    if "UsageError" in kinds:
        return unusable(_usage(error, kinds))
    if "Abort" in kinds:
        return refused("已取消，未作任何改动。")
    if "ClickException" in kinds:
        return unusable(_said(error))
    if isinstance(error, LineageError):
        return of_lineage(error)
    if isinstance(error, OSError):
        return of_os(error)
    if isinstance(error, sqlite3.DatabaseError):
        return unusable(
            f"存储文件无法读取（{error}）：它不是血缘服务的存储，或已损坏；"
            "请检查 --store，或用 lineage restore 从备份恢复。"
        )
    return Failure(
        f"意外故障（{type(error).__name__}: {error}）。加 --debug 重新运行可看到详细信息，"
        "请连同它报告此问题。",
        ExitCode.FAILED,
    )


def _said(error: BaseException) -> str:
    return str(getattr(error, "message", error)).rstrip("。.")


def _usage(error: BaseException, kinds: set[str]) -> str:
    """click's usage errors in Chinese, with the command's help to turn to."""
    ctx = getattr(error, "ctx", None)
    param = getattr(error, "param", None)
    command = getattr(ctx, "command_path", None) or "lineage"
    help = f"用 {command} --help 查看用法。"
    said = _said(error)
    what = _named(param)
    if "NoSuchOption" in kinds:
        near = sorted(getattr(error, "possibilities", None) or ())
        maybe = f"（是否想用 {'、'.join(near)}？）" if near else ""
        return f"没有选项 {getattr(error, 'option_name', '')}{maybe}：{help}"
    if "MissingParameter" in kinds:
        return f"缺少 {what or '参数'}：{help}"
    if "BadParameter" in kinds:
        said = _typed(said)
        return f"{what} 的值无效：{said}。{help}" if what else f"{said}。{help}"
    if found := re.match(r"No such command '(.*)'", said):
        return f"没有命令「{found[1]}」：{help}"
    if found := re.match(r"Got unexpected extra argument.*? \((.*)\)$", said):
        return f"多余的参数 {found[1]}：{help}"
    return f"{said}。{help}"


def _named(param: object) -> str:
    """An option by its flags, an argument by its name, as the help shows them."""
    if param is None:
        return ""
    flags = [f for f in getattr(param, "opts", None) or () if str(f).startswith("-")]
    if flags:
        return " / ".join(flags)
    return str(getattr(param, "name", None) or "").upper()


_TYPES = {"integer": "整数", "float": "数", "boolean": "是或否"}


def _typed(message: str) -> str:
    """A refusal of a value of the wrong type, in Chinese."""
    found = re.match(r"^'(.*)' is not a valid (integer|float|boolean)", message)
    if found is not None:
        return f"「{found[1]}」不是{_TYPES[found[2]]}"
    if message.startswith("Input should be a valid integer"):
        return "应为整数"
    if message.startswith("Input should be a valid number"):
        return "应为数"
    return message
