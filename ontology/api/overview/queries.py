"""The staff overview's root query (``platform_owner`` keys only: ``ontology.api.access``)."""

from __future__ import annotations

import strawberry

from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.groups.types import PlanEnum
from ontology.api.overview.types import PlatformGroup, PlatformGroupOrder
from ontology.api.quotas.types import OverallQuotaStatus
from ontology.groups.models import Plan
from ontology.groups.repository import GroupListFilter, GroupOrder
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.pagination import PageRequest

Info = strawberry.Info[Context, None]


@strawberry.type
class OverviewQueries:
    @strawberry.field(
        description="Every group of the platform with its plan, counters, quotas, last "
        "archival run and last activity (platform_owner only). `status` keeps the groups "
        "whose `usagePercent` is at that level (WARNING from 80 %, CRITICAL from 95 %, "
        "EXCEEDED from 100 %, HEALTHY below 80 %)."
    )
    async def platform_groups(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        plan: PlanEnum | None = None,  # type: ignore[valid-type]
        status: OverallQuotaStatus | None = None,
        order_by: PlatformGroupOrder = PlatformGroupOrder.USAGE_DESC,
    ) -> Connection[PlatformGroup]:
        context = info.context
        # required and bounded while validating (api/validation.py); this guards other callers
        size = first or 0
        if not 1 <= size <= context.runtime.settings.max_page_size:
            raise ClientError(
                f"first must be between 1 and {context.runtime.settings.max_page_size}.",
                RequestErrorCode.INVALID_PAGINATION,
            )
        page = PageRequest.parse(
            first=first,
            after=after,
            last=None,
            before=None,
            max_size=context.runtime.settings.max_page_size,
        )
        where = GroupListFilter(
            plan=Plan(plan).value if plan is not None else None,
            quota_status=status.value if status is not None else None,
        )
        found = await context.runtime.services.overview.page(GroupOrder(order_by.name), where, page)
        return Connection.of(found, PlatformGroup.of, None)
