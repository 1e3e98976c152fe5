"""GraphQL types for things. Types never query: relations go through loaders."""

from __future__ import annotations

from datetime import datetime

import strawberry
from bson import ObjectId
from strawberry.scalars import JSON

from ontology.api.base import (
    Connection,
    Direction,
    Node,
    PageInfo,
    UserError,
    direct_input,
    page_info,
)
from ontology.api.connections.loaders import ConnectionsByThingLoader, ThingConnectionsKey
from ontology.api.connections.types import ConnectionType
from ontology.api.context import Context
from ontology.api.events.loaders import ActivityByThingLoader
from ontology.api.events.types import EventType
from ontology.api.knowledge.loaders import KnowledgeByThingLoader
from ontology.api.knowledge.types import KnowledgeType
from ontology.api.metrics.loaders import ThingTotalsByIdLoader
from ontology.api.metrics.types import CreatorStats
from ontology.kit.clock import utcnow
from ontology.kit.ids import to_global_id
from ontology.things.documents import (
    DirectionCounts,
    NewestConnection,
    NewestKeys,
    ThingDocument,
)

Info = strawberry.Info[Context, None]


@strawberry.type
class ConnectionTypeCount:
    type: str
    inbound: int
    outbound: int

    @strawberry.field(description="inbound + outbound")
    def count(self) -> int:
        return self.inbound + self.outbound


@strawberry.type
class ThingConnectionCounts:
    inbound: int
    outbound: int
    by_type: list[ConnectionTypeCount]


@strawberry.type(description="A connection of a thing, with the thing at its other end.")
class RelatedThingEdge:
    cursor: str
    direction: Direction
    connection: ConnectionType
    node: ThingType | None = strawberry.field(
        description="The thing at the other end (fetched with the page, in the same command)."
    )


@strawberry.type
class RelatedThingConnection:
    edges: list[RelatedThingEdge]
    page_info: PageInfo
    total_count: int | None = strawberry.field(description="From the thing's counters.")


@strawberry.type(name="Thing", description="A typed entity of a group.")
class ThingType(Node):
    doc: strawberry.Private[ThingDocument]
    type: str
    name: str
    properties: JSON
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_doc(cls, doc: ThingDocument) -> ThingType:
        return cls(
            id=strawberry.ID(to_global_id("Thing", doc["_id"])),
            doc=doc,
            type=doc["type"],
            name=doc["name"],
            properties=doc["properties"],
            status=doc["status"],
            version=doc["version"],
            created_at=doc["createdAt"],
            updated_at=doc["updatedAt"],
        )

    @strawberry.field(description="Denormalized counts of this thing's connections.")
    def connection_counts(self) -> ThingConnectionCounts:
        counts = self.doc.get("connectionCounts") or {}
        by_type = counts.get("byType") or {}
        return ThingConnectionCounts(
            inbound=counts.get("inbound", 0),
            outbound=counts.get("outbound", 0),
            by_type=[
                ConnectionTypeCount(
                    type=name, inbound=c.get("inbound", 0), outbound=c.get("outbound", 0)
                )
                for name, c in sorted(by_type.items())
                if c.get("inbound", 0) or c.get("outbound", 0)
            ],
        )

    def _newest_connection(
        self, direction: Direction, connection_type: str | None
    ) -> ObjectId | None:
        """The newest connection id written in ``direction`` (of a type), if recorded."""
        recorded: NewestConnection = self.doc.get("newestConnection") or {}
        newest: NewestKeys = recorded
        if connection_type:
            newest = (recorded.get("byType") or {}).get(connection_type) or {}
        if direction is Direction.INBOUND:
            return newest.get("inbound")
        return newest.get("outbound") if direction is Direction.OUTBOUND else None

    def _total_connections(self, direction: Direction, connection_type: str | None) -> int:
        counts = self.doc.get("connectionCounts")
        if counts is None:
            return 0
        source: DirectionCounts = (
            (counts.get("byType") or {}).get(connection_type, {})
            if connection_type
            else {"inbound": counts.get("inbound", 0), "outbound": counts.get("outbound", 0)}
        )
        inbound, outbound = int(source.get("inbound", 0)), int(source.get("outbound", 0))
        if direction is Direction.BOTH:
            return inbound + outbound
        return inbound if direction is Direction.INBOUND else outbound

    @strawberry.field(description="This thing's connections, newest first, with related things.")
    async def connections(
        self,
        info: Info,
        direction: Direction = Direction.BOTH,
        type: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> RelatedThingConnection:
        context = info.context
        page = context.page(first, after, last, before)
        key = ThingConnectionsKey(
            self.doc["_id"],
            direction.value,
            type,
            page,
            outbound=self._total_connections(Direction.OUTBOUND, type),
            inbound=self._total_connections(Direction.INBOUND, type),
            newest_outbound=self._newest_connection(Direction.OUTBOUND, type),
            newest_inbound=self._newest_connection(Direction.INBOUND, type),
        )
        result = await context.loaders.get(ConnectionsByThingLoader).load(key)
        own_id = self.doc["_id"]
        edges = [
            RelatedThingEdge(
                cursor=cursor,
                direction=Direction.OUTBOUND if c["fromId"] == own_id else Direction.INBOUND,
                connection=ConnectionType.from_doc(c),
                node=ThingType.from_doc(other) if (other := c["_other"]) else None,
            )
            for c, cursor in zip(result.items, result.cursors, strict=True)
        ]
        return RelatedThingConnection(
            edges=edges,
            page_info=page_info(result),
            total_count=self._total_connections(direction, type),
        )

    @strawberry.field(
        description="Metrics of this thing as an actor (meant for creators): revenue, "
        "followers, content, events. One command for every thing of a page."
    )
    async def stats(self, info: Info) -> CreatorStats:
        totals = await info.context.loaders.get(ThingTotalsByIdLoader).load(self.doc["_id"])
        return CreatorStats.of(self.doc, totals, utcnow())

    @strawberry.field(description="Knowledge linked to this thing, newest link first.")
    async def knowledge(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[KnowledgeType]:
        page = info.context.page(first, after, last, before)
        result = await info.context.loaders.get(KnowledgeByThingLoader).load(
            (self.doc["_id"], page)
        )
        return Connection.of(result, lambda link: KnowledgeType.from_doc(link["_knowledge"]))

    @strawberry.field(
        description="Events where this thing is the actor or the target, newest first, each once."
    )
    async def activity(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EventType]:
        page = info.context.page(first, after, last, before)
        result = await info.context.loaders.get(ActivityByThingLoader).load((self.doc["_id"], page))
        return Connection.of(result, EventType.from_doc)


@direct_input
@strawberry.input
class CreateThingInput:
    type: str
    name: str
    properties: JSON = strawberry.field(default_factory=dict)
    status: str = "draft"


@direct_input
@strawberry.input
class UpdateThingInput:
    id: strawberry.ID
    name: str | None = None
    properties: JSON | None = None
    status: str | None = None
    expected_version: int | None = strawberry.field(
        default=None, description="Refuse with CONFLICT unless the thing is at this version."
    )


@strawberry.input
class DeleteThingInput:
    id: strawberry.ID


@strawberry.type
class ThingPayload:
    thing: ThingType | None
    errors: list[UserError]


@strawberry.type
class DeleteThingPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]
