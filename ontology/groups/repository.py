"""The only code that touches the ``groups`` collection.

Group documents are the tenants themselves, so they are addressed by ``_id``
(the group id) or by slug rather than filtered by ``groupId``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document


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
