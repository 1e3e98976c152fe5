"""Per-request loaders for events."""

from __future__ import annotations

from typing import Self

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.api.loaders import ByIdLoader, ids_by_page, merge_pages
from ontology.events.documents import EventDocument, RelatedEvent
from ontology.events.service import EventService
from ontology.kit.pagination import Page, PageRequest
from ontology.runtime import Runtime

ROLES = ("actorId", "targetId")


class EventsByIdLoader(ByIdLoader[EventDocument]):
    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.events, group_id)

    def __init__(self, events: EventService, group_id: ObjectId) -> None:
        super().__init__(events.by_ids, group_id)


class ActivityByThingLoader(DataLoader[tuple[ObjectId, PageRequest], Page[RelatedEvent]]):
    """Each thing's activity (events as actor or target, each once), newest first.

    Two commands per page shape (actor side, target side), whatever the page size.
    """

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.events, group_id)

    def __init__(self, events: EventService, group_id: ObjectId) -> None:
        self._events = events
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[tuple[ObjectId, PageRequest]]) -> list[Page[RelatedEvent]]:
        found: dict[tuple[str, PageRequest], dict[ObjectId, list[RelatedEvent]]] = {}
        for page, thing_ids in ids_by_page(keys).items():
            for role in ROLES:
                found[(role, page)] = await self._events.by_actor_or_target(
                    self._group_id, role, thing_ids, page
                )
        return [
            merge_pages(page, [found[(role, page)].get(thing_id, []) for role in ROLES], "sortKey")
            for thing_id, page in keys
        ]
