"""The only code that writes a group's counters, its enforced limits and its plan.

The group document (``groups``) is the tenant's account: ``counts`` (the
denormalized counters, ``ontology.ledger.counters``), ``newest``/``oldest`` (the
keys where a list's first page starts), ``quota`` (the limits a reservation
compares with, in counter units), ``plan`` and ``limits``, and the engagement
board. Reads of the group document are the groups concept's
(``ontology.groups.repository``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.ledger.counters import CountDelta
from ontology.ledger.documents import EngagementBoard, GroupDocument
from ontology.ledger.plans import LEASED_OF_COUNTER
from ontology.ledger.reservation import within_limit
from ontology.ledger.standing import standing_stages


def _group(found: Document | None) -> GroupDocument | None:
    """PyMongo reads ``dict[str, Any]``; what ``groups`` stores is ``GroupDocument``: the
    one place its whole documents are cast (projections stay ``Document``)."""
    return cast("GroupDocument | None", found)


class GroupAccounts:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("groups")

    async def by_id(self, group_id: ObjectId, session: AsyncClientSession) -> GroupDocument | None:
        """The group document as the write's transaction sees it."""
        return _group(await self.collection.find_one({"_id": group_id}, session=session))

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

    async def lease(
        self,
        group_id: ObjectId,
        leases: Mapping[str, int],
        share: int,
        session: AsyncClientSession,
    ) -> bool:
        """Lease a process ``leases`` (enforced counter -> room) of the group's quota, each
        only while it is at most 1/``share`` of the room left (``leased.<counter>``,
        ``ontology.ledger.shards``); whether they were granted."""
        checks = [within_limit(counter, amount * share) for counter, amount in leases.items()]
        result = await self.collection.update_one(
            {"_id": group_id, "$expr": {"$and": checks}},
            {"$inc": {LEASED_OF_COUNTER[counter]: n for counter, n in leases.items()}},
            session=session,
        )
        return result.modified_count == 1

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
        board: EngagementBoard | None,
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
        board: EngagementBoard,
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
    ) -> GroupDocument | None:
        changes = {"plan": plan, "quota": {"$literal": quota}, "updatedAt": now}
        result = await self.collection.find_one_and_update(
            {"_id": group_id},
            [{"$set": changes}, *standing_stages()],
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _group(result)

    async def set_limits(
        self,
        group_id: ObjectId,
        limits: dict[str, int],
        quota: dict[str, int],
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Store a group's limit overrides and the enforced limits derived from them (and
        the quota standing they give its counters)."""
        changes = {"limits": {"$literal": limits}, "quota": {"$literal": quota}}
        result = await self.collection.update_one(
            {"_id": group_id}, [{"$set": changes}, *standing_stages()], session=session
        )
        return result.matched_count == 1

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
