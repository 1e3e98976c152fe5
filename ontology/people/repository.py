"""The only code that touches the ``people`` collection."""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec, find_by_keys
from ontology.db.windows import OBJECT_IDS, Scan
from ontology.kit.pagination import PageRequest


class PersonRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("people")
        self.hints = database.hints

    async def insert(self, group_id: ObjectId, doc: Document, session: AsyncClientSession) -> None:
        """Insert one person; a second person with the same email raises ``DuplicateKeyError``."""
        if doc["groupId"] != group_id:
            raise ValueError("A person of another group was passed to insert.")
        await self.collection.insert_one(doc, session=session)
        await self.hints.inserted_docs(self.collection.name, [doc], _scopes, "_id", OBJECT_IDS)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        """The group's documents with these ids (any number, one command)."""
        return await find_by_keys(self.collection, "_id", ids, {"groupId": group_id})

    def page_spec(self, group_id: ObjectId, role: str | None, page: PageRequest) -> FindSpec:
        query: dict[str, object] = {"groupId": group_id}
        if role is not None:
            query["role"] = role
        index = "people_role" if role is not None else "people_group"
        scan = Scan.of(page, OBJECT_IDS, "_id", group_id, self.hints)
        return FindSpec(query, (("_id", page.sort_direction),), page.limit, index, scan=scan)

    async def page(self, group_id: ObjectId, role: str | None, page: PageRequest) -> list[Document]:
        return await self.page_spec(group_id, role, page).run(self.collection)


def _scopes(doc: Document) -> list[dict[str, object]]:
    """The filters of the lists a new person joins (``page_spec``)."""
    return [{"groupId": doc["groupId"]}, {"groupId": doc["groupId"], "role": doc["role"]}]
