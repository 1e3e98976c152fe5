"""The only code that touches the ``things`` collection.

Every filter starts with the caller's ``groupId`` and ``deletedAt: null`` (live
things), matching the ``things_*`` indexes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys
from ontology.db.windows import OBJECT_IDS, Scan
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.pagination import PageRequest
from ontology.things.documents import ThingDocument, ThingInbound

# PyMongo reads ``dict[str, Any]``; what this collection stores is ``ThingDocument``.
# The one place its reads are cast, and its writes handed back to PyMongo.


def _things(found: list[Document]) -> list[ThingDocument]:
    return cast("list[ThingDocument]", found)


def _thing(found: Document | None) -> ThingDocument | None:
    return cast("ThingDocument | None", found)


def _raw(doc: ThingDocument) -> Document:
    return cast(Document, doc)


class ThingRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("things")
        self.chunk = database.write_chunk
        self.hints = database.hints

    @staticmethod
    def _live(group_id: ObjectId) -> dict[str, Any]:
        return {"groupId": group_id, "deletedAt": None}

    @classmethod
    def _scopes(cls, doc: ThingDocument) -> list[dict[str, Any]]:
        """The filters of the lists a new thing joins (``page_spec``)."""
        live = cls._live(doc["groupId"])
        return [
            live,
            {**live, "type": doc["type"]},
            {**live, "status": doc["status"]},
            {**live, "type": doc["type"], "status": doc["status"]},
        ]

    async def _inserted(self, docs: Sequence[ThingDocument]) -> None:
        await self.hints.inserted_docs(self.collection.name, docs, self._scopes, "_id", OBJECT_IDS)

    async def insert(
        self, group_id: ObjectId, doc: ThingDocument, session: AsyncClientSession
    ) -> None:
        if doc["groupId"] != group_id:
            raise ValueError("A thing of another group was passed to insert.")
        await self.collection.insert_one(_raw(doc), session=session)
        await self._inserted([doc])

    async def insert_many(
        self, group_id: ObjectId, docs: Sequence[ThingDocument], session: AsyncClientSession
    ) -> None:
        if any(doc["groupId"] != group_id for doc in docs):
            raise ValueError("A thing of another group was passed to insert_many.")
        await insert_chunked(self.collection, docs, session, self.chunk)
        await self._inserted(docs)

    async def update_many_versions(
        self,
        group_id: ObjectId,
        changes: Sequence[tuple[ObjectId, int, dict[str, Any]]],
        session: AsyncClientSession,
    ) -> int:
        """Set fields on things still at the given versions, in bounded bulk writes; how many
        matched."""
        totals = await bulk_write_chunked(
            self.collection,
            [
                UpdateOne(
                    {**self._live(group_id), "_id": thing_id, "version": version},
                    {"$set": fields, "$inc": {"version": 1}},
                )
                for thing_id, version, fields in changes
            ],
            session,
            self.chunk,
        )
        return totals.matched

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[ThingDocument]:
        """The group's live things with these ids (any number, one command)."""
        return _things(await find_by_keys(self.collection, "_id", ids, self._live(group_id)))

    def page_spec(
        self, group_id: ObjectId, thing_type: str | None, status: str | None, page: PageRequest
    ) -> FindSpec:
        query = self._live(group_id)
        if thing_type is not None:
            query["type"] = thing_type
        if status is not None:
            query["status"] = status
        index = {
            (True, True): "things_type_status",
            (True, False): "things_type",
            (False, True): "things_status",
            (False, False): "things_live",
        }[(thing_type is not None, status is not None)]
        scan = Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints)
        return FindSpec(query, (("_id", page.sort_direction),), page.limit, index, scan=scan)

    async def page(
        self, group_id: ObjectId, thing_type: str | None, status: str | None, page: PageRequest
    ) -> list[ThingDocument]:
        spec = self.page_spec(group_id, thing_type, status, page)
        return _things(await spec.run(self.collection))

    async def update(
        self,
        group_id: ObjectId,
        thing_id: ObjectId,
        version: int,
        fields: dict[str, Any],
        session: AsyncClientSession,
    ) -> ThingDocument | None:
        """Set ``fields`` and bump the version if the thing is still at ``version``."""
        result = await self.collection.find_one_and_update(
            {**self._live(group_id), "_id": thing_id, "version": version},
            {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _thing(result)

    async def soft_delete(
        self, group_id: ObjectId, thing_id: ObjectId, now: datetime, session: AsyncClientSession
    ) -> ThingDocument | None:
        """Mark a live thing deleted; the document as it was, or ``None``."""
        result = await self.collection.find_one_and_update(
            {**self._live(group_id), "_id": thing_id},
            {"$set": {"deletedAt": now, "updatedAt": now}},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        return _thing(result)

    async def apply_connection_counts(
        self,
        group_id: ObjectId,
        changes: Sequence[tuple[ObjectId, str, str, int]],
        session: AsyncClientSession,
        created: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Apply (thing id, "inbound"|"outbound", connection type, delta) in bounded bulk
        writes, and raise each end's ``newestConnection`` keys (per direction, and per
        type and direction) to the ``created`` connections' ids. Writes call it through
        ``EngagementLedger.record``, which keeps the group's engagement counters in step."""
        merged: dict[ObjectId, dict[str, int]] = {}
        for thing_id, direction, connection_type, delta in changes:
            inc = merged.setdefault(thing_id, {})
            for field in (
                f"connectionCounts.{direction}",
                f"connectionCounts.byType.{connection_type}.{direction}",
            ):
                inc[field] = inc.get(field, 0) + delta
        newest: dict[ObjectId, dict[str, ObjectId]] = {}
        for connection in created:
            for end, direction in (("fromId", "outbound"), ("toId", "inbound")):
                keys = newest.setdefault(connection[end], {})
                for field in (
                    f"newestConnection.{direction}",
                    f"newestConnection.byType.{connection['type']}.{direction}",
                ):
                    keys[field] = max(keys.get(field, connection["_id"]), connection["_id"])
        updates = []
        for thing_id, inc in merged.items():
            update: dict[str, Any] = {"$inc": inc}
            if thing_id in newest:
                update["$max"] = newest[thing_id]
            updates.append(UpdateOne({**self._live(group_id), "_id": thing_id}, update))
        await bulk_write_chunked(self.collection, updates, session, self.chunk)

    async def inbound_counts(
        self, group_id: ObjectId, ids: Sequence[ObjectId], session: AsyncClientSession
    ) -> list[ThingInbound]:
        """The type and inbound count of the group's live things with these ids (one
        command; none without ids), as this session sees them."""
        if not ids:
            return []
        found = await find_by_keys(
            self.collection,
            "_id",
            ids,
            self._live(group_id),
            {"type": 1, "connectionCounts.inbound": 1},
            session,
        )
        return cast("list[ThingInbound]", found)  # the projection of a ThingDocument

    def most_inbound_pipeline(
        self, group_id: ObjectId, types: Sequence[str], limit: int
    ) -> list[Any]:
        return [
            # two stages: the first is exactly a things_type range (the embedded server
            # plans a filter with a field the index lacks as a scan); mongod merges them
            {"$match": {**self._live(group_id), "type": {"$in": list(types)}}},
            {"$match": {"connectionCounts.inbound": {"$gt": 0}}},
            {"$sort": {"connectionCounts.inbound": -1, "_id": 1}},
            {"$limit": limit},
        ]

    async def most_inbound(
        self,
        group_id: ObjectId,
        types: Sequence[str],
        limit: int,
        session: AsyncClientSession,
    ) -> list[ThingDocument]:
        """The first ``limit`` live things of these types with inbound connections, by
        inbound count descending then ``_id``: one command reading every live thing of
        these types (a range of ``things_type`` per type). Only rebuilds of the
        engagement board send it (ontology/things/engagement.py)."""
        cursor = await self.collection.aggregate(
            self.most_inbound_pipeline(group_id, types, limit), session=session
        )
        return _things([doc async for doc in cursor])

    def inbound_by_type_pipeline(self, group_id: ObjectId) -> list[Any]:
        return [
            {"$match": self._live(group_id)},
            {
                "$group": {
                    "_id": "$type",
                    "inbound": {"$sum": {"$ifNull": ["$connectionCounts.inbound", 0]}},
                }
            },
        ]

    async def inbound_by_type(
        self, group_id: ObjectId, session: AsyncClientSession
    ) -> dict[str, int]:
        """Inbound connections of the group's live things per type (types with none left
        out): one command reading every live thing (a recount)."""
        cursor = await self.collection.aggregate(
            self.inbound_by_type_pipeline(group_id), session=session
        )
        return {doc["_id"]: int(doc["inbound"]) async for doc in cursor if doc["inbound"]}
