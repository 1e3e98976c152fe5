"""The only code that touches ``ledger_reservations``: the counts a long write (a batch)
reserved on its group in a short transaction of its own, until its data commits.

``{_id, groupId, fields, buckets, expiresAt}``: ``fields`` are the ``$inc`` the
reservation applied to the group document, ``buckets`` what it added to the group's
time buckets (``EventLog.reserve_buckets``: ``{period, start, inc: [[field, amount]]}``).
The write's data transaction deletes the record (and aborts if it is already gone); a
write that fails releases it; a process that died mid-write leaves it behind, and
``Ledger.release_expired`` (run every minute by every API process, and at start)
releases it once ``expiresAt`` has passed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document


class ReservationRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("ledger_reservations")

    async def insert(self, reservation: Document, session: AsyncClientSession) -> None:
        await self.collection.insert_one(reservation, session=session)

    async def settle(
        self, group_id: ObjectId, reservation_id: ObjectId, session: AsyncClientSession
    ) -> bool:
        """Delete the reservation; whether it was still there."""
        result = await self.collection.delete_one(
            {"_id": reservation_id, "groupId": group_id}, session=session
        )
        return result.deleted_count == 1

    def expired(self, now: datetime, limit: int) -> AsyncIterator[Document]:
        """Reservations whose write should have ended before ``now``, oldest first."""
        cursor = self.collection.find({"expiresAt": {"$lt": now}}).sort("expiresAt", 1)
        return aiter(cursor.limit(limit))
