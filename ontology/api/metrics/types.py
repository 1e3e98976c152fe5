"""GraphQL types for computed metrics. Every value comes from the metric registry."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from ontology.api.context import Context
from ontology.api.metrics.loaders import GroupSourcesLoader
from ontology.db.client import Document
from ontology.ledger.documents import GroupDocument
from ontology.metrics.registry import (
    CREATOR_METRICS,
    GROUP_METRICS,
    CreatorFacts,
    GroupFacts,
)
from ontology.metrics.service import HistoryPeriod, HistoryPoint, Totals
from ontology.things.documents import ThingDocument

if TYPE_CHECKING:
    from ontology.api.things.types import ThingType

Info = strawberry.Info[Context, None]
LazyThing = Annotated["ThingType", strawberry.lazy("ontology.api.things.types")]
strawberry.enum(HistoryPeriod, name="MetricsPeriod")
MIB = 1024 * 1024


@strawberry.type
class EventTypeCount:
    type: str
    count: int


def _type_counts(counts: dict[str, int]) -> list[EventTypeCount]:
    return [EventTypeCount(type=name, count=n) for name, n in sorted(counts.items()) if n]


@strawberry.type(description="A creator's metrics, from its running totals and its counters.")
class CreatorStats:
    total_revenue: float = strawberry.field(
        description="Sum of metadata.amount of payment_processed events it is the actor of."
    )
    total_followers: int = strawberry.field(description="Inbound following connections.")
    content_count: int = strawberry.field(
        description="Outbound authored + inbound created_by connections."
    )
    average_engagement: float = strawberry.field(description="followers / content (0 if none).")
    last_active: datetime | None = strawberry.field(description="Its latest event as actor.")
    total_events: int = strawberry.field(description="Events it is the actor of.")
    events_by_type: list[EventTypeCount]
    is_active: bool = strawberry.field(description="An event as actor in the last 30 days.")
    account_age: int = strawberry.field(description="Whole days since it was created.")
    revenue_per_content: float = strawberry.field(description="revenue / content (0 if none).")
    last_computed: datetime = strawberry.field(
        description="When these values were read (counters are live)."
    )

    @classmethod
    def of(cls, thing: ThingDocument, totals: Document | None, now: datetime) -> CreatorStats:
        facts = CreatorFacts(thing=thing, totals=totals, now=now)
        values = {name: metric(facts) for name, metric in CREATOR_METRICS.items()}
        values["events_by_type"] = _type_counts(dict(values["events_by_type"]))
        return cls(**values)


@strawberry.type
class StorageUsed:
    bytes: float = strawberry.field(description="Bytes (Float: may pass 2^31).")
    megabytes: float
    gigabytes: float


@strawberry.type
class TopContent:
    doc: strawberry.Private[ThingDocument]
    connection_count: int = strawberry.field(description="Inbound connections.")

    @strawberry.field
    def thing(self) -> LazyThing:
        from ontology.api.things.types import ThingType

        return ThingType.from_doc(self.doc)


@strawberry.type(
    description="The group's metrics, from counters: no field scans events. "
    "A week is the last 7 days (UTC), today included; a month is the calendar month (UTC)."
)
class GroupMetrics:
    group: strawberry.Private[GroupDocument]
    now: strawberry.Private[datetime]

    async def _value(self, info: Info, name: str) -> Any:
        metric = GROUP_METRICS[name]
        loader = info.context.loaders.get(GroupSourcesLoader)
        sources = {source: await loader.load(source) for source in metric.needs}
        return metric.compute(GroupFacts(group=self.group, now=self.now, sources=sources))

    @strawberry.field(description="People in the group.")
    async def user_count(self, info: Info) -> int:
        return int(await self._value(info, "user_count"))

    @strawberry.field(description="Distinct event actors in the last 7 days.")
    async def active_users(self, info: Info) -> int:
        return int(await self._value(info, "active_users"))

    @strawberry.field(description="Live things.")
    async def total_entities(self, info: Info) -> int:
        return int(await self._value(info, "total_entities"))

    @strawberry.field
    async def storage_used(self, info: Info) -> StorageUsed:
        size = float(await self._value(info, "storage_used"))
        return StorageUsed(bytes=size, megabytes=size / MIB, gigabytes=size / (1024 * MIB))

    @strawberry.field(description="GraphQL operations this month (flushed every second).")
    async def api_calls_this_month(self, info: Info) -> int:
        return int(await self._value(info, "api_calls_this_month"))

    @strawberry.field(description="Sum of payment_processed amounts this month.")
    async def revenue_this_month(self, info: Info) -> float:
        return float(await self._value(info, "revenue_this_month"))

    @strawberry.field
    async def events_this_month(self, info: Info) -> int:
        return int(await self._value(info, "events_this_month"))

    @strawberry.field
    async def events_this_week(self, info: Info) -> int:
        return int(await self._value(info, "events_this_week"))

    @strawberry.field(description="The 10 content things with the most inbound connections.")
    async def top_content_by_engagement(self, info: Info) -> list[TopContent]:
        docs: list[ThingDocument] = await self._value(info, "top_content_by_engagement")
        return [
            TopContent(doc=d, connection_count=int(d["connectionCounts"]["inbound"])) for d in docs
        ]

    @strawberry.field(description="Inbound connections per content thing.")
    async def average_engagement_per_content(self, info: Info) -> float:
        return float(await self._value(info, "average_engagement_per_content"))

    @strawberry.field(description="Events this month per person.")
    async def avg_events_per_user(self, info: Info) -> float:
        return float(await self._value(info, "avg_events_per_user"))

    @strawberry.field(description="Revenue this month per person.")
    async def avg_revenue_per_user(self, info: Info) -> float:
        return float(await self._value(info, "avg_revenue_per_user"))

    @strawberry.field(description="Any event in the last 7 days.")
    async def is_active(self, info: Info) -> bool:
        return bool(await self._value(info, "is_active"))

    @strawberry.field(description="This week's events exceed the previous 7 days' events.")
    async def trending_up(self, info: Info) -> bool:
        return bool(await self._value(info, "trending_up"))


@strawberry.type(description="The current minute and the 59 before it, from minute counters.")
class RealtimeMetrics:
    events_last_hour: int
    by_type: list[EventTypeCount]
    payments_last_hour: int
    revenue_last_hour: float

    @classmethod
    def of(cls, totals: Totals) -> RealtimeMetrics:
        return cls(
            events_last_hour=totals.events,
            by_type=_type_counts(totals.by_type),
            payments_last_hour=totals.payments,
            revenue_last_hour=totals.revenue,
        )


@strawberry.type(description="One bucket of metrics history (zeros when nothing happened).")
class MetricsPoint:
    start: datetime
    events: int
    events_by_type: list[EventTypeCount]
    payments: int
    revenue: float
    active_users: int | None = strawberry.field(
        description="Distinct actors that day (DAILY points with a snapshot only)."
    )
    things: int | None = strawberry.field(description="Totals when the bucket was rolled up.")
    connections: int | None
    people: int | None
    storage_bytes: float | None

    @classmethod
    def of(cls, point: HistoryPoint) -> MetricsPoint:
        gauges = point.gauges or {}
        return cls(
            start=point.start,
            events=point.totals.events,
            events_by_type=_type_counts(point.totals.by_type),
            payments=point.totals.payments,
            revenue=point.totals.revenue,
            active_users=point.active_actors,
            things=gauges.get("things"),
            connections=gauges.get("connections"),
            people=gauges.get("people"),
            storage_bytes=float(gauges["storageBytes"]) if "storageBytes" in gauges else None,
        )


@strawberry.type
class MetricsHistory:
    period: HistoryPeriod
    points: list[MetricsPoint]
