"""Reading metrics from counters and snapshots, and rolling counters up into snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from bson import ObjectId

from ontology.db.client import Document
from ontology.groups.repository import GroupRepository
from ontology.kit.errors import ClientError, ErrorCode
from ontology.ledger.buckets import Period, bucket_end, bucket_start
from ontology.ledger.meter import ApiCallMeter
from ontology.metrics.registry import Content, Source
from ontology.metrics.repository import CounterRepository, SnapshotRepository
from ontology.things.engagement import EngagementLedger

REALTIME_MINUTES = 60
MAX_HISTORY_POINTS = 1000
# A range up to this long defaults to hourly points, a longer one to daily points.
HOURLY_UP_TO = timedelta(days=7)
SNAPSHOT_RETENTION = {Period.HOUR: timedelta(days=90), Period.DAY: timedelta(days=3 * 366)}
GAUGES = ("things", "connections", "people", "storageBytes")


class HistoryPeriod(Enum):
    HOURLY = Period.HOUR
    DAILY = Period.DAY


@dataclass
class Totals:
    """Event totals summed over counter buckets or read from a snapshot."""

    events: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    revenue: float = 0.0
    payments: int = 0

    def add(self, doc: Document) -> Totals:
        self.events += int(doc.get("events", 0))
        for name, n in (doc.get("byType") or {}).items():
            self.by_type[name] = self.by_type.get(name, 0) + int(n)
        self.revenue += float(doc.get("revenue", 0))
        self.payments += int(doc.get("payments", 0))
        return self


@dataclass(frozen=True)
class HistoryPoint:
    start: datetime
    totals: Totals
    active_actors: int | None
    gauges: dict[str, int] | None  # totals when the bucket was rolled up; None: no snapshot


@dataclass(frozen=True)
class RollUpSummary:
    groups: int
    hourly: int
    daily: int


class MetricsService:
    def __init__(
        self,
        counters: CounterRepository,
        snapshots: SnapshotRepository,
        groups: GroupRepository,
        meter: ApiCallMeter,
        engagement: EngagementLedger,
    ) -> None:
        self.counters = counters
        self.snapshots = snapshots
        self.groups = groups
        self.meter = meter
        self.engagement = engagement

    async def thing_totals(
        self, group_id: ObjectId, thing_ids: Sequence[ObjectId]
    ) -> list[Document]:
        """The running totals of these things as actors (creator stats): one command."""
        return await self.counters.totals(group_id, thing_ids)

    async def source(self, group_id: ObjectId, source: Source, now: datetime) -> Any:
        """One source of group metrics: one command (none for cached API calls; two for
        the content's engagement: the group's counters and board, the top things)."""
        if source is Source.MONTH:
            start = bucket_start(Period.MONTH, now)
            months = await self.counters.buckets(
                group_id, Period.MONTH, start, bucket_end(Period.MONTH, start)
            )
            return months[0] if months else None
        if source is Source.DAYS:
            today = bucket_start(Period.DAY, now)
            return await self.counters.buckets(
                group_id, Period.DAY, today - timedelta(days=13), today + timedelta(days=1)
            )
        if source is Source.API_CALLS:
            return await self.meter.current(group_id)
        engagement = await self.engagement.read(group_id)
        return Content(top=engagement.top, inbound=engagement.inbound, count=engagement.count)

    async def realtime(self, group_id: ObjectId, now: datetime) -> Totals:
        """Events of the current minute and the 59 before it, from minute counters."""
        this_minute = bucket_start(Period.MINUTE, now)
        since = this_minute - timedelta(minutes=REALTIME_MINUTES - 1)
        totals = Totals()
        for doc in await self.counters.buckets(
            group_id, Period.MINUTE, since, this_minute + timedelta(minutes=1)
        ):
            totals.add(doc)
        return totals

    async def history(
        self,
        group_id: ObjectId,
        since: datetime,
        until: datetime,
        period: HistoryPeriod | None,
    ) -> tuple[HistoryPeriod, list[HistoryPoint]]:
        """One point per bucket starting in [since, until), empty buckets included."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ClientError("from and to need a time zone.", ErrorCode.INVALID_RANGE)
        if until <= since:
            raise ClientError("to must be after from.", ErrorCode.INVALID_RANGE)
        if period is None:
            period = HistoryPeriod.HOURLY if until - since <= HOURLY_UP_TO else HistoryPeriod.DAILY
        starts: list[datetime] = []
        start = bucket_start(period.value, since)
        while start < until:
            starts.append(start)
            if len(starts) > MAX_HISTORY_POINTS:
                raise ClientError(
                    f"The range has more than {MAX_HISTORY_POINTS} {period.name.lower()} points; "
                    "ask for a shorter range or DAILY points.",
                    ErrorCode.INVALID_RANGE,
                )
            start = bucket_end(period.value, start)
        saved = {
            doc["start"]: doc
            for doc in await self.snapshots.range(group_id, period.value.value, starts[0], until)
        }
        points = []
        for start in starts:
            doc = saved.get(start)
            points.append(
                HistoryPoint(
                    start=start,
                    totals=Totals().add(doc) if doc else Totals(),
                    active_actors=doc.get("activeActors") if doc else None,
                    gauges={g: int(doc.get(g, 0)) for g in GAUGES} if doc else None,
                )
            )
        return period, points

    async def roll_up(self, now: datetime, since: datetime | None = None) -> RollUpSummary:
        """Copy closed hours' and days' counters into snapshots, for every group.

        By default it re-rolls from the start of yesterday, so a late or missed
        run loses nothing; ``since`` reaches further back (hour counters are kept
        8 days, day counters 35). Running it twice changes nothing.
        """
        this_hour, today = bucket_start(Period.HOUR, now), bucket_start(Period.DAY, now)
        since = since or today - timedelta(days=1)
        groups = hourly = daily = 0
        async for group in self.groups.all_counts():
            group_id = group["_id"]
            counts = group.get("counts") or {}
            gauges = {g: int(counts.get(g, 0)) for g in GAUGES}
            snapshots = [
                _snapshot(Period.HOUR, doc, gauges)
                for doc in await self.counters.buckets(
                    group_id, Period.HOUR, bucket_start(Period.HOUR, since), this_hour
                )
            ]
            hourly += len(snapshots)
            days = await self.counters.buckets(
                group_id, Period.DAY, bucket_start(Period.DAY, since), today
            )
            snapshots += [_snapshot(Period.DAY, doc, gauges) for doc in days]
            daily += len(days)
            await self.snapshots.save(group_id, snapshots)
            groups += 1
        return RollUpSummary(groups=groups, hourly=hourly, daily=daily)


def _snapshot(period: Period, counter: Document, gauges: dict[str, int]) -> Document:
    values: dict[str, Any] = {
        "events": int(counter.get("events", 0)),
        "byType": counter.get("byType") or {},
        "revenue": float(counter.get("revenue", 0)),
        "payments": int(counter.get("payments", 0)),
    }
    if period is Period.DAY:
        values["activeActors"] = len(counter.get("actors") or ())
    return {
        "period": period.value,
        "start": counter["start"],
        "values": values,
        "gauges": gauges,
        "expiresAt": counter["start"] + SNAPSHOT_RETENTION[period],
    }
