"""Plans, metrics and quota levels.

Plans live in a data file (``plans.json``, replaceable by ``ONTOLOGY_PLANS_FILE``);
a group may override any limit in its ``limits`` document (``-1`` = unlimited).
``storage_gb`` limits are in GiB; usage is counted in bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

GIB = 1024**3


class Metric(StrEnum):
    USERS = "users"
    STORAGE_GB = "storage_gb"
    API_CALLS_PER_MONTH = "api_calls_per_month"
    ENTITIES_TOTAL = "entities_total"
    CONNECTIONS_TOTAL = "connections_total"
    EVENTS_RETENTION_DAYS = "events_retention_days"


@dataclass(frozen=True)
class Counted:
    """How a metric is enforced on a group counter: adding a plan limit is a ``Metric``,
    its values in ``plans.json`` and, when a write can pass it, a row of ``COUNTED``."""

    # the group counter it is measured by (``ontology.ledger.counters``)
    counter: str
    # counter units per limit unit (storage is counted in bytes, limited in GiB)
    unit: int = 1
    # where a refused write reports the error in its payload (``ItemError.path``)
    refusal_path: str = ""


COUNTED: dict[Metric, Counted] = {
    Metric.USERS: Counted("counts.people", refusal_path="email"),
    Metric.STORAGE_GB: Counted("counts.storageBytes", unit=GIB),
    Metric.ENTITIES_TOTAL: Counted("counts.things", refusal_path="type"),
    Metric.CONNECTIONS_TOTAL: Counted("counts.connections", refusal_path="type"),
}
# The group counter each enforced metric is measured by, and back.
COUNTER_FIELDS: dict[Metric, str] = {metric: c.counter for metric, c in COUNTED.items()}
METRIC_OF_COUNTER = {field: metric for metric, field in COUNTER_FIELDS.items()}
# Where the group document keeps how much of each enforced counter API processes have
# leased and not yet folded back (``ontology.ledger.shards``): a reservation's room is
# the limit less the counter and its leases.
LEASED_OF_COUNTER = {f: "leased." + f.removeprefix("counts.") for f in METRIC_OF_COUNTER}


class QuotaLevel(StrEnum):
    UNLIMITED = "UNLIMITED"
    EXCEEDED = "EXCEEDED"
    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    OK = "OK"


WARNING_PERCENT = 80.0
CRITICAL_PERCENT = 95.0
EXCEEDED_PERCENT = 100.0


def quota_level(current: float, limit: float | None) -> tuple[float | None, QuotaLevel]:
    """(percent used, level) of ``current`` against ``limit`` (``None`` = unlimited)."""
    if limit is None:
        return None, QuotaLevel.UNLIMITED
    # A limit of 0 allows nothing: it is exceeded from the start.
    percent = 100.0 * current / limit if limit > 0 else 100.0
    if percent >= EXCEEDED_PERCENT:
        return percent, QuotaLevel.EXCEEDED
    if percent >= CRITICAL_PERCENT:
        return percent, QuotaLevel.CRITICAL
    if percent >= WARNING_PERCENT:
        return percent, QuotaLevel.WARNING
    return percent, QuotaLevel.OK


class PlanPrice(BaseModel):
    monthly: float | None
    annual: float | None


class PlanDef(BaseModel):
    limits: dict[Metric, int | None]
    price: PlanPrice

    @model_validator(mode="after")
    def _every_metric(self) -> PlanDef:
        missing = set(Metric) - set(self.limits)
        if missing:
            raise ValueError(f"missing limits: {sorted(missing)}")
        return self


class PlansFile(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    description: str = ""
    plans: dict[str, PlanDef]
    upgrade_path: list[str] = Field(alias="upgradePath")

    @model_validator(mode="after")
    def _path_names_plans(self) -> PlansFile:
        if set(self.upgrade_path) != set(self.plans):
            raise ValueError("upgradePath must list every plan once")
        return self


@dataclass(frozen=True)
class PlanBook:
    """The plans in force, with the arithmetic of limits."""

    source: PlansFile

    @property
    def names(self) -> list[str]:
        return list(self.source.upgrade_path)

    def plan(self, name: str) -> PlanDef:
        return self.source.plans[name]

    def limit(self, group: Mapping[str, Any], metric: Metric) -> int | None:
        """The group's limit in the metric's unit (GiB for storage), ``None`` = unlimited."""
        override = (group.get("limits") or {}).get(metric.value)
        if override is not None:
            return None if override < 0 else int(override)
        return self.plan(group["plan"]).limits[metric]

    def limit_in_counter_unit(self, group: Mapping[str, Any], metric: Metric) -> int | None:
        limit = self.limit(group, metric)
        counted = COUNTED.get(metric)
        if limit is None or counted is None:
            return limit
        return limit * counted.unit

    def is_custom(self, name: str) -> bool:
        """An unpriced plan (enterprise): agreed with staff, never chosen self-service."""
        return self.plan(name).price.monthly is None

    def next_plan(self, name: str) -> str | None:
        path = self.source.upgrade_path
        position = path.index(name)
        return path[position + 1] if position + 1 < len(path) else None

    def enforced_limits(self, group: Mapping[str, Any]) -> dict[str, int]:
        """The group's limits on its counters, in counter units, ``-1`` = unlimited.

        Stored in the group document (``quota``) so a reservation compares
        counters with limits inside one update, without reading the plan first.
        """
        enforced = {}
        for metric in COUNTER_FIELDS:
            limit = self.limit_in_counter_unit(group, metric)
            enforced[metric.value] = -1 if limit is None else limit
        return enforced


def load_plans(path: Path | None = None) -> PlanBook:
    if path is None:
        text = resources.files("ontology.ledger").joinpath("plans.json").read_text()
    else:
        text = path.read_text()
    return PlanBook(PlansFile.model_validate(json.loads(text)))
