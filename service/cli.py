"""`lineage serve | demo | expire | export | import | backup | restore | export-schema |
export-lineage | audit | form | users | trail | webhooks | register | intake | remote |
persisted-queries`. A failure is one
sentence and an exit code (service.failure); a command checks what it names before it touches
anything (service.preflight); long work shows its progress on stderr (service.progress)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import logging.config
import secrets
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
import typer
import uvicorn
from pydantic import ValidationError

from graph.access import SYSTEM, Role, check_duties
from graph.chain import Anchor
from graph.errors import InvalidValue, LineageError
from graph.grant import Grant, GrantStatus
from graph.model import Direction
from graph.store import exchange, snapshot
from graph.store.base import GraphStore
from graph.store.sqlite import trail_path
from graph.trail import Outcome
from service import administration, anchors, logs, preflight
from service.accounts import NewUser, list_users, parse_roles
from service.api.schema import schema
from service.app import create_app
from service.auditing import event, grant_event
from service.bulk import bulk_ready, import_into
from service.composition import open_store, redacted, sqlite_path
from service.config import Settings
from service.demo import ORGANISATIONS as DEMO_ORGANISATIONS
from service.demo import demo_tokens, load_demo
from service.demo_inspection import BUREAU as DEMO_BUREAU
from service.documents import as_csv, as_html, as_pdf
from service.expiry import expire as run_expiry
from service.expiry import preview as preview_expiry
from service.exports import ExportFormat, render
from service.failure import EXIT_CODES, LineageGroup, debugging, of_lineage, refused, unusable
from service.findings import audit
from service.forms import record_form, review_form
from service.grants import all_grants
from service.intake_commands import intake_systems, register
from service.outbox import Outbox
from service.progress import meter
from service.redaction import Mode, Redactor, names_in
from service.remote_cli import persisted_queries, remote
from service.transfer import ImportRefused, export_graph
from service.usecases import today
from service.views import lineage_view
from service.webhook_cli import webhooks

app = typer.Typer(
    cls=LineageGroup,
    help="派生国家秘密血缘服务 (derivation lineage of classified matters).",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
)


StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL; overrides LINEAGE_STORE.", show_default=False),
]
CreateOption = Annotated[
    bool,
    typer.Option(
        "--create",
        help="Create the embedded store's directory if it does not exist (refused otherwise, "
        "so that a typo in the path creates nothing).",
    ),
]


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"lineage {importlib.metadata.version('lineage')}")
        raise typer.Exit


@app.callback()
def _global(
    debug: Annotated[
        bool, typer.Option("--debug", help="On a failure, show its traceback too.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    debugging.set(debug)


def _settings(
    store: str | None = None, host: str | None = None, port: int | None = None
) -> Settings:
    overrides = {
        key: value
        for key, value in (("store", store), ("host", host), ("port", port))
        if value is not None
    }
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            f"LINEAGE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise unusable(f"配置无效：{problems}。") from error


def _load_demo(store: GraphStore, url: str) -> None:
    written = load_demo(store)
    tokens = demo_tokens(store)
    _audit(store, "cli demo", [], f"新写入 {written} 项；为演示用户签发新令牌")
    if written:
        typer.echo(f"演示数据已载入 {redacted(url)}：新写入 {written} 项。")
    else:
        typer.echo(f"演示数据已在 {redacted(url)} 中，未重复写入。")
    typer.echo(
        "演示用户的令牌（本次新签发，此前的演示令牌已吊销；"
        "请求时放在 Authorization: Bearer 之后）："
    )
    for user, bearer in tokens:
        roles = "、".join(r.label for r in sorted(user.roles, key=lambda r: r.value))
        typer.echo(f"  {user.id:<12} {user.name}（{roles}）  {bearer}")


def _audit(store: GraphStore, action: str, items: list[str], detail: str = "") -> None:
    """The command line writes as the operator of the service; its writes are audited too."""
    store.append_audit([event(SYSTEM, action, Outcome.OK, items=items, detail=detail)])


@app.command()
def serve(
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help="Overrides LINEAGE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides LINEAGE_PORT.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo data first.")] = False,
    create: CreateOption = False,
) -> None:
    """Serves the GraphQL API (with GraphiQL) at /graphql."""
    settings = _settings(store, host, port)
    preflight.store(settings.store, starts=True, create=create)
    try:
        create_app(settings)  # checks the settings (sign-on keys...); opens nothing
    except LineageError as error:
        raise unusable(error.message) from error
    logging.config.dictConfig(logs.config())  # JSON lines from here on (service.logs)
    # The port first: when it is taken, nothing is opened, created or run.
    listening = preflight.listening(settings.host, settings.port)
    try:
        opened = _open(settings.store, cached_items=settings.cached_items)
    except BaseException:
        listening.close()
        raise
    try:
        if demo:
            _load_demo(opened, settings.store)
        application = create_app(settings, opened)
        base = f"http://{settings.host}:{settings.port}"
        typer.echo(f"血缘服务：{base}/graphql （存储：{redacted(settings.store)}）")
        typer.echo(f"血缘查看：{base}/ui/")
        uvicorn.Server(uvicorn.Config(application, **server_options(settings))).run(
            sockets=[listening]
        )
    finally:
        listening.close()
        opened.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings for `serve`. Its own proxy-header handling is off: it would take the
    client's address from X-Forwarded-For sent by anyone on the loopback; the app reads that
    header only from the proxies of LINEAGE_TRUSTED_PROXIES (service.forwarding)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "log_config": logs.config(),
        "proxy_headers": False,
    }


@app.command()
def demo(
    store: StoreOption = None,
    create: CreateOption = False,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Start the tour again: replace what the store holds with the demo data as "
            "first loaded (embedded store only; its audit trail is kept). Asks first.",
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Reset without asking.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Reset even a store holding organisations the demo does not have."
        ),
    ] = False,
) -> None:
    """Loads the demo data set; running it again writes nothing twice. With --reset, starts
    the tour again (the tour declassifies for real)."""
    url = _settings(store).store
    preflight.store(url, starts=True, create=create)
    if reset:
        _reset_demo(url, yes=yes, force=force)
    with _operating(store, starts=True, create=create) as opened:
        _load_demo(opened, url)


def _reset_demo(url: str, *, yes: bool, force: bool) -> None:
    """Replaces the embedded store's graph with a freshly loaded demo, as `lineage restore
    --replace` replaces it with a backup: the audit trail is kept (the new demo's events are
    appended), a running service sees the new graph at its next read, and a store holding
    anything but the demo's organisations is refused unless forced."""
    if urlsplit(url).scheme != "sqlite":
        raise unusable(
            "demo --reset 只适用于嵌入式存储（sqlite:///…），不会清空 Neo4j 数据库："
            "请在 Neo4j 中新建或清空一个数据库（例如 cypher-shell 中 MATCH (n) DETACH DELETE n），"
            "再运行 lineage demo。"
        )
    path = sqlite_path(url)
    if not path.exists():
        return  # nothing to reset: loading the demo is all there is to do
    with _operating(url) as opened:
        present = {o.id for o in opened.read(lambda tx: tx.all_organisations())}
    if not present:
        return
    others = sorted(present - {o.id for o in DEMO_ORGANISATIONS} - {DEMO_BUREAU})
    if others and not force:
        raise refused(
            f"存储 {redacted(url)} 中有演示数据以外的机关、单位（{'、'.join(others[:5])}"
            f"{'等' if len(others) > 5 else ''}），重置将删除它们的全部事项，未作任何改动："
            "确属演示用的存储，请加 --force。"
        )
    if not yes and not typer.confirm(
        f"将以初始的演示数据替换存储 {redacted(url)} 的全部内容（审计日志保留），"
        "此后的改动（包括导览中的解密）都将丢失。继续？"
    ):
        raise refused("未重置：存储保持原样。")
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        fresh = Path(scratch) / "demo.db"
        loading = open_store(f"sqlite:///{fresh.resolve()}")
        try:
            load_demo(loading)
            # Merged into the store's trail by the restore, after the events it holds.
            _audit(loading, "cli demo --reset", [], "以初始演示数据替换存储内容")
        finally:
            loading.close()
        snapshot.restore(fresh, path, replace=True)
    typer.echo(f"已重置 {redacted(url)}：演示数据恢复为初始状态，导览可以重新开始。")


@app.command()
def expire(
    store: StoreOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD; today (China time) by default. A date to come: a dry run that "
            "prints what the run would do on that date and writes nothing.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print what the run would do, today or on --as-of; write nothing."
        ),
    ] = False,
) -> None:
    """Declassifies what expired by the date (X-11) and sends the notices; idempotent. For a
    date to come, or with --dry-run, prints what it would do and writes nothing."""
    try:
        on = date.fromisoformat(as_of) if as_of else None
    except ValueError as error:
        raise unusable(f"日期「{as_of}」无效：应为 YYYY-MM-DD，例如 2026-12-31。") from error
    if dry_run or (on is not None and on > today()):
        _expire_dry_run(store, on or today())
        return
    with _operating(store) as opened:
        # A decision of the service like the daily run's: its events go to the webhooks.
        key = (_settings(store).secret_key or secrets.token_hex(32)).encode()
        run = run_expiry(Outbox(opened, key), on)
        _audit(opened, "cli expire", [c.change.item_id for c in run.expired])
    typer.echo(
        f"到期解密（截至 {run.as_of.isoformat()}）：解密 {len(run.expired)} 项，"
        f"发出变更通知 {run.notices} 份；因其他依据仍有效而保留 {len(run.kept)} 项。"
    )
    for committed in run.expired:
        typer.echo(f"  {committed.change.item_id}：{committed.change.summary}")


def _expire_dry_run(store: str | None, on: date) -> None:
    """`lineage expire` as a question (service.expiry.preview): what the run would do on `on`,
    printed as the run prints it, each notice under what sends it; nothing written."""
    if on < today():
        raise unusable(
            f"不能预览已经过去的日期（{on.isoformat()}）：预览只看今天及以后；要补做到期解密，"
            "请去掉 --dry-run 执行 lineage expire --as-of。"
        )
    with _operating(store) as opened:
        run = preview_expiry(opened, on)
        _audit(opened, "cli expire --dry-run", [c.change.item_id for c in run.expired])
    typer.echo(
        f"到期解密预览（截至 {run.as_of.isoformat()}，未写入任何内容）：将解密 {len(run.expired)} "
        f"项，将发出变更通知 {run.notices} 份；因其他依据仍有效而保留 {len(run.kept)} 项。"
    )
    for committed in run.expired:
        typer.echo(f"  {committed.change.item_id}：{committed.change.summary}")
        for notice in committed.notices:
            actions = "、".join(a.label for a in notice.actions)
            typer.echo(f"    → 通知 {notice.organisation_id}：{notice.item_id} 须{actions}")


@app.command("export")
def export(
    store: StoreOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Writes everything the store holds as JSON Lines (one consistent snapshot)."""
    if output is not None:
        preflight.output_file(output)
    every = _settings(store).progress_seconds
    with _operating(store) as opened, meter("导出", "事项", every=every) as shown:
        if output is None:
            counts = export_graph(opened, sys.stdout.write, on_progress=shown)
        else:
            with output.open("w", encoding="utf-8") as sink:
                counts = export_graph(opened, sink.write, on_progress=shown)
        _audit(opened, "cli export", [], _counts(counts))
    typer.echo(f"已导出：{_counts(counts)}", err=True)


@app.command("import")
def import_(
    source: Annotated[
        Path, typer.Argument(help="A file written by `lineage export`; - for stdin.")
    ],
    store: StoreOption = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Go on with an import that was cut short, with the same file."
        ),
    ] = False,
    create: CreateOption = False,
) -> None:
    """Loads a `lineage export` file into an empty store, or goes on with one cut short."""
    settings = _settings(store)
    stdin = str(source) == "-"
    total = None if stdin else _export_lines(source)
    every = settings.progress_seconds
    with (
        _operating(store, starts=True, create=create) as opened,
        meter("导入", "行", every=every, total=total) as shown,
    ):
        # Into an empty embedded store, in bulk and in one transaction (service.bulk).
        bulk = bulk_ready(opened, resume) is not None
        try:
            if stdin:
                counts, bulk = import_into(opened, sys.stdin, resume=resume, on_progress=shown)
            else:
                with source.open(encoding="utf-8") as lines:
                    counts, bulk = import_into(opened, lines, resume=resume, on_progress=shown)
        except ImportRefused as error:
            hint = (
                "此前的批次已写入：修正该行后，用同一文件加 --resume 继续。"
                if shown.done > 1 and not bulk
                else "未写入任何内容：修正该行后重新导入。"
            )
            raise refused(f"{error.message.rstrip('。')}。{hint}") from error
        except UnicodeDecodeError as error:
            raise refused(
                f"{source} 不是 UTF-8 文本（第 {shown.done + 1} 行附近）："
                "lineage import 只读 lineage export 写出的 JSON Lines 文件。"
            ) from error
        _audit(opened, "cli import", [], _counts(counts))
    typer.echo(f"已导入 {redacted(settings.store)}：{_counts(counts)}")


def _export_lines(path: Path) -> int:
    """The lines of a file to import, once its first line is known for an export's header:
    another file is refused before a store is opened or created."""
    preflight.input_file(path)
    with path.open("rb") as data:
        first = data.readline()
        try:
            exchange.check_header(orjson.loads(first))
        except (orjson.JSONDecodeError, AttributeError) as error:
            raise refused(
                f"{path} 不是血缘导出文件：lineage import 只读 lineage export 写出的 JSON Lines "
                "文件（第一行为导出文件头）。"
            ) from error
        except InvalidValue as error:
            raise refused(f"{path}：{error.message}") from error
        lines, tail = first.count(b"\n"), first
        while chunk := data.read(1 << 20):
            lines, tail = lines + chunk.count(b"\n"), chunk
    return lines if tail.endswith(b"\n") else lines + 1


def _embedded(url: str, what: str) -> Path:
    """The graph file of an embedded store URL; a Neo4j store is backed up by its own tools."""
    if urlsplit(url).scheme != "sqlite":
        raise unusable(
            f"{what}仅适用于嵌入式存储（sqlite:///…）。Neo4j 存储请用 neo4j-admin database "
            "dump / load（或企业版的 backup / restore），见 README「备份与恢复」。"
        )
    try:
        return sqlite_path(url)
    except LineageError as error:
        raise unusable(error.message) from error


@app.command("backup")
def backup_command(
    destination: Annotated[
        Path, typer.Argument(help="The backup's graph file; its audit trail goes beside it.")
    ],
    store: StoreOption = None,
) -> None:
    """Backs up the embedded store (graph and audit trail), consistent while the service runs."""
    settings = _settings(store)
    url = settings.store
    path = _embedded(url, "lineage backup ")
    if destination.is_dir():
        raise unusable(
            f"{destination} 是目录：请给出备份文件的路径，例如 {destination}/lineage.db。"
        )
    for target in (destination, trail_path(destination)):
        if target.exists():
            raise unusable(f"备份文件 {target} 已存在：备份从不覆盖，请换一个文件名。")
    with (
        _operating(store) as opened,
        meter("备份", "页", every=settings.progress_seconds) as shown,
    ):
        # Recorded first, so that the backup itself says who took it and when.
        _audit(opened, "cli backup", [], str(destination))
        taken = snapshot.backup(path, destination, on_progress=shown)
    typer.echo(
        f"已备份 {redacted(url)} 到 {taken.graph}（审计日志 {taken.trail}）："
        f"事项 {taken.items} 项，审计事件 {taken.events} 条，结构版本 {taken.version}。"
    )


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A backup's graph file (`lineage backup`).")],
    store: StoreOption = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace a store that holds data; stop the service first."),
    ] = False,
    create: CreateOption = False,
) -> None:
    """Restores a backup into the embedded store. The store's audit trail is kept (the
    backup's events are added to it) and what was revoked since the backup stays revoked."""
    settings = _settings(store)
    url = settings.store
    path = _embedded(url, "lineage restore ")
    preflight.input_file(source)
    preflight.store(url, starts=True, create=create)
    try:
        with meter("恢复", "页", every=settings.progress_seconds) as shown:
            restored = snapshot.restore(source, path, replace=replace, on_progress=shown)
    except InvalidValue as error:
        # A store that holds data wants --replace (usage); a backup that is not one is refused.
        raise (unusable if error.field == "store" else refused)(error.message) from error
    except LineageError as error:
        raise refused(error.message) from error
    with _operating(store) as opened:
        _audit(opened, "cli restore", [], f"{source}；补入备份中的审计事件 {restored.merged} 条")
        anchored = anchors.record(opened)
    typer.echo(
        f"已从 {restored.graph} 恢复到 {redacted(url)}：事项 {restored.items} 项，"
        f"备份中的审计事件 {restored.events} 条，其中本存储没有的 {restored.merged} 条"
        "已并入其审计日志（原有的审计日志保留）。"
    )
    if anchored is not None:
        typer.echo(f"审计链锚点：{anchored.text}")


def _open(url: str, *, cached_items: int = 2_000_000) -> GraphStore:
    try:
        return open_store(url, cached_items=cached_items)
    except LineageError as error:
        # Whatever stops a store from opening stops the command before it starts (exit 2).
        raise unusable(of_lineage(error).message) from error


def _counts(counts: Counter[str]) -> str:
    return "，".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "无"


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Prints the GraphQL schema (SDL) that the code defines."""
    if output is not None:
        preflight.output_file(output)
    text = schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("export-lineage")
def export_lineage(
    item_id: Annotated[str, typer.Argument(help="The item whose lineage to write.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="graphml, dot, mermaid or json.")
    ] = "graphml",
    direction: Annotated[str, typer.Option(help="upstream, downstream or both.")] = "both",
    depth: Annotated[int | None, typer.Option(help="Steps from the item; all by default.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Writes the lineage of an item as GraphML, DOT, Mermaid or JSON, laid out in layers."""
    try:
        chosen = ExportFormat(format.upper())
        way = Direction(direction.upper())
    except ValueError:
        raise unusable(
            f"格式「{format}」或方向「{direction}」无效：格式应为 graphml、dot、mermaid 或 json，"
            "方向应为 upstream、downstream 或 both。"
        ) from None
    if depth is not None and depth < 1:
        raise unusable(f"--depth 应为正整数（现为 {depth}），或省略以取完整谱系。")
    if output is not None:
        preflight.output_file(output)
    with _operating(store) as opened:
        # The operator may read everything: nothing is withheld from it.
        view = lineage_view(opened, item_id, way, depth, SYSTEM, Redactor(SYSTEM, Mode.HIDE, b""))
        text = render(view, chosen)
        _audit(opened, "cli export-lineage", [n.id for n in view.nodes], chosen.value)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("audit")
def audit_command(
    organisation: Annotated[
        str | None, typer.Option(help="Only the items this organisation holds.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per finding.")] = False,
    store: StoreOption = None,
) -> None:
    """Finds improper derived classification (D-21, cases 1 to 8) in the whole graph; exits
    with 1 when it finds anything, for scheduled checks."""
    every = _settings(store).progress_seconds
    with _operating(store) as opened, meter("检查", "事项", every=every) as shown:
        found = audit(opened, SYSTEM, organisation_id=organisation, on_progress=shown).findings
        # The operator reads everything: the texts name what they name in full.
        names = opened.read(lambda tx: names_in(tx, [f.explanation for f in found]))
        _audit(opened, "cli audit", [], f"{len(found)} findings")
    for finding in found:
        explanation = names.spell(finding.explanation)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "itemId": finding.item_id,
                        "case": finding.case.value,
                        "caseLabel": finding.case.label,
                        "organisationId": finding.organisation_id,
                        "explanation": explanation,
                        "path": list(finding.path),
                        "articles": list(finding.articles),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            typer.echo(
                f"{finding.item_id}  D-21({finding.case.value})  {finding.organisation_id}  "
                f"{explanation}  路径：{' → '.join(finding.path)}  "
                f"依据：{'、'.join(finding.articles)}"
            )
    if not as_json:
        typer.echo(f"共发现 {len(found)} 项定密不当（D-21）。", err=True)
    if found:
        raise typer.Exit(1)


@app.command("form")
def form_command(
    record_ids: Annotated[list[str], typer.Argument(help="The records the form states.")],
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="The written record of one decision (D-11, D-13) instead of a 审核表.",
        ),
    ] = False,
    format: Annotated[str, typer.Option("--format", "-f", help="html, pdf or csv.")] = "html",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Prints 国家秘密审核表（一） for one review record or （二） for several with one outcome
    (X-17, X-20..X-22), or with --record the written record of a decision (D-11, D-13)."""
    chosen = format.lower()
    if chosen not in ("html", "csv", "pdf"):
        raise unusable(f"格式「{format}」无效：应为 html、pdf 或 csv。")
    if record and len(record_ids) != 1:
        raise unusable("书面记录一次打印一条（--record 只接受一个记录编号）。")
    if chosen == "pdf" and output is None and sys.stdout.isatty():
        raise unusable("PDF 请用 --output 写入文件。")
    if output is not None:
        preflight.output_file(output)
    with _operating(store) as opened:
        everything = Redactor(SYSTEM, Mode.HIDE, b"")  # the operator may read everything
        sheet = (
            record_form(opened, everything, record_ids[0])
            if record
            else review_form(opened, everything, record_ids)
        )
        _audit(opened, "cli form", list(sheet.item_ids), sheet.reference)
    document = (
        as_pdf(sheet) if chosen == "pdf" else as_csv(sheet) if chosen == "csv" else as_html(sheet)
    )
    if isinstance(document, bytes):
        if output is None:
            sys.stdout.buffer.write(document)
        else:
            output.write_bytes(document)
    elif output is None:
        typer.echo(document, nl=False)
    else:
        output.write_text(document, encoding="utf-8")


app.add_typer(register, name="register")
app.add_typer(intake_systems, name="intake")

trail = typer.Typer(
    help="The audit trail's hash chain: verify it, note an anchor.", no_args_is_help=True
)
app.add_typer(trail, name="trail")
app.add_typer(webhooks, name="webhooks")
app.add_typer(remote, name="remote")
app.add_typer(persisted_queries, name="persisted-queries")


@trail.command("verify")
def trail_verify(
    store: StoreOption = None,
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            help="An anchor kept elsewhere, SEQ:DIGEST (as the log or `lineage trail anchor` "
            "printed it); repeat for several."
        ),
    ] = None,
) -> None:
    """Checks the audit trail's hash chain from its start, against the anchors in the store
    and those given; names the first break and exits with 1 if there is one."""
    try:
        given = [Anchor.parsed(a) for a in anchor or ()]
    except LineageError as error:
        raise unusable(error.message) from error
    with _operating(store) as opened:
        verdict = anchors.verify(opened, given)
        first = verdict.first
        said = "完好" if first is None else f"断裂 {verdict.found} 处，第一处：{first.message}"
        outcome = Outcome.OK if verdict.intact else Outcome.ERROR
        opened.append_audit([event(SYSTEM, "cli trail verify", outcome, detail=said)])
    for line in anchors.report(verdict):
        typer.echo(line)
    if not verdict.intact:
        raise typer.Exit(1)


@trail.command("anchor")
def trail_anchor(store: StoreOption = None) -> None:
    """Notes the chain's head as an anchor in the store and prints it, SEQ:DIGEST, to keep
    elsewhere (the daily run does the same)."""
    with _operating(store) as opened:
        noted = anchors.record(opened)
    if noted is None:
        typer.echo("审计链还没有事件，无可锚定。")
        return
    typer.echo(noted.text)


users = typer.Typer(
    help="Users and their bearer tokens; only a digest of each token is stored.",
    no_args_is_help=True,
)
app.add_typer(users, name="users")

RoleOption = Annotated[
    list[str],
    typer.Option(
        "--role",
        help="handler (承办人), official (定密责任人), supervisor (监督检查), administrator "
        "(系统管理员), auditor (安全审计员); repeat for several. Administrator, auditor and "
        "supervisor are each held alone (三员分立).",
    ),
]


@users.command("add")
def users_add(
    user_id: Annotated[str, typer.Argument(help="The user's id, e.g. the person's id.")],
    role: RoleOption,
    person: Annotated[
        str | None, typer.Option(help="The person the user acts for (not for an administrator).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Defaults to the person's name.")] = None,
    supervises: Annotated[
        list[str] | None,
        typer.Option(
            help="An organisation a supervisor supervises, with those below it; * for all."
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(help="The first token expires after this many days.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Adds a user and prints its first token (shown once). A supervisor's role waits for
    another supervisor's approval in the API (approveGrant), as every widening of reading."""
    try:
        roles = parse_roles(role)
    except LineageError as error:
        raise unusable(error.message) from error
    with _operating(store, starts=True) as opened:
        command = NewUser(
            id=user_id,
            roles=roles,
            person_id=person,
            name=name,
            supervises=frozenset(supervises or ()),
            expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        )
        issued = administration.add_user(opened, command, SYSTEM)
        _audit(opened, "cli users add", [], f"user {user_id}")
        if issued.grant is not None:
            opened.append_audit([grant_event(SYSTEM, "request", issued.grant)])
    typer.echo(f"已添加用户 {user_id}。令牌（只显示这一次）：")
    typer.echo(issued.bearer)
    if issued.grant is not None:
        _tell_grant(issued.grant)


def _tell_grant(grant: Grant) -> None:
    if grant.status is GrantStatus.PENDING:
        typer.echo(
            f"监督授权尚未生效：已提交扩大知悉范围的申请 {grant.id}，须由另一名监督检查人员（监督"
            "该用户将新监督的机关、单位，或监督所有机关、单位）在本系统中批准（approveGrant）后"
            "生效；命令行（运维人员）不能批准（两人规则，D-10）。在此之前，该用户仍按原有角色和"
            "监督范围知悉事项。"
        )
    else:
        typer.echo(f"监督授权已生效（申请 {grant.id}）：{grant.reason}")


@users.command("supervise")
def users_supervise(
    user_id: Annotated[str, typer.Argument(help="The supervisor, or the user to become one.")],
    supervises: Annotated[
        list[str] | None,
        typer.Option(
            help="An organisation it is to supervise beyond its own, with those below it; * for "
            "all; repeat for several. Replaces what it supervises now; none: only its own."
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Changes what a user supervises. A change that lets it read more is a request that
    another supervisor approves in the API; one that only narrows takes effect at once."""
    with _operating(store) as opened:
        user, grant = administration.grant_role(
            opened, user_id, Role.SUPERVISOR, frozenset(supervises or ()), SYSTEM
        )
        if grant is None:
            _audit(opened, "cli users supervise", [], f"user {user_id}: narrowed")
        else:
            _audit(opened, "cli users supervise", [], f"user {user_id}: {grant.id}")
            opened.append_audit([grant_event(SYSTEM, "request", grant)])
    if grant is None:
        shown = "、".join(sorted(user.supervises)) or "本单位及其下级"
        typer.echo(f"用户 {user_id} 的监督范围已缩小为：{shown}。")
    else:
        _tell_grant(grant)


@users.command("requests")
def users_requests(
    every: Annotated[bool, typer.Option("--all", help="Also those approved or rejected.")] = False,
    store: StoreOption = None,
) -> None:
    """Lists the requests that widen who may read, pending ones by default (oldest first)."""
    with _operating(store) as opened:
        listed = all_grants(opened, () if every else (GrantStatus.PENDING,))
    if not listed:
        typer.echo("没有待批准的申请。" if not every else "没有申请。")
    for described in listed:
        grant = described.grant
        decided = (
            f"，{grant.decided_by} 于 {grant.decided_at:%Y-%m-%d %H:%M} {grant.status.label}"
            if grant.decided_at
            else ""
        )
        typer.echo(
            f"{grant.id}  {grant.kind.label}  {grant.status.label}  申请人 {grant.requested_by}  "
            f"{grant.requested_at:%Y-%m-%d %H:%M}{decided}"
        )
        typer.echo(f"    {described.summary}")
        if grant.reason:
            typer.echo(f"    理由：{grant.reason}")


@users.command("list")
def users_list(store: StoreOption = None) -> None:
    """Lists the users, their roles and their tokens (ids only: no secret is stored)."""
    with _operating(store) as opened:
        listed = list_users(opened)
    if not listed:
        typer.echo("尚无用户：用 lineage users add 添加。")
    for user, tokens in listed:
        roles = "、".join(r.label for r in sorted(user.roles, key=lambda r: r.value)) or "无角色"
        state = "已吊销" if user.revoked_at else "有效"
        extra = f"，监督 {'、'.join(sorted(user.supervises))}" if user.supervises else ""
        try:
            check_duties(user.roles)
        except LineageError:
            extra += "（违反三员分立：请吊销，按角色分设用户）"
        typer.echo(f"{user.id}  {user.name}  人员 {user.person_id or '—'}  {roles}{extra}  {state}")
        for token in tokens:
            if token.revoked_at:
                status = f"已吊销 {token.revoked_at:%Y-%m-%d %H:%M}"
            elif token.expires_at:
                status = f"有效至 {token.expires_at:%Y-%m-%d %H:%M}"
            else:
                status = "有效"
            label = f" {token.label}" if token.label else ""
            typer.echo(
                f"    令牌 {token.id}{label}  签发 {token.created_at:%Y-%m-%d %H:%M}  {status}"
            )


@users.command("token")
def users_token(
    user_id: str,
    keep_others: Annotated[
        bool, typer.Option("--keep-others", help="Do not revoke the user's other tokens.")
    ] = False,
    label: Annotated[str, typer.Option(help="A note on where the token is used.")] = "",
    expires_in_days: Annotated[
        int | None, typer.Option(help="Expire after this many days.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Issues a new token for a user (rotation: its other tokens are revoked) and prints it."""
    with _operating(store) as opened:
        issued = administration.issue_token(
            opened,
            user_id,
            SYSTEM,
            label=label,
            expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
            revoke_others=not keep_others,
        )
        _audit(opened, "cli users token", [], f"user {user_id}, token {issued.token.id}")
    typer.echo(f"用户 {user_id} 的新令牌（只显示这一次）：")
    typer.echo(issued.bearer)


@users.command("revoke")
def users_revoke(
    user_id: Annotated[
        str | None, typer.Argument(help="Revoke this user and all its tokens.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Revoke only this token (its id).")] = None,
    store: StoreOption = None,
) -> None:
    """Revokes a user with all of its tokens, or one token; it takes effect at once."""
    if (user_id is None) == (token is None):
        raise unusable("请给出一个用户，或用 --token 给出一个令牌。")
    with _operating(store) as opened:
        if token is not None:
            administration.revoke_token(opened, token, SYSTEM)
            _audit(opened, "cli users revoke", [], f"token {token}")
            typer.echo(f"令牌 {token} 已吊销。")
        else:
            administration.deactivate_user(opened, user_id or "", SYSTEM)
            _audit(opened, "cli users revoke", [], f"user {user_id}")
            typer.echo(f"用户 {user_id} 及其全部令牌已吊销。")


@contextlib.contextmanager
def _operating(
    store: str | None, *, starts: bool = False, create: bool = False
) -> Iterator[GraphStore]:
    """The store a command names, checked before it is opened (service.preflight) and closed
    afterwards; a refusal of the service is a clear error (exit 1, or 2 when the store itself
    fails)."""
    url = _settings(store).store
    preflight.store(url, starts=starts, create=create)
    opened = _open(url)
    try:
        yield opened
    except LineageError as error:
        raise of_lineage(error) from error
    finally:
        opened.close()


def schema_text() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
