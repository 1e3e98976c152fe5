"""The only code that touches the ``groups`` collection.

Group documents are the tenants themselves, so they are addressed by ``_id``
(the group id) or by slug rather than filtered by ``groupId``.
"""

from __future__ import annotations

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

    async def by_id(self, group_id: ObjectId) -> Document | None:
        return await self.collection.find_one({"_id": group_id})

    async def by_slug(self, slug: str) -> Document | None:
        return await self.collection.find_one({"slug": slug})

    async def apply_counts(
        self, group_id: ObjectId, delta: CountDelta, session: AsyncClientSession | None = None
    ) -> None:
        """Apply ``delta`` to the group's counters in one atomic ``$inc``."""
        if delta:
            await self.collection.update_one(
                {"_id": group_id}, {"$inc": delta.fields}, session=session
            )

    async def update_with_pipeline(
        self,
        group_id: ObjectId,
        pipeline: list[dict[str, Any]],
        session: AsyncClientSession | None = None,
    ) -> Document | None:
        """Run an update pipeline on one group document; the document after it."""
        result: Document | None = await self.collection.find_one_and_update(
            {"_id": group_id}, pipeline, return_document=ReturnDocument.AFTER, session=session
        )
        return result

    async def set_plan(
        self, group_id: ObjectId, plan: str, now: datetime, session: AsyncClientSession
    ) -> Document | None:
        result: Document | None = await self.collection.find_one_and_update(
            {"_id": group_id},
            {"$set": {"plan": plan, "updatedAt": now}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return result

    async def set_limit(self, group_id: ObjectId, metric: str, value: int | None) -> bool:
        """Override one quota limit for the group (``None`` removes the override)."""
        update = (
            {"$unset": {f"limits.{metric}": ""}}
            if value is None
            else {"$set": {f"limits.{metric}": value}}
        )
        result = await self.collection.update_one({"_id": group_id}, update)
        return result.matched_count == 1

    async def counts(self, group_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": group_id}, {"counts": 1})
        return dict(doc["counts"]) if doc else {}
