"""The only code that touches the ``groups`` collection.

Group documents are the tenants themselves, so they are addressed by ``_id``
(the group id) or by slug rather than filtered by ``groupId``.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
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

    async def counts(self, group_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": group_id}, {"counts": 1})
        return dict(doc["counts"]) if doc else {}
