"""The only code that touches ``api_keys``.

Authentication looks a key up by the hash of its secret before any group is
known; every other operation is scoped by ``groupId``.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document


class ApiKeyRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("api_keys")

    async def insert(self, key: Document) -> None:
        await self.collection.insert_one(key)

    async def active_by_hash(self, key_hash: str) -> Document | None:
        return await self.collection.find_one({"keyHash": key_hash, "revokedAt": None})

    async def revoke(
        self,
        group_id: ObjectId,
        key_id: ObjectId,
        now: datetime,
        session: AsyncClientSession | None = None,
    ) -> bool:
        result = await self.collection.update_one(
            {"groupId": group_id, "_id": key_id, "revokedAt": None},
            {"$set": {"revokedAt": now}},
            session=session,
        )
        return result.modified_count == 1

    async def for_group(self, group_id: ObjectId) -> list[Document]:
        cursor = self.collection.find({"groupId": group_id}, {"keyHash": 0}).sort("_id", 1)
        return [doc async for doc in cursor]
