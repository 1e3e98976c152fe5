"""Schema extensions: per-operation cost accounting and logging, error masking.

Every operation runs inside ``track_cost``: the PyMongo command listener counts
the commands it causes. One JSON log line per operation carries the same
figures; in development they are also returned as ``extensions.cost``.
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


def should_mask_error(error: GraphQLError) -> bool:
    """Mask everything but expected client errors and GraphQL's own validation errors."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, ClientError)


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
        unexpected = [e for e in errors or [] if should_mask_error(e)]
        for error in unexpected:
            log.error(
                "unexpected error",
                exc_info=error.original_error,
                extra={"requestId": getattr(context, "request_id", "")},
            )
        caller = getattr(context, "caller", None)
        log.info(
            "operation",
            extra={
                "requestId": getattr(context, "request_id", ""),
                "group": str(caller.group_id) if caller else None,
                "operation": self.execution_context.operation_name,
                "outcome": "error" if unexpected else ("partial" if errors else "ok"),
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
