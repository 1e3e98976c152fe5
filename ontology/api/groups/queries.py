"""Root queries about the caller and its group."""

from __future__ import annotations

import strawberry

from ontology.api.context import Context
from ontology.api.groups.types import GroupType, Viewer
from ontology.keys.models import Role

Info = strawberry.Info[Context, None]


@strawberry.type
class GroupQueries:
    @strawberry.field(description="Who is calling, and the group the call acts on.")
    def viewer(self, info: Info) -> Viewer:
        caller = info.context.caller
        return Viewer(role=Role(caller.role), group=GroupType.from_doc(caller.group))
