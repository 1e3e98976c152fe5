"""Quota reports, checks, plan changes and the write wrapper that enforces limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.events.models import new_event
from ontology.events.repository import EventRepository
from ontology.groups.models import CountDelta
from ontology.groups.repository import GroupRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.quotas.meter import ApiCallMeter
from ontology.quotas.models import (
    COUNTER_FIELDS,
    GIB,
    METRIC_OF_COUNTER,
    Metric,
    PlanBook,
    QuotaLevel,
    quota_level,
)
from ontology.quotas.periods import hour_start
from ontology.quotas.repository import UsageRepository
from ontology.quotas.reservation import REFUSED_FIELD, reservation_pipeline

T = TypeVar("T")

# The payload path a refusal is reported at, per metric.
REFUSAL_PATHS = {
    Metric.ENTITIES_TOTAL: "type",
    Metric.CONNECTIONS_TOTAL: "type",
    Metric.USERS: "email",
    Metric.STORAGE_GB: "",
}


class QuotaExceededError(Exception):
    """A write would pass a limit; raised inside the transaction, which then aborts."""

    def __init__(self, metric: Metric, current: int, requested: int, limit: int) -> None:
        self.metric = metric
        self.current = current
        self.requested = requested
        self.limit = limit
        self.available = max(0, limit - current)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return (
            f"Quota exceeded for {self.metric.value}: {self.current} used, "
            f"{self.requested} requested, limit {self.limit}, {self.available} available."
        )

    def item_error(self, path: str, index: int | None = None) -> ItemError:
        return ItemError(
            ErrorCode.QUOTA_EXCEEDED,
            self.message,
            path,
            index,
            details={
                "metric": self.metric.value,
                "current": self.current,
                "requested": self.requested,
                "limit": self.limit,
                "available": self.available,
            },
        )


@dataclass(frozen=True)
class MetricReport:
    metric: Metric
    current: float | None
    limit: float | None
    percent_used: float | None
    status: QuotaLevel


class QuotaService:
    def __init__(
        self,
        database: Database,
        book: PlanBook,
        groups: GroupRepository,
        events: EventRepository,
        usage: UsageRepository,
        meter: ApiCallMeter,
    ) -> None:
        self.database = database
        self.book = book
        self.groups = groups
        self.events = events
        self.usage = usage
        self.meter = meter

    # -- enforcement -------------------------------------------------------

    async def apply(
        self, group_id: ObjectId, delta: CountDelta, session: AsyncClientSession
    ) -> None:
        """Apply ``delta`` to the group's counters, refusing it past any limit."""
        if not delta:
            return
        guarded = any(
            amount > 0 and field in METRIC_OF_COUNTER for field, amount in delta.fields.items()
        )
        if not guarded:
            await self.groups.apply_counts(group_id, delta, session)
            return
        pipeline = reservation_pipeline(self.book, delta.fields)
        group = await self.groups.update_with_pipeline(group_id, pipeline, session)
        if group is None or group.get(REFUSED_FIELD) is None:
            return
        metric = Metric(group[REFUSED_FIELD])
        field = COUNTER_FIELDS[metric]
        current = _dotted(group, field)
        limit = self.book.limit_in_counter_unit(group, metric)
        raise QuotaExceededError(metric, current, delta.fields[field], limit or 0)

    async def write(
        self,
        group_id: ObjectId,
        work: Callable[[AsyncClientSession], Awaitable[T]],
        *,
        index: int | None = None,
    ) -> T:
        """Run ``work`` in one transaction; a refused reservation becomes QUOTA_EXCEEDED."""
        try:
            return await self.database.in_transaction(work)
        except QuotaExceededError as refused:
            await self.record_refusal(group_id, refused)
            raise RejectedError(
                [refused.item_error(REFUSAL_PATHS.get(refused.metric, ""), index)]
            ) from None

    async def record_refusal(self, group_id: ObjectId, refused: QuotaExceededError) -> None:
        """Log a ``quota_exceeded`` event, at most once per metric per hour per group."""
        now = utcnow()
        bucket = hour_start(now)
        first = await self.usage.mark_once(
            group_id, refused.metric.value, bucket, bucket + timedelta(hours=2)
        )
        if not first:
            return
        event = new_event(
            group_id,
            "quota_exceeded",
            timestamp=now,
            metadata={
                "metric": refused.metric.value,
                "current": refused.current,
                "requested": refused.requested,
                "limit": refused.limit,
            },
        )

        async def log_it(session: AsyncClientSession) -> None:
            await self.events.insert_many(group_id, [event], session)
            await self.groups.apply_counts(
                group_id, CountDelta().events(1, event["sizeBytes"]), session
            )

        await self.database.in_transaction(log_it)

    # -- reports -----------------------------------------------------------

    async def report(self, group: Document) -> list[MetricReport]:
        """Every metric of the plan against the group's counters (one query at most)."""
        api_calls = await self.meter.current(group["_id"])
        reports = []
        for metric in Metric:
            limit = self.book.limit(group, metric)
            current: float | None
            if metric is Metric.EVENTS_RETENTION_DAYS:
                reports.append(
                    MetricReport(
                        metric,
                        None,
                        limit,
                        None,
                        QuotaLevel.UNLIMITED if limit is None else QuotaLevel.OK,
                    )
                )
                continue
            if metric is Metric.API_CALLS_PER_MONTH:
                current = api_calls
            elif metric is Metric.STORAGE_GB:
                current = _dotted(group, COUNTER_FIELDS[metric]) / GIB
            else:
                current = _dotted(group, COUNTER_FIELDS[metric])
            percent, level = quota_level(current, limit)
            reports.append(MetricReport(metric, current, limit, percent, level))
        return reports

    def recommendations(self, group: Document, reports: list[MetricReport]) -> list[str]:
        plan = group["plan"]
        upgrade = self.book.next_plan(plan)
        advice = []
        for report in reports:
            if report.status not in (QuotaLevel.WARNING, QuotaLevel.CRITICAL, QuotaLevel.EXCEEDED):
                continue
            used = f"{report.metric.value} is at {report.percent_used:.0f}% of its limit"
            if upgrade is None:
                advice.append(f"{used}: contact us to raise your {plan} limit.")
            else:
                new_limit = self.book.plan(upgrade).limits[report.metric]
                shown = "unlimited" if new_limit is None else f"{new_limit:,}"
                advice.append(f"{used}: upgrade from {plan} to {upgrade} ({shown}).")
        return advice

    # -- plan changes ------------------------------------------------------

    async def change_plan(self, group: Document, plan: str) -> tuple[Document, list[Metric]]:
        """Switch plans; the metrics the group is now over (further writes refused)."""
        if plan not in self.book.names:
            raise RejectedError(
                [ItemError(ErrorCode.INVALID_INPUT, f"Unknown plan {plan!r}.", "plan")]
            )
        now = utcnow()
        event = new_event(
            group["_id"],
            "subscription_event",
            timestamp=now,
            metadata={"change": "plan", "from": group["plan"], "to": plan},
        )

        async def work(session: AsyncClientSession) -> Document | None:
            updated = await self.groups.set_plan(group["_id"], plan, now, session)
            await self.events.insert_many(group["_id"], [event], session)
            await self.groups.apply_counts(
                group["_id"], CountDelta().events(1, event["sizeBytes"]), session
            )
            return updated

        updated = await self.database.in_transaction(work) or group
        over = [
            metric
            for metric, field in COUNTER_FIELDS.items()
            if (limit := self.book.limit_in_counter_unit(updated, metric)) is not None
            and _dotted(updated, field) > limit
        ]
        return updated, over


def _dotted(doc: dict[str, Any], path: str) -> int:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part, 0) if isinstance(value, dict) else 0
    return int(value or 0)
