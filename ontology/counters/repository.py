"""The reads and corrections of a counter recount (``ontology.counters.service``).

Every read is scoped to one group (``groupId`` first, on a ``*_group`` or
``*_live`` index) and streamed through one cursor with a ``batch_size``: a
recount sends O(documents / batch size) commands and holds one batch in memory,
never a ``count_documents`` over the group (section 11 of DESIGN.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.writes import bulk_write_chunked

# what a recount reads of each collection, and the index that serves the group's range
STREAMS: dict[str, tuple[dict[str, Any], dict[str, int], str]] = {
    "connections": ({}, {"type": 1, "sizeBytes": 1}, "connections_group"),
    "events": (
        {},
        {"type": 1, "sizeBytes": 1, "sortKey": 1, "timestamp": 1, "metadata.amount": 1},
        "events_id",
    ),
    "knowledge": ({}, {"sizeBytes": 1}, "knowledge_group"),
    "thing_knowledge": ({}, {"sizeBytes": 1}, "thing_knowledge_thing"),
    "people": ({}, {"_id": 1}, "people_group"),
}
THING_FIELDS = {
    "type": 1,
    "status": 1,
    "sizeBytes": 1,
    "connectionCounts": 1,
    "newestConnection": 1,
}


class CounterCheckRepository:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.groups = database.collection("groups")
        self.things = database.collection("things")
        self.connections = database.collection("connections")
        self.reservations = database.collection("ledger_reservations")
        self.chunk = database.write_chunk

    async def group(self, group_id: ObjectId, session: AsyncClientSession) -> Document | None:
        return await self.groups.find_one(
            {"_id": group_id},
            {
                "slug": 1,
                "plan": 1,
                "limits": 1,
                "counts": 1,
                "newest": 1,
                "oldest": 1,
                "leased": 1,
            },
            session=session,
        )

    async def reserved(self, group_id: ObjectId, session: AsyncClientSession) -> list[Document]:
        """The group's pending reservations (a batch whose data has not committed yet,
        ``ontology.ledger.reservations``), their counter increments (``fields``) and
        time buckets (``buckets``): at most one per batch running or died within its
        reservation's lifetime."""
        cursor = self.reservations.find(
            {"groupId": group_id},
            {"fields": 1, "buckets": 1},
            hint="ledger_reservations_group",
            session=session,
        )
        return [doc async for doc in cursor]

    async def shards(self, group_id: ObjectId, session: AsyncClientSession) -> list[Document]:
        """The group's counter shards (what API processes counted and have not folded into
        the group yet, ``ontology.ledger.shards``): at most one per process lately."""
        cursor = self.database.collection("ledger_shards").find(
            {"groupId": group_id}, hint="ledger_shards_group", session=session
        )
        return [doc async for doc in cursor]

    async def group_buckets(
        self, group_id: ObjectId, since: datetime | None, session: AsyncClientSession
    ) -> list[Document]:
        """The group's own metric buckets (not its things' totals) starting at or after
        ``since``: a bounded number (each period's buckets expire)."""
        query: dict[str, Any] = {"groupId": group_id, "thingId": None}
        if since is not None:
            query["start"] = {"$gte": since}
        cursor = self.database.collection("counters").find(
            query,
            {"period": 1, "start": 1, "events": 1, "byType": 1, "revenue": 1, "payments": 1},
            hint="counters_key",
            session=session,
        )
        return [doc async for doc in cursor]

    async def correct_buckets(
        self, updates: dict[ObjectId, dict[str, Any]], session: AsyncClientSession
    ) -> None:
        operations = [UpdateOne({"_id": i}, update) for i, update in updates.items()]
        await bulk_write_chunked(
            self.database.collection("counters"), operations, session, self.chunk
        )

    def group_ids(self, slug: str | None) -> AsyncIterator[Document]:
        """Every group's id and slug (one group with ``slug``), by id."""
        query = {} if slug is None else {"slug": slug}
        return aiter(self.groups.find(query, {"slug": 1}).sort("_id", 1))

    async def claim(self, group_id: ObjectId, now: datetime, session: AsyncClientSession) -> None:
        """Write the group document first in a repair's transaction (see the service)."""
        await self.groups.update_one(
            {"_id": group_id}, {"$set": {"countsCheckedAt": now}}, session=session
        )

    async def live_things(
        self, group_id: ObjectId, batch_size: int, session: AsyncClientSession
    ) -> AsyncIterator[list[Document]]:
        """The group's live things in batches of ``batch_size`` (one cursor)."""
        cursor = self.things.find(
            {"groupId": group_id, "deletedAt": None},
            THING_FIELDS,
            hint="things_live",
            batch_size=batch_size,
            session=session,
        )
        batch: list[Document] = []
        async for doc in cursor:
            batch.append(doc)
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    async def connections_at(
        self,
        group_id: ObjectId,
        end: str,
        ids: Sequence[ObjectId],
        session: AsyncClientSession,
    ) -> list[Document]:
        """The group's connections whose ``end`` (fromId or toId) is one of ``ids``."""
        index = "connections_from" if end == "fromId" else "connections_to"
        cursor = self.connections.find(
            {"groupId": group_id, end: {"$in": list(ids)}},
            {end: 1, "type": 1},
            hint=index,
            session=session,
        )
        return [doc async for doc in cursor]

    async def stream(
        self, name: str, group_id: ObjectId, batch_size: int, session: AsyncClientSession
    ) -> AsyncIterator[Document]:
        query, projection, index = STREAMS[name]
        cursor = self.database.collection(name).find(
            {"groupId": group_id, **query},
            projection,
            hint=index,
            batch_size=batch_size,
            session=session,
        )
        async for doc in cursor:
            yield doc

    async def correct_group(
        self, group_id: ObjectId, update: dict[str, Any], session: AsyncClientSession
    ) -> None:
        if update:
            await self.groups.update_one({"_id": group_id}, update, session=session)

    async def correct_things(
        self,
        group_id: ObjectId,
        updates: dict[ObjectId, dict[str, Any]],
        session: AsyncClientSession,
    ) -> None:
        operations = [
            UpdateOne({"groupId": group_id, "deletedAt": None, "_id": thing_id}, update)
            for thing_id, update in updates.items()
        ]
        await bulk_write_chunked(self.things, operations, session, self.chunk)
