"""``node(id)`` and ``nodes(ids)``: Relay lookups by global id.

A malformed id, an id of an unknown type, and another tenant's id all resolve
to ``null``: the caller cannot tell them from ids that never existed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry

from ontology.api.base import Node
from ontology.api.connections.loaders import ConnectionsByIdLoader
from ontology.api.connections.types import ConnectionType
from ontology.api.context import Context
from ontology.api.events.loaders import EventsByIdLoader
from ontology.api.events.types import EventType
from ontology.api.groups.types import GroupType
from ontology.api.knowledge.loaders import KnowledgeByIdLoader
from ontology.api.knowledge.types import KnowledgeType
from ontology.api.people.loaders import PeopleByIdLoader
from ontology.api.people.types import PersonType
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.api.things.types import ThingType
from ontology.kit.errors import ClientError
from ontology.kit.ids import from_global_id

Info = strawberry.Info[Context, None]
MAX_NODES = 100


async def _resolve(context: Context, global_id: str) -> Node | None:
    decoded = from_global_id(global_id)
    if decoded is None:
        return None
    type_name, object_id = decoded
    builders: dict[str, tuple[Any, Any]] = {
        "Thing": (ThingsByIdLoader, ThingType.from_doc),
        "Connection": (ConnectionsByIdLoader, ConnectionType.from_doc),
        "Event": (EventsByIdLoader, EventType.from_doc),
        "Person": (PeopleByIdLoader, PersonType.from_doc),
        "Knowledge": (KnowledgeByIdLoader, KnowledgeType.from_doc),
    }
    if type_name == "Group":
        group = context.caller.group
        return GroupType.from_doc(group) if object_id == group["_id"] else None
    if type_name not in builders:
        return None
    kind, build = builders[type_name]
    doc = await context.loaders.get(kind).load(object_id)
    node: Node | None = build(doc) if doc else None
    return node


def _check_ids(ids: list[strawberry.ID]) -> None:
    if len(ids) > MAX_NODES:
        raise ClientError(f"`nodes` takes at most {MAX_NODES} ids, got {len(ids)}.")


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object of the group by its global id, or null.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await _resolve(info.context, id)

    @strawberry.field(description="Objects by global ids, in order; null for each not found.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        _check_ids(ids)
        # gather, so every lookup lands in the same loader batch
        return list(await asyncio.gather(*(_resolve(info.context, i) for i in ids)))
