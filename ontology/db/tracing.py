"""A client span per MongoDB command, when tracing is on (``ontology.kit.tracing``).

PyMongo calls a command listener synchronously in the task that sends the
command, so each span is a child of the span current there (a resolver's, the
operation's, a job's). Spans name the command, the collection and the database:
never the command's filter, documents or the server's error message (which may
quote key values), only its error code name.
"""

from __future__ import annotations

from typing import Any

from pymongo import monitoring

from ontology.kit import tracing


class TracingCommandListener(monitoring.CommandListener):
    def __init__(self) -> None:
        # (connection, request id) -> the command's open span
        self._spans: dict[tuple[Any, int], Any] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        tracer = tracing.tracer()
        if tracer is None:
            return
        from opentelemetry.trace import SpanKind

        name = event.command_name
        target = event.command.get(name)
        collection = target if isinstance(target, str) else event.command.get("collection")
        attributes: dict[str, Any] = {
            "db.system": "mongodb",
            "db.system.name": "mongodb",
            "db.operation.name": name,
            "db.namespace": event.database_name,
        }
        if isinstance(collection, str):
            attributes["db.collection.name"] = collection
        host, port = event.connection_id
        attributes["server.address"] = str(host)
        if port is not None:
            attributes["server.port"] = int(port)
        span_name = f"{name} {collection}" if isinstance(collection, str) else name
        self._spans[(event.connection_id, event.request_id)] = tracer.start_span(
            span_name, kind=SpanKind.CLIENT, attributes=attributes
        )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        span = self._spans.pop((event.connection_id, event.request_id), None)
        if span is not None:
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        span = self._spans.pop((event.connection_id, event.request_id), None)
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        code = event.failure.get("codeName") or event.failure.get("code") or "failed"
        span.set_attribute("db.response.status_code", str(event.failure.get("code", "")))
        span.set_status(Status(StatusCode.ERROR, str(code)))
        span.end()
