"""Changing a group's plan."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.groups.types import GroupType
from ontology.api.quotas.types import ChangePlanPayload
from ontology.groups.models import Plan
from ontology.keys.models import Role

Info = strawberry.Info[Context, None]


@strawberry.type
class QuotaMutations:
    @strawberry.mutation(
        description="Switch the group's plan (org_owner) between priced plans; a custom plan "
        "(enterprise) is assigned, and left, only by a platform_owner (FORBIDDEN otherwise). "
        "A downgrade below current usage is allowed; writes of the metrics in `overLimit` "
        "are then refused until usage fits."
    )
    async def change_plan(self, info: Info, plan: Plan) -> ChangePlanPayload:
        context = info.context
        return await payload(
            context.services.quotas.change_plan(
                context.caller.group, plan.value, staff=context.caller.role is Role.PLATFORM_OWNER
            ),
            lambda changed: ChangePlanPayload(
                group=GroupType.from_doc(changed[0]), over_limit=changed[1], errors=[]
            ),
            lambda errors: ChangePlanPayload(group=None, over_limit=[], errors=errors),
        )
