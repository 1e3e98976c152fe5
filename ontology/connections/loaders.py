"""Per-request loaders for connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.connections.repository import ConnectionRepository
from ontology.db.client import Document
from ontology.kit.loaders import ByIdLoader, merge_pages
from ontology.kit.pagination import Page, PageRequest


class ConnectionsByIdLoader(ByIdLoader):
    def __init__(self, connections: ConnectionRepository, group_id: ObjectId) -> None:
        super().__init__(connections.by_ids, group_id)


@dataclass(frozen=True)
class ThingConnectionsKey:
    thing_id: ObjectId
    direction: str  # OUTBOUND, INBOUND or BOTH
    type: str | None
    page: PageRequest


class ConnectionsByThingLoader(DataLoader[ThingConnectionsKey, Page[Document]]):
    """A page of connections for each thing, all fetched in one ``aggregate``."""

    def __init__(self, connections: ConnectionRepository, group_id: ObjectId) -> None:
        self._connections = connections
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[ThingConnectionsKey]) -> list[Page[Document]]:
        branches: list[list[dict[str, Any]]] = []
        for position, key in enumerate(keys):
            directions = ("OUTBOUND", "INBOUND") if key.direction == "BOTH" else (key.direction,)
            branches += [
                self._connections.branch(
                    self._group_id, key.thing_id, direction, key.type, key.page, position
                )
                for direction in directions
            ]
        docs = await self._connections.for_things(branches)
        return merge_pages([key.page for key in keys], docs, "_id")
