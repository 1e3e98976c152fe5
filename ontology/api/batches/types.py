"""GraphQL types for batch mutations."""

from __future__ import annotations

import strawberry

from ontology.api.base import UserError, direct_input
from ontology.api.connections.types import CreateConnectionInput
from ontology.api.things.types import CreateThingInput, UpdateThingInput
from ontology.batches.models import BatchResult, ErrorPolicy, ItemStatus
from ontology.kit.turns import in_turns

ErrorPolicyEnum = strawberry.enum(
    ErrorPolicy,
    name="ErrorPolicy",
    description="REJECT_EVERYTHING: any invalid item, nothing written. "
    "REJECT_FAILED_ROWS: valid items written, failures reported by index.",
)
BatchItemStatus = strawberry.enum(ItemStatus, name="BatchItemStatus")


@strawberry.type
class BatchItemResult:
    index: int
    id: strawberry.ID | None
    status: BatchItemStatus  # type: ignore[valid-type]
    errors: list[UserError]


@strawberry.type
class BatchSummary:
    total: int
    succeeded: int
    failed: int
    success_rate: float = strawberry.field(description="succeeded / total, 0 to 1")


@strawberry.type(description="Results in input order, every error, and the batch's event.")
class BatchPayload:
    results: list[BatchItemResult]
    errors: list[UserError]
    summary: BatchSummary
    batch_event_id: strawberry.ID | None

    @classmethod
    async def of(cls, result: BatchResult, total: int) -> BatchPayload:
        """The payload of ``result``, built in turns (``ontology.kit.turns``)."""
        succeeded = result.succeeded
        return cls(
            results=[
                BatchItemResult(
                    index=r.index,
                    id=strawberry.ID(r.id) if r.id else None,
                    status=r.status,
                    errors=UserError.from_items(r.errors),
                )
                async for r in in_turns(result.results)
            ],
            errors=[UserError.from_item(e) async for e in in_turns(result.errors)],
            summary=BatchSummary(
                total=total,
                succeeded=succeeded,
                failed=result.failed,
                success_rate=round(succeeded / total, 4) if total else 0.0,
            ),
            batch_event_id=strawberry.ID(result.batch_event_id) if result.batch_event_id else None,
        )


@direct_input
@strawberry.input
class BatchInsertThingsInput:
    things: list[CreateThingInput]
    error_policy: ErrorPolicyEnum = ErrorPolicy.REJECT_EVERYTHING  # type: ignore[valid-type]
    idempotency_key: str | None = strawberry.field(
        default=None, description="Same key + same request: the stored result, nothing written."
    )


@direct_input
@strawberry.input
class BatchCreateConnectionsInput:
    connections: list[CreateConnectionInput]
    error_policy: ErrorPolicyEnum = ErrorPolicy.REJECT_EVERYTHING  # type: ignore[valid-type]
    idempotency_key: str | None = None


@direct_input
@strawberry.input
class BatchUpdateThingsInput:
    updates: list[UpdateThingInput]
    error_policy: ErrorPolicyEnum = ErrorPolicy.REJECT_EVERYTHING  # type: ignore[valid-type]
    idempotency_key: str | None = None
