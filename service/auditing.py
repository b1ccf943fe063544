"""Writing the audit trail (graph.trail) as requests are answered: every write, every read
of item content, every refusal and every failed authentication.

Requests wait for their event to be written before they get their answer: an answer whose
reading could not be recorded is not given. Events that arrive while a batch is being
written go into the next one, so a busy service writes a few transactions a millisecond
rather than one per request (group commit).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace

from starlette.concurrency import run_in_threadpool

from graph.access import Actor, Role
from graph.errors import AccessDenied, InvalidValue, LineageError, NotVisible
from graph.grant import Grant, GrantKind
from graph.store.base import GraphStore
from graph.trail import AuditEvent, AuditQuery, Outcome
from service import metrics, request_ids
from service.permissions import require_role
from service.usecases import MAX_PAGE, now

log = logging.getLogger(__name__)

# An event names at most this many items; a larger read names the first ones and says how
# many more it read.
MAX_ITEMS = 20_000
# And at most this many ids asked for, each cut to this length: a request may name thousands.
MAX_ASKED = 1_000
MAX_LENGTH = 200


def clean(value: str) -> str:
    """An id a client sent, as the trail can keep it: no `|` (the separator of its lists),
    nothing a file or a driver cannot encode, not longer than MAX_LENGTH."""
    text = value.encode("utf-8", "replace").decode("utf-8").replace("|", "¦")
    return text.replace("\x00", "")[:MAX_LENGTH]


def event(
    actor: Actor | None,
    action: str,
    outcome: Outcome,
    *,
    items: Iterable[str] = (),
    detail: str = "",
    address: str = "",
    asked: Iterable[str] = (),
    request_id: str | None = None,
) -> AuditEvent:
    """An event of the request being handled (its id from service.request_ids, unless
    `request_id` is given)."""
    named = list(items)
    if len(named) > MAX_ITEMS:
        detail = f"{detail}；另有 {len(named) - MAX_ITEMS} 项未列出".lstrip("；")
        named = named[:MAX_ITEMS]
    wanted = list(dict.fromkeys(c for c in map(clean, asked) if c))[:MAX_ASKED]
    return AuditEvent(
        id=uuid.uuid4().hex,
        at=now(),
        action=action[:200],
        outcome=outcome,
        user_id=actor.user_id if actor else None,
        person_id=actor.person_id if actor else None,
        organisation_id=actor.organisation_id if actor else None,
        address=address[:100],
        items=tuple(named),
        detail=detail[:500],
        asked=tuple(wanted),
        request_id=request_ids.current() if request_id is None else request_id,
    )


def grant_event(actor: Actor, step: str, grant: Grant, address: str = "") -> AuditEvent:
    """A step of a request that widens who may read (filed, approved, rejected), with what
    it asks for; the reason of a rejection stays with the request."""
    asked = {
        GrantKind.SUCCESSION: f"{grant.organisation_id} -> {grant.target_id}",
        GrantKind.SUPERIOR: f"{grant.organisation_id} under {grant.target_id}",
        GrantKind.SUPERVISION: f"user {grant.user_id} supervises "
        + (",".join(sorted(grant.supervises)) or "own organisation"),
    }[grant.kind]
    return event(
        actor,
        f"grant {step}",
        Outcome.OK,
        detail=f"{grant.id} {grant.kind.value} {asked}: {grant.status.value}",
        address=address,
    )


def account_event(actor: Actor, step: str, detail: str, address: str = "") -> AuditEvent:
    """A step of administering users and tokens (service.administration): `step` such as
    `user add` or `token revoke`, `detail` the ids and roles it concerns. A token's secret is
    never in it: only its id."""
    return event(actor, step, Outcome.OK, detail=detail, address=address)


def outcome_of(refusals: Sequence[LineageError], failed: bool) -> tuple[Outcome, str]:
    """The outcome of a request from what its resolvers met: an unexpected error, a refusal
    for want of a role or of knowledge (DENIED), a rule or value (REFUSED), or none."""
    if failed:
        return Outcome.ERROR, ""
    for error in refusals:
        if isinstance(error, AccessDenied | NotVisible):
            what = error.requirement if isinstance(error, AccessDenied) else "KNOWLEDGE_SCOPE"
            return Outcome.DENIED, what
    if refusals:
        return Outcome.REFUSED, ",".join(dict.fromkeys(_name(e) for e in refusals))
    return Outcome.OK, ""


def _name(error: LineageError) -> str:
    return str(
        getattr(error, "rule", None) or getattr(error, "field", None) or type(error).__name__
    )


def read_trail(store: GraphStore, actor: Actor, query: AuditQuery) -> list[AuditEvent]:
    """The events an auditor (安全审计员) reads: all of them; those a supervisor reads: of
    the organisations it supervises, or of every request for a supervisor of all.
    `query.organisations`, if given, narrows them. No one else reads the trail, the
    administrator included: the one who runs the system is not the one who audits it."""
    require_role(actor, Role.AUDITOR, Role.SUPERVISOR)
    if not 1 <= query.limit <= MAX_PAGE + 1:
        raise InvalidValue("first", f"每页条数应在 1 到 {MAX_PAGE} 之间。")
    return store.audit_events(_readable_trail(actor, query))


def count_trail(store: GraphStore, actor: Actor, query: AuditQuery) -> int:
    """How many events read_trail pages through for `query`, counted by the store."""
    require_role(actor, Role.AUDITOR, Role.SUPERVISOR)
    return store.count_audit_events(_readable_trail(actor, query))


def _readable_trail(actor: Actor, query: AuditQuery) -> AuditQuery:
    everything = actor.system or Role.AUDITOR in actor.roles or actor.supervised is None
    allowed = None if everything else actor.supervised
    wanted = query.organisations
    if allowed is not None:
        wanted = tuple(sorted(allowed if wanted is None else set(wanted) & allowed))
    return replace(query, organisations=wanted)


class AuditLog:
    """The trail of one store, written in batches by whichever request finds none under way."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self._pending: list[tuple[AuditEvent, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def record(self, *events: AuditEvent) -> None:
        """Returns once the events are written; raises if they could not be."""
        loop = asyncio.get_running_loop()
        waiting = []
        for value in events:
            future: asyncio.Future[None] = loop.create_future()
            self._pending.append((value, future))
            waiting.append(future)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        await asyncio.gather(*waiting)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                with metrics.AUDIT.time():
                    await run_in_threadpool(self._store.append_audit, [e for e, _ in batch])
                metrics.AUDITED.inc(len(batch))
            except Exception as error:
                log.exception("审计记录写入失败（%d 条）。", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
