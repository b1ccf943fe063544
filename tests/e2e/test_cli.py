"""The command line as a new user meets it (issue 22, points 3 and 4): every failure is one
sentence in Chinese on stderr with its exit code (0 done, 1 findings or refused data, 2 the
command cannot run as given, 3 a fault), no traceback unless --debug, and nothing created by
a failed start; `lineage demo --reset`; and the progress of long commands on stderr."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from graph.access import SYSTEM
from graph.store.sqlite import trail_path
from service.cli import app as cli
from service.composition import open_store
from service.usecases import NewOrganisation, register_organisation
from tests.e2e.test_server import LINEAGE_SCRIPT, free_port


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def sentence(result: Result) -> str:
    """The failure's one line on stderr, checked for being one and free of a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lineage："), result.stderr
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert invoke("demo", "--store", url).exit_code == 0
    return url


CASES = [
    # (arguments, exit code, what the sentence says)
    (["import", "missing.jsonl", "--store", "sqlite:///new.db"], 2, "文件 missing.jsonl 不存在"),
    (["import", "notes.txt", "--store", "sqlite:///new.db"], 1, "不是血缘导出文件"),
    (["import", "--store", "sqlite:///new.db"], 2, "缺少 SOURCE"),
    (["demo", "--store", "sqlite:///tpyo/dir/new.db"], 2, "加 --create"),
    (["audit", "--store", "sqlite:///missing.db"], 2, "存储文件 missing.db 不存在"),
    (["export", "--store", "sqlite:///missing.db", "-o", "out.jsonl"], 2, "不存在"),
    (["users", "list", "--store", "sqlite:///missing.db"], 2, "不存在"),
    (["serve", "--store", "nonsense://x"], 2, "不支持的存储"),
    (["serve", "--store", "sqlite:///tpyo/new.db"], 2, "加 --create"),
    (["serve", "--port", "abc", "--store", "sqlite:///new.db"], 2, "--port 的值无效：应为整数"),
    (
        ["expire", "--as-of", "2026-02-30", "--store", "sqlite:///new.db"],
        2,
        "日期「2026-02-30」无效",
    ),
    (
        ["expire", "--dry-run", "--as-of", "2000-01-01", "--store", "sqlite:///new.db"],
        2,
        "不能预览已经过去的日期（2000-01-01）",
    ),
    (["--nope"], 2, "没有选项 --nope"),
    (["frobnicate"], 2, "没有命令「frobnicate」"),
    (["audit", "extra", "--store", "sqlite:///new.db"], 2, "多余的参数 extra"),
    (["users", "add", "x", "--role", "king", "--store", "sqlite:///new.db"], 2, "未知角色"),
    (["restore", "missing.db", "--store", "sqlite:///new.db"], 2, "不存在"),
    (["backup", "b.db", "--store", "sqlite:///notes.txt"], 2, "不是血缘服务的存储"),
]


@pytest.mark.parametrize(("args", "code", "says"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_a_failure_is_one_sentence_with_its_code_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], code: int, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("会议纪要\n不是导出文件\n", encoding="utf-8")
    before = files(tmp_path)
    result = invoke(*args)
    assert result.exit_code == code, result.output
    assert says in sentence(result)
    assert files(tmp_path) == before


def test_what_the_data_refuses_exits_with_1(demo_url: str, tmp_path: Path) -> None:
    unknown = invoke("export-lineage", "D-NONE", "--store", demo_url)
    assert unknown.exit_code == 1
    assert "「D-NONE」不存在" in sentence(unknown)
    dump = tmp_path / "graph.jsonl"
    assert invoke("export", "--store", demo_url, "-o", str(dump)).exit_code == 0
    into_data = invoke("import", str(dump), "--store", demo_url)
    assert into_data.exit_code == 1
    assert "空存储" in sentence(into_data)
    assert invoke("audit", "--store", demo_url).exit_code == 1  # the demo bureau's findings


def test_a_file_in_an_existing_directory_starts_a_store_and_create_makes_a_directory(
    tmp_path: Path,
) -> None:
    assert invoke("demo", "--store", f"sqlite:///{tmp_path / 'fresh.db'}").exit_code == 0
    nested = tmp_path / "a" / "b" / "lineage.db"
    made = invoke("demo", "--create", "--store", f"sqlite:///{nested}")
    assert made.exit_code == 0, made.output
    assert nested.is_file()
    assert trail_path(nested).is_file()


def test_debug_shows_the_traceback_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("--debug", "import", "missing.jsonl")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("lineage：文件 missing.jsonl")


def test_the_console_script_fails_in_one_line(tmp_path: Path) -> None:
    """The installed `lineage`, not the test runner: what an operator's shell sees."""
    done = subprocess.run(
        [str(LINEAGE_SCRIPT), "import", "missing.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LINEAGE_STORE": "sqlite:///lineage.db"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "lineage：文件 missing.jsonl 不存在：请检查路径。\n"
    assert list(tmp_path.iterdir()) == []


def test_a_port_in_use_stops_serve_before_the_store_is_opened(tmp_path: Path) -> None:
    port = free_port()
    store = tmp_path / "served.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run(
            [str(LINEAGE_SCRIPT), "serve", "--demo", "--port", str(port)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "LINEAGE_STORE": f"sqlite:///{store}"},
        )
    assert done.returncode == 2
    assert f"端口 {port} 已被占用" in done.stderr
    assert "--port" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # neither the URLs nor the demo's tokens
    assert list(tmp_path.iterdir()) == []  # no store, so no expiry ran either


def test_the_exit_codes_are_in_the_help() -> None:
    shown = invoke("--help")
    assert shown.exit_code == 0
    text = "".join(shown.output.split())
    for said in ("退出码：0完成", "1有发现", "2命令无法按所给执行", "--debug"):
        assert said in text


def users(url: str) -> set[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return {row[0] for row in db.execute("SELECT id FROM users")}


def events(url: str) -> list[str]:
    path = trail_path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT action FROM audit_events ORDER BY seq")]


def test_demo_reset_asks_then_starts_the_tour_again_and_keeps_the_trail(demo_url: str) -> None:
    added = invoke("users", "add", "visitor", "--role", "administrator", "--store", demo_url)
    assert added.exit_code == 0, added.output
    trail = events(demo_url)

    declined = invoke("demo", "--reset", "--store", demo_url, input="n\n")
    assert declined.exit_code == 1
    assert "未重置" in declined.stderr
    assert "visitor" in users(demo_url)

    reset = invoke("demo", "--reset", "--store", demo_url, input="y\n")
    assert reset.exit_code == 0, reset.output
    assert "已重置" in reset.output
    assert "lin_" in reset.output  # fresh tokens for the tour
    assert "visitor" not in users(demo_url)
    assert "p-sun-hong" in users(demo_url)
    after = events(demo_url)
    assert after[: len(trail)] == trail  # the audit trail is never rolled back
    assert "cli demo --reset" in after[len(trail) :]
    assert invoke("trail", "verify", "--store", demo_url).exit_code == 0
    again = invoke("demo", "--store", demo_url)
    assert "未重复写入" in again.output


def test_demo_reset_refuses_a_store_with_other_data_unless_forced(demo_url: str) -> None:
    store = open_store(demo_url)
    try:
        register_organisation(store, NewOrganisation("org-real", "某真实单位"), SYSTEM)
    finally:
        store.close()
    refused = invoke("demo", "--reset", "--yes", "--store", demo_url)
    assert refused.exit_code == 1
    assert "org-real" in sentence(refused)
    assert "--force" in sentence(refused)
    forced = invoke("demo", "--reset", "--yes", "--force", "--store", demo_url)
    assert forced.exit_code == 0, forced.output
    store = open_store(demo_url)
    try:
        assert store.read(lambda tx: tx.organisation("org-real")) is None
    finally:
        store.close()


def test_demo_reset_never_touches_a_bolt_store() -> None:
    url = f"bolt://root:password@127.0.0.1:{free_port()}/lineage"
    result = invoke("demo", "--reset", "--yes", "--force", "--store", url)
    assert result.exit_code == 2
    assert "只适用于嵌入式存储" in sentence(result)


def progress(result: Result, what: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith(f"{what}：")]


def test_long_commands_write_plain_progress_lines_when_not_on_a_terminal(
    demo_url: str, tmp_path: Path
) -> None:
    often = {"LINEAGE_PROGRESS_SECONDS": "0.000001"}
    dump = tmp_path / "graph.jsonl"
    exported = invoke("export", "--store", demo_url, "-o", str(dump), env=often)
    assert exported.exit_code == 0, exported.output
    lines = progress(exported, "导出")
    assert any("/29 事项（" in line and "事项/秒" in line for line in lines), lines
    assert lines[-1].startswith("导出：完成，29 事项，用时 ")

    total = len(dump.read_text(encoding="utf-8").splitlines())
    imported = invoke("import", str(dump), "--store", f"sqlite:///{tmp_path / 'b.db'}", env=often)
    assert imported.exit_code == 0, imported.output
    lines = progress(imported, "导入")
    assert f"导入：{total}/{total} 行（100%）" in "\n".join(lines), lines
    assert "约剩" in "\n".join(lines)
    assert lines[-1].startswith(f"导入：完成，{total} 行")

    audited = invoke("audit", "--store", demo_url, env=often)
    assert audited.exit_code == 1
    assert "检查：29/29 事项（100%）" in "\n".join(progress(audited, "检查"))
    assert "D-21" in audited.stdout  # the findings keep stdout to themselves

    backup = tmp_path / "backup.db"
    taken = invoke("backup", str(backup), "--store", demo_url, env=often)
    assert taken.exit_code == 0, taken.output
    assert progress(taken, "备份")[-1].startswith("备份：完成")
    assert "页/秒" in "\n".join(progress(taken, "备份"))
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = invoke("restore", str(backup), "--store", target, env=often)
    assert restored.exit_code == 0, restored.output
    assert progress(restored, "恢复")[-1].startswith("恢复：完成")


def test_a_short_command_writes_no_progress_line(demo_url: str) -> None:
    """At the default interval (10 s), the demo's export is over before the first line."""
    exported = invoke("export", "--store", demo_url)
    assert exported.exit_code == 0
    assert progress(exported, "导出") == []
    assert exported.stdout.count("\n") > 100
