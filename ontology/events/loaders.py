"""Per-request loaders for events."""

from __future__ import annotations

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.db.client import Document
from ontology.events.repository import EventRepository
from ontology.kit.loaders import ByIdLoader, merge_pages
from ontology.kit.pagination import Page, PageRequest


class EventsByIdLoader(ByIdLoader):
    def __init__(self, events: EventRepository, group_id: ObjectId) -> None:
        super().__init__(events.by_ids, group_id)


class ActivityByThingLoader(DataLoader[tuple[ObjectId, PageRequest], Page[Document]]):
    """A page of each thing's activity (events as actor or target), in one ``aggregate``."""

    def __init__(self, events: EventRepository, group_id: ObjectId) -> None:
        self._events = events
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[tuple[ObjectId, PageRequest]]) -> list[Page[Document]]:
        docs = await self._events.activity(self._group_id, keys)
        return merge_pages([page for _, page in keys], docs, "sortKey")
