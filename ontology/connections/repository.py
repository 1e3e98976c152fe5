"""The only code that touches the ``connections`` collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, union_all
from ontology.kit.pagination import PageRequest

# direction -> the field holding "this thing" for that direction
END_FIELD = {"OUTBOUND": "fromId", "INBOUND": "toId"}


class ConnectionRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("connections")

    async def insert(self, group_id: ObjectId, doc: Document, session: AsyncClientSession) -> None:
        """Insert one connection; a duplicate raises ``DuplicateKeyError``."""
        if doc["groupId"] != group_id:
            raise ValueError("A connection of another group was passed to insert.")
        await self.collection.insert_one(doc, session=session)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        cursor = self.collection.find({"groupId": group_id, "_id": {"$in": list(ids)}})
        return [doc async for doc in cursor.batch_size(len(ids) + 1)]

    def page_spec(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if connection_type is not None:
            query["type"] = connection_type
        return FindSpec(page.apply(query, "_id"), (("_id", page.sort_direction),), page.limit)

    async def page(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> list[Document]:
        return await self.page_spec(group_id, connection_type, page).run(self.collection)

    def branch(
        self,
        group_id: ObjectId,
        thing_id: ObjectId,
        direction: str,
        connection_type: str | None,
        page: PageRequest,
        tag: int,
    ) -> list[dict[str, Any]]:
        """One thing's connections in one direction: one index range, tagged ``_k``."""
        query: dict[str, Any] = {"groupId": group_id, END_FIELD[direction]: thing_id}
        if connection_type is not None:
            query["type"] = connection_type
        return [
            {"$match": page.apply(query, "_id")},
            {"$sort": {"_id": page.sort_direction}},
            {"$limit": page.limit},
            {"$addFields": {"_k": tag}},
        ]

    async def for_things(self, branches: Sequence[list[dict[str, Any]]]) -> list[Document]:
        """Run the ``branch`` pipelines of many things as one command."""
        return await union_all(self.collection, branches)

    async def delete_one(
        self, group_id: ObjectId, connection_id: ObjectId, session: AsyncClientSession
    ) -> Document | None:
        result: Document | None = await self.collection.find_one_and_delete(
            {"groupId": group_id, "_id": connection_id}, session=session
        )
        return result

    async def delete_touching(
        self, group_id: ObjectId, thing_id: ObjectId, session: AsyncClientSession
    ) -> list[Document]:
        """Delete every connection from or to ``thing_id``; the deleted documents."""
        found: dict[ObjectId, Document] = {}
        for field in ("fromId", "toId"):
            cursor = self.collection.find({"groupId": group_id, field: thing_id}, session=session)
            async for doc in cursor:
                found[doc["_id"]] = doc
        if found:
            await self.collection.delete_many(
                {"groupId": group_id, "_id": {"$in": list(found)}}, session=session
            )
        return list(found.values())
