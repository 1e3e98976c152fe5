"""Schema extensions: per-operation cost accounting and logging, error shaping.

Every operation runs with a fresh ``CommandCost`` in a context variable: the
PyMongo command listener counts the commands it causes. One JSON log line per
operation carries the figures; in development they are also returned as
``extensions.cost``.

Errors: ``ClientError``s (bad arguments, authorization) keep their message and
gain ``extensions.code``; GraphQL's own validation errors pass unchanged; any
other exception is a bug: it is logged with the request id and the client sees
only "Unexpected error." with that id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import GraphQLError
from ontology.db.cost import CommandCost, current_cost
from ontology.kit.errors import ClientError

log = logging.getLogger("ontology.graphql")

UNEXPECTED_MESSAGE = "Unexpected error."


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)


class ErrorExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        request_id = getattr(self.execution_context.context, "request_id", "")
        result.errors = [self._shape(error, request_id) for error in result.errors]

    def _shape(self, error: GraphQLError, request_id: str) -> GraphQLError:
        original = error.original_error
        if isinstance(original, ClientError):
            error.extensions = {**(error.extensions or {}), "code": original.code}
            return error
        if original is None:
            return error
        log.error(
            "unexpected error",
            exc_info=(type(original), original, original.__traceback__),
            extra={"requestId": request_id, "path": error.path},
        )
        return GraphQLError(
            UNEXPECTED_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )


class CostExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        cost = CommandCost()
        token = current_cost.set(cost)
        self._cost = cost
        try:
            yield
        finally:
            current_cost.reset(token)
            self._log(cost)

    def _log(self, cost: CommandCost) -> None:
        context = self.execution_context.context
        result = self.execution_context.result
        errors = result.errors if result is not None else None
        unexpected = any(e.message == UNEXPECTED_MESSAGE for e in errors or [])
        caller = getattr(context, "caller", None)
        log.info(
            "operation",
            extra={
                "requestId": getattr(context, "request_id", ""),
                "group": str(caller.group_id) if caller else None,
                "operation": self.execution_context.operation_name,
                "outcome": "error" if unexpected else ("rejected" if errors else "ok"),
                **cost.as_extension(),
            },
        )

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        runtime = getattr(context, "runtime", None)
        if runtime is None or runtime.settings.is_production:
            return {}
        cost = getattr(self, "_cost", None)
        return {"cost": cost.as_extension()} if cost is not None else {}
