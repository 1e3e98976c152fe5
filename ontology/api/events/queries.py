"""Root queries for events."""

from __future__ import annotations

from datetime import datetime

import strawberry
from bson import ObjectId

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.events.types import EventType
from ontology.events.documents import EventDocument
from ontology.events.repository import EventFilter
from ontology.kit.ids import parse_global_id
from ontology.kit.pagination import Page

Info = strawberry.Info[Context, None]

# An id that matches nothing: a malformed or foreign filter id finds no events.
_NO_THING = ObjectId("000000000000000000000000")


def _filter_id(global_id: strawberry.ID | None) -> ObjectId | None:
    if global_id is None:
        return None
    return parse_global_id(global_id, "Thing") or _NO_THING


@strawberry.type
class EventQueries:
    @strawberry.field(description="The group's events, newest first.")
    async def events(
        self,
        info: Info,
        type: str | None = None,
        actor_id: strawberry.ID | None = None,
        target_id: strawberry.ID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[EventType]:
        context = info.context
        page = context.page(first, after, last, before)
        event_filter = EventFilter(
            type=type,
            actor_id=_filter_id(actor_id),
            target_id=_filter_id(target_id),
            since=since,
            until=until,
        )
        counts = context.caller.group.get("counts") or {}
        docs = await context.services.events.page(
            context.group_id, event_filter, context.known(page, "events", type)
        )
        result: Page[EventDocument] = page.slice(docs, lambda d: d["sortKey"])
        unfiltered = event_filter == EventFilter()
        total = counts.get("events", 0) if unfiltered else None
        return Connection.of(result, EventType.from_doc, total)
