"""Mutations for connections."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.connections.types import (
    ConnectionPayload,
    ConnectionType,
    CreateConnectionInput,
    DeleteConnectionInput,
    DeleteConnectionPayload,
)
from ontology.api.context import Context
from ontology.connections.models import NewConnection
from ontology.kit.ids import parse_global_id, to_global_id

Info = strawberry.Info[Context, None]


@strawberry.type
class ConnectionMutations:
    @strawberry.mutation(description="Connect two things of the group.")
    async def create_connection(
        self, info: Info, input: CreateConnectionInput
    ) -> ConnectionPayload:
        context = info.context
        new = NewConnection(
            from_id=parse_global_id(input.from_id, "Thing"),
            to_id=parse_global_id(input.to_id, "Thing"),
            type=input.type,
            metadata=input.metadata,
            strength=input.strength,
            valid_from=input.valid_from,
            valid_to=input.valid_to,
        )
        return await payload(
            context.services.connections.create(context.group_id, new),
            lambda doc: ConnectionPayload(connection=ConnectionType.from_doc(doc), errors=[]),
            lambda errors: ConnectionPayload(connection=None, errors=errors),
        )

    @strawberry.mutation(description="Remove a connection.")
    async def delete_connection(
        self, info: Info, input: DeleteConnectionInput
    ) -> DeleteConnectionPayload:
        context = info.context
        connection_id = parse_global_id(input.id, "Connection")
        return await payload(
            context.services.connections.delete(context.group_id, connection_id),
            lambda doc: DeleteConnectionPayload(
                deleted_id=strawberry.ID(to_global_id("Connection", doc["_id"])), errors=[]
            ),
            lambda errors: DeleteConnectionPayload(deleted_id=None, errors=errors),
        )
