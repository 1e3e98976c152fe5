"""The only code that touches ``knowledge`` and ``thing_knowledge``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys, pages_per_parent
from ontology.db.windows import OBJECT_IDS, Scan, scope_key
from ontology.kit.pagination import PageRequest


class KnowledgeRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("knowledge")
        self.links = database.collection("thing_knowledge")
        self.hints = database.hints

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
        key = OBJECT_IDS.to_int(doc["_id"])
        for scope in ({"groupId": group_id}, {"groupId": group_id, "kind": doc["kind"]}):
            self.hints.inserted(scope_key(self.collection.name, scope), key)
        if link is not None:
            await self.links.insert_one(link, session=session)
            scope = {"groupId": group_id, "thingId": link["thingId"]}
            self.hints.inserted(scope_key(self.links.name, scope), OBJECT_IDS.to_int(link["_id"]))

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        """The group's documents with these ids (any number, one command)."""
        return await find_by_keys(self.collection, "_id", ids, {"groupId": group_id})

    def page_spec(self, group_id: ObjectId, kind: str | None, page: PageRequest) -> FindSpec:
        query: dict[str, Any] = {"groupId": group_id}
        if kind is not None:
            query["kind"] = kind
        index = "knowledge_kind" if kind is not None else "knowledge_group"
        scan = Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints)
        return FindSpec(query, (("_id", page.sort_direction),), page.limit, index, scan=scan)

    async def page(self, group_id: ObjectId, kind: str | None, page: PageRequest) -> list[Document]:
        return await self.page_spec(group_id, kind, page).run(self.collection)

    def for_thing_spec(self, group_id: ObjectId, thing_id: ObjectId, page: PageRequest) -> FindSpec:
        """A thing's page of knowledge links, each with ``_knowledge`` joined."""
        return FindSpec(
            {"groupId": group_id, "thingId": thing_id},
            (("_id", page.sort_direction),),
            page.limit,
            "thing_knowledge_thing",
            scan=Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints),
            joins={"knowledgeId": "_knowledge"},
            join_collection="knowledge",
        )

    async def for_things(
        self, group_id: ObjectId, thing_ids: Sequence[ObjectId], page: PageRequest
    ) -> dict[ObjectId, list[Document]]:
        """Each thing's page of knowledge links, newest first.

        Each link carries ``_knowledge``: the linked knowledge (the group's own), or None.
        """
        found = await pages_per_parent(
            self.links, "thingId", {t: self.for_thing_spec(group_id, t, page) for t in thing_ids}
        )
        for links in found.values():
            for link in links:
                joined = [k for k in link["_knowledge"] if k.get("groupId") == group_id]
                link["_knowledge"] = joined[0] if joined else None
        return found
