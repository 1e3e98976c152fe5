"""Plans as data, the level thresholds (80/95/100 %) and calendar periods, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest

from ontology.ledger.periods import hour_start, month_start, next_month_start, seconds_until
from ontology.ledger.plans import GIB, Metric, QuotaLevel, load_plans, quota_level

BOOK = load_plans()


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (0, (0.0, QuotaLevel.OK)),
        (79, (79.0, QuotaLevel.OK)),
        (80, (80.0, QuotaLevel.WARNING)),
        (94, (94.0, QuotaLevel.WARNING)),
        (95, (95.0, QuotaLevel.CRITICAL)),
        (99, (99.0, QuotaLevel.CRITICAL)),
        (100, (100.0, QuotaLevel.EXCEEDED)),
        (101, (101.0, QuotaLevel.EXCEEDED)),
    ],
)
def test_levels_at_each_threshold_of_a_limit_of_100(
    current: int, expected: tuple[float, QuotaLevel]
) -> None:
    # given a limit of 100, when `current` is used, then the level is:
    assert quota_level(current, 100) == expected


@pytest.mark.parametrize(
    ("current", "limit", "expected"),
    [
        (799, 1000, (79.9, QuotaLevel.OK)),
        (800, 1000, (80.0, QuotaLevel.WARNING)),
        (949, 1000, (94.9, QuotaLevel.WARNING)),
        (950, 1000, (95.0, QuotaLevel.CRITICAL)),
        (999, 1000, (99.9, QuotaLevel.CRITICAL)),
        (1000, 1000, (100.0, QuotaLevel.EXCEEDED)),
        (3, 4, (75.0, QuotaLevel.OK)),
        (4, 5, (80.0, QuotaLevel.WARNING)),
        (0.5, 1, (50.0, QuotaLevel.OK)),  # storage in GiB is fractional
        (0.95, 1, (95.0, QuotaLevel.CRITICAL)),
    ],
)
def test_levels_are_percentages_of_any_limit(
    current: float, limit: int, expected: tuple[float, QuotaLevel]
) -> None:
    percent, level = quota_level(current, limit)
    assert (percent, level) == (pytest.approx(expected[0]), expected[1])


def test_no_limit_is_unlimited_and_a_zero_limit_is_exceeded_from_the_start() -> None:
    assert quota_level(10**12, None) == (None, QuotaLevel.UNLIMITED)
    assert quota_level(0, 0) == (100.0, QuotaLevel.EXCEEDED)
    assert quota_level(5, 0) == (100.0, QuotaLevel.EXCEEDED)


def test_the_default_plans_are_the_documented_ones() -> None:
    assert BOOK.names == ["starter", "pro", "enterprise"]
    assert {name: BOOK.plan(name).limits for name in BOOK.names} == {
        "starter": {
            Metric.USERS: 5,
            Metric.STORAGE_GB: 1,
            Metric.API_CALLS_PER_MONTH: 1000,
            Metric.ENTITIES_TOTAL: 100,
            Metric.CONNECTIONS_TOTAL: 500,
            Metric.EVENTS_RETENTION_DAYS: 90,
        },
        "pro": {
            Metric.USERS: 50,
            Metric.STORAGE_GB: 100,
            Metric.API_CALLS_PER_MONTH: 100_000,
            Metric.ENTITIES_TOTAL: 10_000,
            Metric.CONNECTIONS_TOTAL: 50_000,
            Metric.EVENTS_RETENTION_DAYS: 365,
        },
        "enterprise": dict.fromkeys(Metric),
    }
    assert [
        (BOOK.plan(name).price.monthly, BOOK.plan(name).price.annual) for name in BOOK.names
    ] == [(0, 0), (49, 490), (None, None)]
    assert [BOOK.next_plan(name) for name in BOOK.names] == ["pro", "enterprise", None]


@pytest.mark.parametrize(
    ("plan", "limits", "metric", "expected"),
    [
        ("starter", {}, Metric.ENTITIES_TOTAL, 100),
        ("starter", {"entities_total": 250}, Metric.ENTITIES_TOTAL, 250),  # raised
        ("pro", {"entities_total": 7}, Metric.ENTITIES_TOTAL, 7),  # lowered
        ("pro", {"entities_total": 0}, Metric.ENTITIES_TOTAL, 0),
        ("pro", {"entities_total": -1}, Metric.ENTITIES_TOTAL, None),  # unlimited
        ("pro", {"users": 3}, Metric.ENTITIES_TOTAL, 10_000),  # other metrics keep the plan's
        ("enterprise", {}, Metric.USERS, None),
        ("enterprise", {"users": 12}, Metric.USERS, 12),
        ("starter", {}, Metric.STORAGE_GB, 1),
    ],
)
def test_an_override_replaces_the_plan_limit(
    plan: str, limits: dict[str, int], metric: Metric, expected: int | None
) -> None:
    group = {"plan": plan, "limits": limits}
    assert BOOK.limit(group, metric) == expected


def test_storage_limits_are_gib_and_counted_in_bytes() -> None:
    assert BOOK.limit_in_counter_unit({"plan": "starter", "limits": {}}, Metric.STORAGE_GB) == GIB
    assert BOOK.limit_in_counter_unit(
        {"plan": "pro", "limits": {"storage_gb": 3}}, Metric.STORAGE_GB
    ) == (3 * GIB)
    assert BOOK.limit_in_counter_unit({"plan": "enterprise"}, Metric.STORAGE_GB) is None
    assert BOOK.limit_in_counter_unit({"plan": "starter"}, Metric.ENTITIES_TOTAL) == 100


def _plans(**overrides: Any) -> dict[str, Any]:
    limits = {metric.value: 1 for metric in Metric}
    document: dict[str, Any] = {
        "plans": {
            "small": {"limits": limits, "price": {"monthly": 1, "annual": 10}},
            "large": {"limits": dict.fromkeys(limits), "price": {"monthly": None, "annual": None}},
        },
        "upgradePath": ["small", "large"],
    }
    document.update(overrides)
    return document


def test_a_plans_file_replaces_the_plans(tmp_path: Path) -> None:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(_plans()))
    book = load_plans(path)
    assert book.names == ["small", "large"]
    assert book.limit({"plan": "small"}, Metric.USERS) == 1
    assert book.limit({"plan": "large"}, Metric.USERS) is None
    assert book.next_plan("small") == "large"


def test_a_plans_file_must_give_every_metric_and_list_every_plan_once(tmp_path: Path) -> None:
    missing = _plans()
    del missing["plans"]["small"]["limits"]["users"]
    path = tmp_path / "missing.json"
    path.write_text(json.dumps(missing))
    with pytest.raises(pydantic.ValidationError, match=r"missing limits: \[.*'users'.*\]"):
        load_plans(path)

    path = tmp_path / "path.json"
    path.write_text(json.dumps(_plans(upgradePath=["small"])))
    with pytest.raises(pydantic.ValidationError, match="upgradePath must list every plan once"):
        load_plans(path)


def test_periods_are_utc_calendar_months_and_hours() -> None:
    moment = datetime(2040, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    assert month_start(moment) == datetime(2040, 12, 1, tzinfo=UTC)
    assert next_month_start(moment) == datetime(2041, 1, 1, tzinfo=UTC)
    assert next_month_start(datetime(2040, 2, 10, tzinfo=UTC)) == datetime(2040, 3, 1, tzinfo=UTC)
    assert hour_start(moment) == datetime(2040, 12, 31, 23, tzinfo=UTC)
    # whole seconds, rounded up, never less than one
    assert seconds_until(datetime(2041, 1, 1, tzinfo=UTC), moment) == 1
    assert seconds_until(datetime(2041, 1, 1, tzinfo=UTC), datetime(2040, 12, 31, tzinfo=UTC)) == (
        86_400
    )
    assert seconds_until(moment, datetime(2041, 1, 1, tzinfo=UTC)) == 1
