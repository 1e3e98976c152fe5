"""``eventAdded``: the group's new events matching a filter, after a replay of missed ones.

With ``after`` (an event cursor), the subscription enters the hub first, then
reads the events after the cursor (oldest first, in bounded pages) and sends
them, then sends the live events it queued meanwhile and after, skipping those
the replay already sent (by id): no gap (a change committed after the replay's
read is queued, since the subscription was in the hub before it) and no
duplicate. With ``after`` it sends exactly the events whose key is after the
cursor: an event back-dated before it is not sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

import strawberry
from bson import ObjectId

from ontology.api.events.loaders import EventsByIdLoader
from ontology.api.events.types import EventType
from ontology.api.live import Info, connection_of, renew_loaders
from ontology.db.client import Document
from ontology.events.documents import EventDocument
from ontology.events.repository import EventFilter
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.ids import parse_global_id
from ontology.kit.pagination import PageRequest, decode_cursor
from ontology.live.changes import Change, Topic, events_topic

# An id that matches nothing: a malformed or foreign filter id finds no events (as `events`).
_NO_THING = ObjectId("000000000000000000000000")
REPLAY_PAGE = 100


def _filter_id(global_id: strawberry.ID | None) -> ObjectId | None:
    if global_id is None:
        return None
    return parse_global_id(global_id, "Thing") or _NO_THING


def topic_of(group_id: ObjectId, event_filter: EventFilter) -> Topic:
    """The most selective topic of the filter (the others are checked in process)."""
    if event_filter.target_id is not None:
        return events_topic(group_id, "targetId", event_filter.target_id)
    if event_filter.actor_id is not None:
        return events_topic(group_id, "actorId", event_filter.actor_id)
    if event_filter.type is not None:
        return events_topic(group_id, "type", event_filter.type)
    return events_topic(group_id)


def matches(event_filter: EventFilter, doc: Document, after: str | None) -> bool:
    return (
        (event_filter.type is None or doc.get("type") == event_filter.type)
        and (event_filter.actor_id is None or doc.get("actorId") == event_filter.actor_id)
        and (event_filter.target_id is None or doc.get("targetId") == event_filter.target_id)
        and (after is None or doc.get("sortKey", "") > after)
    )


def accepts(event_filter: EventFilter, after: str | None) -> Any:
    def accept(change: Change) -> bool:
        return change.document is not None and matches(event_filter, change.document, after)

    return accept


@strawberry.type
class EventSubscriptions:
    @strawberry.subscription(
        description="The group's new events matching the filter, in commit order. With `after` "
        "(an event's cursor), first the events after it, oldest first, then the new ones, with "
        "no gap and no duplicate; at most ONTOLOGY_SUBSCRIPTION_REPLAY_MAX are replayed "
        "(more: SUBSCRIPTION_LIMIT)."
    )
    async def event_added(
        self,
        info: Info,
        type: str | None = None,
        actor_id: strawberry.ID | None = None,
        target_id: strawberry.ID | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[EventType, None]:
        connection = connection_of(info)
        context = info.context
        group_id = context.group_id
        after_key: str | None = None
        if after is not None:
            key = decode_cursor(after)
            if not isinstance(key, str):
                raise ClientError(
                    f"Invalid cursor {after[:40]!r}: not an event's.",
                    RequestErrorCode.INVALID_CURSOR,
                )
            after_key = key
        event_filter = EventFilter(
            type=type, actor_id=_filter_id(actor_id), target_id=_filter_id(target_id)
        )
        subscriber = connection.subscribe(
            topic_of(group_id, event_filter), "events", accepts(event_filter, after_key)
        )
        try:
            replayed: set[ObjectId] = set()
            if after_key is not None:
                for doc in await missed_events(info, event_filter, after_key):
                    replayed.add(doc["_id"])
                    yield _event(info, doc)
            while True:
                change = await subscriber.next()
                live = change.document
                if live is None or live.get("groupId") != group_id or live["_id"] in replayed:
                    continue
                # a change of the events collection: its document as stored
                yield _event(info, cast(EventDocument, live))
        finally:
            connection.unsubscribe(subscriber)


async def missed_events(info: Info, event_filter: EventFilter, after: str) -> list[EventDocument]:
    """The events after ``after``, oldest first: bounded pages, at most the replay limit."""
    context = info.context
    most = context.runtime.settings.subscription_replay_max
    found: list[EventDocument] = []
    newer_than = after
    while True:
        # no counter hints: the caller's group was read when the socket connected, and
        # events logged since are newer than its "newest"
        page = PageRequest(size=REPLAY_PAGE, before=newer_than, backward=True)
        docs = await context.services.events.page(context.group_id, event_filter, page)
        found += docs[:REPLAY_PAGE]
        if len(found) > most:
            raise ClientError(
                f"More than {most} events to replay: read them with the `events` query "
                "and subscribe after the newest.",
                RequestErrorCode.SUBSCRIPTION_LIMIT,
            )
        if len(docs) <= REPLAY_PAGE:
            return found
        newer_than = docs[REPLAY_PAGE - 1]["sortKey"]


def _event(info: Info, doc: EventDocument) -> EventType:
    loaders = renew_loaders(info)
    loaders.get(EventsByIdLoader).prime(doc["_id"], doc)
    return EventType.from_doc(doc)
