"""The Starlette application: GraphQL at /graphql (with GraphiQL), a health check, and the
store opened and closed with the app's lifespan.

Every request to the API is authenticated first: without a valid bearer token (or JWT, where
single sign-on is configured) it gets 401 and nothing else. Every answer is recorded in the
audit trail before it is given (service.auditing)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import secrets
import sys
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from graph import propagation
from graph.access import SYSTEM, Actor
from graph.errors import InvalidValue, StoreUnavailable
from graph.store.base import GraphStore
from graph.trail import Outcome
from service import (
    anchors,
    graphiql,
    idempotency,
    intake,
    metrics,
    outage,
    outbox,
    persisted,
    register,
    request_ids,
    tracing,
    workbook,
)
from service.accounts import Unauthenticated, authenticate
from service.api.admission import Limits, light
from service.api.context import ANONYMOUS, Context
from service.api.schema import build_schema
from service.auditing import AuditLog, event, outcome_of
from service.body_limit import BodyLimit
from service.composition import open_store
from service.config import Settings
from service.dispatcher import Policy, dispatch_forever
from service.executor import Executors
from service.expiry import expire
from service.forwarding import client_address
from service.oidc import oidc_settings, with_groups
from service.rate_limit import RateLimit
from service.readiness import Readiness, Unready
from service.redaction import Mode
from service.reminders import digest
from service.session import Session
from service.sso import JwtSettings, jwt_settings
from service.usecases import CHINA

log = logging.getLogger(__name__)


async def expire_daily(store: GraphStore, stopping: asyncio.Event, settings: Settings) -> None:
    """Runs the expiry now and then each day a few minutes after midnight, China time, until
    `stopping` is set, then the digest of reminders (X-4), the purge of idempotency keys, and
    the audit chain's check and anchor (service.anchors); a run under way finishes first,
    so the store is never closed beneath it. A failed run is logged and tried again the next
    day; the service goes on."""
    while not stopping.is_set():
        try:
            run = await run_in_threadpool(expire, store)
            if run.expired:
                changed = [c.change.item_id for c in run.expired]
                await run_in_threadpool(
                    store.append_audit, [event(SYSTEM, "system expire", Outcome.OK, items=changed)]
                )
            metrics.NOTICES.labels("expiry").inc(run.notices)
        except Exception:
            log.exception("到期解密执行失败，将于次日重试。")
        try:
            await run_in_threadpool(
                digest, store, settings.reminder_days, settings.reminder_webhook
            )
        except Exception:
            log.exception("审核提醒生成失败，将于次日重试。")
        try:
            retention = timedelta(hours=settings.idempotency_hours)
            await run_in_threadpool(idempotency.purge, store, retention)
        except Exception:
            log.exception("过期幂等键清理失败，将于次日重试。")
        if isinstance(store, outbox.Outbox):
            try:
                retention = timedelta(days=settings.webhook_retention_days)
                await run_in_threadpool(outbox.daily, store, retention)
            except Exception:
                log.exception("审计发现的 webhook 事件生成或投递记录清理失败，将于次日重试。")
        try:  # last, so that the anchor covers the run's own events
            await run_in_threadpool(anchors.daily, store)
        except Exception:
            log.exception("审计链校验或锚点记录失败，将于次日重试。")
        moment = datetime.now(CHINA)
        tomorrow = datetime.combine(moment.date() + timedelta(days=1), time(0, 5), CHINA)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), (tomorrow - moment).total_seconds())


class _TextFrames(ASGIWebSocketAdapter):
    """Subscription messages as text frames, as graphql-transport-ws requires: strawberry
    sends the bytes that encode_json gives in binary frames, which clients do not read.
    Every message but the acknowledgement of a sign-in passes its session's check first
    (service.session); once the session has ended, nothing more goes out."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        session: Session | None = getattr(self.ws.state, "session", None)
        acknowledgement = message.get("type") == "connection_ack"
        if session is not None and not acknowledgement and not await session.check():
            return
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class _GraphQL(GraphQL[Context, None]):
    websocket_adapter_class = _TextFrames

    def __init__(self, app: Starlette, settings: Settings) -> None:
        self._settings = settings
        self._retention = timedelta(hours=settings.idempotency_hours)
        self._sso = sso_of(settings)
        self._redaction = Mode(settings.redaction)
        self._trusted = tuple(settings.trusted_proxies)
        # Opaque ids of what a reader may not see stay the same while the key does: set
        # LINEAGE_SECRET_KEY for several replicas or across restarts.
        self._key = (settings.secret_key or secrets.token_hex(32)).encode()
        # The document systems' intake (service.intake) shows placeholders by the same key.
        self.key = self._key
        self.trusted = self._trusted
        self._rate = RateLimit(settings.requests_per_second, settings.request_burst)
        limits = Limits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_tokens=settings.max_query_tokens,
            max_length=settings.max_query_length,
            max_cost=settings.max_query_cost,
            introspection=not settings.production,
        )
        self._limits = limits
        # Traces when a collector is configured (service.tracing); spans named as the metrics
        # name operations.
        collector = tracing.endpoint_of(settings.otel_endpoint)
        self.tracer_provider = None if collector is None else tracing.provider(*collector)
        traced = (
            []
            if self.tracer_provider is None
            else [tracing.extension(self.tracer_provider, self._label)]
        )
        self._persisted = persisted_policy(settings)
        # First of the checks: where only registered documents run, a document sent over the
        # WebSocket (which knows no hashes) must be one of them too.
        guarded = (
            [lambda: RegisteredOnly(self._persisted.registry)] if settings.persisted_only else []
        )
        schema = build_schema(limits, [*traced, *guarded])
        self._graphql_schema = schema._schema
        super().__init__(
            schema,
            graphql_ide=None if not graphiql_served(settings) else "graphiql",
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self._app = app

    # orjson writes Chinese as UTF-8, not as \uXXXX (half the bytes), and is faster than
    # the standard library's json on a large lineage (a few per cent of its response time).
    def _label(self, operation: str) -> str:
        return metrics.operation_label(self._graphql_schema, operation)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # Its errors are json.JSONDecodeError's, which strawberry answers.
        value = orjson.loads(data)
        if not isinstance(value, dict | list):
            # strawberry reads fields of whatever came, and `null` or `1` made it fail (a 500).
            raise HTTPException(400, "请求体应为 JSON 对象（query、variables、operationName）。")
        return value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                session: Session | None = scope.get("state", {}).get("session")
                if session is not None:
                    session.stop()
            return
        send = _unstored(send)
        if scope["type"] == "http" and scope["method"] == "POST":
            request = Request(scope, receive)
            try:
                actor = await self._authenticate(_bearer(request.headers.get("authorization")))
            except StoreUnavailable as error:
                await outage.response(error)(scope, receive, send)
                return
            except Unauthenticated as error:
                await self._audit_unauthenticated(str(error), self._address(request))
                refusal = {"message": f"未通过身份认证：{error}", "extensions": UNAUTHENTICATED}
                response = JSONResponse(
                    {"errors": [refusal]},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="lineage"'},
                )
                await response(scope, receive, send)
                return
            if (wait := self._rate.take(actor.user_id)) > 0:
                await self._refuse_rate(actor, wait, self._address(request), scope, send)
                return
            scope.setdefault("state", {})["actor"] = actor
            # Before the idempotency key's check: a retry that names its document by hash is
            # the same request as one that sent it in full.
            resolved = await self._persisted_query(request, actor, send)
            if resolved is None:
                return
            receive = resolved
            request = Request(scope, receive)
            given = request.headers.get(idempotency.HEADER)
            if given is not None:
                passed_on = await self._idempotent(request, actor, given, send)
                if passed_on is None:
                    return
                receive = passed_on
        try:
            await super().__call__(scope, receive, send)
        except _SubscriptionOverHttp:
            await self._refuse_subscription(scope, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()

    async def _execute_here(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """strawberry's execute_single, but over HTTP only queries and mutations run (POST): a
        subscription would run as if it were a query and fail inside. It is refused once
        parsed, before it is validated or runs."""
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=_OVER_HTTP.get(request_adapter.method, ()),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise _SubscriptionOverHttp from error
            raise HTTPException(400, error.as_http_error_reason(request_adapter.method)) from error
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error

    async def _refuse_subscription(self, scope: Scope, send: Send) -> None:
        request = Request(scope)
        actor = getattr(request.state, "actor", None)
        try:
            await self._app.state.audit.record(
                event(
                    actor,
                    "subscription",
                    Outcome.REFUSED,
                    detail=SUBSCRIPTION_OVER_HTTP["code"],
                    address=self._address(request),
                )
            )
        except Exception:  # the refusal stands and shows nothing; the failure is in the log
            log.exception("未能记录一次经 HTTP 发来的订阅。")
        refusal = {"message": SUBSCRIPTION_OVER_HTTP_MESSAGE, "extensions": SUBSCRIPTION_OVER_HTTP}
        await JSONResponse({"errors": [refusal]}, status_code=400)(scope, _nothing, send)

    async def _refuse_rate(
        self, actor: Actor, wait: float, address: str, scope: Scope, send: Send
    ) -> None:
        """429, with the seconds to wait; recorded like every refusal, and nothing runs."""
        try:
            await self._app.state.audit.record(
                event(actor, "rate-limit", Outcome.REFUSED, detail="RATE_LIMITED", address=address)
            )
        except Exception:  # the refusal stands and shows nothing; the failure is in the log
            log.exception("未能记录一次限流拒绝。")
        seconds = max(1, math.ceil(wait))
        error = {"message": _too_often(self._rate, seconds), "extensions": RATE_LIMITED}
        refused = JSONResponse(
            {"errors": [error]}, status_code=429, headers={"Retry-After": str(seconds)}
        )
        await refused(scope, _nothing, send)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Runs a light request here, and the GraphQL work of any other on the user's executor
        thread (service.executor), so that the server's loop goes on answering meanwhile."""

        def run() -> Coroutine[Any, Any, ExecutionResult]:
            return self._execute_here(
                request, request_adapter, sub_response, context, root_value, request_data
            )

        query, variables = request_data.query, request_data.variables
        if isinstance(query, str) and light(
            self._graphql_schema, self._limits, query, variables, request_data.operation_name
        ):
            return await run()
        executors: Executors = self._app.state.executors
        return await executors.of(context.actor.user_id).run(request_ids.carried(run))

    async def _persisted_query(self, request: Request, actor: Actor, send: Send) -> Receive | None:
        """A request that names its document by hash gets it here (service.persisted), and
        goes on as if sent in full: the same limits, cost, rate and audit. Refused here, it is
        answered and None returned; otherwise the receive that gives the body to run."""
        body = await request.body()
        if not self._persisted.only_registered and b"persistedQuery" not in body:
            # A document sent in full, as most are: strawberry alone parses it.
            return _replaying(body, request.receive)
        try:
            value = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            value = None  # strawberry answers what is not JSON
        if isinstance(value, dict):
            found = persisted.resolve(value, self._persisted)
            if isinstance(found, persisted.Refusal):
                await self._refuse_persisted(request, actor, found, send)
                return None
            if found.outcome != "sent":
                metrics.PERSISTED.labels(found.outcome).inc()
                # One body, however the document came (by hash, or with it): an
                # Idempotency-Key's retry is the same request either way.
                body = orjson.dumps(found.body, option=orjson.OPT_SORT_KEYS)
        elif self._persisted.only_registered and body:
            refusal = persisted.Refusal(
                persisted.ONLY_REGISTERED, "本服务只执行已登记的查询：请求体应为 JSON 对象。"
            )
            await self._refuse_persisted(request, actor, refusal, send)
            return None
        return _replaying(body, request.receive)

    async def _refuse_persisted(
        self, request: Request, actor: Actor, refusal: persisted.Refusal, send: Send
    ) -> None:
        """Answers a persisted query refused; recorded like every refusal, but for a hash not
        yet known, which a client resolves by sending its document (nothing was asked)."""
        metrics.PERSISTED.labels(refusal.code).inc()
        metrics.observe(outcome=refusal.code)
        if refusal.code not in (persisted.NOT_FOUND, persisted.NOT_SUPPORTED):
            try:
                await self._app.state.audit.record(
                    event(
                        actor,
                        "persisted-query",
                        Outcome.REFUSED,
                        detail=refusal.code,
                        address=self._address(request),
                    )
                )
            except Exception:  # the refusal stands and shows nothing; the failure is in the log
                log.exception("未能记录一次持久化查询的拒绝。")
        answer = JSONResponse({"errors": [refusal.error()]}, status_code=refusal.status)
        await answer(request.scope, _nothing, send)

    async def _idempotent(
        self, request: Request, actor: Actor, given: str, send: Send
    ) -> Receive | None:
        """A request sent with an Idempotency-Key: answered here from what the key holds (the
        first answer, or a refusal), or passed on to run, its key to be taken by its first
        write (service.idempotency). Passed on, it gets the body read here once again."""
        scope, address = request.scope, self._address(request)

        async def refuse(status: int, code: str, message: str) -> None:
            try:
                await self._app.state.audit.record(
                    event(actor, "idempotency-key", Outcome.REFUSED, detail=code, address=address)
                )
            except Exception:  # the refusal stands and shows nothing; the failure is in the log
                log.exception("未能记录一次幂等键的拒绝。")
            error = {"message": message, "extensions": {"code": code}}
            await JSONResponse({"errors": [error]}, status_code=status)(scope, _nothing, send)

        if (why := idempotency.problem(given)) is not None:
            await refuse(400, "BAD_IDEMPOTENCY_KEY", why)
            return None
        body = await request.body()
        sent = idempotency.fingerprint(body)
        key = idempotency.memo_key(actor.user_id, given)
        store: GraphStore = self._app.state.store
        unanswered: idempotency.Unanswered = self._app.state.unanswered
        unfinished = unanswered.take(key)
        try:
            noted = await run_in_threadpool(store.read, lambda tx: tx.memo(key))
        except StoreUnavailable as error:
            if unfinished is not None:
                unanswered.put(key, unfinished)
            await outage.response(error)(scope, _nothing, send)
            return None
        kept = None if noted is None else idempotency.Kept.decoded(noted)
        if kept is not None and kept.expired(datetime.now(UTC), self._retention):
            kept = None  # forgotten: the request runs as if sent for the first time
        resumed = None
        if (
            kept is not None
            and kept.answer is None
            and unfinished is not None
            and (unfinished.fingerprint, unfinished.taken_at) == (kept.fingerprint, kept.taken_at)
            and kept.fingerprint == sent
        ):
            # Its first write was committed before the store went out of reach, and this
            # process knows what the request had got to (service.idempotency).
            if unfinished.answer is None:
                resumed, kept = unfinished, None
            else:
                kept = idempotency.Kept(
                    kept.fingerprint,
                    kept.taken_at,
                    unfinished.answer,
                    unfinished.operation,
                    unfinished.items,
                )
                encoded = kept.encoded()
                try:
                    await run_in_threadpool(store.write, lambda tx: tx.put_memo(key, encoded))
                except StoreUnavailable as error:
                    unanswered.put(key, unfinished)
                    await outage.response(error)(scope, _nothing, send)
                    return None
        if kept is not None:
            if kept.fingerprint != sent:
                await refuse(
                    422,
                    "IDEMPOTENCY_KEY_REUSED",
                    f"幂等键「{given}」已用于另一个请求：同一个键只能重发同一个请求。",
                )
            elif kept.answer is None:
                await refuse(
                    409,
                    "IDEMPOTENCY_KEY_IN_USE",
                    f"幂等键「{given}」的请求已写入，其结果尚未保存（仍在执行，或服务在此之间中断）："
                    "请稍后重发；写入不会重复。",
                )
            else:
                # A replay shows the content again: it is a read like any other (D-10), and
                # without its record there is no answer.
                try:
                    await self._app.state.audit.record(
                        event(
                            actor,
                            kept.operation,
                            Outcome.OK,
                            items=kept.items,
                            address=address,
                            detail="重发：返回首次结果",
                        )
                    )
                except Exception:
                    failed = {"data": None, "errors": [{"message": AUDIT_FAILED}]}
                    await JSONResponse(failed)(scope, _nothing, send)
                    return None
                replayed = Response(
                    orjson.dumps(kept.answer),
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
                await replayed(scope, _nothing, send)
            return None
        scope.setdefault("state", {})["idempotency"] = (given, sent, resumed)
        given_once = False
        receive = request.receive

        async def again() -> Message:
            nonlocal given_once
            if not given_once:
                given_once = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return again

    def _address(self, request: Request | WebSocket) -> str:
        """The client's, for the audit trail (service.forwarding)."""
        return client_address(request.scope, self._trusted)

    async def _authenticate(self, bearer: str | None) -> Actor:
        if not bearer:
            raise Unauthenticated("请求缺少令牌（Authorization: Bearer ...）。")
        store: GraphStore = self._app.state.store
        return await run_in_threadpool(authenticate, store, bearer, self._sso)

    async def _audit_unauthenticated(self, reason: str, address: str) -> None:
        try:
            await self._app.state.audit.record(
                event(None, "authenticate", Outcome.UNAUTHENTICATED, detail=reason, address=address)
            )
        except Exception:  # the refusal stands; the failure is in the log
            log.exception("未能记录一次未通过认证的请求。")

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        store: GraphStore = self._app.state.outbox
        state = self._app.state
        actor = getattr(request.state, "actor", ANONYMOUS)
        keyed = getattr(request.state, "idempotency", None)
        if keyed is not None:
            given, digest, resumed = keyed
            store = idempotency.Claiming(
                store, actor.user_id, given, digest, self._retention, resumed
            )
        context = Context(
            store,
            actor=actor,
            audit=state.audit,
            redaction=self._redaction,
            redaction_key=self._key,
            address=self._address(request),
            poll_seconds=state.poll_seconds,
            query_timeout=state.query_timeout,
            mutation_timeout=state.mutation_timeout,
        )
        if isinstance(request, WebSocket):
            # Read back at connection_init (on_ws_connect), where a browser sends its token.
            context.upgrade_authorization = request.headers.get("authorization")
            context.session = request.state.session = Session(
                self._authenticate, request.close, state.audit, context.address
            )
        else:
            request.state.context = context
            request.state.response = response  # its status and headers are the answer's
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params: dict[str, object] = (
            context.connection_params if isinstance(context.connection_params, dict) else {}
        )
        given = params.get("authorization") or params.get("Authorization")
        bearer = _bearer(given if isinstance(given, str) else context.upgrade_authorization)
        try:
            actor = await self._authenticate(bearer)
        except StoreUnavailable as error:
            rejection = outage.body(error)["errors"][0]
            raise ConnectionRejectionError(rejection) from error
        except Unauthenticated as error:
            await self._audit_unauthenticated(str(error), context.address)
            raise ConnectionRejectionError({"message": f"未通过身份认证：{error}"}) from error
        context.act_as(actor)
        if context.session is not None and bearer is not None:
            context.session.begin(bearer, actor, context.poll_seconds)
        if (wait := self._rate.take(context.actor.user_id)) > 0:
            await context.audit_refusal("rate-limit", Outcome.REFUSED, "RATE_LIMITED")
            message = _too_often(self._rate, max(1, math.ceil(wait)))
            raise ConnectionRejectionError({"message": message, "extensions": RATE_LIMITED})
        accepted: UnsetType = UNSET
        return accepted

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Records the request in the audit trail, then answers; without the record, no answer."""
        response = await super().process_result(request, result)
        context: Context | None = getattr(request.state, "context", None)
        if context is None:
            return response
        if context.unavailable is not None:
            return await self._unavailable(request, context, context.unavailable)
        mutation = context.operation.startswith("mutation")
        shown = list(context.redactor.shown)
        asked = context.asked
        failed = any(_unexpected(e) for e in result.errors or ())
        outcome, detail = outcome_of(context.refusals, failed)
        if result.errors and outcome is Outcome.OK and result.data is None:
            # Refused before it ran: by its code where it has one (QUERY_TOO_COSTLY, ...).
            codes = ((e.extensions or {}).get("code") for e in result.errors)
            outcome, detail = Outcome.REFUSED, str(next(filter(None, codes), "INVALID_REQUEST"))
        metrics.observe(self._label(context.operation), outcome.value)
        if not (mutation or shown or asked or outcome is not Outcome.OK):
            return response  # nothing written, asked for or shown: nothing to record
        if asked and not (mutation or shown) and outcome is Outcome.OK:
            # Asked for ids and got no item's content (null, an empty list, a placeholder):
            # a probe looks like this, and a supervisor looks for it.
            detail = NOTHING_SHOWN
        claiming = context.store if isinstance(context.store, idempotency.Claiming) else None
        try:
            await context.audit.record(  # type: ignore[union-attr]
                event(
                    context.actor,
                    context.operation or "request",
                    outcome,
                    items=shown,
                    detail=detail,
                    address=context.address,
                    asked=asked,
                )
            )
        except StoreUnavailable as error:
            # No record, no answer; a retry with the key, once the store is back, gets this
            # one with a record of its own (service.idempotency).
            self._hold(claiming, dict(response), context.operation, shown)
            return self._refused_unavailable(request, error)
        except Exception:
            return {"data": None, "errors": [{"message": AUDIT_FAILED}]}
        if claiming is not None and claiming.claimed:
            try:
                answer = dict(response)
                await run_in_threadpool(claiming.keep, answer, context.operation, shown)
            except StoreUnavailable:  # the answer stands; a retry gets it from this process
                self._hold(claiming, dict(response), context.operation, shown)
                log.exception("未能保存幂等键的首次结果：图数据库不可用。")
            except Exception:  # the answer stands; a retry is told to wait (409), not rerun
                log.exception("未能保存幂等键的首次结果。")
        return response

    def _hold(
        self,
        claiming: idempotency.Claiming | None,
        answer: dict[str, Any],
        operation: str,
        shown: list[str],
    ) -> None:
        """Keeps in this process the answer of a request whose key was taken, for its retry
        (service.idempotency)."""
        if claiming is None or not claiming.claimed:
            return
        unanswered: idempotency.Unanswered = self._app.state.unanswered
        unanswered.put(
            claiming.key,
            idempotency.Unfinished(
                claiming.digest, claiming.taken_at, None, answer, operation, tuple(shown)
            ),
        )

    async def _unavailable(
        self, request: Request, context: Context, error: StoreUnavailable
    ) -> GraphQLHTTPResponse:
        """A request the store's outage stopped: 503, nothing shown; what it got to is kept
        for its retry where it was sent with a key (service.idempotency)."""
        if isinstance(context.store, idempotency.Claiming):
            unfinished = context.store.interrupted()
            if unfinished is not None:
                unanswered: idempotency.Unanswered = self._app.state.unanswered
                unanswered.put(context.store.key, unfinished)
        try:  # recorded where the trail can still be written
            await self._app.state.audit.record(
                event(
                    context.actor,
                    context.operation or "request",
                    Outcome.ERROR,
                    detail=outage.CODE,
                    address=context.address,
                    asked=context.asked,
                )
            )
        except Exception:
            log.warning("图数据库不可用：未能记录一次因此中止的请求（%s）。", context.operation)
        return self._refused_unavailable(request, error)

    def _refused_unavailable(
        self, request: Request, error: StoreUnavailable
    ) -> GraphQLHTTPResponse:
        sub_response: Response | None = getattr(request.state, "response", None)
        if sub_response is not None:
            sub_response.status_code = 503
            sub_response.headers.update(outage.HEADERS)
        return outage.body(error)  # type: ignore[return-value]


VIEWER = Path(__file__).with_name("web") / "static"
# The viewer loads nothing but its own files and talks to nothing but this service.
VIEWER_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def viewer_files() -> ASGIApp:
    """The lineage viewer's page and its two files, with a policy that keeps out any script
    but its own."""
    files = StaticFiles(directory=VIEWER, html=True)

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = VIEWER_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Cache-Control"] = "no-cache"
            await send(message)

        await files(scope, receive, with_policy)

    return served


class _SubscriptionOverHttp(Exception):
    """A subscription sent over HTTP, to be answered 400 (service.app._GraphQL)."""


# Queries via GET are off (a GET is no place for a bearer's request), and subscriptions run
# over the WebSocket only.
_OVER_HTTP = {"POST": frozenset({OperationType.QUERY, OperationType.MUTATION})}
SUBSCRIPTION_OVER_HTTP = {"code": "SUBSCRIPTION_OVER_HTTP"}
SUBSCRIPTION_OVER_HTTP_MESSAGE = (
    "订阅（subscription）不能通过 HTTP 请求发送：请用 WebSocket 连接 /graphql"
    "（协议 graphql-transport-ws），在 connection_init 的 payload 中以 "
    '{"authorization": "Bearer lin_…"} 提供令牌，再发送 subscribe 消息。'
)
AUDIT_FAILED = "审计记录无法写入：为保密起见，本次请求的结果不予返回。"
NOTHING_SHOWN = "NOTHING_SHOWN"
UNAUTHENTICATED = {"code": "UNAUTHENTICATED"}
RATE_LIMITED = {"code": "RATE_LIMITED"}


def _too_often(rate: RateLimit, seconds: int) -> str:
    return (
        f"请求过于频繁：每位用户每秒至多 {rate.rate:g} 个请求，一次至多 {rate.burst} 个"
        f"（LINEAGE_REQUESTS_PER_SECOND、LINEAGE_REQUEST_BURST）。请 {seconds} 秒后再试。"
    )


def _unexpected(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def _unstored(send: Send) -> Send:
    """Answers the browser's HTTP cache keeps nothing of: they hold what one reader may read,
    and the next person at the same browser may not (the viewer's sign-out clears the rest)."""

    async def sent(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)["Cache-Control"] = "no-store"
        await send(message)

    return sent


async def _nothing() -> Message:
    """The receive of a response sent without reading the request further."""
    return {"type": "http.disconnect"}


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` once (read already, or put in its place), then goes on."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def persisted_policy(settings: Settings) -> persisted.Policy:
    """The persisted queries the service accepts; InvalidValue for a manifest it cannot use,
    so that the service does not start on one."""
    registry = (
        persisted.Registry()
        if settings.persisted_queries is None
        else persisted.Registry.read(settings.persisted_queries)
    )
    if settings.persisted_only and not len(registry):
        raise InvalidValue(
            "persisted_only",
            "LINEAGE_PERSISTED_ONLY 要求以 LINEAGE_PERSISTED_QUERIES 给出一份非空的持久化查询清单"
            "（lineage persisted-queries build 生成）：否则服务什么也不能执行。",
        )
    size = settings.persisted_cache_size
    cache = persisted.Cache(size) if size > 0 and not settings.persisted_only else None
    return persisted.Policy(registry, cache, settings.persisted_only)


class RegisteredOnly(SchemaExtension):
    """Where only registered documents run (LINEAGE_PERSISTED_ONLY): refuses any other before
    it is validated or runs, whatever brought it (over HTTP, a hash resolves to a registered
    document before this; a subscription's arrives in full over the WebSocket)."""

    def __init__(self, registry: persisted.Registry) -> None:
        self.registry = registry

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        query = execution.query
        if (
            query is not None
            and execution.pre_execution_errors is None
            and not self.registry.is_registered(persisted.sha256_of(query))
        ):
            refusal = persisted.only_registered_refusal()
            execution.pre_execution_errors = [
                GraphQLError(refusal.message, extensions={"code": refusal.code})
            ]
        yield


def graphiql_served(settings: Settings) -> bool:
    """GraphiQL runs documents typed by hand: not in production, nor where only registered
    ones run (it could run nothing there)."""
    return not (settings.production or settings.persisted_only)


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def sso_of(settings: Settings) -> JwtSettings | None:
    """JWT verification, where a key or an OpenID Connect provider is configured; the key is
    read and checked here, once (service.sso), or the provider's fetched (service.oidc), and
    the service does not start with one it cannot use safely."""
    if settings.oidc_issuer:
        return oidc_settings(settings)
    if not settings.jwt_key:
        return None
    verification = jwt_settings(
        settings.jwt_key,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_algorithms,
        settings.jwt_user_claim,
    )
    return with_groups(verification, settings)


# A large lineage makes hundreds of thousands of small objects. At Python's default gen-0
# threshold (700) the cyclic collector ran hundreds of times in one answer of 10,000 nodes
# and took about half of its time (BENCHMARKS.md, issue 8); set while the app runs.
_COLLECTION_THRESHOLDS = (50_000, 20, 100)
# The GraphQL work of heavy requests runs on threads of their own (service.executor), a user's
# always on the same one of these; the server's loop waits for the interpreter about this
# long while they or the thread pool work (5 ms by default): under an abusive client,
# /healthz's p99 was 91 ms at 5 ms, 29-96 ms at 1 ms, 18-43 ms at 0.5 ms (bench/abuse.py,
# BENCHMARKS.md).
_EXECUTORS = 4
_SWITCH_INTERVAL = 0.0005


def _policy(settings: Settings) -> Policy:
    return Policy(
        attempts=settings.webhook_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
    )


def create_app(settings: Settings | None = None, store: GraphStore | None = None) -> Starlette:
    """The app on `store`, or on the store that `settings.store` names, opened at start-up."""
    chosen = settings or Settings()
    # The placeholders in webhooks' messages, as LINEAGE_SECRET_KEY makes the API's.
    outbox_key = (chosen.secret_key or secrets.token_hex(32)).encode()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.store = (
            store
            if store is not None
            else open_store(chosen.store, cached_items=chosen.cached_items)
        )
        # What the service decides (the API, the daily run) writes through the outbox, which
        # queues its outbound events in the same transaction (service.outbox).
        app.state.outbox = outbox.Outbox(app.state.store, outbox_key)
        # Set once nothing before `try` can fail, so that they are always given back.
        thresholds = gc.get_threshold()
        gc.set_threshold(*_COLLECTION_THRESHOLDS)
        switching = sys.getswitchinterval()
        sys.setswitchinterval(_SWITCH_INTERVAL)
        app.state.audit = AuditLog(app.state.store)
        app.state.executors = Executors(_EXECUTORS)
        stopping = asyncio.Event()
        daily = (
            asyncio.create_task(expire_daily(app.state.outbox, stopping, chosen))
            if chosen.daily_expiry
            else None
        )
        sending = (
            asyncio.create_task(
                dispatch_forever(
                    app.state.store, stopping, _policy(chosen), chosen.webhook_poll_seconds
                )
            )
            if chosen.webhooks
            else None
        )
        # The fan-out's compiled pass is loaded (or compiled, a few seconds) meanwhile.
        threading.Thread(target=propagation.warm, name="warm-fan-out", daemon=True).start()
        app.state.serving = True  # /readyz reads the store from now on
        try:
            yield
        finally:
            app.state.serving = False
            stopping.set()  # not cancelled: a run under way ends before the store closes
            if daily is not None:
                await daily
            if sending is not None:
                await sending
            app.state.executors.close()
            if graphql.tracer_provider is not None:
                graphql.tracer_provider.shutdown()  # sends the spans still held
            if store is None:
                app.state.store.close()
            gc.set_threshold(*thresholds)
            sys.setswitchinterval(switching)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    readiness = Readiness()
    guard = metrics.Guard(chosen.metrics_token, chosen.trusted_proxies)

    async def ready(request: Request) -> Response:
        serving = getattr(app.state, "serving", False)
        return await readiness.answer(app.state.store if serving else None)

    async def measured(request: Request) -> Response:
        refused = guard.refusal(request)
        if refused is not None:
            return refused
        generations = None  # shown without them when the store cannot be read
        if getattr(app.state, "serving", False):
            with contextlib.suppress(Unready):
                generations = await readiness.generations(app.state.store)
        return metrics.response(generations)

    async def home(request: Request) -> Response:
        return RedirectResponse("/ui/")

    async def register_template(request: Request) -> Response:
        # Empty columns and notes, no data: served to anyone, as a blank form is.
        disposition = "attachment; filename*=UTF-8''%E5%AE%9A%E5%AF%86%E5%8F%B0%E8%B4%A6.xlsx"
        return Response(
            template,
            media_type=workbook.MEDIA_TYPE,
            headers={"Content-Disposition": disposition},
        )

    middleware = [
        Middleware(request_ids.RequestIds),
        Middleware(metrics.Measured),
        Middleware(BodyLimit, max_bytes=chosen.max_body_bytes),
    ]
    if chosen.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=chosen.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    idempotency.HEADER,
                    request_ids.HEADER,
                ],
                # A page that retries with a key may tell a replay from a first answer, and
                # find its request's id to quote.
                expose_headers=["idempotent-replayed", request_ids.HEADER.lower()],
            )
        )
    template = register.template_xlsx()
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", health),
            Route("/readyz", ready),
            Route("/metrics", measured),
            Route("/templates/register.xlsx", register_template),
        ],
        lifespan=lifespan,
        middleware=middleware,
    )
    app.state.poll_seconds = chosen.notice_poll_seconds
    app.state.unanswered = idempotency.Unanswered()
    app.state.query_timeout = chosen.query_timeout_seconds
    app.state.mutation_timeout = chosen.mutation_timeout_seconds
    graphql = _GraphQL(app, chosen)
    app.router.routes.append(Route("/graphql", graphql, methods=["GET", "POST"]))
    documents = intake.Intake(
        chosen.intake_tolerance_seconds, Mode(chosen.redaction), graphql.key, graphql.trusted
    )
    intake_route = Route("/intake/{system}/derivations", documents.handle, methods=["POST"])
    app.router.routes.append(intake_route)
    app.router.routes.append(Mount("/ui", app=viewer_files(), name="ui"))
    if graphiql_served(chosen):
        app.router.routes.append(Mount("/graphiql", app=graphiql.assets(), name="graphiql"))
    app.router.routes.append(WebSocketRoute("/graphql", graphql))
    return app
