"""Root queries for connections."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.connections.types import ConnectionType
from ontology.api.context import Context

Info = strawberry.Info[Context, None]


@strawberry.type
class ConnectionQueries:
    @strawberry.field(description="The group's connections, newest first.")
    async def connections(
        self,
        info: Info,
        type: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ConnectionType]:
        context = info.context
        page = context.page(first, after, last, before)
        counts = context.caller.group.get("counts") or {}
        total = (
            (counts.get("connectionsByType") or {}).get(type, 0)
            if type
            else counts.get("connections", 0)
        )
        docs = await context.services.connections.page(
            context.group_id, type, context.known(page, "connections", type)
        )
        return Connection.of(page.slice(docs, lambda d: d["_id"]), ConnectionType.from_doc, total)
