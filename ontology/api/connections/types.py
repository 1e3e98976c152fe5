"""GraphQL types for connections."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from ontology.api.base import Node, UserError, direct_input
from ontology.api.context import Context
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.connections.documents import ConnectionDocument
from ontology.kit.ids import to_global_id

if TYPE_CHECKING:
    from ontology.api.things.types import ThingType

Info = strawberry.Info[Context, None]
LazyThing = Annotated["ThingType", strawberry.lazy("ontology.api.things.types")]


@strawberry.type(name="Connection", description="A typed relationship from one thing to another.")
class ConnectionType(Node):
    doc: strawberry.Private[ConnectionDocument]
    type: str
    metadata: JSON
    strength: float | None
    valid_from: datetime | None
    valid_to: datetime | None
    created_at: datetime
    from_id: strawberry.ID
    to_id: strawberry.ID

    @classmethod
    def from_doc(cls, doc: ConnectionDocument) -> ConnectionType:
        return cls(
            id=strawberry.ID(to_global_id("Connection", doc["_id"])),
            doc=doc,
            type=doc["type"],
            metadata=JSON(doc.get("metadata") or {}),
            strength=doc.get("strength"),
            valid_from=doc.get("validFrom"),
            valid_to=doc.get("validTo"),
            created_at=doc["createdAt"],
            from_id=strawberry.ID(to_global_id("Thing", doc["fromId"])),
            to_id=strawberry.ID(to_global_id("Thing", doc["toId"])),
        )

    @strawberry.field(name="from")
    async def from_thing(self, info: Info) -> LazyThing | None:
        from ontology.api.things.types import ThingType

        doc = await info.context.loaders.get(ThingsByIdLoader).load(self.doc["fromId"])
        return ThingType.from_doc(doc) if doc else None

    @strawberry.field(name="to")
    async def to_thing(self, info: Info) -> LazyThing | None:
        from ontology.api.things.types import ThingType

        doc = await info.context.loaders.get(ThingsByIdLoader).load(self.doc["toId"])
        return ThingType.from_doc(doc) if doc else None


@direct_input
@strawberry.input
class CreateConnectionInput:
    from_id: strawberry.ID
    to_id: strawberry.ID
    type: str
    metadata: JSON = strawberry.field(default_factory=dict)
    strength: float | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


@strawberry.input
class DeleteConnectionInput:
    id: strawberry.ID


@strawberry.type
class ConnectionPayload:
    connection: ConnectionType | None
    errors: list[UserError]


@strawberry.type
class DeleteConnectionPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]
