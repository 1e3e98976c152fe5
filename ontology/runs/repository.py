"""The only code that touches ``job_runs`` and ``leases``.

Runs of one group carry its ``groupId`` (added to every filter by the
methods that take one); a scheduled run over all groups has ``groupId: null``
and is an operator's record, never shown to a tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ontology.db.client import Database, Document
from ontology.db.queries import BATCH_SIZE
from ontology.kit.errors import RunErrorCode


class JobRunRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("job_runs")

    async def insert(self, run: Document) -> None:
        await self.collection.insert_one(run)

    async def claim_next_queued(self, now: datetime, owner: str) -> Document | None:
        """Take the oldest queued run (any job) and mark it running; atomic across processes."""
        claimed: Document | None = await self.collection.find_one_and_update(
            {"status": "queued"},
            {"$set": {"status": "running", "startedAt": now, "heartbeatAt": now, "owner": owner}},
            sort=[("_id", 1)],
            return_document=ReturnDocument.AFTER,
        )
        return claimed

    async def update(self, run_id: ObjectId, fields: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": run_id}, {"$set": fields})

    async def fail_abandoned(self, stale_before: datetime, now: datetime) -> int:
        """Mark running runs whose process stopped beating before ``stale_before`` as failed.

        One ``update_many`` with a filter, not bounded: it touches only runs left
        ``running`` by a dead process, at most one per job and group that was
        running, and outside any transaction (each document is its own write).
        """
        result = await self.collection.update_many(
            {"status": "running", "heartbeatAt": {"$lt": stale_before}},
            {
                "$set": {
                    "status": "failed",
                    "finishedAt": now,
                    "error": "Interrupted: the process running it stopped.",
                    "errorCode": RunErrorCode.INTERRUPTED.value,
                }
            },
        )
        return result.modified_count

    async def latest(self, group_id: ObjectId | None, job: str) -> Document | None:
        """The group's newest run of ``job`` (``None``: runs over all groups).

        Newest by ``queuedAt``: runs are created by different processes, and
        ObjectIds made in the same second by two processes do not sort by time.
        """
        cursor = (
            self.collection.find({"groupId": group_id, "job": job})
            .sort([("queuedAt", -1), ("_id", -1)])
            .limit(1)
        )
        found = await cursor.to_list()
        return found[0] if found else None

    async def by_id(self, group_id: ObjectId | None, run_id: ObjectId) -> Document | None:
        return await self.collection.find_one({"groupId": group_id, "_id": run_id})

    async def latest_of_groups(
        self, group_ids: Sequence[ObjectId], job: str, since: datetime
    ) -> dict[ObjectId, Document]:
        """Each group's newest run of ``job`` queued at or after ``since``, in one command.

        Each group is one lookup on ``job_runs_group`` (groupId, job, queuedAt), its range
        bounded by ``since``: a group's runs pile up a day at a time, the window does not.
        """
        if not group_ids:
            return {}
        pipeline: list[dict[str, Any]] = [
            {"$documents": [{"g": group_id} for group_id in dict.fromkeys(group_ids)]},
            {
                "$lookup": {
                    "from": self.collection.name,
                    "localField": "g",
                    "foreignField": "groupId",
                    "pipeline": [
                        {"$match": {"job": job, "queuedAt": {"$gte": since}}},
                        {"$sort": {"queuedAt": -1, "_id": -1}},
                        {"$limit": 1},
                    ],
                    "as": "found",
                }
            },
            {"$unwind": "$found"},
            {"$replaceWith": "$found"},
        ]
        database = self.collection.database
        cursor = await database.aggregate(pipeline, batchSize=BATCH_SIZE)
        return {run["groupId"]: run async for run in cursor}


class LeaseRepository:
    """Lease documents: ``{_id: name, owner, expiresAt}``; only the owner renews them."""

    def __init__(self, database: Database) -> None:
        self.collection = database.collection("leases")

    async def acquire(self, name: str, owner: str, now: datetime, expires_at: datetime) -> bool:
        """Renew the lease if ``owner`` holds it, take it if it lapsed, or create it.

        Each branch is one atomic ``find_one_and_update`` (or an insert that a
        concurrent creator makes fail), so two processes never both succeed.
        """
        held = {"$set": {"owner": owner, "expiresAt": expires_at, "renewedAt": now}}
        if await self.collection.find_one_and_update({"_id": name, "owner": owner}, held):
            return True
        taken = {**held, "$set": {**held["$set"], "acquiredAt": now}}
        if await self.collection.find_one_and_update(
            {"_id": name, "expiresAt": {"$lte": now}}, taken
        ):
            return True
        try:
            await self.collection.insert_one(
                {
                    "_id": name,
                    "owner": owner,
                    "expiresAt": expires_at,
                    "renewedAt": now,
                    "acquiredAt": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def release(self, name: str, owner: str, now: datetime) -> None:
        """Let the lease lapse now, so another process can take it at once."""
        await self.collection.update_one(
            {"_id": name, "owner": owner}, {"$set": {"expiresAt": now}}
        )

    async def get(self, name: str) -> Document | None:
        return await self.collection.find_one({"_id": name})
