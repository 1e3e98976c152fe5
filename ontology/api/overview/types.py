"""GraphQL types of the staff overview."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from ontology.api.archival.types import ArchivalRunType
from ontology.api.groups.types import GroupCounts, GroupType, PlanEnum
from ontology.api.quotas.types import OverallQuotaStatus, QuotaUsage
from ontology.groups.models import Plan
from ontology.overview.service import GroupOverview


@strawberry.enum(description="The order of `platformGroups`.")
class PlatformGroupOrder(Enum):
    USAGE_DESC = strawberry.enum_value(
        "USAGE_DESC",
        description="Highest `usagePercent` first (newest group first among equals).",
    )
    NAME = strawberry.enum_value("NAME", description="By slug, a to z.")


@strawberry.type(description="A group as staff see it in the overview (`platformGroups`).")
class PlatformGroup:
    id: strawberry.ID = strawberry.field(description="The group's global id (`Group`).")
    slug: str
    name: str
    type: str
    plan: PlanEnum  # type: ignore[valid-type]
    status: str = strawberry.field(description="The group's own status: active or archived.")
    created_at: datetime
    counts: GroupCounts
    usage_percent: float = strawberry.field(
        description="The highest percent of a limit the group's counters use (users, storage, "
        "entities, connections): what `USAGE_DESC` orders by and `status` filters on. Exact "
        "after every write; API calls are not part of it."
    )
    quota_status: OverallQuotaStatus = strawberry.field(
        description="The worst level of the group's quota metrics, API calls included."
    )
    quotas: list[QuotaUsage] = strawberry.field(
        description="Every metric of the group's plan, as `groupQuotas` reports it."
    )
    last_archival_run: ArchivalRunType | None = strawberry.field(
        description="The group's newest archival run of the last 31 days (null: none)."
    )
    last_activity_at: datetime | None = strawberry.field(
        description="The time of the group's newest event (null: none)."
    )

    @classmethod
    def of(cls, item: GroupOverview) -> PlatformGroup:
        doc = item.group
        group = GroupType.from_doc(doc)
        run = item.last_archival_run
        return cls(
            id=group.id,
            slug=group.slug,
            name=group.name,
            type=group.type,
            plan=Plan(doc["plan"]),
            status=group.status,
            created_at=group.created_at,
            counts=group.counts,
            usage_percent=round(item.usage_percent, 4),
            quota_status=OverallQuotaStatus(item.quota_status),
            quotas=[QuotaUsage.of(report) for report in item.reports],
            last_archival_run=ArchivalRunType.from_doc(run) if run else None,
            last_activity_at=item.last_activity_at,
        )
