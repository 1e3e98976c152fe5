"""Root queries for knowledge."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.knowledge.types import KnowledgeKindEnum, KnowledgeType

Info = strawberry.Info[Context, None]


@strawberry.type
class KnowledgeQueries:
    @strawberry.field(description="The group's knowledge, newest first.")
    async def knowledge(
        self,
        info: Info,
        kind: KnowledgeKindEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[KnowledgeType]:
        context = info.context
        page = context.page(first, after, last, before)
        kind_value = kind.value if kind is not None else None
        counts = context.caller.group.get("counts") or {}
        docs = await context.services.knowledge.page(
            context.group_id, kind_value, context.known(page, "knowledge")
        )
        total = counts.get("knowledge", 0) if kind is None else None
        return Connection.of(page.slice(docs, lambda d: d["_id"]), KnowledgeType.from_doc, total)
