"""The only code that touches the ``events`` collection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, union_all
from ontology.events.models import time_key
from ontology.kit.pagination import PageRequest

# The upper bound of a time range: every sortKey of that millisecond sorts before it.
_AFTER_ALL_IDS = ":~"


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    actor_id: ObjectId | None = None
    target_id: ObjectId | None = None
    since: datetime | None = None
    until: datetime | None = None


class EventRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("events")

    async def insert_many(
        self, group_id: ObjectId, events: Sequence[Document], session: AsyncClientSession
    ) -> None:
        if any(event["groupId"] != group_id for event in events):
            raise ValueError("An event of another group was passed to insert_many.")
        if events:
            await self.collection.insert_many(list(events), ordered=True, session=session)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        cursor = self.collection.find({"groupId": group_id, "_id": {"$in": list(ids)}})
        return [doc async for doc in cursor]

    def page_spec(
        self, group_id: ObjectId, event_filter: EventFilter, page: PageRequest
    ) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if event_filter.type is not None:
            query["type"] = event_filter.type
        if event_filter.actor_id is not None:
            query["actorId"] = event_filter.actor_id
        if event_filter.target_id is not None:
            query["targetId"] = event_filter.target_id
        bounds: dict[str, str] = {}
        if event_filter.since is not None:
            bounds["$gte"] = time_key(event_filter.since)
        if event_filter.until is not None:
            bounds["$lte"] = time_key(event_filter.until) + _AFTER_ALL_IDS
        bounds.update({op: str(key) for op, key in page.key_range().items()})
        if bounds:
            query["sortKey"] = bounds
        return FindSpec(query, (("sortKey", page.sort_direction),), page.limit)

    async def page(
        self, group_id: ObjectId, event_filter: EventFilter, page: PageRequest
    ) -> list[Document]:
        """Up to ``page.limit`` events, newest first (oldest first when paging back)."""
        return await self.page_spec(group_id, event_filter, page).run(self.collection)

    async def activity(
        self, group_id: ObjectId, requests: Sequence[tuple[ObjectId, PageRequest]]
    ) -> list[Document]:
        """For each (thing, page): its events as actor and as target, in one command.

        Each thing contributes two index-bounded, limited branches (actor and
        target), tagged with the request's position in ``_k``; the caller merges
        them, so an event where the thing is both actor and target appears once.
        """
        branches: list[list[dict[str, Any]]] = []
        for position, (thing_id, page) in enumerate(requests):
            for role in ("actorId", "targetId"):
                query: dict[str, Any] = {"groupId": group_id, role: thing_id}
                bounds = page.key_range()
                if bounds:
                    query["sortKey"] = bounds
                branches.append(
                    [
                        {"$match": query},
                        {"$sort": {"sortKey": page.sort_direction}},
                        {"$limit": page.limit},
                        {"$addFields": {"_k": position}},
                    ]
                )
        return await union_all(self.collection, branches)
