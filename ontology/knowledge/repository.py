"""The only code that touches ``knowledge`` and ``thing_knowledge``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys, items_per_parent, top_per_parent
from ontology.kit.pagination import PageRequest


class KnowledgeRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("knowledge")
        self.links = database.collection("thing_knowledge")

    async def insert(
        self,
        group_id: ObjectId,
        doc: Document,
        link: Document | None,
        session: AsyncClientSession,
    ) -> None:
        if doc["groupId"] != group_id or (link is not None and link["groupId"] != group_id):
            raise ValueError("Knowledge of another group was passed to insert.")
        await self.collection.insert_one(doc, session=session)
        if link is not None:
            await self.links.insert_one(link, session=session)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        """The group's documents with these ids (any number, one command)."""
        return await find_by_keys(self.collection, "_id", ids, {"groupId": group_id})

    def page_spec(self, group_id: ObjectId, kind: str | None, page: PageRequest) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if kind is not None:
            query["kind"] = kind
        index = "knowledge_kind" if kind is not None else "knowledge_group"
        return FindSpec(
            page.apply(query, "_id"), (("_id", page.sort_direction),), page.limit, index
        )

    async def page(self, group_id: ObjectId, kind: str | None, page: PageRequest) -> list[Document]:
        return await self.page_spec(group_id, kind, page).run(self.collection)

    def for_things_pipeline(
        self, group_id: ObjectId, thing_ids: Sequence[ObjectId], page: PageRequest
    ) -> list[dict[str, Any]]:
        return top_per_parent(
            {"groupId": group_id},
            "thingId",
            thing_ids,
            "_id",
            page.sort_direction,
            page.limit,
            page.key_range(),
            joins={"knowledgeId": "_knowledge"},
            join_collection="knowledge",
        )

    async def for_things(
        self, group_id: ObjectId, thing_ids: Sequence[ObjectId], page: PageRequest
    ) -> dict[ObjectId, list[Document]]:
        """Each thing's page of knowledge links, newest first, in one command.

        Each link carries ``_knowledge``: the linked knowledge (the group's own), or None.
        """
        found = await items_per_parent(
            self.links, self.for_things_pipeline(group_id, thing_ids, page)
        )
        for links in found.values():
            for link in links:
                joined = [k for k in link["_knowledge"] if k.get("groupId") == group_id]
                link["_knowledge"] = joined[0] if joined else None
        return found
