"""Metrics queries: realtime from minute counters, history from snapshots."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from ontology.api.context import Context
from ontology.api.metrics.types import MetricsHistory, MetricsPoint, RealtimeMetrics
from ontology.kit.clock import utcnow
from ontology.metrics.service import HistoryPeriod

Info = strawberry.Info[Context, None]


@strawberry.type
class MetricsQueries:
    @strawberry.field(description="The group's events in the last hour (bounded counter reads).")
    async def realtime_metrics(self, info: Info) -> RealtimeMetrics:
        context = info.context
        return RealtimeMetrics.of(
            await context.services.metrics.realtime(context.group_id, utcnow())
        )

    @strawberry.field(
        description="Snapshots from `from` (inclusive) to `to` (exclusive), one point per bucket. "
        "period defaults to HOURLY for ranges up to 7 days, DAILY beyond; at most 1,000 points."
    )
    async def metrics_history(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        period: HistoryPeriod | None = None,
    ) -> MetricsHistory:
        context = info.context
        chosen, points = await context.services.metrics.history(context.group_id, from_, to, period)
        return MetricsHistory(period=chosen, points=[MetricsPoint.of(p) for p in points])
