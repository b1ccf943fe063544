"""OpenTelemetry traces of GraphQL requests, sent over OTLP/HTTP when an endpoint is configured
(LINEAGE_OTEL_ENDPOINT, or OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT): a span for each
operation, its parsing, validation and resolvers (strawberry's OpenTelemetryExtension).

The packages come with the `otel` extra (`pip install 'lineage[otel]'`) and are imported only
when an endpoint is configured; configured without them, the service does not start and says
what to install.

A span leaves the service for a collector whose readers are not the items' readers, so it
carries nothing a client wrote: not the query's text (strawberry records it by default; a
mutation's text holds titles), not the arguments of resolvers (titles, ids), not the
operation's name a client chose. Its name is the operation's kind and top-level field, and
it notes the request id (service.request_ids), which the log lines and the audit event carry
too."""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from graph.errors import InvalidValue
from service import request_ids

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from strawberry.extensions import SchemaExtension

# OpenTelemetry's own setting for the base URL of an OTLP/HTTP collector.
STANDARD = "OTEL_EXPORTER_OTLP_ENDPOINT"
MISSING = (
    "已配置 OpenTelemetry 端点（{setting}），但未安装 OpenTelemetry：请安装 otel 附加依赖"
    "（pip install 'lineage[otel]'），或取消该设置。"
)


def endpoint_of(configured: str | None) -> tuple[str, str] | None:
    """The collector's base URL and the setting that named it, or None when tracing is off."""
    if configured:
        return configured, "LINEAGE_OTEL_ENDPOINT"
    standard = os.environ.get(STANDARD)
    if standard:
        return standard, STANDARD
    return None


def provider(base: str, setting: str) -> TracerProvider:
    """A tracer provider that sends batches of spans to the collector at `base`
    (`base`/v1/traces); raises InvalidValue, saying what to install, without the packages."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise InvalidValue(setting, MISSING.format(setting=setting)) from error
    # The service's name, unless OTEL_SERVICE_NAME gives another.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "lineage"})
    chosen = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=base.rstrip("/") + "/v1/traces")
    chosen.add_span_processor(BatchSpanProcessor(exporter))
    return chosen


def extension(chosen: TracerProvider, label: Callable[[str], str]) -> Callable[[], SchemaExtension]:
    """strawberry's OpenTelemetryExtension on `chosen`, recording no client text; `label`
    names an operation as the metrics do (service.metrics.operation_label)."""
    from opentelemetry.trace import SpanKind
    from strawberry.extensions import LifecycleStep
    from strawberry.extensions.tracing import OpenTelemetryExtension

    from service.api.admission import operation_label

    class Traced(OpenTelemetryExtension):
        def on_operation(self) -> Generator[None, None, None]:
            span = self._tracer.start_span("GraphQL", kind=SpanKind.SERVER)
            span.set_attribute("component", "graphql")
            request_id = request_ids.current()
            if request_id:
                span.set_attribute("lineage.request_id", request_id)
            self._span_holder[LifecycleStep.OPERATION] = span
            yield
            document = self.execution_context.graphql_document
            if document is not None:
                named = operation_label(document, self.execution_context.operation_name)
                span.update_name(f"GraphQL {label(named)}")
            span.end()

    def made() -> SchemaExtension:
        # No resolver's arguments on its span: they hold titles, ids, reasons.
        return Traced(arg_filter=lambda arguments, info: {}, tracer_provider=chosen)

    return made
