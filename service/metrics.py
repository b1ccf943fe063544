"""Prometheus metrics at /metrics (prometheus_client): requests by GraphQL operation and
outcome, their latency, the time spent waiting for the store and for the audit trail, notices
issued, subscriptions open, and the store's generations.

Labels take bounded values only: an operation is its kind and its one top-level field of the
schema (`query lineage`), `query several` when it asks for more than one, `invalid` when it
names a field the schema lacks; never an operation name, an id or any other text a client
chose, which could be anything (a title, an id it may not know) and would make a new series
each time. So /metrics shows no item's content and no id; it still shows how busy the service
is and with what, which is why it answers only the loopback or a bearer of
LINEAGE_METRICS_TOKEN (`Guard`).

Several worker processes (uvicorn --workers) keep their metrics apart; with
PROMETHEUS_MULTIPROC_DIR set (an empty directory, before the service starts), prometheus_client
writes them to files there and /metrics adds up those of every process
(prometheus_client.multiprocess)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from graphql import GraphQLSchema
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# The `_created` series of each counter and histogram double what a scrape carries and tell
# nothing a restart counter does not.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: a light query takes milliseconds, a fan-out over 100,000 descendants a minute.
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

REQUESTS = Counter(
    "lineage_requests",
    "GraphQL requests over HTTP, by operation (its kind and top-level field) and outcome.",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "lineage_request_seconds",
    "Time from a GraphQL request's arrival to its answer, by operation.",
    ["operation"],
    buckets=_SECONDS,
)
STORE = Histogram(
    "lineage_store_seconds",
    "Time a GraphQL request waited for one call to the store.",
    buckets=_SECONDS,
)
AUDIT = Histogram(
    "lineage_audit_append_seconds",
    "Time to append one batch of events to the audit trail.",
    buckets=_SECONDS,
)
AUDITED = Counter("lineage_audit_events", "Events appended to the audit trail by the service.")
NOTICES = Counter(
    "lineage_notices_issued",
    "Change notices issued, by what issued them: a decision in the API, or the expiry run.",
    ["by"],
)
for _by in ("decision", "expiry"):  # shown at 0 before the first
    NOTICES.labels(_by)
PERSISTED = Counter(
    "lineage_persisted_queries",
    "Requests that named a persisted query by its hash, by what became of it: registered, "
    "hit (the cache of automatic persisted queries), stored (sent with its hash and kept), "
    "or the code it was refused with (service.persisted).",
    ["outcome"],
)
SUBSCRIPTIONS = Gauge(
    "lineage_subscriptions_open",
    "Notice subscriptions open.",
    multiprocess_mode="livesum",
)

# Outcomes besides the audit trail's (graph.trail.Outcome), for requests refused before they
# ran: bounded, as the labels must be.
UNAUTHENTICATED = "UNAUTHENTICATED"
RATE_LIMITED = "RATE_LIMITED"
INVALID = "INVALID"
ERROR = "ERROR"
OK = "OK"


@dataclass
class Observation:
    """What the app learns of a request as it handles it: its operation and outcome."""

    operation: str = "unknown"
    outcome: str | None = None


_observed: ContextVar[Observation | None] = ContextVar("observation", default=None)


def observe(operation: str | None = None, outcome: str | None = None) -> None:
    """Notes the operation or outcome of the request being handled (nothing outside one)."""
    observation = _observed.get()
    if observation is None:
        return
    if operation is not None:
        observation.operation = operation
    if outcome is not None:
        observation.outcome = outcome


def operation_label(schema: GraphQLSchema, operation: str) -> str:
    """A bounded label for an operation described as service.api.admission names it
    ("query lineage,item"): its kind and its one top-level field, `KIND several` for more than
    one, `invalid` for a field the schema lacks or a kind it does not know."""
    kind, _, fields = operation.partition(" ")
    roots = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }
    root = roots.get(kind)
    named = [f for f in fields.split(",") if f and f != "__typename"]
    if root is None:
        return "invalid"
    if any(f not in root.fields and not f.startswith("__") for f in named):
        return "invalid"
    if not named:
        return f"{kind} __typename" if fields else "invalid"
    if len(set(named)) > 1:
        return f"{kind} several"
    return f"{kind} {named[0]}"


def _outcome_of(status: int) -> str:
    if status == 401:
        return UNAUTHENTICATED
    if status == 429:
        return RATE_LIMITED
    if status >= 500:
        return ERROR
    if status >= 400:
        return INVALID
    return OK


class Measured:
    """ASGI middleware: counts and times each GraphQL request over HTTP, by the operation and
    outcome the app notes (`observe`), or by its status when it noted none."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        observation = Observation()
        token = _observed.set(observation)
        status = 500
        start = time.perf_counter()

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            _observed.reset(token)
            seconds = time.perf_counter() - start
            outcome = observation.outcome or _outcome_of(status)
            if status >= 500:
                outcome = ERROR
            REQUESTS.labels(observation.operation, outcome).inc()
            LATENCY.labels(observation.operation).observe(seconds)
            log.info(
                "GraphQL 请求：%s，%s，%d 毫秒。",
                observation.operation,
                outcome,
                round(seconds * 1000),
                extra={
                    "fields": {
                        "operation": observation.operation,
                        "outcome": outcome,
                        "status": status,
                        "seconds": round(seconds, 6),
                    }
                },
            )


class _Generations(Collector):
    """The store's generations as a scrape read them: each cached table's count of writes, so
    a graph that changes shows it (graph.store.base.GraphReader.generations)."""

    def __init__(self, generations: Mapping[str, int]) -> None:
        self._generations = generations

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "lineage_store_generation",
            "The generation of each table the store keeps in memory: it moves with every "
            "write to it, by any replica.",
            labels=["table"],
        )
        for table, value in sorted(self._generations.items()):
            family.add_metric([table], value)
        yield family


def exposition(generations: Mapping[str, int] | None) -> bytes:
    """The metrics in Prometheus's text format: this process's, or with PROMETHEUS_MULTIPROC_DIR
    those of every process writing there, and the store's generations when read."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if generations is not None:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(_Generations(generations))
        text += generate_latest(extra)
    return text


def response(generations: Mapping[str, int] | None) -> Response:
    return Response(exposition(generations), media_type=CONTENT_TYPE_LATEST)


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class Guard:
    """Who may read /metrics: with a token configured, whoever sends it as a bearer token
    (from anywhere); without one, only a client on the loopback that is not a trusted proxy
    (a reverse proxy on the same machine passes on anyone's request from 127.0.0.1: list it in
    LINEAGE_TRUSTED_PROXIES, or set a token)."""

    def __init__(
        self, token: str | None, trusted: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
    ) -> None:
        self._token = token.encode() if token else None
        self._trusted = tuple(trusted)

    def refusal(self, request: Request) -> Response | None:
        """None if the request may read the metrics, otherwise the answer it gets."""
        if self._token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self._token
            ):
                return None
            return JSONResponse(
                {"error": "读取指标需要令牌（Authorization: Bearer，LINEAGE_METRICS_TOKEN）。"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="lineage-metrics"'},
            )
        if self._local(request):
            return None
        return JSONResponse(
            {
                "error": "未设置 LINEAGE_METRICS_TOKEN 时，指标只对本机（回环地址）开放；"
                "经代理或从其他主机读取，请设置该令牌。"
            },
            status_code=403,
        )

    def _local(self, request: Request) -> bool:
        client = request.scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        if any(address in network for network in self._trusted):
            return False
        return any(address in network for network in _LOOPBACK)
