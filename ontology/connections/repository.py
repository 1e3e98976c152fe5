"""The only code that touches the ``connections`` collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import DeleteOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys, items_per_parent, top_per_parent
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.pagination import PageRequest

# direction -> the field holding "this thing" for that direction
END_FIELD = {"OUTBOUND": "fromId", "INBOUND": "toId"}
OTHER_END_FIELD = {"OUTBOUND": "toId", "INBOUND": "fromId"}


def live_thing_of(joined: list[Document], group_id: ObjectId) -> Document | None:
    """The joined thing if it is live and the group's own (tenant check of a ``$lookup``)."""
    for doc in joined:
        if doc.get("groupId") == group_id and doc.get("deletedAt") is None:
            return doc
    return None


class ConnectionRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("connections")
        self.chunk = database.write_chunk

    async def insert(self, group_id: ObjectId, doc: Document, session: AsyncClientSession) -> None:
        """Insert one connection; a duplicate raises ``DuplicateKeyError``."""
        if doc["groupId"] != group_id:
            raise ValueError("A connection of another group was passed to insert.")
        await self.collection.insert_one(doc, session=session)

    async def insert_many(
        self, group_id: ObjectId, docs: Sequence[Document], session: AsyncClientSession
    ) -> None:
        """Insert connections in order; a duplicate raises ``BulkWriteError`` naming its index."""
        if any(doc["groupId"] != group_id for doc in docs):
            raise ValueError("A connection of another group was passed to insert_many.")
        await insert_chunked(self.collection, docs, session, self.chunk)

    async def existing_keys(
        self, group_id: ObjectId, from_ids: Sequence[ObjectId]
    ) -> set[tuple[ObjectId, ObjectId, str]]:
        """(fromId, toId, type) of the stored connections leaving these things."""
        found = await find_by_keys(
            self.collection,
            "fromId",
            from_ids,
            {"groupId": group_id},
            {"fromId": 1, "toId": 1, "type": 1},
        )
        return {(doc["fromId"], doc["toId"], doc["type"]) for doc in found}

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        """The group's documents with these ids (any number, one command)."""
        return await find_by_keys(self.collection, "_id", ids, {"groupId": group_id})

    def page_spec(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if connection_type is not None:
            query["type"] = connection_type
        index = "connections_group_type" if connection_type is not None else "connections_group"
        return FindSpec(
            page.apply(query, "_id"), (("_id", page.sort_direction),), page.limit, index
        )

    async def page(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> list[Document]:
        return await self.page_spec(group_id, connection_type, page).run(self.collection)

    def for_things_pipeline(
        self,
        group_id: ObjectId,
        direction: str,
        connection_type: str | None,
        thing_ids: Sequence[ObjectId],
        page: PageRequest,
    ) -> list[dict[str, Any]]:
        scope: dict[str, Any] = {"groupId": group_id}
        if connection_type is not None:
            scope["type"] = connection_type
        return top_per_parent(
            scope,
            END_FIELD[direction],
            thing_ids,
            "_id",
            page.sort_direction,
            page.limit,
            page.key_range(),
            joins={OTHER_END_FIELD[direction]: "_other"},
        )

    async def for_things(
        self,
        group_id: ObjectId,
        direction: str,
        connection_type: str | None,
        thing_ids: Sequence[ObjectId],
        page: PageRequest,
    ) -> dict[ObjectId, list[Document]]:
        """Each thing's page of connections in one direction, in one command.

        Each connection carries ``_other``: the live thing at its other end, or None.
        """
        pipeline = self.for_things_pipeline(group_id, direction, connection_type, thing_ids, page)
        found = await items_per_parent(self.collection, pipeline)
        for items in found.values():
            for item in items:
                item["_other"] = live_thing_of(item["_other"], group_id)
        return found

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
        """Delete every connection from or to ``thing_id``; the deleted documents.

        The deletes go ``write_chunk`` per command (one ``DeleteOne`` by id each,
        as ``EventRepository.delete_by_ids``), so a thing with 5,000 connections
        does not hold the collection for one long command, and the embedded
        server does not match a long ``$in`` (quadratic there).
        """
        found: dict[ObjectId, Document] = {}
        for field in ("fromId", "toId"):
            cursor = self.collection.find({"groupId": group_id, field: thing_id}, session=session)
            async for doc in cursor:
                found[doc["_id"]] = doc
        operations = [DeleteOne({"groupId": group_id, "_id": i}) for i in found]
        await bulk_write_chunked(self.collection, operations, session, self.chunk)
        return list(found.values())
