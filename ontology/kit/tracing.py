"""OpenTelemetry traces: off unless the ``otel`` extra is installed and ``OTEL_*`` asks.

``configure_from_env()`` (called by ``create_app`` and ``ontology scheduler``) turns
tracing on when ``OTEL_TRACES_EXPORTER`` names an exporter (``console`` prints each
span as it ends; ``otlp`` needs ``opentelemetry-exporter-otlp-proto-http`` or
``-grpc`` installed) and ``OTEL_SDK_DISABLED`` is not ``true``; the SDK reads the
other standard variables itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_*``, ``OTEL_PROPAGATORS``). Until
then ``tracer()`` is None, every hook below returns at once, and nothing of
OpenTelemetry is imported.

One trace per request: ``TracingMiddleware`` (``ontology.api.http_tracing``) opens
the HTTP server span (the parent given by a W3C ``traceparent`` header, if any),
``TracingExtension``
(``ontology.api.tracing``) the GraphQL operation's span and one per non-trivial
resolver, ``TracingCommandListener`` (``ontology.db.tracing``) one per MongoDB
command, and ``instrument_s3`` one per S3 call. Spans carry the operation's name
and type, the group, the request id, command and collection names, the bucket:
never variables, documents, filters, object keys or API keys. ``trace_ids()``
gives the JSON log lines their ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger("ontology.tracing")

INSTRUMENTATION = "ontology"
_tracer: Tracer | None = None
_configured = False
# routes by path; anything else is named by its method alone (bounded span names)


class TracingUnavailable(RuntimeError):
    """OTEL_* asks for traces this installation cannot produce."""


def tracer() -> Tracer | None:
    """The tracer while tracing is on, else None."""
    return _tracer


def install(provider: TracerProvider) -> None:
    """Trace into ``provider`` from now on (tests give one with an in-memory exporter)."""
    global _tracer
    _tracer = provider.get_tracer(INSTRUMENTATION)


def uninstall() -> None:
    global _tracer
    _tracer = None


def configure_from_env() -> bool:
    """Turn tracing on if ``OTEL_TRACES_EXPORTER`` asks for it (once per process)."""
    global _configured
    if _configured:
        return _tracer is not None
    _configured = True
    names = [n.strip() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n and n != "none"]
    if not names or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError:
        raise TracingUnavailable(
            "OTEL_TRACES_EXPORTER is set but OpenTelemetry is not installed: "
            "pip install 'ontology[otel]' (or unset OTEL_TRACES_EXPORTER)."
        ) from None
    defaults = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "ontology"}
    provider = TracerProvider(resource=Resource.create(defaults))
    for name in names:
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        else:
            raise TracingUnavailable(
                f"OTEL_TRACES_EXPORTER={name} is not supported here: use console, otlp or none."
            )
    trace.set_tracer_provider(provider)
    install(provider)
    log.info("tracing on", extra={"exporters": names})
    return True


def _otlp_exporter() -> Any:
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    package = "grpc" if protocol == "grpc" else "http"
    try:
        module = importlib.import_module(
            f"opentelemetry.exporter.otlp.proto.{package}.trace_exporter"
        )
    except ImportError:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-{package}: "
            "pip install it beside the otel extra."
        ) from None
    return module.OTLPSpanExporter()


def trace_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids (hex), if a span is recording."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)


def instrument_s3(client: Any) -> None:
    """A client span per S3 call (each page of a listing too), via botocore's events."""
    events = client.meta.events
    events.register("before-call.s3", _s3_started)
    events.register("after-call.s3", _s3_succeeded)
    events.register("after-call-error.s3", _s3_failed)


_S3_SPAN = "ontology.span"


def _s3_started(model: Any, params: Any, context: dict[str, Any], **_: Any) -> None:
    tracer = _tracer
    if tracer is None:
        return
    from opentelemetry.trace import SpanKind

    attributes: dict[str, Any] = {
        "rpc.system": "aws-api",
        "rpc.service": "S3",
        "rpc.method": model.name,
    }
    bucket = (context.get("input_params") or {}).get("Bucket")
    if isinstance(bucket, str):
        attributes["aws.s3.bucket"] = bucket
    context[_S3_SPAN] = tracer.start_span(
        f"S3.{model.name}", kind=SpanKind.CLIENT, attributes=attributes
    )


def _s3_succeeded(http_response: Any, context: dict[str, Any], **_: Any) -> None:
    span = context.pop(_S3_SPAN, None)
    if span is None:
        return
    status = int(getattr(http_response, "status_code", 0))
    span.set_attribute("http.response.status_code", status)
    if status >= 400:
        from opentelemetry.trace import Status, StatusCode

        # 404 of a head and 412 of a create-only put are answers, yet not successes
        span.set_status(Status(StatusCode.ERROR, str(status)))
    span.end()


def _s3_failed(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
    span = context.pop(_S3_SPAN, None)
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
    span.end()
