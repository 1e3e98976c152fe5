"""Group metrics and realtime metrics: exact values, week and month boundaries, isolation."""

from __future__ import annotations

from datetime import UTC, datetime

from ontology.api.metrics.types import GroupMetrics
from ontology.metrics.registry import GROUP_METRICS
from ontology.people.service import NewPerson
from tests.factories import Api, SettableClock, global_id, group_counts
from tests.metrics.support import Dataset, log

METRICS = """
{
  viewer {
    group {
      metrics {
        userCount activeUsers totalEntities storageUsed { bytes megabytes gigabytes }
        revenueThisMonth eventsThisMonth eventsThisWeek
        topContentByEngagement { thing { id name } connectionCount }
        averageEngagementPerContent avgEventsPerUser avgRevenuePerUser isActive trendingUp
      }
    }
  }
}
"""
API_CALLS = "{ viewer { group { metrics { apiCallsThisMonth } } } }"
REALTIME = """
{ realtimeMetrics { eventsLastHour byType { type count } paymentsLastHour revenueLastHour } }
"""


async def metrics(api: Api, key: str) -> dict[str, object]:
    data = await api.data(key, METRICS)
    result: dict[str, object] = data["viewer"]["group"]["metrics"]
    return result


async def test_group_metrics_have_exact_values(api: Api, dataset: Dataset) -> None:
    # given two people in the group
    for n in (1, 2):
        await api.runtime.services.people.create(
            dataset.tenant.id, NewPerson(email=f"p{n}@acme.test", name=f"Person {n}")
        )
    counts = await group_counts(api.runtime, dataset.tenant.id)
    size = counts["storageBytes"]

    # when reading the metrics
    result = await metrics(api, dataset.tenant.user)

    # then this month (November): 30 + 20 + 10.5 + 5 from 7 events; this week (Nov 12-18):
    # 5 events by Ada, Bob, m2 and m1; the week before (Nov 5-11): 2 events
    things = dataset.things
    assert result == {
        "userCount": 2,
        "activeUsers": 4,
        "totalEntities": 9,
        "storageUsed": {
            "bytes": float(size),
            "megabytes": size / 1024**2,
            "gigabytes": size / 1024**3,
        },
        "revenueThisMonth": 65.5,
        "eventsThisMonth": 7,
        "eventsThisWeek": 5,
        # content by inbound connections: the course (2 enrolments), then one each, by id
        "topContentByEngagement": [
            {"thing": {"id": global_id("Thing", things[name]), "name": name}, "connectionCount": n}
            for name, n in (("c1", 2), ("p1", 1), ("p2", 1), ("v1", 1))
        ],
        "averageEngagementPerContent": 1.25,
        "avgEventsPerUser": 3.5,
        "avgRevenuePerUser": 32.75,
        "isActive": True,
        "trendingUp": True,
    }


async def test_weeks_and_months_turn_with_the_clock(
    api: Api, dataset: Dataset, clock: SettableClock
) -> None:
    # when the clock reaches December 1st: a new month; this week = Nov 25 - Dec 1
    clock.set(datetime(2031, 12, 1, 0, 0, tzinfo=UTC))
    december = await metrics(api, dataset.tenant.user)
    # then nothing happened this month or this week, and last week's 5 events > 0
    assert (december["eventsThisMonth"], december["revenueThisMonth"]) == (0, 0.0)
    assert (december["eventsThisWeek"], december["activeUsers"]) == (0, 0)
    assert (december["isActive"], december["trendingUp"]) == (False, False)

    # when one event is logged on Nov 24, a day later than the week before Dec 1 starts
    clock.set(datetime(2031, 11, 24, 23, 59, tzinfo=UTC))
    await log(api.runtime, dataset.tenant.id, dataset.things, "content_event", "m3", "p1")
    clock.set(datetime(2031, 11, 25, 0, 0, tzinfo=UTC))
    # then on Nov 25 it belongs to this week (Nov 19-25), and the week before (Nov 12-18)
    # had 5, so the group is active but not trending up
    on_25th = await metrics(api, dataset.tenant.user)
    assert (on_25th["eventsThisWeek"], on_25th["activeUsers"]) == (1, 1)
    assert (on_25th["isActive"], on_25th["trendingUp"]) == (True, False)
    assert on_25th["eventsThisMonth"] == 8

    # and on Dec 1 it is in the previous week (Nov 24-30): still nothing this week
    clock.set(datetime(2031, 12, 1, 12, 0, tzinfo=UTC))
    assert (await metrics(api, dataset.tenant.user))["eventsThisWeek"] == 0


async def test_the_rivals_data_never_counts(api: Api, dataset: Dataset) -> None:
    rival = await metrics(api, dataset.rival.user)
    assert (rival["revenueThisMonth"], rival["eventsThisMonth"], rival["activeUsers"]) == (
        1000.0,
        2,
        2,
    )
    assert rival["topContentByEngagement"] == [
        {
            "thing": {"id": global_id("Thing", dataset.rival_things[name]), "name": name},
            "connectionCount": n,
        }
        for name, n in (("c1", 2), ("p1", 1), ("p2", 1), ("v1", 1))
    ]
    realtime = (await api.data(dataset.rival.user, REALTIME))["realtimeMetrics"]
    assert realtime["revenueLastHour"] == 1000.0


async def test_api_calls_this_month_count_operations(api: Api, dataset: Dataset) -> None:
    # when the group makes 3 operations, the third one reading the count
    await api.data(dataset.tenant.user, "{ viewer { role } }")
    await api.data(dataset.tenant.user, "{ viewer { role } }")
    data = await api.data(dataset.tenant.user, API_CALLS)
    # then all three are counted (the reading one included), and none of the rival's
    assert data["viewer"]["group"]["metrics"]["apiCallsThisMonth"] == 3
    rival = await api.data(dataset.rival.user, API_CALLS)
    assert rival["viewer"]["group"]["metrics"]["apiCallsThisMonth"] == 1


async def test_realtime_metrics_cover_the_last_60_minutes(
    api: Api, dataset: Dataset, clock: SettableClock
) -> None:
    # at 10:30 the window is 09:31-10:30: payments at 09:45 (10.5) and 10:05 (5),
    # content events at 10:20 and 10:29
    assert (await api.data(dataset.tenant.user, REALTIME))["realtimeMetrics"] == {
        "eventsLastHour": 4,
        "byType": [
            {"type": "content_event", "count": 2},
            {"type": "payment_processed", "count": 2},
        ],
        "paymentsLastHour": 2,
        "revenueLastHour": 15.5,
    }

    # when the clock reaches 10:45 the 09:45 payment is out (window 09:46-10:45)
    clock.set(datetime(2031, 11, 18, 10, 45, tzinfo=UTC))
    assert (await api.data(dataset.tenant.user, REALTIME))["realtimeMetrics"] == {
        "eventsLastHour": 3,
        "byType": [
            {"type": "content_event", "count": 2},
            {"type": "payment_processed", "count": 1},
        ],
        "paymentsLastHour": 1,
        "revenueLastHour": 5.0,
    }

    # and at 11:30 nothing is left
    clock.set(datetime(2031, 11, 18, 11, 30, tzinfo=UTC))
    assert (await api.data(dataset.tenant.user, REALTIME))["realtimeMetrics"] == {
        "eventsLastHour": 0,
        "byType": [],
        "paymentsLastHour": 0,
        "revenueLastHour": 0.0,
    }


def test_the_registry_and_the_graphql_type_name_the_same_metrics() -> None:
    fields = {f.python_name for f in GroupMetrics.__strawberry_definition__.fields}
    assert set(GROUP_METRICS) == fields - {"group", "now"}  # minus the private inputs
