"""`lineage serve | demo | expire | export | import | export-schema`."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from graph.errors import LineageError
from graph.store.base import GraphStore
from service.api.schema import schema
from service.app import create_app
from service.composition import open_store, redacted
from service.config import Settings
from service.demo import load_demo
from service.expiry import expire as run_expiry
from service.transfer import export_graph, import_graph

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
    finally:
        store.close()
    if written:
        typer.echo(f"演示数据已载入 {redacted(url)}：新写入 {written} 项。")
    else:
        typer.echo(f"演示数据已在 {redacted(url)} 中，未重复写入。")


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
    url = f"http://{settings.host}:{settings.port}/graphql"
    typer.echo(f"血缘服务：{url} （存储：{redacted(settings.store)}）")
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


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
        run = run_expiry(opened, on)
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
    finally:
        opened.close()
    typer.echo(f"已导出：{_counts(counts)}", err=True)


@app.command("import")
def import_(
    source: Annotated[
        Path, typer.Argument(help="A file written by `lineage export`; - for stdin.")
    ],
    store: StoreOption = None,
) -> None:
    """Loads a `lineage export` file into an empty store."""
    settings = _settings(store)
    opened = _open(settings.store)
    try:
        if str(source) == "-":
            counts = import_graph(opened, sys.stdin)
        else:
            with source.open(encoding="utf-8") as lines:
                counts = import_graph(opened, lines)
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()
    typer.echo(f"已导入 {redacted(settings.store)}：{_counts(counts)}")


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


def schema_text() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
