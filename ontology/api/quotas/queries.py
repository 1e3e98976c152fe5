"""Quota queries: answered from the group's counters (at most one query for API calls)."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry

from ontology.api.context import Context
from ontology.api.quotas.types import (
    EntityCheck,
    GroupQuotas,
    OverallQuotaStatus,
    PlanLimit,
    PlanPricing,
    QuotaStatusReport,
    QuotaSummary,
    QuotaUsage,
    StorageCheck,
    UpgradeOption,
    UpgradePricing,
)
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.kit.errors import ClientError
from ontology.ledger.documents import GroupDocument
from ontology.ledger.plans import GIB, Metric, QuotaLevel, quota_level
from ontology.quotas.service import MetricReport, QuotaService

Info = strawberry.Info[Context, None]
ALERT_LEVELS = (QuotaLevel.WARNING, QuotaLevel.CRITICAL, QuotaLevel.EXCEEDED)


def _overall(reports: list[MetricReport]) -> OverallQuotaStatus:
    levels = {r.status for r in reports}
    for level, overall in (
        (QuotaLevel.EXCEEDED, OverallQuotaStatus.EXCEEDED),
        (QuotaLevel.CRITICAL, OverallQuotaStatus.CRITICAL),
        (QuotaLevel.WARNING, OverallQuotaStatus.WARNING),
    ):
        if level in levels:
            return overall
    return OverallQuotaStatus.HEALTHY


def status_report(
    quotas: QuotaService, group: GroupDocument, reports: list[MetricReport]
) -> QuotaStatusReport:
    """The quota status of ``group`` from its metrics' reports."""
    usages = [QuotaUsage.of(r) for r in reports]
    return QuotaStatusReport(
        status=_overall(reports),
        metrics=usages,
        warnings=[u for u, r in zip(usages, reports, strict=True) if r.status in ALERT_LEVELS],
        recommendations=quotas.recommendations(group, reports),
        last_updated=utcnow(),
    )


@dataclass(frozen=True)
class _Capacity:
    limit: int
    available: float
    utilization: float
    fits: bool
    suggestion: str | None


def _capacity(info: Info, metric: Metric, current: float, requested: float) -> _Capacity | None:
    """Room left under a metric's limit (counter units), ``None`` when unlimited."""
    group = info.context.caller.group
    book = info.context.services.quotas.book
    limit = book.limit_in_counter_unit(group, metric)
    if limit is None:
        return None
    available = max(0.0, limit - current)
    percent, _ = quota_level(current, limit)
    fits = requested <= available
    upgrade = book.next_plan(group["plan"])
    return _Capacity(
        limit=limit,
        available=available,
        utilization=round(percent or 0.0, 2),
        fits=fits,
        suggestion=None
        if fits
        else (f"Upgrade to {upgrade}." if upgrade else "Contact us to raise the limit."),
    )


def _difference(new: float | None, old: float | None) -> float | None:
    return None if new is None or old is None else new - old


@strawberry.type
class QuotaQueries:
    @strawberry.field(description="Every quota metric of the group's plan, with warnings.")
    async def group_quotas(self, info: Info) -> GroupQuotas:
        group = info.context.caller.group
        reports = await info.context.services.quotas.report(group)
        usages = [QuotaUsage.of(r) for r in reports]
        count = {level: sum(r.status is level for r in reports) for level in ALERT_LEVELS}
        return GroupQuotas(
            plan=Plan(group["plan"]),
            quotas=usages,
            warnings=[u for u, r in zip(usages, reports, strict=True) if r.status in ALERT_LEVELS],
            summary=QuotaSummary(
                all_ok=not any(count.values()),
                warning_count=count[QuotaLevel.WARNING],
                critical_count=count[QuotaLevel.CRITICAL],
                exceeded_count=count[QuotaLevel.EXCEEDED],
            ),
        )

    @strawberry.field(description="Overall quota health with recommendations.")
    async def quota_status(self, info: Info) -> QuotaStatusReport:
        quotas = info.context.services.quotas
        group = info.context.caller.group
        return status_report(quotas, group, await quotas.report(group))

    @strawberry.field(description="Whether `count` more things fit in the entities quota.")
    def check_can_create_entities(self, info: Info, count: int = 1) -> EntityCheck:
        if count < 1:
            raise ClientError(f"`count` must be at least 1, got {count}.")
        group = info.context.caller.group
        current = int((group.get("counts") or {}).get("things", 0))
        room = _capacity(info, Metric.ENTITIES_TOTAL, current, count)
        if room is None:
            return EntityCheck(
                can_create=True,
                available_slots=None,
                utilization=None,
                reason=None,
                suggestion=None,
            )
        return EntityCheck(
            can_create=room.fits,
            available_slots=int(room.available),
            utilization=room.utilization,
            reason=None
            if room.fits
            else f"{count} requested but only {room.available:.0f} of {room.limit} "
            "entities are available.",
            suggestion=room.suggestion,
        )

    @strawberry.field(description="Whether `bytes` more fit in the storage quota.")
    def check_can_store(self, info: Info, bytes: float) -> StorageCheck:
        if bytes < 0:
            raise ClientError(f"`bytes` must not be negative, got {bytes}.")
        group = info.context.caller.group
        current = float((group.get("counts") or {}).get("storageBytes", 0))
        room = _capacity(info, Metric.STORAGE_GB, current, bytes)
        return StorageCheck(
            can_store=room is None or room.fits,
            requested_bytes=bytes,
            current_bytes=current,
            limit_bytes=None if room is None else float(room.limit),
            available_bytes=None if room is None else float(room.available),
            utilization=None if room is None else room.utilization,
            reason=None
            if room is None or room.fits
            else f"{bytes:.0f} bytes requested but only {room.available:.0f} of "
            f"{room.limit / GIB:g} GiB are available.",
            suggestion=None if room is None else room.suggestion,
        )

    @strawberry.field(description="Prices and limits of every plan, and the upgrades from yours.")
    def upgrade_pricing(self, info: Info) -> UpgradePricing:
        group = info.context.caller.group
        book = info.context.services.quotas.book
        current = book.plan(group["plan"])
        plans = [
            PlanPricing(
                plan=Plan(name),
                monthly_price=book.plan(name).price.monthly,
                annual_price=book.plan(name).price.annual,
                limits=[
                    PlanLimit(metric=metric, limit=limit)
                    for metric, limit in book.plan(name).limits.items()
                ],
            )
            for name in book.names
        ]
        position = book.names.index(group["plan"])
        upgrades = [
            UpgradeOption(
                plan=Plan(name),
                monthly_difference=_difference(
                    book.plan(name).price.monthly, current.price.monthly
                ),
                annual_difference=_difference(book.plan(name).price.annual, current.price.annual),
            )
            for name in book.names[position + 1 :]
        ]
        return UpgradePricing(current_plan=Plan(group["plan"]), plans=plans, upgrades=upgrades)
