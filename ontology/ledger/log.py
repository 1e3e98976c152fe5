"""The event log: the only code that appends events, and with them, in the same
transaction, the metric counters they touch (``counters``: the group's minute, hour,
day and month buckets and each actor's running totals, ``ontology.ledger.buckets``).
A reserved write (a batch) adds to the group's buckets with its reservation instead
(``reserve_buckets``), and a released reservation takes that back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.windows import EVENT_KEYS
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.clock import utcnow
from ontology.ledger.buckets import (
    COUNTER_RETENTION,
    BucketDelta,
    CounterKey,
    Period,
    counter_deltas,
)
from ontology.ledger.events import EventDocument


class EventLog:
    def __init__(self, database: Database) -> None:
        self.events = database.collection("events")
        self.counters = database.collection("counters")
        self.chunk = database.write_chunk
        self.hints = database.hints

    async def append(
        self,
        group_id: ObjectId,
        events: Sequence[EventDocument],
        session: AsyncClientSession,
        *,
        group_buckets: bool = True,
    ) -> None:
        """Append events and add them to the metric counters, in the caller's transaction
        (not to the group's time buckets when ``group_buckets`` is false: a reserved write
        added them with its reservation, ``reserve_buckets``)."""
        if any(event["groupId"] != group_id for event in events):
            raise ValueError("An event of another group was passed to the event log.")
        if not events:
            return
        await insert_chunked(self.events, events, session, self.chunk)
        await self.hints.inserted_docs(self.events.name, events, _scopes, "sortKey", EVENT_KEYS)
        await self.record(group_id, events, session, group_buckets=group_buckets)

    async def record(
        self,
        group_id: ObjectId,
        events: Sequence[EventDocument],
        session: AsyncClientSession,
        *,
        group_buckets: bool = True,
    ) -> None:
        """Add the events to every counter they touch (each actor's totals, and the
        group's time buckets unless ``group_buckets`` is false), in the caller's
        transaction: one command for up to ``write_chunk`` counters."""
        deltas = counter_deltas(events, utcnow())
        if not group_buckets:
            deltas = {key: delta for key, delta in deltas.items() if key[0] is not None}
        await self.add(group_id, deltas, session)

    async def reserve_buckets(
        self, group_id: ObjectId, events: Sequence[EventDocument], session: AsyncClientSession
    ) -> list[Document]:
        """Add the events to the group's time buckets ahead of the events themselves (a
        reserved write, ``Ledger.write_reserved``), in the caller's transaction; what was
        added, as ``release_buckets`` takes it back.

        The group's buckets are the documents every write of the group updates: counted
        here, in the short reservation, a batch's long data transaction does not touch
        them, so it neither conflicts with the group's single writes nor is retried
        behind them."""
        deltas = group_buckets(events, utcnow())
        await self.add(group_id, deltas, session)
        return [
            {"period": period.value, "start": start, "inc": list(delta.update()["$inc"].items())}
            for (_, period, start), delta in deltas.items()
        ]

    async def add(
        self,
        group_id: ObjectId,
        deltas: Mapping[CounterKey, BucketDelta],
        session: AsyncClientSession,
    ) -> None:
        """Add ``deltas`` to the counters they key (one command per ``write_chunk``); also
        how a folded shard's time buckets reach the group's (``ontology.ledger.shards``)."""
        operations = []
        for (thing_id, period, start), delta in deltas.items():
            update = delta.update(last_active=period is Period.TOTAL)
            if start is not None:
                update["$setOnInsert"] = {"expiresAt": start + COUNTER_RETENTION[period]}
            key = {"groupId": group_id, "thingId": thing_id, "period": period.value, "start": start}
            operations.append(UpdateOne(key, update, upsert=True))
        await bulk_write_chunked(self.counters, operations, session, self.chunk)

    async def release_buckets(
        self, group_id: ObjectId, added: Sequence[Document], session: AsyncClientSession
    ) -> None:
        """Take back what ``reserve_buckets`` added, leaving each bucket as it was: a count
        back at 0 is removed, and so is a bucket left with no event (a bucket gone
        meanwhile stays gone; the distinct actors of a day, a set only ever added to,
        keep the released ones)."""
        keys = [
            {"groupId": group_id, "thingId": None, "period": bucket["period"],
             "start": bucket["start"]}
            for bucket in added
        ]  # fmt: skip
        back = [
            UpdateOne(key, {"$inc": {name: -amount for name, amount in bucket["inc"]}})
            for key, bucket in zip(keys, added, strict=True)
        ]
        await bulk_write_chunked(self.counters, back, session, self.chunk)
        emptied: list[Any] = [
            UpdateOne({**key, name: 0}, {"$unset": {name: ""}})
            for key, bucket in zip(keys, added, strict=True)
            for name, _ in bucket["inc"]
            if name != "events"
        ]
        emptied += [DeleteOne({**key, "events": 0}) for key in keys]
        await bulk_write_chunked(self.counters, emptied, session, self.chunk)


def group_buckets(events: Sequence[EventDocument], now: datetime) -> dict[CounterKey, BucketDelta]:
    """What ``events`` add to the group's time buckets (not to their actors' totals)."""
    return {key: delta for key, delta in counter_deltas(events, now).items() if key[0] is None}


def _scopes(event: EventDocument) -> list[dict[str, Any]]:
    """The filters of the lists a new event joins (``page_spec``, ``for_thing_spec``)."""
    group = {"groupId": event["groupId"]}
    return [group] + [
        {**group, name: event[name]}
        for name in ("type", "actorId", "targetId")
        if event.get(name) is not None
    ]
