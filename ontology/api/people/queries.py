"""Root queries for people."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.people.types import PersonType, RoleEnum

Info = strawberry.Info[Context, None]


@strawberry.type
class PersonQueries:
    @strawberry.field(description="The group's people, newest first.")
    async def people(
        self,
        info: Info,
        role: RoleEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PersonType]:
        context = info.context
        page = context.page(first, after, last, before)
        role_value = role.value if role is not None else None
        counts = context.caller.group.get("counts") or {}
        docs = await context.services.people.page(
            context.group_id, role_value, context.known(page, "people")
        )
        total = counts.get("people", 0) if role is None else None
        return Connection.of(page.slice(docs, lambda d: d["_id"]), PersonType.from_doc, total)
