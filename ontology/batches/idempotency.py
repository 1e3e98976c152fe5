"""Idempotency keys: the same request with the same key is answered once.

A key is claimed (``in_flight``) before the batch runs and completed (``done``,
with the result) in the batch's own transaction, so "written" and "recorded as
done" cannot disagree. A claim whose process died is taken over once its lease
lapses. Keys expire after 24 hours (TTL index).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from ontology.db.client import Database, Document

KEY_TTL = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(minutes=10)
MAX_KEY_LENGTH = 200


class IdempotencyRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("idempotency_keys")

    async def claim(
        self, group_id: ObjectId, key: str, fingerprint: str, now: datetime
    ) -> Document | None:
        """Claim ``key``; ``None`` when claimed now, else the existing record."""
        try:
            await self.collection.insert_one(
                {
                    "groupId": group_id,
                    "key": key,
                    "fingerprint": fingerprint,
                    "status": "in_flight",
                    "leaseUntil": now + IN_FLIGHT_LEASE,
                    "createdAt": now,
                    "expiresAt": now + KEY_TTL,
                }
            )
        except DuplicateKeyError:
            existing: Document | None = await self.collection.find_one(
                {"groupId": group_id, "key": key}
            )
            return existing or {"status": "in_flight", "fingerprint": fingerprint}
        return None

    async def take_over(self, group_id: ObjectId, key: str, now: datetime) -> bool:
        """Re-claim an in-flight key whose lease lapsed (its process died)."""
        result = await self.collection.update_one(
            {"groupId": group_id, "key": key, "status": "in_flight", "leaseUntil": {"$lt": now}},
            {"$set": {"leaseUntil": now + IN_FLIGHT_LEASE}},
        )
        return result.modified_count == 1

    async def complete(
        self,
        group_id: ObjectId,
        key: str,
        result: dict[str, Any],
        session: AsyncClientSession | None = None,
    ) -> None:
        await self.collection.update_one(
            {"groupId": group_id, "key": key},
            {"$set": {"status": "done", "result": result}},
            session=session,
        )

    async def release(self, group_id: ObjectId, key: str) -> None:
        """Forget an in-flight claim whose batch failed unexpectedly, so a retry can run."""
        await self.collection.delete_one({"groupId": group_id, "key": key, "status": "in_flight"})
