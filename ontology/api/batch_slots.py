"""At most ``ONTOLOGY_BATCH_CONCURRENCY_PER_GROUP`` batch mutations of a group at once.

A batch holds its group's writes for seconds (they are serialized per group,
see ``Database.in_transaction``) and a worker for as long, so a tenant that
fires batches in parallel would only queue them behind each other while
holding the process's capacity. One too many is refused at once, before
anything runs, with HTTP 429, ``Retry-After: 1`` and the top-level code
``RATE_LIMITED`` (``extensions.scope = "batch"``): the same code and the same
retry as a request over its rate, so a client needs one retry path. A
refused operation is not counted as an API call. Slots are per process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from ontology.api.operations import runs_batch
from ontology.api.rate_limits import RateScope
from ontology.keys.models import Caller
from ontology.kit.errors import RequestErrorCode

RETRY_AFTER_SECONDS = 1


class BatchConcurrencyExtension(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context: Any = self.execution_context.context
        caller: Caller | None = getattr(context, "caller", None)
        slots = context.runtime.batch_slots if caller is not None else None
        if caller is None or slots is None or not runs_batch(self.execution_context):
            yield
            return
        group_id = caller.group_id
        if not slots.try_acquire(group_id):
            self._refuse(context, slots.limit)
            yield
            return
        try:
            yield
        finally:
            slots.release(group_id)

    def _refuse(self, context: Any, limit: int) -> None:
        context.runtime.metrics.rate_limited.labels(RateScope.BATCH.value).inc()
        if context.response is not None:
            context.response.status_code = 429
            context.response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        running = "1 batch mutation" if limit == 1 else f"{limit} batch mutations"
        self.execution_context.result = GraphQLExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"This group already runs {running}, the most it may run at once. "
                    f"Retry after {RETRY_AFTER_SECONDS} s.",
                    extensions={
                        "code": RequestErrorCode.RATE_LIMITED.value,
                        "scope": RateScope.BATCH.value,
                        "limit": limit,
                        "retryAfter": RETRY_AFTER_SECONDS,
                    },
                )
            ],
        )
