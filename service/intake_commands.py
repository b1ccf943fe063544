"""`lineage register template | import | export` (the 定密台账 as a spreadsheet) and
`lineage intake add | list | remove` (the document systems that may call /intake)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from graph.access import SYSTEM
from graph.errors import LineageError
from graph.store.base import GraphStore
from graph.trail import Outcome
from service import intake
from service.auditing import event
from service.composition import open_store, redacted
from service.config import Settings
from service.redaction import Mode, Redactor
from service.register import import_register, register_xlsx, rows_of, template_xlsx

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL; overrides LINEAGE_STORE.", show_default=False),
]
OutputOption = Annotated[Path, typer.Option("--output", "-o", help="The XLSX file to write.")]

register = typer.Typer(
    help="The 定密台账 as a spreadsheet: its template, an import, an export.",
    no_args_is_help=True,
)
intake_systems = typer.Typer(
    help="Document systems (OA) that send signed derivations to /intake/derivations.",
    no_args_is_help=True,
)


def _open(store: str | None) -> GraphStore:
    try:
        return open_store(Settings(**({"store": store} if store else {})).store)  # type: ignore[arg-type]
    except LineageError as error:
        raise typer.BadParameter(error.message) from error


def _audit(store: GraphStore, action: str, items: list[str], detail: str) -> None:
    store.append_audit([event(SYSTEM, action, Outcome.OK, items=items, detail=detail)])


@register.command("template")
def register_template(output: OutputOption) -> None:
    """Writes the empty register with its columns, lists to choose from and notes (the same
    file the service serves at /templates/register.xlsx)."""
    output.write_bytes(template_xlsx())
    typer.echo(f"已写出定密台账模板：{output}")


@register.command("import")
def register_import(
    source: Annotated[Path, typer.Argument(help="The register, .xlsx or .csv.")],
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Write the rows that pass; report the others."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")] = False,
    store: StoreOption = None,
) -> None:
    """Imports a 定密台账: every row checked as registerSource or deriveItem checks it; nothing
    is written unless every row passes (or --partial). Exits with 1 when a row is refused."""
    try:
        data = source.read_bytes()
    except OSError as error:
        raise typer.BadParameter(f"无法读取「{source}」：{error.strerror}。") from error
    opened = _open(store)
    try:
        rows = rows_of(data, source.name)
        report = import_register(opened, rows, SYSTEM, partial=partial)
        outcome = Outcome.OK if not report.refused else Outcome.REFUSED
        detail = (
            f"{source.name}：{len(rows)} 行，写入 {len(report.written)}，拒绝 {len(report.refused)}"
        )
        opened.append_audit(
            [
                event(
                    SYSTEM,
                    "cli register import",
                    outcome,
                    items=[w.item_id for w in report.written],
                    detail=detail,
                )
            ]
        )
    except LineageError as error:
        typer.echo(f"台账未导入：{error.message}", err=True)
        raise typer.Exit(1) from error
    finally:
        opened.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "rows": report.rows,
                    "written": [
                        {
                            "row": w.row,
                            "itemId": w.item_id,
                            "kind": w.kind.value,
                            "marking": w.marking,
                        }
                        for w in report.written
                    ],
                    "refused": [
                        {
                            "row": r.row,
                            "reference": r.reference,
                            "message": r.message,
                            "rule": r.rule,
                            "articles": list(r.articles),
                        }
                        for r in report.refused
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for w in report.written:
            typer.echo(f"第 {w.row} 行 → {w.item_id}  {w.marking or '不属于国家秘密'}")
        for r in report.refused:
            typer.echo(r.text, err=True)
    if report.refused and not report.written:
        typer.echo(
            f"台账 {report.rows} 行中 {len(report.refused)} 行未通过校验，未写入任何事项"
            + ("。" if partial else "（加 --partial 导入通过的各行）。"),
            err=True,
        )
    elif report.refused:
        typer.echo(
            f"已写入 {len(report.written)} 行，{len(report.refused)} 行未通过校验、未写入。",
            err=True,
        )
    else:
        typer.echo(f"已导入 {len(report.written)} 行（{redacted(_url(store))}）。", err=True)
    if report.refused:
        raise typer.Exit(1)


def _url(store: str | None) -> str:
    return store or Settings().store


@register.command("export")
def register_export(
    output: OutputOption,
    organisation: Annotated[
        str | None, typer.Option(help="Only the items this organisation holds.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Writes the register (every item, or one organisation's) as XLSX, in the template's
    columns, parents before the items derived from them: it imports again."""
    opened = _open(store)
    try:
        everything = Redactor(SYSTEM, Mode.HIDE, b"")  # the operator reads everything
        data = register_xlsx(opened, everything, organisation)
        _audit(opened, "cli register export", [], f"{output.name}：{len(everything.shown)} 项")
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    output.write_bytes(data)
    typer.echo(f"已导出定密台账 {len(everything.shown)} 项：{output}")


@intake_systems.command("add")
def intake_add(
    system: Annotated[str, typer.Argument(help="The system's id, e.g. oa.")],
    user: Annotated[str, typer.Option(help="The user it acts as: its roles and reading apply.")],
    store: StoreOption = None,
) -> None:
    """Registers a document system and prints its signing secret (shown once); a system
    registered again gets a new secret, and the old one stops working."""
    opened = _open(store)
    try:
        secret = intake.add_system(opened, system, user)
        _audit(opened, "cli intake add", [], f"system {system} as user {user}")
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    typer.echo(f"文书系统 {system} 以用户 {user} 的身份报送。签名密钥（只显示这一次）：")
    typer.echo(secret)


@intake_systems.command("list")
def intake_list(store: StoreOption = None) -> None:
    """Lists the registered document systems and the users they act as (no secret)."""
    opened = _open(store)
    try:
        systems = intake.systems(opened)
    finally:
        opened.close()
    if not systems:
        typer.echo("尚无文书系统：用 lineage intake add 添加。")
    for found in systems:
        typer.echo(f"{found.id}  用户 {found.user_id}  登记于 {found.created_at:%Y-%m-%d %H:%M}")


@intake_systems.command("remove")
def intake_remove(
    system: Annotated[str, typer.Argument(help="The system's id.")],
    store: StoreOption = None,
) -> None:
    """Removes a document system: its secret stops working at once."""
    opened = _open(store)
    try:
        intake.remove_system(opened, system)
        _audit(opened, "cli intake remove", [], f"system {system}")
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    typer.echo(f"文书系统 {system} 已删除，其签名密钥即时失效。")
