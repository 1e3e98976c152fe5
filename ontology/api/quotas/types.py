"""GraphQL types for quotas and plans."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from ontology.api.base import UserError
from ontology.api.groups.types import GroupType, PlanEnum
from ontology.ledger.plans import Metric, QuotaLevel
from ontology.quotas.service import MetricReport

QuotaMetric = strawberry.enum(Metric, name="QuotaMetric")
QuotaLevelEnum = strawberry.enum(QuotaLevel, name="QuotaLevel")


@strawberry.enum(description="The worst level over all metrics.")
class OverallQuotaStatus(Enum):
    EXCEEDED = "EXCEEDED"
    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    HEALTHY = "HEALTHY"


@strawberry.type(description="One metric: usage against the limit (storage in GiB).")
class QuotaUsage:
    metric: QuotaMetric  # type: ignore[valid-type]
    current: float | None
    limit: float | None = strawberry.field(description="null = unlimited")
    percent_used: float | None
    status: QuotaLevelEnum  # type: ignore[valid-type]

    @classmethod
    def of(cls, report: MetricReport) -> QuotaUsage:
        return cls(
            metric=report.metric,
            current=report.current,
            limit=report.limit,
            percent_used=round(report.percent_used, 2) if report.percent_used is not None else None,
            status=report.status,
        )


@strawberry.type
class QuotaSummary:
    all_ok: bool
    warning_count: int
    critical_count: int
    exceeded_count: int


@strawberry.type
class GroupQuotas:
    plan: PlanEnum  # type: ignore[valid-type]
    quotas: list[QuotaUsage]
    warnings: list[QuotaUsage] = strawberry.field(
        description="Metrics at WARNING, CRITICAL or EXCEEDED."
    )
    summary: QuotaSummary


@strawberry.type
class QuotaStatusReport:
    status: OverallQuotaStatus
    metrics: list[QuotaUsage]
    warnings: list[QuotaUsage]
    recommendations: list[str]
    last_updated: datetime


@strawberry.type
class EntityCheck:
    can_create: bool
    available_slots: int | None = strawberry.field(description="null = unlimited")
    utilization: float | None
    reason: str | None
    suggestion: str | None


@strawberry.type
class StorageCheck:
    can_store: bool
    requested_bytes: float
    current_bytes: float
    limit_bytes: float | None
    available_bytes: float | None
    utilization: float | None
    reason: str | None
    suggestion: str | None


@strawberry.type
class PlanLimit:
    metric: QuotaMetric  # type: ignore[valid-type]
    limit: float | None = strawberry.field(description="null = unlimited")


@strawberry.type
class PlanPricing:
    plan: PlanEnum  # type: ignore[valid-type]
    monthly_price: float | None = strawberry.field(description="USD; null = custom")
    annual_price: float | None
    limits: list[PlanLimit]


@strawberry.type
class UpgradeOption:
    plan: PlanEnum  # type: ignore[valid-type]
    monthly_difference: float | None
    annual_difference: float | None


@strawberry.type
class UpgradePricing:
    current_plan: PlanEnum  # type: ignore[valid-type]
    plans: list[PlanPricing]
    upgrades: list[UpgradeOption]


@strawberry.type
class ChangePlanPayload:
    group: GroupType | None
    over_limit: list[QuotaMetric] = strawberry.field(  # type: ignore[valid-type]
        description="Metrics now over their limit: further writes of these are refused."
    )
    errors: list[UserError]
