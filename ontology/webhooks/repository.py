"""The only code that touches ``webhooks`` and ``webhook_deliveries`` (the outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec
from ontology.db.windows import OBJECT_IDS, Scan
from ontology.kit.pagination import PageRequest
from ontology.webhooks.models import MAX_WEBHOOKS_PER_GROUP, DeliveryStatus


class WebhookRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("webhooks")

    async def insert(self, group_id: ObjectId, doc: Document) -> None:
        if doc["groupId"] != group_id:
            raise ValueError("A webhook of another group was passed to insert.")
        await self.collection.insert_one(doc)

    async def of_group(
        self, group_id: ObjectId, session: AsyncClientSession | None = None
    ) -> list[Document]:
        """The group's webhooks, oldest first (at most ``MAX_WEBHOOKS_PER_GROUP``)."""
        cursor = self.collection.find(
            {"groupId": group_id},
            sort=[("_id", 1)],
            limit=MAX_WEBHOOKS_PER_GROUP,
            hint="webhooks_group",
            session=session,
        )
        return [doc async for doc in cursor]

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        cursor = self.collection.find({"groupId": group_id, "_id": {"$in": list(ids)}})
        return [doc async for doc in cursor]

    async def delete(self, group_id: ObjectId, webhook_id: ObjectId) -> bool:
        result = await self.collection.delete_one({"groupId": group_id, "_id": webhook_id})
        return result.deleted_count == 1


class DeliveryRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("webhook_deliveries")
        self.hints = database.hints

    async def insert_many(
        self, group_id: ObjectId, docs: Sequence[Document], session: AsyncClientSession
    ) -> None:
        if any(doc["groupId"] != group_id for doc in docs):
            raise ValueError("A delivery of another group was passed to insert_many.")
        if docs:
            await self.collection.insert_many(list(docs), session=session)
            await self.hints.inserted_docs(
                self.collection.name,
                docs,
                lambda d: [{"groupId": d["groupId"]}],
                "_id",
                OBJECT_IDS,
            )

    def page_spec(self, group_id: ObjectId, page: PageRequest) -> FindSpec:
        scan = Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints)
        return FindSpec(
            {"groupId": group_id},
            (("_id", page.sort_direction),),
            page.limit,
            "webhook_deliveries_group",
            scan=scan,
        )

    async def page(self, group_id: ObjectId, page: PageRequest) -> list[Document]:
        """The group's deliveries, newest first, one bounded page."""
        return await self.page_spec(group_id, page).run(self.collection)

    async def claim_due(self, owner: str, now: datetime, lease_until: datetime) -> Document | None:
        """Take the oldest due pending delivery, atomically, for ``owner`` until
        ``lease_until``: the claim moves its due time to the lease's end, so two workers
        never hold it at once, and a worker that dies mid-way leaves it due again when
        the lease lapses (any tenant: the worker is the platform's; one range of the
        ``webhook_deliveries_due`` index)."""
        result: Document | None = await self.collection.find_one_and_update(
            {"status": DeliveryStatus.PENDING.value, "nextAttemptAt": {"$lte": now}},
            {"$set": {"leaseOwner": owner, "nextAttemptAt": lease_until}},
            sort=[("status", 1), ("nextAttemptAt", 1)],
            hint="webhook_deliveries_due",
            return_document=ReturnDocument.AFTER,
        )
        return result

    async def finish(self, delivery_id: ObjectId, owner: str, fields: dict[str, Any]) -> bool:
        """Record an attempt's outcome if ``owner`` still holds the delivery."""
        result = await self.collection.update_one(
            {"_id": delivery_id, "leaseOwner": owner},
            {"$set": {**fields, "leaseOwner": None}, "$inc": {"attempts": 1}},
        )
        return result.modified_count == 1
