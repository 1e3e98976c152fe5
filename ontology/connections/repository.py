"""The only code that touches the ``connections`` collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from bson import ObjectId
from pymongo import DeleteOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.connections.documents import ConnectionDocument, RelatedConnection
from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys, live_thing_of, pages_per_parent
from ontology.db.windows import OBJECT_IDS, Scan
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.pagination import PageRequest

# direction -> the field holding "this thing" for that direction
END_FIELD = {"OUTBOUND": "fromId", "INBOUND": "toId"}
OTHER_END_FIELD = {"OUTBOUND": "toId", "INBOUND": "fromId"}

# PyMongo reads ``dict[str, Any]``; what this collection stores is ``ConnectionDocument``.
# The one place its reads are cast, and its writes handed back to PyMongo.


def _connections(found: list[Document]) -> list[ConnectionDocument]:
    return cast("list[ConnectionDocument]", found)


def _connection(found: Document | None) -> ConnectionDocument | None:
    return cast("ConnectionDocument | None", found)


def _raw(doc: ConnectionDocument) -> Document:
    return cast(Document, doc)


class ConnectionRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("connections")
        self.chunk = database.write_chunk
        self.hints = database.hints

    @staticmethod
    def _scopes(doc: ConnectionDocument) -> list[dict[str, Any]]:
        """The filters of the lists a new connection joins (``page_spec``, ``for_thing_spec``)."""
        group: dict[str, Any] = {"groupId": doc["groupId"]}
        typed = {**group, "type": doc["type"]}
        return [group, typed] + [
            {**scope, end: key}
            for scope in (group, typed)
            for end, key in (("fromId", doc["fromId"]), ("toId", doc["toId"]))
        ]

    async def _inserted(self, docs: Sequence[ConnectionDocument]) -> None:
        await self.hints.inserted_docs(self.collection.name, docs, self._scopes, "_id", OBJECT_IDS)

    async def insert(
        self, group_id: ObjectId, doc: ConnectionDocument, session: AsyncClientSession
    ) -> None:
        """Insert one connection; a duplicate raises ``DuplicateKeyError``."""
        if doc["groupId"] != group_id:
            raise ValueError("A connection of another group was passed to insert.")
        await self.collection.insert_one(_raw(doc), session=session)
        await self._inserted([doc])

    async def insert_many(
        self, group_id: ObjectId, docs: Sequence[ConnectionDocument], session: AsyncClientSession
    ) -> None:
        """Insert connections in order; a duplicate raises ``BulkWriteError`` naming its index."""
        if any(doc["groupId"] != group_id for doc in docs):
            raise ValueError("A connection of another group was passed to insert_many.")
        await insert_chunked(self.collection, docs, session, self.chunk)
        await self._inserted(docs)

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

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[ConnectionDocument]:
        """The group's documents with these ids (any number, one command)."""
        return _connections(await find_by_keys(self.collection, "_id", ids, {"groupId": group_id}))

    def page_spec(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if connection_type is not None:
            query["type"] = connection_type
        index = "connections_group_type" if connection_type is not None else "connections_group"
        scan = Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints)
        return FindSpec(query, (("_id", page.sort_direction),), page.limit, index, scan=scan)

    async def page(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> list[ConnectionDocument]:
        return _connections(
            await self.page_spec(group_id, connection_type, page).run(self.collection)
        )

    def for_thing_spec(
        self,
        group_id: ObjectId,
        direction: str,
        connection_type: str | None,
        thing_id: ObjectId,
        page: PageRequest,
    ) -> FindSpec:
        """A thing's page of connections in one direction, each with ``_other`` joined."""
        query: dict[str, Any] = {"groupId": group_id}
        if connection_type is not None:
            query["type"] = connection_type
        query[END_FIELD[direction]] = thing_id
        index = "connections_from" if direction == "OUTBOUND" else "connections_to"
        return FindSpec(
            query,
            (("_id", page.sort_direction),),
            page.limit,
            f"{index}_type" if connection_type is not None else index,
            scan=Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints),
            joins={OTHER_END_FIELD[direction]: "_other"},
        )

    async def for_things(
        self,
        group_id: ObjectId,
        direction: str,
        connection_type: str | None,
        things: dict[ObjectId, tuple[int | None, ObjectId | None]],
        page: PageRequest,
    ) -> dict[ObjectId, list[RelatedConnection]]:
        """Each thing's page of connections in one direction (``things``: each thing's
        count of them and the newest id written, None when unknown).

        Each connection carries ``_other``: the live thing at its other end, or None.
        """
        specs = {
            thing_id: self.for_thing_spec(
                group_id, direction, connection_type, thing_id, page.known(None, newest)
            )
            for thing_id, (_, newest) in things.items()
        }
        counts = {thing_id: count for thing_id, (count, _) in things.items()}
        found = await pages_per_parent(self.collection, END_FIELD[direction], specs, counts)
        for items in found.values():
            for item in items:
                item["_other"] = live_thing_of(item["_other"], group_id)
        # each a stored connection with its other end joined
        return cast("dict[ObjectId, list[RelatedConnection]]", found)

    async def delete_one(
        self, group_id: ObjectId, connection_id: ObjectId, session: AsyncClientSession
    ) -> ConnectionDocument | None:
        result = await self.collection.find_one_and_delete(
            {"groupId": group_id, "_id": connection_id}, session=session
        )
        return _connection(result)

    async def delete_touching(
        self, group_id: ObjectId, thing_id: ObjectId, session: AsyncClientSession
    ) -> list[ConnectionDocument]:
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
        return _connections(list(found.values()))
