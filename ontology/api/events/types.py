"""GraphQL types for events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from bson import ObjectId
from strawberry.scalars import JSON

from ontology.api.base import Node, UserError
from ontology.api.context import Context
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.events.documents import EventDocument
from ontology.kit.ids import to_global_id
from ontology.things.documents import ThingDocument

if TYPE_CHECKING:
    from ontology.api.things.types import ThingType

Info = strawberry.Info[Context, None]
LazyThing = Annotated["ThingType", strawberry.lazy("ontology.api.things.types")]


@strawberry.type(name="Event", description="An entry of a group's append-only event log.")
class EventType(Node):
    doc: strawberry.Private[EventDocument]
    type: str
    timestamp: datetime
    metadata: JSON
    actor_id: strawberry.ID | None
    target_id: strawberry.ID | None

    @classmethod
    def from_doc(cls, doc: EventDocument) -> EventType:
        actor, target = doc.get("actorId"), doc.get("targetId")
        return cls(
            id=strawberry.ID(to_global_id("Event", doc["_id"])),
            doc=doc,
            type=doc["type"],
            timestamp=doc["timestamp"],
            metadata=JSON(doc.get("metadata") or {}),
            actor_id=strawberry.ID(to_global_id("Thing", actor)) if actor else None,
            target_id=strawberry.ID(to_global_id("Thing", target)) if target else None,
        )

    @strawberry.field
    async def actor(self, info: Info) -> LazyThing | None:
        return await _thing(info, self.doc, "_actor", self.doc.get("actorId"))

    @strawberry.field
    async def target(self, info: Info) -> LazyThing | None:
        return await _thing(info, self.doc, "_target", self.doc.get("targetId"))


async def _thing(
    info: Info, event: Mapping[str, Any], joined: str, thing_id: ObjectId | None
) -> ThingType | None:
    """The thing an event refers to: joined with the page when it came from one
    (``RelatedEvent``), else loaded."""
    from ontology.api.things.types import ThingType

    doc: ThingDocument | None
    if joined in event:
        doc = event[joined]
    elif thing_id is None:
        return None
    else:
        doc = await info.context.loaders.get(ThingsByIdLoader).load(thing_id)
    return ThingType.from_doc(doc) if doc else None


@strawberry.input
class LogEventInput:
    type: str
    actor_id: strawberry.ID | None = None
    target_id: strawberry.ID | None = None
    metadata: JSON = strawberry.field(default_factory=dict)
    timestamp: datetime | None = strawberry.field(
        default=None, description="When it happened (back-dating allowed); default now."
    )


@strawberry.type
class EventPayload:
    event: EventType | None
    errors: list[UserError]
