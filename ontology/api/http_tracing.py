"""The server span of each HTTP request (``ontology.kit.tracing``), child of the caller's
W3C ``traceparent``; named by route, never by the full path."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ontology.kit import tracing

_ROUTES = frozenset({"/graphql", "/healthz", "/readyz", "/metrics"})


def route_of(path: str) -> str | None:
    if path in _ROUTES:
        return path
    if path.startswith("/graphiql/"):
        return "/graphiql/{path}"
    return None


class TracingMiddleware:
    """One server span per HTTP request, child of the caller's ``traceparent``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = tracing.tracer()
        if tracer is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import context, propagate, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            carrier[name] = f"{carrier[name]},{value}" if name in carrier else value
        parent = propagate.extract(carrier)
        method = scope.get("method", "GET")
        route = route_of(scope.get("path", ""))
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
        }
        if route is not None:
            attributes["http.route"] = route
        span = tracer.start_span(
            f"{method} {route}" if route else method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        token = context.attach(trace.set_span_in_context(span, parent))

        async def traced_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                span.set_attribute("http.response.status_code", status)
                for raw_name, raw_value in message.get("headers", []):
                    if raw_name.lower() == b"x-request-id":
                        span.set_attribute("ontology.request_id", raw_value.decode("latin-1"))
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        try:
            await self.app(scope, receive, traced_send)
        except BaseException as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            context.detach(token)
            span.end()
