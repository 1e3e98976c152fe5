"""The only code that touches the ``groups`` collection.

Group documents are the tenants themselves, so they are addressed by ``_id``
(the group id) or by slug rather than filtered by ``groupId``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.groups.models import CountDelta


class GroupRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("groups")

    async def insert(self, group: Document) -> None:
        await self.collection.insert_one(group)

    async def by_id(
        self, group_id: ObjectId, session: AsyncClientSession | None = None
    ) -> Document | None:
        return await self.collection.find_one({"_id": group_id}, session=session)

    async def by_slug(self, slug: str) -> Document | None:
        return await self.collection.find_one({"slug": slug})

    async def apply_counts(
        self, group_id: ObjectId, delta: CountDelta, session: AsyncClientSession | None = None
    ) -> None:
        """Apply ``delta`` to the group's counters in one atomic update."""
        update: dict[str, Any] = {}
        if delta.fields:
            update["$inc"] = delta.fields
        if delta.newest:
            update["$max"] = delta.newest
            update["$min"] = delta.oldest
        if update:
            await self.collection.update_one({"_id": group_id}, update, session=session)

    async def engagement(
        self, group_id: ObjectId, session: AsyncClientSession | None = None
    ) -> Document:
        """The group's inbound and thing counters by type and its engagement board."""
        doc = await self.collection.find_one(
            {"_id": group_id},
            {"counts.inboundByType": 1, "counts.thingsByType": 1, "engagement": 1},
            session=session,
        )
        return doc or {}

    async def add_inbound(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        board: Document | None,
        session: AsyncClientSession,
    ) -> None:
        """Apply ``delta`` (``CountDelta.inbound`` increments) where ``counts.inboundByType``
        exists (a group stored before it is recounted on its first read), and set the
        engagement board if given."""
        update: dict[str, Any] = {}
        if delta:
            update["$inc"] = delta.fields
        if board is not None:
            update["$set"] = {"engagement": board}
        if update:
            await self.collection.update_one(
                {"_id": group_id, "counts.inboundByType": {"$exists": True}},
                update,
                session=session,
            )

    async def reset_engagement(
        self,
        group_id: ObjectId,
        by_type: dict[str, int],
        board: Document,
        session: AsyncClientSession,
    ) -> dict[str, Any]:
        """Set the recounted ``inboundByType`` and a rebuilt board; the group's counters."""
        doc = await self.collection.find_one_and_update(
            {"_id": group_id},
            {"$set": {"counts.inboundByType": by_type, "engagement": board}},
            projection={"counts": 1},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return dict(doc["counts"]) if doc else {}

    async def update_with_pipeline(
        self,
        group_id: ObjectId,
        pipeline: list[dict[str, Any]],
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Run an update pipeline on one group document; whether it changed it."""
        result = await self.collection.update_one({"_id": group_id}, pipeline, session=session)
        return result.modified_count == 1

    async def set_plan(
        self,
        group_id: ObjectId,
        plan: str,
        quota: dict[str, int],
        now: datetime,
        session: AsyncClientSession,
    ) -> Document | None:
        result: Document | None = await self.collection.find_one_and_update(
            {"_id": group_id},
            {"$set": {"plan": plan, "quota": quota, "updatedAt": now}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return result

    async def set_limits(
        self,
        group_id: ObjectId,
        limits: dict[str, int],
        quota: dict[str, int],
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Store a group's limit overrides and the enforced limits derived from them."""
        result = await self.collection.update_one(
            {"_id": group_id}, {"$set": {"limits": limits, "quota": quota}}, session=session
        )
        return result.matched_count == 1

    def all_quota_settings(self) -> AsyncIterator[Document]:
        """Every group's plan, overrides and enforced limits (start-up sync)."""
        return aiter(self.collection.find({}, {"plan": 1, "limits": 1, "quota": 1}))

    def all_counts(self) -> AsyncIterator[Document]:
        """Every group's id and counters (the snapshot roll-up walks them)."""
        return aiter(self.collection.find({}, {"counts": 1}).sort("_id", 1))

    def all_for_archival(self) -> AsyncIterator[Document]:
        """Every group's slug, plan and overrides (the archival job's retention cutoffs)."""
        return aiter(self.collection.find({}, {"slug": 1, "plan": 1, "limits": 1}).sort("_id", 1))

    async def counts(self, group_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": group_id}, {"counts": 1})
        return dict(doc["counts"]) if doc else {}

    async def apply_counts_returning(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        projection: dict[str, Any],
        session: AsyncClientSession,
    ) -> Document | None:
        """``apply_counts`` in one ``findAndModify``: the document (``projection``) as it
        was before (quota alerts compare the levels before and after)."""
        update: dict[str, Any] = {"$inc": delta.fields} if delta.fields else {}
        if delta.newest:
            update["$max"] = delta.newest
            update["$min"] = delta.oldest
        result: Document | None = await self.collection.find_one_and_update(
            {"_id": group_id},
            update,
            projection=projection,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        return result

    async def update_with_pipeline_returning(
        self,
        group_id: ObjectId,
        pipeline: list[dict[str, Any]],
        projection: dict[str, Any],
        session: AsyncClientSession,
    ) -> Document | None:
        """``update_with_pipeline`` in one ``findAndModify``: the document before it."""
        result: Document | None = await self.collection.find_one_and_update(
            {"_id": group_id},
            pipeline,
            projection=projection,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        return result
