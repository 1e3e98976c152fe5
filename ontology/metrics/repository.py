"""The only code that reads ``counters`` (the ledger writes them: ``ontology.ledger.log``)
and touches ``metric_snapshots``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys
from ontology.db.writes import bulk_write_chunked
from ontology.ledger.buckets import Period

# Far more buckets than any read asks for (60 minutes, 14 days, 1,000 points).
_MAX_BUCKETS = 5000


class CounterRepository:
    """Time-bucketed counters of a group's events, and each actor's running totals."""

    def __init__(self, database: Database) -> None:
        self.collection = database.collection("counters")
        self.chunk = database.write_chunk

    def buckets_spec(
        self, group_id: ObjectId, period: Period, since: datetime, until: datetime
    ) -> FindSpec:
        query = {
            "groupId": group_id,
            "thingId": None,
            "period": period.value,
            "start": {"$gte": since, "$lt": until},
        }
        return FindSpec(query, (("start", 1),), _MAX_BUCKETS, "counters_key")

    async def buckets(
        self, group_id: ObjectId, period: Period, since: datetime, until: datetime
    ) -> list[Document]:
        """The group's ``period`` buckets starting in [since, until), oldest first."""
        return await self.buckets_spec(group_id, period, since, until).run(self.collection)

    async def totals(self, group_id: ObjectId, thing_ids: Sequence[ObjectId]) -> list[Document]:
        """The running totals of these things as actors (absent: no events yet): one command."""
        scope: dict[str, Any] = {"groupId": group_id, "period": Period.TOTAL.value}
        return await find_by_keys(self.collection, "thingId", thing_ids, scope)


class SnapshotRepository:
    """Hourly and daily snapshots rolled up from the counters."""

    def __init__(self, database: Database) -> None:
        self.collection = database.collection("metric_snapshots")
        self.chunk = database.write_chunk

    async def save(self, group_id: ObjectId, snapshots: Sequence[Document]) -> None:
        """Upsert snapshots by (period, start): running a roll-up twice changes nothing.

        ``values`` are set every time (they come from counters that only grow
        while the bucket is open); ``gauges`` (totals at roll-up time) are kept
        from the first roll-up of a bucket.
        """
        operations = [
            UpdateOne(
                {"groupId": group_id, "period": s["period"], "start": s["start"]},
                {
                    "$set": {**s["values"], "expiresAt": s["expiresAt"]},
                    "$setOnInsert": s["gauges"],
                },
                upsert=True,
            )
            for s in snapshots
        ]
        await bulk_write_chunked(self.collection, operations, None, self.chunk)

    def range_spec(
        self, group_id: ObjectId, period: str, since: datetime, until: datetime
    ) -> FindSpec:
        query = {"groupId": group_id, "period": period, "start": {"$gte": since, "$lt": until}}
        return FindSpec(query, (("start", 1),), _MAX_BUCKETS, "metric_snapshots_key")

    async def range(
        self, group_id: ObjectId, period: str, since: datetime, until: datetime
    ) -> list[Document]:
        return await self.range_spec(group_id, period, since, until).run(self.collection)
