"""The GraphQL operation's span and its resolvers' spans (``ontology.kit.tracing``).

``create_schema`` adds ``TracingExtension`` only while tracing is on: an
extension with a ``resolve`` hook wraps every field, so without tracing the
schema carries no such hook at all. With it, a field whose value is a plain
attribute (the default resolver) gets no span and costs one cached lookup;
a field with a resolver of its own gets a span, current while it runs, so the
MongoDB commands it sends are its children.

The operation span is named ``<type> <name>`` (``query Viewer``) and carries the
operation's name and type, the group, the request id and the error codes:
never the document, its variables or the key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from strawberry.extensions import SchemaExtension
from strawberry.resolvers import is_default_resolver

from ontology.kit.errors import RequestErrorCode

_FAILED = {RequestErrorCode.INTERNAL.value, RequestErrorCode.TIMEOUT.value}


class TracingExtension(SchemaExtension):
    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        # (parent type, field) -> whether the field has a resolver of its own
        self._traced: dict[tuple[str, str], bool] = {}

    def on_operation(self) -> Iterator[None]:
        span = self.tracer.start_span("graphql.operation")
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            self._finish(span)
            otel_context.detach(token)
            span.end()

    def _finish(self, span: Span) -> None:
        execution = self.execution_context
        name = execution.operation_name
        try:
            kind = execution.operation_type.value
        except Exception:  # the document did not parse
            kind = None
        span.update_name(" ".join(p for p in (kind, name) if p) or "graphql.operation")
        if name:
            span.set_attribute("graphql.operation.name", name)
        if kind:
            span.set_attribute("graphql.operation.type", kind)
        context = execution.context
        caller = getattr(context, "caller", None)
        if caller is not None:
            span.set_attribute("ontology.group_id", str(caller.group_id))
            slug = caller.group.get("slug")
            if isinstance(slug, str):
                span.set_attribute("ontology.group", slug)
        request_id = getattr(context, "request_id", "")
        if request_id:
            span.set_attribute("ontology.request_id", request_id)
        result = execution.result
        codes = sorted(
            {str((e.extensions or {}).get("code")) for e in (result.errors or [])}
            if result is not None
            else set()
        )
        if codes:
            span.set_attribute("ontology.error_codes", codes)
        if _FAILED.intersection(codes):
            span.set_status(Status(StatusCode.ERROR, ",".join(sorted(_FAILED.intersection(codes)))))

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        key = (info.parent_type.name, info.field_name)
        traced = self._traced.get(key)
        if traced is None:
            field = info.parent_type.fields.get(info.field_name)
            resolver = field.resolve if field is not None else None
            traced = not (
                resolver is None
                or is_default_resolver(resolver)
                or info.field_name.startswith("__")
                or info.parent_type.name.startswith("__")
            )
            self._traced[key] = traced
        if not traced:
            return _next(root, info, *args, **kwargs)
        span = self.tracer.start_span(
            f"{info.parent_type.name}.{info.field_name}",
            attributes={
                "graphql.field.name": info.field_name,
                "graphql.field.path": ".".join(str(p) for p in info.path.as_list()),
                "graphql.parent_type": info.parent_type.name,
            },
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = _next(root, info, *args, **kwargs)
        except BaseException as error:
            _failed(span, error)
            span.end()
            raise
        finally:
            otel_context.detach(token)
        if isawaitable(result):
            return _awaited(result, span)
        span.end()
        return result


async def _awaited(result: Awaitable[Any], span: Span) -> Any:
    """Await an async resolver with its span current, then end the span."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        return await result
    except BaseException as error:
        _failed(span, error)
        raise
    finally:
        otel_context.detach(token)
        span.end()


def _failed(span: Span, error: BaseException) -> None:
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
