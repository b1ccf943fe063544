"""`lineage remote item | impact | notices | apply`: a running service, over its API, as the
user of a token (service.client); and `lineage persisted-queries build`, the manifest of
registered queries a deployment requires (service.persisted).

The remote commands act as their token's user, not as the operator: the service decides what
they may read and do, and records it in its audit trail. Exit codes as every command's
(service.failure): 1 when the service refused what was asked (a problem, with its articles),
2 when the service cannot be used as given (not reachable, the token refused)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from graphql import parse, validate

from graph.errors import InvalidValue
from service import client, persisted, preflight
from service.api.schema import schema
from service.failure import Failure, refused, unusable

remote = typer.Typer(
    help="A running service, over its API, as the user of a token (LINEAGE_URL, LINEAGE_TOKEN).",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str,
    typer.Option("--url", envvar="LINEAGE_URL", help="The service's address (LINEAGE_URL)."),
]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="LINEAGE_TOKEN",
        help="The bearer token of the user to act as (LINEAGE_TOKEN).",
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for an answer.", min=0.1)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
DEFAULT_URL = "http://127.0.0.1:8000"


@contextlib.contextmanager
def _connected(url: str, token: str, timeout: float) -> Iterator[client.Client]:
    """A client of the service; its failures as the command line's."""
    # stderr is for the one sentence of a failure, not a line per request (the CLI logs INFO).
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if not token:
        raise unusable("缺少令牌：请以 --token 或 LINEAGE_TOKEN 给出用户的令牌。")
    try:
        with client.Client(url, token, timeout=timeout) as connected:
            yield connected
    except client.Problem as problem:
        raise _problem(problem) from problem
    except client.Refused as error:
        raise _refusal(error) from error
    except client.Unreachable as error:
        raise unusable(error.message) from error


def _problem(problem: client.Problem) -> Failure:
    cited = f"（{'、'.join(problem.articles)}）" if problem.articles else ""
    said = problem.message.rstrip("。.")
    return refused(f"{said}{cited}。")


def _refusal(error: client.Refused) -> Failure:
    said = error.message.rstrip("。.")
    if error.code == "UNAUTHENTICATED":
        return unusable(f"{said}：请检查 --token 或 LINEAGE_TOKEN。")
    return refused(f"{said}。")


LEVELS = ("TOP_SECRET", "SECRET", "CONFIDENTIAL")
STATUSES = ("PENDING", "ACKNOWLEDGED", "APPLIED", "PROPOSED", "SUPERSEDED")


def _one_of(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """A value of the API's enum, checked before anything is sent (a malformed value: 2)."""
    if value.upper() not in allowed:
        raise unusable(f"{option} 的值「{value}」无效：应为 {'、'.join(allowed)} 之一。")
    return value.upper()


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


@remote.command("item")
def remote_item(
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Shows an item the token's user may read."""
    with _connected(url, token, timeout) as service:
        found = service.item(item_id)
    if found is None:
        # As the API: one that does not exist and one the user may not read look the same.
        raise refused(f"事项「{item_id}」不存在，或您无权知悉（D-10）。")
    if as_json:
        _json(asdict(found))
        return
    typer.echo(f"{found.id}  {found.title}（{found.document_number}）")
    typer.echo(f"  {found.status_label}  {found.marking or '—'}  第 {found.version} 版")


@remote.command("impact")
def remote_impact(
    item_id: Annotated[str, typer.Argument(help="The source to analyse.")],
    declassify: Annotated[
        bool, typer.Option("--declassify", help="Analyse its declassification.")
    ] = False,
    level: Annotated[
        str | None,
        typer.Option("--level", help="Analyse a new level: TOP_SECRET, SECRET or CONFIDENTIAL."),
    ] = None,
    first: Annotated[int, typer.Option("--first", help="Descendants to list.", min=0)] = 100,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """The dry run of a change of a source: what each descendant would have to do. Nothing
    is written."""
    if not declassify and level is None:
        raise unusable("请给出要分析的变更：--declassify 或 --level LEVEL。")
    if level is not None:
        level = _one_of("--level", level, LEVELS)
    with _connected(url, token, timeout) as service:
        analysis = service.impact_analysis(item_id, declassify=declassify, level=level, first=first)
    if as_json:
        _json(asdict(analysis))
        return
    source = analysis.item
    after = analysis.proposed_marking or analysis.status_after
    typer.echo(f"{source.id}  {source.title}：{source.marking or '—'} → {after}")
    typer.echo(
        f"影响 {analysis.total} 项：解密 {analysis.to_declassify}，变更 {analysis.to_change}，"
        f"复核 {analysis.to_review}；其中 {analysis.redacted} 项您无权知悉，仅示其位置（D-10）。"
    )
    for entry in analysis.impacts:
        labels = "、".join(entry.action_labels)
        if entry.redacted:
            typer.echo(f"  {entry.id}  （无权知悉）  {labels}")
        else:
            typer.echo(f"  {entry.id}  {labels}  → {entry.marking_after or entry.status_after}")
    if len(analysis.impacts) < analysis.total:
        typer.echo(f"  ……另有 {analysis.total - len(analysis.impacts)} 项（--first 可列出更多）")


@remote.command("notices")
def remote_notices(
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="The holding organisation.")
    ] = None,
    item_id: Annotated[str | None, typer.Option("--item", help="The item notified.")] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="PENDING, ACKNOWLEDGED, APPLIED, PROPOSED, SUPERSEDED."),
    ] = None,
    first: Annotated[int, typer.Option("--first", help="Notices on the page.", min=1)] = 50,
    after: Annotated[
        str | None, typer.Option("--after", help="The cursor the last page ended at.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """A page of the change notices the token's user may read."""
    statuses = [_one_of("--status", s, STATUSES) for s in status or ()]
    with _connected(url, token, timeout) as service:
        page = service.notices(
            organisation_id=organisation,
            item_id=item_id,
            statuses=statuses,
            first=first,
            after=after,
        )
    if as_json:
        _json(asdict(page))
        return
    if not page.notices:
        typer.echo("没有符合条件的变更通知。")
    for notice in page.notices:
        labels = "、".join(notice.action_labels)
        typer.echo(
            f"{notice.id}  {notice.item_id}  {notice.status_label}  {labels}  "
            f"{notice.marking_before or '—'} → {notice.marking_after or notice.status_after}  "
            f"限 {notice.due_on.isoformat()} 前"
        )
    if page.has_next_page:
        typer.echo(f"下一页：--after {page.end_cursor}")


@remote.command("apply")
def remote_apply(
    notice_id: Annotated[str, typer.Argument(help="The notice to apply.")],
    handler: Annotated[str, typer.Option("--handler", help="承办人 (a person's id).")],
    official: Annotated[
        str | None,
        typer.Option("--official", help="定密责任人: the token's own person (D-13)."),
    ] = None,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", help="The item's version the decision is made on."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = "",
    timeout: TimeoutOption = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Applies a change notice to its item (D-13): the item changes and its record is
    written."""
    with _connected(url, token, timeout) as service:
        applied = service.apply_notice(
            notice_id, handler_id=handler, official_id=official, expected_version=expected_version
        )
    if as_json:
        _json(asdict(applied))
        return
    item = applied.item
    typer.echo(
        f"已执行通知 {applied.notice.id}：{item.id} 现为 {item.marking or item.status_label}"
    )
    typer.echo(f"记录 {applied.record.id}：{applied.record.summary}")


persisted_queries = typer.Typer(
    help="Persisted queries: the manifest of registered queries (LINEAGE_PERSISTED_QUERIES).",
    no_args_is_help=True,
)


@persisted_queries.command("build")
def persisted_build(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(help=".graphql files, or directories searched for them."),
    ] = None,
    with_client: Annotated[
        bool,
        typer.Option(
            "--client", help="Include the operations of the Python client and `lineage remote`."
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Builds Apollo's persisted query manifest from .graphql files: each named operation,
    with the fragments it uses, checked against the schema. A client sends the body the
    manifest gives (or its hash)."""
    files: list[Path] = [client.DOCUMENTS] if with_client else []
    for source in sources or ():
        if source.is_dir():
            files.extend(sorted(source.rglob("*.graphql")))
        elif source.exists():
            files.append(source)
        else:
            raise unusable(f"文件「{source}」不存在：请检查路径。")
    if not files:
        raise unusable("没有可登记的查询：请给出 .graphql 文件或目录，或加 --client。")
    if output is not None:
        preflight.output_file(output)
    found: dict[str, persisted.Operation] = {}
    for path in files:
        try:
            operations = persisted.operations(path.read_text(encoding="utf-8"), str(path))
        except InvalidValue as error:
            raise refused(error.message) from error
        for operation in operations:
            wrong = validate(schema._schema, parse(operation.body))
            if wrong:
                said = "；".join(e.message for e in wrong[:3])
                raise refused(f"「{path}」中的操作 {operation.name} 不符合服务的模式：{said}")
            found[operation.digest] = operation
    names = [o.name for o in found.values()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise refused(f"不同的操作使用了同一个名字：{'、'.join(twice)}。")
    text = json.dumps(persisted.manifest(found.values()), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"已写入 {len(found)} 个持久化查询：{output}", err=True)
