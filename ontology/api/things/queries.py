"""Root queries for things."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.things.loaders import ThingsByIdLoader
from ontology.api.things.types import ThingType
from ontology.kit.ids import parse_global_id

Info = strawberry.Info[Context, None]


@strawberry.type
class ThingQueries:
    @strawberry.field(description="The group's live things, newest first.")
    async def things(
        self,
        info: Info,
        type: str | None = None,
        status: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ThingType]:
        context = info.context
        page = context.page(first, after, last, before)
        docs = await context.services.things.page(
            context.group_id, type, status, context.known(page, "things", type)
        )
        # Not primed into things_by_id: a relation's lookup then costs one command
        # whatever the page holds, instead of depending on which things it holds.
        result = page.slice(docs, lambda d: d["_id"])
        counts = context.caller.group.get("counts") or {}
        total: int | None = None
        if status is None:
            total = (
                (counts.get("thingsByType") or {}).get(type, 0) if type else counts.get("things", 0)
            )
        elif type is None and "thingsByStatus" in counts:
            # absent on a group stored before the counter existed, until a recount
            # (``ontology counters check --repair``) sets it
            total = counts["thingsByStatus"].get(status, 0)
        return Connection.of(result, ThingType.from_doc, total)

    @strawberry.field(description="One live thing of the group, or null.")
    async def thing(self, info: Info, id: strawberry.ID) -> ThingType | None:
        thing_id = parse_global_id(id, "Thing")
        if thing_id is None:
            return None
        doc = await info.context.loaders.get(ThingsByIdLoader).load(thing_id)
        return ThingType.from_doc(doc) if doc else None
