"""Mutations for events."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.events.types import EventPayload, EventType, LogEventInput
from ontology.events.service import NewEvent
from ontology.kit.ids import parse_global_id

Info = strawberry.Info[Context, None]


@strawberry.type
class EventMutations:
    @strawberry.mutation(description="Append an event to the group's log.")
    async def log_event(self, info: Info, input: LogEventInput) -> EventPayload:
        context = info.context
        new = NewEvent(
            type=input.type,
            actor_id=parse_global_id(input.actor_id, "Thing") if input.actor_id else None,
            target_id=parse_global_id(input.target_id, "Thing") if input.target_id else None,
            actor_given=input.actor_id is not None,
            target_given=input.target_id is not None,
            metadata=input.metadata,
            timestamp=input.timestamp,
        )
        return await payload(
            context.services.events.log(context.group_id, new),
            lambda doc: EventPayload(event=EventType.from_doc(doc), errors=[]),
            lambda errors: EventPayload(event=None, errors=errors),
        )
