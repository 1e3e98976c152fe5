"""The event log: the only code that appends events, and with them, in the same
transaction, the metric counters they touch (``counters``: the group's minute, hour,
day and month buckets and each actor's running totals, ``ontology.ledger.buckets``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database
from ontology.db.windows import EVENT_KEYS
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.clock import utcnow
from ontology.ledger.buckets import COUNTER_RETENTION, Period, counter_deltas
from ontology.ledger.events import EventDocument


class EventLog:
    def __init__(self, database: Database) -> None:
        self.events = database.collection("events")
        self.counters = database.collection("counters")
        self.chunk = database.write_chunk
        self.hints = database.hints

    async def append(
        self, group_id: ObjectId, events: Sequence[EventDocument], session: AsyncClientSession
    ) -> None:
        """Append events and add them to the metric counters, in the caller's transaction."""
        if any(event["groupId"] != group_id for event in events):
            raise ValueError("An event of another group was passed to the event log.")
        if not events:
            return
        await insert_chunked(self.events, events, session, self.chunk)
        self.hints.inserted_docs(self.events.name, events, _scopes, "sortKey", EVENT_KEYS)
        await self.record(group_id, events, session)

    async def record(
        self, group_id: ObjectId, events: Sequence[EventDocument], session: AsyncClientSession
    ) -> None:
        """Add the events to every counter they touch, in the caller's transaction: one
        command for up to ``write_chunk`` counters."""
        operations = []
        for (thing_id, period, start), delta in counter_deltas(events, utcnow()).items():
            update = delta.update(last_active=period is Period.TOTAL)
            if start is not None:
                update["$setOnInsert"] = {"expiresAt": start + COUNTER_RETENTION[period]}
            key = {"groupId": group_id, "thingId": thing_id, "period": period.value, "start": start}
            operations.append(UpdateOne(key, update, upsert=True))
        await bulk_write_chunked(self.counters, operations, session, self.chunk)


def _scopes(event: EventDocument) -> list[dict[str, Any]]:
    """The filters of the lists a new event joins (``page_spec``, ``for_thing_spec``)."""
    group = {"groupId": event["groupId"]}
    return [group] + [
        {**group, name: event[name]}
        for name in ("type", "actorId", "targetId")
        if event.get(name) is not None
    ]
