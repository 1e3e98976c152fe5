"""Quota reports, plan changes and limit overrides (enforcement is the ledger's)."""

from __future__ import annotations

from dataclasses import dataclass

from bson import ObjectId

from ontology.groups.repository import GroupRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ForbiddenError, ItemError, RejectedError
from ontology.ledger.counters import CountDelta
from ontology.ledger.documents import GroupDocument
from ontology.ledger.events import new_event
from ontology.ledger.ledger import Ledger, TenantWrite, dotted
from ontology.ledger.meter import ApiCallMeter
from ontology.ledger.plans import (
    COUNTED,
    COUNTER_FIELDS,
    Metric,
    PlanBook,
    QuotaLevel,
    quota_level,
)
from ontology.ledger.standing import standing_fields


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
        ledger: Ledger,
        book: PlanBook,
        groups: GroupRepository,
        meter: ApiCallMeter,
    ) -> None:
        self.ledger = ledger
        self.book = book
        self.groups = groups
        self.meter = meter

    async def set_limit(self, group_id: ObjectId, metric: Metric, value: int | None) -> bool:
        """Override one limit for the group (``-1`` unlimited, ``None`` back to the plan)."""

        async def work(w: TenantWrite) -> bool:
            # Read and write in one transaction, so a concurrent plan change or
            # override cannot be lost from the enforced limits.
            group = await self.ledger.accounts.by_id(group_id, w.session)
            if group is None:
                return False
            limits = dict(group.get("limits") or {})
            if value is None:
                limits.pop(metric.value, None)
            else:
                limits[metric.value] = value
            quota = self.book.enforced_limits({**group, "limits": limits})
            await self.ledger.record_limit_crossings(group, quota, w.session)
            return await self.ledger.accounts.set_limits(group_id, limits, quota, w.session)

        return await self.ledger.write(group_id, work)

    async def sync_limits(self) -> int:
        """Bring every group's stored limits in line with the plans in force; how many changed.

        Run at start-up, so editing the plans file changes enforcement without code.
        """
        changed = 0
        async for group in self.groups.all_quota_settings():
            quota = self.book.enforced_limits(group)
            # a group stored before its standing was kept gets it here too
            standing = standing_fields({**group, "quota": quota})
            if group.get("quota") != quota or any(group.get(k) != v for k, v in standing.items()):
                await self.ledger.accounts.set_limits(
                    group["_id"], group.get("limits") or {}, quota
                )
                changed += 1
        return changed

    # -- reports -----------------------------------------------------------

    async def report(self, group: GroupDocument) -> list[MetricReport]:
        """Every metric of the plan against the group's counters (one query at most)."""
        return self.report_of(group, await self.meter.current(group["_id"]))

    async def reports(self, groups: list[GroupDocument]) -> dict[ObjectId, list[MetricReport]]:
        """``report`` of each of ``groups`` (one query at most, whatever their number)."""
        calls = await self.meter.current_many([group["_id"] for group in groups])
        return {group["_id"]: self.report_of(group, calls[group["_id"]]) for group in groups}

    def report_of(self, group: GroupDocument, api_calls: int) -> list[MetricReport]:
        """``report`` with this month's API calls already known."""
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
            else:
                counted = COUNTED[metric]
                current = dotted(group, counted.counter)
                if counted.unit != 1:
                    current /= counted.unit
            percent, level = quota_level(current, limit)
            reports.append(MetricReport(metric, current, limit, percent, level))
        return reports

    def recommendations(self, group: GroupDocument, reports: list[MetricReport]) -> list[str]:
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
        self, group: GroupDocument, plan: str, *, staff: bool = False
    ) -> tuple[GroupDocument, list[Metric]]:
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

        async def work(w: TenantWrite) -> GroupDocument | None:
            # The overrides are read inside the transaction, so none is lost.
            current = await self.ledger.accounts.by_id(group["_id"], w.session) or group
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
            await self.ledger.record_limit_crossings(current, quota, w.session)
            await w.count(CountDelta(), [event], enforce=False)
            return await self.ledger.accounts.set_plan(group["_id"], plan, quota, now, w.session)

        updated = await self.ledger.write(group["_id"], work) or group
        over = [
            metric
            for metric, field in COUNTER_FIELDS.items()
            if (limit := self.book.limit_in_counter_unit(updated, metric)) is not None
            and dotted(updated, field) > limit
        ]
        return updated, over
