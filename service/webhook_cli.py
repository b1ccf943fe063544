"""`lineage webhooks add | list | remove | dead | replay`: the endpoints of an organisation's
outbound events, and the dead letters, from the command line (the operator, as every command;
audited as `cli webhooks ...`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Annotated

import typer

from graph.access import SYSTEM
from graph.errors import LineageError
from graph.store.base import GraphStore
from graph.trail import Outcome
from service.auditing import event
from service.composition import open_store
from service.config import Settings
from service.webhooks import (
    add_webhook,
    dead_letters,
    list_webhooks,
    parse_events,
    remove_webhook,
    replay,
)

webhooks = typer.Typer(
    help="Webhooks: signed outbound events of an organisation (Standard Webhooks).",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Store URL; overrides LINEAGE_STORE.", show_default=False),
]


@contextlib.contextmanager
def _operating(store: str | None) -> Iterator[GraphStore]:
    opened = open_store(store or Settings().store)
    try:
        yield opened
    except LineageError as error:
        raise typer.BadParameter(error.message) from error
    finally:
        opened.close()


def _audit(store: GraphStore, action: str, detail: str) -> None:
    store.append_audit([event(SYSTEM, action, Outcome.OK, detail=detail)])


@webhooks.command("add")
def webhooks_add(
    organisation: Annotated[str, typer.Argument(help="The organisation whose events it takes.")],
    url: Annotated[str, typer.Argument(help="http(s) URL the events are POSTed to.")],
    event_types: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            help="decision.recorded, notice.issued or finding.detected; repeat for several "
            "(all by default).",
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Registers an endpoint and prints its signing secret, shown this once."""
    with _operating(store) as opened:
        added = add_webhook(opened, organisation, url, parse_events(event_types or ()), "cli")
        _audit(opened, "cli webhooks add", f"webhook {added.id} of {organisation}")
    kinds = "、".join(sorted(e.value for e in added.events))
    typer.echo(f"已登记 webhook {added.id}（{organisation}，{kinds}）→ {added.url}")
    typer.echo("签名密钥（只显示这一次，请交给接收方保存）：")
    typer.echo(added.secret)


@webhooks.command("list")
def webhooks_list(
    organisation: Annotated[str | None, typer.Option(help="Only this organisation's.")] = None,
    store: StoreOption = None,
) -> None:
    """Lists endpoints (never their secrets)."""
    with _operating(store) as opened:
        found = list_webhooks(opened, organisation)
    if not found:
        typer.echo("没有登记的 webhook。")
    for hook in found:
        kinds = ",".join(sorted(e.value for e in hook.events))
        typer.echo(f"{hook.id}  {hook.organisation_id}  {kinds}  {hook.url}")


@webhooks.command("remove")
def webhooks_remove(
    webhook_id: Annotated[str, typer.Argument(help="The endpoint's id (wh_...).")],
    store: StoreOption = None,
) -> None:
    """Removes an endpoint with every delivery to it, dead letters included."""
    with _operating(store) as opened:
        remove_webhook(opened, webhook_id)
        _audit(opened, "cli webhooks remove", f"webhook {webhook_id}")
    typer.echo(f"已删除 webhook {webhook_id} 及其全部投递记录。")


@webhooks.command("dead")
def webhooks_dead(
    webhook: Annotated[str | None, typer.Option(help="Only this endpoint's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-500).")] = 100,
    payload: Annotated[bool, typer.Option(help="Print each message's body too.")] = False,
    store: StoreOption = None,
) -> None:
    """Lists dead letters: deliveries whose every attempt failed, oldest first."""
    with _operating(store) as opened:
        found = dead_letters(opened, webhook, limit)
    if not found:
        typer.echo("死信列表为空。")
    for d in found:
        typer.echo(
            f"{d.id}  {d.webhook_id}  {d.event_type.value}  {d.message_id}  "
            f"{d.created_at.isoformat(timespec='seconds')}  尝试 {d.attempts} 次：{d.last_error}"
        )
        if payload:
            typer.echo("  " + json.dumps(json.loads(d.payload), ensure_ascii=False))


@webhooks.command("replay")
def webhooks_replay(
    delivery_ids: Annotated[
        list[str] | None, typer.Argument(help="Dead deliveries (dlv_...) to send again.")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option(help="Send every dead letter of this endpoint again.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Sends dead letters again from their first attempt, with the same webhook-id."""
    with _operating(store) as opened:
        again = replay(opened, delivery_ids or (), None if delivery_ids else webhook)
        _audit(opened, "cli webhooks replay", f"{len(again)} 条：" + "、".join(d.id for d in again))
    typer.echo(f"已重新排队 {len(again)} 条死信，服务将按重试规则重新投递。")
