"""Schema extensions: per-operation cost accounting and logging, error shaping.

Every operation runs with a fresh ``CommandCost`` in a context variable: the
PyMongo command listener counts the commands it causes. One JSON log line per
operation carries the figures; in development they are also returned as
``extensions.cost``.

Errors: ``ClientError``s (bad arguments, authorization) keep their message and
gain ``extensions.code``; GraphQL's own validation errors pass unchanged; a
database deadline that passed (``ontology.db.deadline.is_timeout``) becomes
``TIMEOUT`` with a fixed message; any other exception is a bug: it is logged
with the request id and the client sees only "Unexpected error." with that id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from ontology.api.operations import selected, selected_operation
from ontology.api.selection import SelectedField
from ontology.db.cost import CommandCost, current_cost
from ontology.db.deadline import is_timeout
from ontology.kit.clock import utcnow
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.ledger.ledger import QuotaExceededError
from ontology.ledger.periods import next_month_start, seconds_until
from ontology.ledger.plans import Metric

log = logging.getLogger("ontology.graphql")

UNEXPECTED_MESSAGE = "Unexpected error."
TIMEOUT_MESSAGE = "The database did not answer in time. Try again later."
TIMEOUT = RequestErrorCode.TIMEOUT.value
GRAPHQL_PARSE_FAILED = RequestErrorCode.GRAPHQL_PARSE_FAILED.value
GRAPHQL_VALIDATION_FAILED = RequestErrorCode.GRAPHQL_VALIDATION_FAILED.value


SUGGESTION = "Did you mean "
# Messages of GraphQL's own errors echo the client's literals (a 1 MB string in an
# Int argument comes back whole): longer ones are cut, so a response stays small.
MAX_MESSAGE_CHARS = 1000


def without_suggestions(message: str) -> str:
    """``message`` without graphql-core's "Did you mean 'x'?" sentences.

    Linear in the message's length: a message may echo a client's literal of
    megabytes (a regex with a leading ``\\s*`` was quadratic on long runs of spaces).
    graphql-core already hides suggestions where it is told to; this catches the rest.
    """
    parts: list[str] = []
    start = 0
    while (found := message.find(SUGGESTION, start)) != -1:
        end = message.find("?", found)
        if end == -1:
            break
        parts.append(message[start:found].rstrip())
        start = end + 1
    parts.append(message[start:])
    return "".join(parts)


def bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 1] + "…"


class ErrorExtension(SchemaExtension):
    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions

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
            error.message = bounded(error.message)
            error.extensions = {**(error.extensions or {}), "code": original.code}
            return error
        if original is None or isinstance(original, GraphQLError):
            # GraphQL's own errors: syntax, validation, limits. Clients need them.
            return self._coded(error)
        if error.path is None and (error.extensions or {}).get("code"):
            # variable coercion, coded while validating: carries the scalar's exception
            return self._coded(error)
        if is_timeout(original):
            # Expected under load or when the database is stuck: no traceback, and the
            # driver's message (hosts, timings) stays in the log.
            log.warning(
                "database deadline passed",
                extra={"requestId": request_id, "path": error.path, "error": str(original)},
            )
            return GraphQLError(
                TIMEOUT_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": TIMEOUT, "requestId": request_id},
            )
        log.error(
            "unexpected error",
            exc_info=(type(original), original, original.__traceback__),
            extra={"requestId": request_id, "path": error.path},
        )
        return GraphQLError(
            UNEXPECTED_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": RequestErrorCode.INTERNAL.value, "requestId": request_id},
        )

    def _coded(self, error: GraphQLError) -> GraphQLError:
        message = without_suggestions(error.message) if self.hide_suggestions else error.message
        error.message = bounded(message)
        if not (error.extensions or {}).get("code"):
            parsed = self.execution_context.graphql_document is not None
            code = GRAPHQL_VALIDATION_FAILED if parsed else GRAPHQL_PARSE_FAILED
            error.extensions = {**(error.extensions or {}), "code": code}
        return error


class CostExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        cost = CommandCost()
        token = current_cost.set(cost)
        self._cost = cost
        try:
            yield
        finally:
            current_cost.reset(token)
            self._record(cost)

    def _record(self, cost: CommandCost) -> None:
        """One log line and the Prometheus figures for the operation."""
        context = self.execution_context.context
        result = self.execution_context.result
        errors = result.errors if result is not None else None
        codes = {(e.extensions or {}).get("code") for e in errors or []}
        if RequestErrorCode.INTERNAL.value in codes:
            outcome = "error"
        elif TIMEOUT in codes:
            outcome = "timeout"
        else:
            outcome = "rejected" if errors else "ok"
        caller = getattr(context, "caller", None)
        duration_ms = round(cost.elapsed_ms, 2)
        log.info(
            "operation",
            extra={
                "requestId": getattr(context, "request_id", ""),
                "group": str(caller.group_id) if caller else None,
                "operation": self.execution_context.operation_name,
                "outcome": outcome,
                "durationMs": duration_ms,
                "dbCommands": cost.commands,
                "documentsRead": cost.documents_read,
            },
        )
        runtime = getattr(context, "runtime", None)
        if runtime is not None:
            runtime.metrics.record_operation(
                self.execution_context.operation_name, outcome, duration_ms / 1000, cost.commands
            )

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        runtime = getattr(context, "runtime", None)
        if runtime is None or runtime.settings.is_production:
            return {}
        cost = getattr(self, "_cost", None)
        return {"cost": cost.as_extension()} if cost is not None else {}


# What a client may still read over its API-call quota, to see why: who it is, its
# group's plan and counts, and the quota queries. Anything else (a thing, through
# any path) is refused; by field coordinate, or by type for the quota reports.
QUOTA_EXEMPT_FIELDS = frozenset(
    {
        "Query.viewer",
        "Viewer.role",
        "Viewer.group",
        "Group.id",
        "Group.slug",
        "Group.name",
        "Group.type",
        "Group.plan",
        "Group.status",
        "Group.createdAt",
        "Group.counts",
        "Query.groupQuotas",
        "Query.quotaStatus",
        "Query.checkCanCreateEntities",
        "Query.checkCanStore",
        "Query.upgradePricing",
    }
)
QUOTA_EXEMPT_TYPES = frozenset(
    {
        "GroupCounts",
        "GroupQuotas",
        "QuotaUsage",
        "QuotaSummary",
        "QuotaStatusReport",
        "EntityCheck",
        "StorageCheck",
        "PlanLimit",
        "PlanPricing",
        "UpgradePricing",
        "UpgradeOption",
    }
)


def quota_exempt(fields: Iterable[SelectedField]) -> bool:
    return all(
        field.coordinate in QUOTA_EXEMPT_FIELDS or field.parent.name in QUOTA_EXEMPT_TYPES
        for field in fields
    )


class ApiCallQuotaExtension(SchemaExtension):
    """Count each operation against ``api_calls_per_month``; past the limit, HTTP 429.

    The count is buffered in the process (see ``ApiCallMeter``); reading the
    stored value the first time a process sees a group in a month is the
    meter's bookkeeping, so it is not counted in the operation's cost.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        caller = getattr(context, "caller", None)
        if caller is None or self.execution_context.result is not None:
            # no caller, or refused by an earlier extension: not an API call
            yield
            return
        quotas = context.services.quotas
        limit = quotas.book.limit(caller.group, Metric.API_CALLS_PER_MONTH)
        if limit is not None and not self._exempt():
            token = current_cost.set(None)
            try:
                used = await quotas.meter.current(caller.group_id)
            except Exception as error:
                # Raised from a hook, it would skip ErrorExtension (strawberry returns it
                # unmasked) and leave the hooks entered before this one open; as the
                # operation's error it is shaped like any other (TIMEOUT, or masked).
                self.execution_context.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(str(error), original_error=error)]
                )
                yield
                return
            finally:
                current_cost.reset(token)
            if used >= limit:
                await self._refuse(context, caller.group_id, used, limit)
                yield
                return
        quotas.meter.record(caller.group_id)
        yield

    def _exempt(self) -> bool:
        if selected_operation(self.execution_context) is None:
            return False
        return quota_exempt(selected(self.execution_context))

    async def _refuse(self, context: Any, group_id: Any, used: int, limit: int) -> None:
        now = utcnow()
        retry_after = seconds_until(next_month_start(now), now)
        refused = QuotaExceededError(Metric.API_CALLS_PER_MONTH, used, 1, limit)
        await context.services.ledger.record_refusal(group_id, refused)
        if context.response is not None:
            context.response.status_code = 429
            context.response.headers["Retry-After"] = str(retry_after)
        self.execution_context.result = GraphQLExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"API call quota exceeded: {used} of {limit} calls used this month. "
                    f"Retry after {retry_after} s (the next period), or upgrade the plan.",
                    extensions={
                        "code": RequestErrorCode.QUOTA_EXCEEDED.value,
                        "metric": Metric.API_CALLS_PER_MONTH.value,
                        "current": used,
                        "limit": limit,
                        "retryAfter": retry_after,
                    },
                )
            ],
        )
