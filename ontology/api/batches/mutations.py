"""Batch mutations (org_user and above)."""

from __future__ import annotations

import strawberry

from ontology.api.batches.types import (
    BatchCreateConnectionsInput,
    BatchInsertThingsInput,
    BatchPayload,
    BatchUpdateThingsInput,
)
from ontology.api.context import Context
from ontology.batches.models import ErrorPolicy
from ontology.batches.service import ThingUpdate
from ontology.connections.models import NewConnection
from ontology.kit.ids import parse_global_id
from ontology.kit.turns import in_turns
from ontology.things.models import NewThing, ThingChanges

Info = strawberry.Info[Context, None]


@strawberry.type
class BatchMutations:
    @strawberry.mutation(description="Create up to 10,000 things in one transaction.")
    async def batch_insert_things(self, info: Info, input: BatchInsertThingsInput) -> BatchPayload:
        context = info.context
        items = [
            NewThing(type=t.type, name=t.name, properties=t.properties, status=t.status)
            async for t in in_turns(input.things)
        ]
        result = await context.services.batches.insert_things(
            context.group_id, items, ErrorPolicy(input.error_policy), input.idempotency_key
        )
        return await BatchPayload.of(result, len(items))

    @strawberry.mutation(description="Create up to 10,000 connections in one transaction.")
    async def batch_create_connections(
        self, info: Info, input: BatchCreateConnectionsInput
    ) -> BatchPayload:
        context = info.context
        items = [
            NewConnection(
                from_id=parse_global_id(c.from_id, "Thing"),
                to_id=parse_global_id(c.to_id, "Thing"),
                type=c.type,
                metadata=c.metadata,
                strength=c.strength,
                valid_from=c.valid_from,
                valid_to=c.valid_to,
            )
            async for c in in_turns(input.connections)
        ]
        result = await context.services.batches.create_connections(
            context.group_id, items, ErrorPolicy(input.error_policy), input.idempotency_key
        )
        return await BatchPayload.of(result, len(items))

    @strawberry.mutation(
        description="Update up to 10,000 things; one thing_updated event per real change."
    )
    async def batch_update_things(self, info: Info, input: BatchUpdateThingsInput) -> BatchPayload:
        context = info.context
        items = [
            ThingUpdate(
                thing_id=parse_global_id(u.id, "Thing"),
                changes=ThingChanges(
                    name=u.name,
                    properties=u.properties,
                    status=u.status,
                    expected_version=u.expected_version,
                ),
            )
            async for u in in_turns(input.updates)
        ]
        result = await context.services.batches.update_things(
            context.group_id, items, ErrorPolicy(input.error_policy), input.idempotency_key
        )
        return await BatchPayload.of(result, len(items))
