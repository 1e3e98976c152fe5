"""Per-request loaders for connections."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Self

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.api.loaders import ByIdLoader, merge_pages
from ontology.connections.documents import ConnectionDocument, RelatedConnection
from ontology.connections.service import ConnectionService
from ontology.kit.pagination import Page, PageRequest
from ontology.runtime import Runtime


class ConnectionsByIdLoader(ByIdLoader[ConnectionDocument]):
    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.connections, group_id)

    def __init__(self, connections: ConnectionService, group_id: ObjectId) -> None:
        super().__init__(connections.by_ids, group_id)


@dataclass(frozen=True)
class ThingConnectionsKey:
    thing_id: ObjectId
    direction: str  # OUTBOUND, INBOUND or BOTH
    type: str | None
    page: PageRequest
    # the thing's connection counters (of ``type``, if given), when the caller has them:
    # a direction with none costs no command, one with many walks windows of its own,
    # from the newest connection id recorded on the thing
    outbound: int | None = None
    inbound: int | None = None
    newest_outbound: ObjectId | None = None
    newest_inbound: ObjectId | None = None

    def known(self, direction: str) -> tuple[int | None, ObjectId | None]:
        if direction == "OUTBOUND":
            return self.outbound, self.newest_outbound
        return self.inbound, self.newest_inbound


class ConnectionsByThingLoader(DataLoader[ThingConnectionsKey, Page[RelatedConnection]]):
    """A page of connections for each thing: one command per direction and page shape.

    All things of a list ask with the same arguments, so a page of things with
    `connections(first: 5)` costs one command per direction, whatever its size.
    """

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.connections, group_id)

    def __init__(self, connections: ConnectionService, group_id: ObjectId) -> None:
        self._connections = connections
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[ThingConnectionsKey]) -> list[Page[RelatedConnection]]:
        Known = dict[ObjectId, tuple[int | None, ObjectId | None]]
        wanted: dict[tuple[str, str | None, PageRequest], Known] = defaultdict(dict)
        for key in keys:
            for direction in _directions(key.direction):
                wanted[(direction, key.type, key.page)][key.thing_id] = key.known(direction)
        found: dict[
            tuple[str, str | None, PageRequest], dict[ObjectId, list[RelatedConnection]]
        ] = {}
        for (direction, connection_type, page), things in wanted.items():
            found[(direction, connection_type, page)] = await self._connections.for_things(
                self._group_id, direction, connection_type, things, page
            )
        return [
            merge_pages(
                key.page,
                [
                    found[(direction, key.type, key.page)].get(key.thing_id, [])
                    for direction in _directions(key.direction)
                ],
                "_id",
            )
            for key in keys
        ]


def _directions(direction: str) -> tuple[str, ...]:
    return ("OUTBOUND", "INBOUND") if direction == "BOTH" else (direction,)
