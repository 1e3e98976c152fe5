"""The only code that touches the ``things`` collection.

Every filter starts with the caller's ``groupId`` and ``deletedAt: null`` (live
things), matching the ``things_*`` indexes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys
from ontology.db.windows import OBJECT_IDS, Scan
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.kit.pagination import PageRequest


class ThingRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("things")
        self.chunk = database.write_chunk
        self.hints = database.hints

    @staticmethod
    def _live(group_id: ObjectId) -> dict[str, Any]:
        return {"groupId": group_id, "deletedAt": None}

    @classmethod
    def _scopes(cls, doc: Document) -> list[dict[str, Any]]:
        """The filters of the lists a new thing joins (``page_spec``)."""
        live = cls._live(doc["groupId"])
        return [
            live,
            {**live, "type": doc["type"]},
            {**live, "status": doc["status"]},
            {**live, "type": doc["type"], "status": doc["status"]},
        ]

    def _inserted(self, docs: Sequence[Document]) -> None:
        self.hints.inserted_docs(self.collection.name, docs, self._scopes, "_id", OBJECT_IDS)

    async def insert(self, group_id: ObjectId, doc: Document, session: AsyncClientSession) -> None:
        if doc["groupId"] != group_id:
            raise ValueError("A thing of another group was passed to insert.")
        await self.collection.insert_one(doc, session=session)
        self._inserted([doc])

    async def insert_many(
        self, group_id: ObjectId, docs: Sequence[Document], session: AsyncClientSession
    ) -> None:
        if any(doc["groupId"] != group_id for doc in docs):
            raise ValueError("A thing of another group was passed to insert_many.")
        await insert_chunked(self.collection, docs, session, self.chunk)
        self._inserted(docs)

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

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        """The group's live things with these ids (any number, one command)."""
        return await find_by_keys(self.collection, "_id", ids, self._live(group_id))

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
    ) -> list[Document]:
        return await self.page_spec(group_id, thing_type, status, page).run(self.collection)

    async def update(
        self,
        group_id: ObjectId,
        thing_id: ObjectId,
        version: int,
        fields: dict[str, Any],
        session: AsyncClientSession,
    ) -> Document | None:
        """Set ``fields`` and bump the version if the thing is still at ``version``."""
        result: Document | None = await self.collection.find_one_and_update(
            {**self._live(group_id), "_id": thing_id, "version": version},
            {"$set": fields, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return result

    async def soft_delete(
        self, group_id: ObjectId, thing_id: ObjectId, now: datetime, session: AsyncClientSession
    ) -> Document | None:
        """Mark a live thing deleted; the document as it was, or ``None``."""
        result: Document | None = await self.collection.find_one_and_update(
            {**self._live(group_id), "_id": thing_id},
            {"$set": {"deletedAt": now, "updatedAt": now}},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        return result

    async def apply_connection_counts(
        self,
        group_id: ObjectId,
        changes: Sequence[tuple[ObjectId, str, str, int]],
        session: AsyncClientSession,
    ) -> None:
        """Apply (thing id, "inbound"|"outbound", connection type, delta) in bounded bulk
        writes."""
        merged: dict[ObjectId, dict[str, int]] = {}
        for thing_id, direction, connection_type, delta in changes:
            inc = merged.setdefault(thing_id, {})
            for field in (
                f"connectionCounts.{direction}",
                f"connectionCounts.byType.{connection_type}.{direction}",
            ):
                inc[field] = inc.get(field, 0) + delta
        await bulk_write_chunked(
            self.collection,
            [
                UpdateOne({**self._live(group_id), "_id": thing_id}, {"$inc": inc})
                for thing_id, inc in merged.items()
            ],
            session,
            self.chunk,
        )

    def engagement_pipeline(self, group_id: ObjectId, types: Sequence[str], top: int) -> list[Any]:
        inbound = "$connectionCounts.inbound"
        return [
            {"$match": {**self._live(group_id), "type": {"$in": list(types)}}},
            {
                "$facet": {
                    "top": [
                        {"$match": {"connectionCounts.inbound": {"$gt": 0}}},
                        {"$sort": {"connectionCounts.inbound": -1, "_id": 1}},
                        {"$limit": top},
                    ],
                    "totals": [
                        {
                            "$group": {
                                "_id": None,
                                "inbound": {"$sum": {"$ifNull": [inbound, 0]}},
                                "count": {"$sum": 1},
                            }
                        }
                    ],
                }
            },
        ]

    async def engagement(
        self, group_id: ObjectId, types: Sequence[str], top: int
    ) -> tuple[list[Document], int, int]:
        """The ``top`` live things of these types with the most inbound connections, the sum
        of inbound connections over all of them, and how many there are: one command.

        The ``$match`` is a range of ``things_type`` per content type; the facets
        then read those things (never events): its cost grows with the group's
        content, not its activity. (A ``$facet`` cannot use an index for its
        sort, so an index on the inbound count would not help.)
        """
        cursor = await self.collection.aggregate(self.engagement_pipeline(group_id, types, top))
        result = await cursor.to_list()
        facets = result[0] if result else {"top": [], "totals": []}
        totals = facets["totals"][0] if facets["totals"] else {"inbound": 0, "count": 0}
        return facets["top"], int(totals["inbound"]), int(totals["count"])
