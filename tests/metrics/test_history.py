"""Snapshots: the roll-up job, its idempotence, and metricsHistory with empty buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ontology.metrics.service import RollUpSummary
from ontology.runtime import Runtime
from tests.factories import Api, group_counts
from tests.metrics.support import NOW, Dataset

HISTORY = """
query($from: DateTime!, $to: DateTime!, $period: MetricsPeriod) {
  metricsHistory(from: $from, to: $to, period: $period) {
    period
    points {
      start events eventsByType { type count } payments revenue activeUsers
      things connections people storageBytes
    }
  }
}
"""
SINCE = datetime(2031, 11, 9, tzinfo=UTC)


async def saved_snapshots(runtime: Runtime) -> list[dict[str, Any]]:
    cursor = runtime.database.collection("metric_snapshots").find({}, sort=[("_id", 1)])
    return [doc async for doc in cursor]


def empty(start: datetime) -> dict[str, Any]:
    return {
        "start": start.isoformat(),
        "events": 0,
        "eventsByType": [],
        "payments": 0,
        "revenue": 0.0,
        "activeUsers": None,
        "things": None,
        "connections": None,
        "people": None,
        "storageBytes": None,
    }


async def history(api: Api, key: str, since: datetime, until: datetime, period: str | None) -> Any:
    variables = {"from": since.isoformat(), "to": until.isoformat(), "period": period}
    return await api.gql(key, HISTORY, variables)


async def test_the_roll_up_copies_closed_buckets_and_is_idempotent(
    api: Api, dataset: Dataset
) -> None:
    metrics = api.runtime.services.metrics

    # when rolling up from Nov 9 at 10:30 on Nov 18, twice
    first = await metrics.roll_up(NOW, SINCE)
    saved = await saved_snapshots(api.runtime)
    second = await metrics.roll_up(NOW, SINCE)

    # then acme's closed hours with events (Nov 9 15h, Nov 10 8h, Nov 16 11h, Nov 18 9h)
    # and closed days (Nov 9, 10, 16) were saved; the open hour (10h) and today were not;
    # the rival's events are all in the open hour
    assert first == second == RollUpSummary(groups=2, hourly=4, daily=3)
    assert await saved_snapshots(api.runtime) == saved
    assert sorted((s["period"], s["start"].isoformat()) for s in saved) == [
        ("day", "2031-11-09T00:00:00+00:00"),
        ("day", "2031-11-10T00:00:00+00:00"),
        ("day", "2031-11-16T00:00:00+00:00"),
        ("hour", "2031-11-09T15:00:00+00:00"),
        ("hour", "2031-11-10T08:00:00+00:00"),
        ("hour", "2031-11-16T11:00:00+00:00"),
        ("hour", "2031-11-18T09:00:00+00:00"),
    ]
    assert {s["groupId"] for s in saved} == {dataset.tenant.id}
    # and snapshots expire: hourly after 90 days, daily after 3 years
    for s in saved:
        kept = timedelta(days=90) if s["period"] == "hour" else timedelta(days=3 * 366)
        assert s["expiresAt"] == s["start"] + kept


async def test_hourly_history_has_one_point_per_hour(api: Api, dataset: Dataset) -> None:
    # given the roll-up ran at 10:30
    await api.runtime.services.metrics.roll_up(NOW, SINCE)
    counts = await group_counts(api.runtime, dataset.tenant.id)

    # when asking for Nov 18 from midnight to 11:00 (no period: 11 hours -> HOURLY)
    body = await history(
        api,
        dataset.tenant.user,
        datetime(2031, 11, 18, tzinfo=UTC),
        NOW.replace(hour=11, minute=0),
        None,
    )

    # then 11 points: only 09:00 has a snapshot (10:00 is still open)
    result = body["data"]["metricsHistory"]
    assert result["period"] == "HOURLY"
    hours = [datetime(2031, 11, 18, h, tzinfo=UTC) for h in range(11)]
    nine = {
        "start": "2031-11-18T09:00:00+00:00",
        "events": 1,
        "eventsByType": [{"type": "payment_processed", "count": 1}],
        "payments": 1,
        "revenue": 10.5,
        "activeUsers": None,
        "things": 9,
        "connections": 10,
        "people": counts["people"],
        "storageBytes": float(counts["storageBytes"]),
    }
    assert result["points"] == [nine if h.hour == 9 else empty(h) for h in hours]


async def test_daily_history_is_the_default_beyond_seven_days(api: Api, dataset: Dataset) -> None:
    await api.runtime.services.metrics.roll_up(NOW, SINCE)

    # when asking for Nov 1 - Nov 18 without a period
    body = await history(
        api,
        dataset.tenant.user,
        datetime(2031, 11, 1, tzinfo=UTC),
        datetime(2031, 11, 18, tzinfo=UTC),
        None,
    )

    # then 17 daily points, three of them with events (and their distinct actors)
    result = body["data"]["metricsHistory"]
    assert result["period"] == "DAILY"
    points = {p["start"][:10]: p for p in result["points"]}
    assert len(result["points"]) == 17
    assert [
        (day, p["events"], p["revenue"], p["activeUsers"])
        for day, p in points.items()
        if p["events"]
    ] == [
        ("2031-11-09", 1, 30.0, 1),
        ("2031-11-10", 1, 0.0, 1),
        ("2031-11-16", 1, 20.0, 1),
    ]
    assert points["2031-11-02"] == empty(datetime(2031, 11, 2, tzinfo=UTC))


async def test_bad_ranges_are_refused_with_a_clear_error(api: Api, dataset: Dataset) -> None:
    key = dataset.tenant.user
    cases = {
        "to must be after from.": (NOW, NOW, None),
        "The range has more than 1000 hourly points; ask for a shorter range or DAILY points.": (
            NOW - timedelta(days=60),
            NOW,
            "HOURLY",
        ),
    }
    for message, (since, until, period) in cases.items():
        body = await history(api, key, since, until, period)
        assert body["data"] is None
        assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
            (message, "INVALID_RANGE")
        ]
    # a long range is fine with daily points
    body = await history(api, key, NOW - timedelta(days=60), NOW, "DAILY")
    assert len(body["data"]["metricsHistory"]["points"]) == 61
