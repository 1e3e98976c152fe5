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
from ontology.kit.errors import ErrorCode, ForbiddenError, ItemError, RejectedError
from ontology.kit.metrics import Metrics
from ontology.quotas.alerts import PROJECTION as ALERT_PROJECTION
from ontology.quotas.alerts import QuotaAlerts
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
from ontology.quotas.reservation import reservation_pipeline

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
        metrics: Metrics,
    ) -> None:
        self.database = database
        self.book = book
        self.groups = groups
        self.events = events
        self.usage = usage
        self.meter = meter
        self.metrics = metrics
        self.alerts: QuotaAlerts | None = None  # set by the runtime

    # -- enforcement -------------------------------------------------------

    async def apply(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        session: AsyncClientSession,
        *,
        enforce: bool = True,
    ) -> None:
        """Apply ``delta`` to the group's counters, refusing it past any limit.

        Deletes pass ``enforce=False``: freeing space must always be possible,
        even when the event a delete logs is larger than what it removes.
        """
        if not delta:
            return
        guarded = enforce and any(
            amount > 0 and field in METRIC_OF_COUNTER for field, amount in delta.fields.items()
        )
        # With alerts, an update of a quota counter returns the group as it was (the same
        # one command), so the crossings are known without a read (``quotas/alerts.py``).
        alerts = self.alerts
        watched = alerts is not None and any(
            amount and field in METRIC_OF_COUNTER for field, amount in delta.fields.items()
        )
        if not guarded:
            if alerts is not None and watched:
                before = await self.groups.apply_counts_returning(
                    group_id, delta, ALERT_PROJECTION, session
                )
                await alerts.record(group_id, before, delta.fields, session)
            else:
                await self.groups.apply_counts(group_id, delta, session)
            return
        pipeline = reservation_pipeline(delta.fields, delta.newest, delta.oldest)
        if alerts is not None:
            before = await self.groups.update_with_pipeline_returning(
                group_id, pipeline, ALERT_PROJECTION, session
            )
            if before is not None and _reserved(before, delta.fields):
                await alerts.record(group_id, before, delta.fields, session)
                return
        elif await self.groups.update_with_pipeline(group_id, pipeline, session):
            return
        # Refused: read (in the same snapshot) which limit, to say so precisely.
        group = await self.groups.by_id(group_id, session)
        if group is None:
            raise RejectedError([ItemError(ErrorCode.NOT_FOUND, "No such group.", "")])
        for field, amount in delta.fields.items():
            metric = METRIC_OF_COUNTER.get(field)
            limit = self.book.limit_in_counter_unit(group, metric) if metric else None
            if metric is not None and limit is not None and amount > 0:
                current = _dotted(group, field)
                if current + amount > limit:
                    raise QuotaExceededError(metric, current, amount, limit)
        raise RuntimeError("A reservation was refused but no limit is exceeded.")

    async def write(
        self,
        group_id: ObjectId,
        work: Callable[[AsyncClientSession], Awaitable[T]],
        *,
        index: int | None = None,
    ) -> T:
        """Run ``work`` in one transaction; a refused reservation becomes QUOTA_EXCEEDED."""
        try:
            return await self.database.in_transaction(work, serialize_on=group_id)
        except QuotaExceededError as refused:
            await self.record_refusal(group_id, refused)
            raise RejectedError(
                [refused.item_error(REFUSAL_PATHS.get(refused.metric, ""), index)]
            ) from None

    async def record_refusal(self, group_id: ObjectId, refused: QuotaExceededError) -> None:
        """Count the refusal, and log a ``quota_exceeded`` event at most once per metric
        per hour per group."""
        self.metrics.quota_refusals.labels(refused.metric.value).inc()
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
            await self.groups.apply_counts(group_id, CountDelta().logged([event]), session)

        await self.database.in_transaction(log_it)

    async def set_limit(self, group_id: ObjectId, metric: Metric, value: int | None) -> bool:
        """Override one limit for the group (``-1`` unlimited, ``None`` back to the plan)."""

        async def work(session: AsyncClientSession) -> bool:
            # Read and write in one transaction, so a concurrent plan change or
            # override cannot be lost from the enforced limits.
            group = await self.groups.by_id(group_id, session)
            if group is None:
                return False
            limits = dict(group.get("limits") or {})
            if value is None:
                limits.pop(metric.value, None)
            else:
                limits[metric.value] = value
            quota = self.book.enforced_limits({**group, "limits": limits})
            if self.alerts is not None:
                await self.alerts.record_limits(group, quota, session)
            return await self.groups.set_limits(group_id, limits, quota, session)

        return await self.database.in_transaction(work, serialize_on=group_id)

    async def sync_limits(self) -> int:
        """Bring every group's stored limits in line with the plans in force; how many changed.

        Run at start-up, so editing the plans file changes enforcement without code.
        """
        changed = 0
        async for group in self.groups.all_quota_settings():
            quota = self.book.enforced_limits(group)
            if group.get("quota") != quota:
                await self.groups.set_limits(group["_id"], group.get("limits") or {}, quota)
                changed += 1
        return changed

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

    async def change_plan(
        self, group: Document, plan: str, *, staff: bool = False
    ) -> tuple[Document, list[Metric]]:
        """Switch plans; the metrics the group is now over (further writes refused).

        Self-service changes are between priced plans. A custom (unpriced) plan
        has limits agreed with staff, enterprise's being unlimited, so only
        ``staff`` (a platform_owner, or the CLI) moves a group onto or off one;
        otherwise ``ForbiddenError`` and nothing changes.
        """
        if plan not in self.book.names:
            raise RejectedError(
                [ItemError(ErrorCode.INVALID_INPUT, f"Unknown plan {plan!r}.", "plan")]
            )
        if not staff and self.book.is_custom(plan):
            raise ForbiddenError(f"{plan} is a custom plan: only a platform_owner can assign it.")
        now = utcnow()
        event = new_event(
            group["_id"],
            "subscription_event",
            timestamp=now,
            metadata={"change": "plan", "from": group["plan"], "to": plan},
        )

        async def work(session: AsyncClientSession) -> Document | None:
            # The overrides are read inside the transaction, so none is lost.
            current = await self.groups.by_id(group["_id"], session) or group
            # Checked on the group as this transaction reads it, so a staff change
            # made meanwhile cannot be undone by a self-service one.
            if (
                not staff
                and current["plan"] in self.book.names
                and self.book.is_custom(current["plan"])
            ):
                raise ForbiddenError(
                    f"The group is on the custom plan {current['plan']}: "
                    "only a platform_owner can change it."
                )
            quota = self.book.enforced_limits({**current, "plan": plan})
            if self.alerts is not None:
                await self.alerts.record_limits(current, quota, session)
            await self.events.insert_many(group["_id"], [event], session)
            await self.groups.apply_counts(group["_id"], CountDelta().logged([event]), session)
            return await self.groups.set_plan(group["_id"], plan, quota, now, session)

        updated = await self.database.in_transaction(work, serialize_on=group["_id"]) or group
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


def _reserved(before: dict[str, Any], increments: dict[str, int]) -> bool:
    """Whether ``reservation_pipeline`` applied ``increments`` to the document ``before``
    (its checks, on the same values: ``$quota`` missing or negative passes)."""
    quota = before.get("quota") or {}
    for field, amount in increments.items():
        metric = METRIC_OF_COUNTER.get(field)
        if metric is None or amount <= 0:
            continue
        limit = quota.get(metric.value)
        if limit is not None and limit >= 0 and _dotted(before, field) + amount > limit:
            return False
    return True
