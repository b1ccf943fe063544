"""`lineage serve | demo | expire | export | import | backup | restore | export-schema |
export-lineage | audit | form | users | trail | webhooks`."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
import uvicorn
from pydantic import ValidationError

from graph.access import SYSTEM, check_duties
from graph.chain import Anchor
from graph.errors import LineageError
from graph.grant import Grant, GrantStatus
from graph.model import Direction
from graph.store import snapshot
from graph.store.base import GraphStore
from graph.trail import Outcome
from service import anchors
from service.accounts import (
    NewUser,
    add_user,
    change_supervision,
    issue_token,
    list_users,
    parse_roles,
    revoke_token,
    revoke_user,
)
from service.api.schema import schema
from service.app import create_app
from service.auditing import event, grant_event
from service.composition import open_store, redacted, sqlite_path
from service.config import Settings
from service.demo import demo_tokens, load_demo
from service.documents import as_csv, as_html, as_pdf
from service.expiry import expire as run_expiry
from service.exports import ExportFormat, render
from service.findings import audit
from service.forms import record_form, review_form
from service.grants import all_grants
from service.outbox import Outbox
from service.redaction import Mode, Redactor, names_in
from service.transfer import ImportRefused, export_graph, import_graph
from service.views import lineage_view
from service.webhook_cli import webhooks

app = typer.Typer(
    help="派生国家秘密血缘服务 (derivation lineage of classified matters).",
    no_args_is_help=True,
    add_completion=False,
)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL; overrides LINEAGE_STORE.", show_default=False),
]


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
        raise typer.BadParameter(f"配置无效：{problems}") from error


def _load_demo(url: str) -> None:
    store = open_store(url)
    try:
        written = load_demo(store)
        tokens = demo_tokens(store)
        _audit(store, "cli demo", [], f"新写入 {written} 项；为演示用户签发新令牌")
    finally:
        store.close()
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
) -> None:
    """Serves the GraphQL API (with GraphiQL) at /graphql."""
    settings = _settings(store, host, port)
    try:
        if demo:
            _load_demo(settings.store)
        application = create_app(settings)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"血缘服务：{base}/graphql （存储：{redacted(settings.store)}）")
    typer.echo(f"血缘查看：{base}/ui/")
    uvicorn.run(application, **server_options(settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings for `serve`. Its own proxy-header handling is off: it would take the
    client's address from X-Forwarded-For sent by anyone on the loopback; the app reads that
    header only from the proxies of LINEAGE_TRUSTED_PROXIES (service.forwarding)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "proxy_headers": False,
    }


@app.command()
def demo(store: StoreOption = None) -> None:
    """Loads the demo data set; running it again writes nothing twice."""
    settings = _settings(store)
    try:
        _load_demo(settings.store)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error


@app.command()
def expire(
    store: StoreOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="YYYY-MM-DD; today (China time) by default, never later."),
    ] = None,
) -> None:
    """Declassifies what expired by the date (X-11) and sends the notices; idempotent."""
    settings = _settings(store)
    try:
        on = date.fromisoformat(as_of) if as_of else None
    except ValueError as error:
        raise typer.BadParameter(f"日期「{as_of}」无效：应为 YYYY-MM-DD。") from error
    opened = _open(settings.store)
    try:
        # A decision of the service like the daily run's: its events go to the webhooks.
        key = (settings.secret_key or secrets.token_hex(32)).encode()
        run = run_expiry(Outbox(opened, key), on)
        _audit(opened, "cli expire", [c.change.item_id for c in run.expired])
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    typer.echo(
        f"到期解密（截至 {run.as_of.isoformat()}）：解密 {len(run.expired)} 项，"
        f"发出变更通知 {run.notices} 份；因其他依据仍有效而保留 {len(run.kept)} 项。"
    )
    for committed in run.expired:
        typer.echo(f"  {committed.change.item_id}：{committed.change.summary}")


@app.command("export")
def export(
    store: StoreOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Writes everything the store holds as JSON Lines (one consistent snapshot)."""
    settings = _settings(store)
    opened = _open(settings.store)
    try:
        if output is None:
            counts = export_graph(opened, sys.stdout.write)
        else:
            with output.open("w", encoding="utf-8") as sink:
                counts = export_graph(opened, sink.write)
        _audit(opened, "cli export", [], _counts(counts))
    finally:
        opened.close()
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
) -> None:
    """Loads a `lineage export` file into an empty store, or goes on with one cut short."""
    settings = _settings(store)
    opened = _open(settings.store)
    try:
        if str(source) == "-":
            counts = import_graph(opened, sys.stdin, resume=resume)
        else:
            with source.open(encoding="utf-8") as lines:
                counts = import_graph(opened, lines, resume=resume)
        _audit(opened, "cli import", [], _counts(counts))
    except ImportRefused as error:
        hint = "此前的批次已写入：修正该行后，用同一文件加 --resume 继续。"
        raise typer.BadParameter(f"{error.message.rstrip('。')}。{hint}") from error
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    typer.echo(f"已导入 {redacted(settings.store)}：{_counts(counts)}")


def _embedded(url: str, what: str) -> Path:
    """The graph file of an embedded store URL; a Neo4j store is backed up by its own tools."""
    if urlsplit(url).scheme != "sqlite":
        raise typer.BadParameter(
            f"{what}仅适用于嵌入式存储（sqlite:///…）。Neo4j 存储请用 neo4j-admin database "
            "dump / load（或企业版的 backup / restore），见 README「备份与恢复」。"
        )
    try:
        return sqlite_path(url)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error


@app.command("backup")
def backup_command(
    destination: Annotated[
        Path, typer.Argument(help="The backup's graph file; its audit trail goes beside it.")
    ],
    store: StoreOption = None,
) -> None:
    """Backs up the embedded store (graph and audit trail), consistent while the service runs."""
    url = _settings(store).store
    path = _embedded(url, "lineage backup ")
    with _operating(store) as opened:
        # Recorded first, so that the backup itself says who took it and when.
        _audit(opened, "cli backup", [], str(destination))
        taken = snapshot.backup(path, destination)
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
) -> None:
    """Restores a backup into the embedded store. The store's audit trail is kept (the
    backup's events are added to it) and what was revoked since the backup stays revoked."""
    url = _settings(store).store
    path = _embedded(url, "lineage restore ")
    try:
        restored = snapshot.restore(source, path, replace=replace)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
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


def _open(url: str) -> GraphStore:
    try:
        return open_store(url)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error


def _counts(counts: Counter[str]) -> str:
    return "，".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "无"


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Prints the GraphQL schema (SDL) that the code defines."""
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
        raise typer.BadParameter(
            f"格式「{format}」或方向「{direction}」无效：格式应为 graphml、dot、mermaid 或 json，"
            "方向应为 upstream、downstream 或 both。"
        ) from None
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
    with _operating(store) as opened:
        found = audit(opened, SYSTEM, organisation_id=organisation).findings
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
        raise typer.BadParameter(f"格式「{format}」无效：应为 html、pdf 或 csv。")
    if record and len(record_ids) != 1:
        raise typer.BadParameter("书面记录一次打印一条（--record 只接受一个记录编号）。")
    if chosen == "pdf" and output is None and sys.stdout.isatty():
        raise typer.BadParameter("PDF 请用 --output 写入文件。")
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


trail = typer.Typer(
    help="The audit trail's hash chain: verify it, note an anchor.", no_args_is_help=True
)
app.add_typer(trail, name="trail")
app.add_typer(webhooks, name="webhooks")


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
        raise typer.BadParameter(error.message) from error
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
    with _operating(store) as opened:
        command = NewUser(
            id=user_id,
            roles=parse_roles(role),
            person_id=person,
            name=name,
            supervises=frozenset(supervises or ()),
            expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
        )
        issued = add_user(opened, command)
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
        user, grant = change_supervision(opened, user_id, frozenset(supervises or ()))
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
        issued = issue_token(
            opened,
            user_id,
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
        raise typer.BadParameter("请给出一个用户，或用 --token 给出一个令牌。")
    with _operating(store) as opened:
        if token is not None:
            revoke_token(opened, token)
            _audit(opened, "cli users revoke", [], f"token {token}")
            typer.echo(f"令牌 {token} 已吊销。")
        else:
            revoke_user(opened, user_id or "")
            _audit(opened, "cli users revoke", [], f"user {user_id}")
            typer.echo(f"用户 {user_id} 及其全部令牌已吊销。")


@contextlib.contextmanager
def _operating(store: str | None) -> Iterator[GraphStore]:
    """The store a command names, closed afterwards; a refusal is a clear error (exit 2)."""
    opened = _open(_settings(store).store)
    try:
        yield opened
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()


def schema_text() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
