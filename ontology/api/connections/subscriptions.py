"""``connectionsChanged``: connections of one thing as they are added or removed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any, cast

import strawberry
from bson import ObjectId

from ontology.api.base import Direction
from ontology.api.connections.loaders import ConnectionsByIdLoader
from ontology.api.connections.types import ConnectionType
from ontology.api.live import Info, connection_of, renew_loaders
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.api.things.types import ThingType
from ontology.connections.documents import ConnectionDocument
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.ids import parse_global_id
from ontology.live.changes import Change, connections_topic


@strawberry.enum(description="Whether a connection was added or removed.")
class ConnectionChangeKind(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"


@strawberry.type(description="A connection of the thing added or removed, with its other end.")
class ConnectionChange:
    kind: ConnectionChangeKind
    direction: Direction = strawberry.field(description="Seen from the subscribed thing.")
    connection: ConnectionType
    node: ThingType | None = strawberry.field(
        description="The live thing at the other end, or null (deleted)."
    )


def direction_of(doc: ConnectionDocument, thing_id: ObjectId) -> Direction:
    return Direction.OUTBOUND if doc.get("fromId") == thing_id else Direction.INBOUND


def accepts(thing_id: ObjectId, direction: Direction, connection_type: str | None) -> Any:
    def accept(change: Change) -> bool:
        doc = change.document or {}
        if connection_type is not None and doc.get("type") != connection_type:
            return False
        if direction is Direction.OUTBOUND:
            return bool(doc.get("fromId") == thing_id)
        if direction is Direction.INBOUND:
            return bool(doc.get("toId") == thing_id)
        return True

    return accept


@strawberry.type
class ConnectionSubscriptions:
    @strawberry.subscription(
        description="Each connection of the thing added (ADDED) or removed (REMOVED, also when "
        "the thing at its other end is deleted), in the given direction and of the given type. "
        "NOT_FOUND for an id that is not one of the group's live things."
    )
    async def connections_changed(
        self,
        info: Info,
        thing_id: strawberry.ID,
        direction: Direction = Direction.BOTH,
        type: str | None = None,
    ) -> AsyncGenerator[ConnectionChange, None]:
        connection = connection_of(info)
        group_id = info.context.group_id
        thing = parse_global_id(thing_id, "Thing")
        if thing is None:
            raise ClientError(f"No thing {thing_id[:40]!r}.", RequestErrorCode.NOT_FOUND)
        subscriber = connection.subscribe(
            connections_topic(group_id, thing), "connections", accepts(thing, direction, type)
        )
        try:
            if await info.context.loaders.get(ThingsByIdLoader).load(thing) is None:
                raise ClientError(f"No thing {thing_id[:40]!r}.", RequestErrorCode.NOT_FOUND)
            while True:
                change = await subscriber.next()
                if change.document is None or change.document.get("groupId") != group_id:
                    continue
                # a change of the connections collection: its document as stored
                doc = cast(ConnectionDocument, change.document)
                loaders = renew_loaders(info)
                loaders.get(ConnectionsByIdLoader).prime(doc["_id"], doc)
                seen_from = direction_of(doc, thing)
                other_id = doc["toId"] if seen_from is Direction.OUTBOUND else doc["fromId"]
                other = await loaders.get(ThingsByIdLoader).load(other_id)
                yield ConnectionChange(
                    kind=ConnectionChangeKind.ADDED
                    if change.operation == "insert"
                    else ConnectionChangeKind.REMOVED,
                    direction=seen_from,
                    connection=ConnectionType.from_doc(doc),
                    node=ThingType.from_doc(other) if other else None,
                )
        finally:
            connection.unsubscribe(subscriber)
