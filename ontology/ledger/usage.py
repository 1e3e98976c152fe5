"""The only code that touches ``usage`` (API calls per period) and quota event marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ontology.db.client import Database
from ontology.db.queries import find_by_keys


class UsageRepository:
    def __init__(self, database: Database) -> None:
        self.usage = database.collection("usage")
        self.marks = database.collection("quota_event_marks")

    async def add(
        self,
        group_id: ObjectId,
        metric: str,
        period_start: datetime,
        amount: int,
        expires_at: datetime,
    ) -> int:
        """Add ``amount`` to the period's counter (creating it); the new value."""
        doc = await self.usage.find_one_and_update(
            {"groupId": group_id, "metric": metric, "periodStart": period_start},
            {"$inc": {"value": amount}, "$setOnInsert": {"expiresAt": expires_at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["value"]) if doc else amount

    async def value(self, group_id: ObjectId, metric: str, period_start: datetime) -> int:
        doc = await self.usage.find_one(
            {"groupId": group_id, "metric": metric, "periodStart": period_start}
        )
        return int(doc["value"]) if doc else 0

    async def values(
        self, group_ids: Sequence[ObjectId], metric: str, period_start: datetime
    ) -> dict[ObjectId, int]:
        """Each group's counter of the period (0 when it has none), in one command."""
        scope = {"metric": metric, "periodStart": period_start}
        found = await find_by_keys(self.usage, "groupId", group_ids, scope)
        return {group_id: 0 for group_id in group_ids} | {
            doc["groupId"]: int(doc["value"]) for doc in found
        }

    async def mark_once(
        self, group_id: ObjectId, metric: str, bucket: datetime, expires_at: datetime
    ) -> bool:
        """True the first time (group, metric, bucket) is marked, False afterwards."""
        try:
            await self.marks.insert_one(
                {"groupId": group_id, "metric": metric, "bucket": bucket, "expiresAt": expires_at}
            )
        except DuplicateKeyError:
            return False
        return True
