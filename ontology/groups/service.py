"""Creating and reading groups."""

from __future__ import annotations

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ontology.groups.models import SLUG_PATTERN, GroupKind, Plan, new_group
from ontology.groups.repository import GroupRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.ledger.documents import GroupDocument
from ontology.ledger.plans import PlanBook
from ontology.ledger.standing import standing_fields


class GroupService:
    def __init__(self, groups: GroupRepository, plans: PlanBook) -> None:
        self.groups = groups
        self.plans = plans

    async def create(
        self,
        *,
        slug: str,
        name: str,
        plan: Plan = Plan.STARTER,
        group_type: GroupKind = GroupKind.ORGANIZATION,
    ) -> GroupDocument:
        errors: list[ItemError] = []
        if not SLUG_PATTERN.match(slug):
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    "Slug must be 1-64 lowercase letters, digits or '-', "
                    "not starting or ending with '-'.",
                    "slug",
                )
            )
        name = name.strip()
        if not name or len(name) > 256:
            errors.append(
                ItemError(ErrorCode.INVALID_NAME, "Name must be 1-256 characters.", "name")
            )
        if errors:
            raise RejectedError(errors)
        group = new_group(slug=slug, name=name, plan=plan, group_type=group_type, now=utcnow())
        group["quota"] = self.plans.enforced_limits(group)
        standing = standing_fields(group)
        group["usageKey"], group["quotaStatus"] = standing["usageKey"], standing["quotaStatus"]
        try:
            await self.groups.insert(group)
        except DuplicateKeyError:
            raise RejectedError(
                [ItemError(ErrorCode.DUPLICATE, f"A group with slug {slug!r} exists.", "slug")]
            ) from None
        return group

    async def by_slug(self, slug: str) -> GroupDocument | None:
        return await self.groups.by_slug(slug)

    async def by_id(self, group_id: ObjectId) -> GroupDocument | None:
        return await self.groups.by_id(group_id)
