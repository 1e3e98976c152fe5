"""Per-request loaders for knowledge."""

from __future__ import annotations

from collections import defaultdict

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.db.client import Document
from ontology.kit.loaders import ByIdLoader, merge_pages
from ontology.kit.pagination import Page, PageRequest
from ontology.knowledge.repository import KnowledgeRepository


class KnowledgeByIdLoader(ByIdLoader):
    def __init__(self, knowledge: KnowledgeRepository, group_id: ObjectId) -> None:
        super().__init__(knowledge.by_ids, group_id)


class KnowledgeByThingLoader(DataLoader[tuple[ObjectId, PageRequest], Page[Document]]):
    """Each thing's linked knowledge (the links, each with ``_knowledge``), newest link first.

    One command per page shape, whatever the number of things.
    """

    def __init__(self, knowledge: KnowledgeRepository, group_id: ObjectId) -> None:
        self._knowledge = knowledge
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[tuple[ObjectId, PageRequest]]) -> list[Page[Document]]:
        by_page: dict[PageRequest, list[ObjectId]] = defaultdict(list)
        for thing_id, page in keys:
            by_page[page].append(thing_id)
        found = {
            page: await self._knowledge.for_things(self._group_id, thing_ids, page)
            for page, thing_ids in by_page.items()
        }
        return [
            merge_pages(page, [found[page].get(thing_id, [])], "_id") for thing_id, page in keys
        ]
