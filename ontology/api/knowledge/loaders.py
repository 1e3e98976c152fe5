"""Per-request loaders for knowledge."""

from __future__ import annotations

from typing import Self

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.api.loaders import ByIdLoader, ids_by_page, merge_pages
from ontology.db.client import Document
from ontology.kit.pagination import Page, PageRequest
from ontology.knowledge.service import KnowledgeService
from ontology.runtime import Runtime


class KnowledgeByIdLoader(ByIdLoader[Document]):
    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.knowledge, group_id)

    def __init__(self, knowledge: KnowledgeService, group_id: ObjectId) -> None:
        super().__init__(knowledge.by_ids, group_id)


class KnowledgeByThingLoader(DataLoader[tuple[ObjectId, PageRequest], Page[Document]]):
    """Each thing's linked knowledge (the links, each with ``_knowledge``), newest link first.

    One command per page shape, whatever the number of things.
    """

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.knowledge, group_id)

    def __init__(self, knowledge: KnowledgeService, group_id: ObjectId) -> None:
        self._knowledge = knowledge
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[tuple[ObjectId, PageRequest]]) -> list[Page[Document]]:
        found = {
            page: await self._knowledge.for_things(self._group_id, thing_ids, page)
            for page, thing_ids in ids_by_page(keys).items()
        }
        return [
            merge_pages(page, [found[page].get(thing_id, [])], "_id") for thing_id, page in keys
        ]
