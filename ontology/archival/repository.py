"""The only code that touches ``archive_manifests`` and ``archival_progress``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.archival.documents import ListedManifest, ManifestDocument
from ontology.archival.models import ManifestStatus
from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec

# PyMongo reads ``dict[str, Any]``; what ``archive_manifests`` stores is
# ``ManifestDocument``. The one place its reads are cast, and its writes handed back.


def _manifests(found: list[Document]) -> list[ManifestDocument]:
    return cast("list[ManifestDocument]", found)


def _listed(found: list[Document]) -> list[ListedManifest]:
    return cast("list[ListedManifest]", found)  # projected without ``ids``


def _manifest(found: Document | None) -> ManifestDocument | None:
    return cast("ManifestDocument | None", found)


def _raw(manifest: ManifestDocument) -> Document:
    return cast(Document, manifest)


class ManifestRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("archive_manifests")

    async def insert(self, group_id: ObjectId, manifest: ManifestDocument) -> None:
        if manifest["groupId"] != group_id:
            raise ValueError("A manifest of another group was passed to insert.")
        await self.collection.insert_one(_raw(manifest))

    async def pending(self, group_id: ObjectId) -> list[ManifestDocument]:
        """Manifests whose objects may or may not be written (left by an interrupted run)."""
        cursor = self.collection.find(
            {"groupId": group_id, "status": ManifestStatus.PENDING.value}
        ).sort("_id", 1)
        return _manifests(await cursor.to_list())

    async def drop_pending(self, group_id: ObjectId, manifest_id: ObjectId) -> bool:
        result = await self.collection.delete_one(
            {"groupId": group_id, "_id": manifest_id, "status": ManifestStatus.PENDING.value}
        )
        return result.deleted_count == 1

    async def change_status(
        self,
        group_id: ObjectId,
        manifest_id: ObjectId,
        before: ManifestStatus,
        after: ManifestStatus,
        now: datetime,
        session: AsyncClientSession,
    ) -> bool:
        """Move one manifest from ``before`` to ``after``; False when it was not ``before``."""
        stamp = "doneAt" if after is ManifestStatus.DONE else "restoredAt"
        result = await self.collection.update_one(
            {"groupId": group_id, "_id": manifest_id, "status": before.value},
            {"$set": {"status": after.value, stamp: now}},
            session=session,
        )
        return result.modified_count == 1

    async def done_in_days(
        self,
        group_id: ObjectId,
        first_day: str,
        last_day: str,
        *,
        from_key: str | None = None,
        event_type: str | None = None,
        limit: int | None = None,
    ) -> list[ListedManifest]:
        """Done manifests of the days ``first_day``..``last_day`` (ISO dates), in key order,
        from ``from_key`` (inclusive) on.

        A key starts with its day, so a range of days is a range of ``key`` on
        ``archive_manifests_key``; with a ``limit`` the days are read in windows of
        1, 2, 4, … days until it is reached (the embedded server reads a whole
        range before a limit applies). Status and type are checked after the
        index lookup. ``ids`` are left out.
        """
        prefix = f"events/group={group_id}/date="
        day = date.fromisoformat(first_day)
        if from_key is not None and from_key.startswith(prefix):
            day = max(day, date.fromisoformat(from_key[len(prefix) : len(prefix) + 10]))
        last = date.fromisoformat(last_day)
        residual: dict[str, Any] = {"status": ManifestStatus.DONE.value}
        if event_type is not None:
            residual["types"] = event_type
        found: list[ListedManifest] = []
        width = 1
        while day <= last and (limit is None or len(found) < limit):
            end = last if limit is None else min(last, day + timedelta(days=width - 1))
            lower = max(f"{prefix}{day.isoformat()}/", from_key or "")
            spec = self.days_spec(group_id, lower, f"{prefix}{end.isoformat()}/~", residual)
            found += _listed(await spec.run(self.collection))
            day, width = end + timedelta(days=1), width * 2
        return found if limit is None else found[:limit]

    @staticmethod
    def days_spec(group_id: ObjectId, lower: str, upper: str, residual: dict[str, Any]) -> FindSpec:
        """Manifests with keys in [lower, upper), in key order, without their ``ids``."""
        return FindSpec(
            {"groupId": group_id, "key": {"$gte": lower, "$lt": upper}},
            (("key", 1),),
            0,
            "archive_manifests_key",
            residual,
            projection={"ids": 0},
        )

    async def by_id(self, group_id: ObjectId, manifest_id: ObjectId) -> ManifestDocument | None:
        return _manifest(await self.collection.find_one({"groupId": group_id, "_id": manifest_id}))


class ArchivalProgressRepository:
    """One document per group: what its archive holds and where the last batch ended."""

    def __init__(self, database: Database) -> None:
        self.collection = database.collection("archival_progress")

    async def record_batch(
        self,
        group_id: ObjectId,
        manifest: ManifestDocument,
        now: datetime,
        session: AsyncClientSession,
    ) -> None:
        await self.collection.update_one(
            {"groupId": group_id},
            {
                "$inc": {
                    "archivedEvents": manifest["count"],
                    "archivedEventBytes": manifest["eventBytes"],
                    "objects": 1,
                    "objectBytes": manifest["objectBytes"],
                },
                "$set": {
                    "lastRunId": manifest["runId"],
                    "lastBatchAt": now,
                    "checkpoint": {
                        "timestamp": manifest["maxTimestamp"],
                        "eventId": manifest["ids"][-1],
                        "key": manifest["key"],
                    },
                },
            },
            upsert=True,
            session=session,
        )

    async def record_restore(
        self, group_id: ObjectId, manifest: ListedManifest, session: AsyncClientSession
    ) -> None:
        await self.collection.update_one(
            {"groupId": group_id},
            {
                "$inc": {
                    "archivedEvents": -manifest["count"],
                    "archivedEventBytes": -manifest["eventBytes"],
                    "objects": -1,
                    "objectBytes": -manifest["objectBytes"],
                }
            },
            upsert=True,
            session=session,
        )

    async def get(self, group_id: ObjectId) -> Document | None:
        return await self.collection.find_one({"groupId": group_id})
