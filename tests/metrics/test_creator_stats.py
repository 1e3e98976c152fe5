"""Creator stats: exact values from the hand-built data set."""

from __future__ import annotations

from datetime import timedelta

from ontology.api.metrics.types import CreatorStats
from ontology.metrics.registry import CREATOR_METRICS
from tests.factories import Api, SettableClock, global_id
from tests.metrics.support import NOW, Dataset

STATS = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Thing {
      name
      stats {
        totalRevenue totalFollowers contentCount averageEngagement lastActive totalEvents
        eventsByType { type count } isActive accountAge revenuePerContent lastComputed
      }
    }
  }
}
"""


async def stats_of(api: Api, dataset: Dataset, *names: str) -> dict[str, dict[str, object]]:
    ids = [global_id("Thing", dataset.things[name]) for name in names]
    data = await api.data(dataset.tenant.user, STATS, {"ids": ids})
    return {node["name"]: node["stats"] for node in data["nodes"]}


async def test_a_creators_stats_have_exact_values(api: Api, dataset: Dataset) -> None:
    # when reading the stats of both creators and a member
    stats = await stats_of(api, dataset, "Ada", "Bob", "m1")

    # then Ada: 4 payments as actor (100 in October, 30, 20, 10.5), 3 followers,
    # 2 authored + 1 created_by, 2 connection_created events (her authored links)
    assert stats["Ada"] == {
        "totalRevenue": 160.5,
        "totalFollowers": 3,
        "contentCount": 3,
        "averageEngagement": 1.0,
        "lastActive": "2031-11-18T09:45:00+00:00",
        "totalEvents": 6,
        "eventsByType": [
            {"type": "connection_created", "count": 2},
            {"type": "payment_processed", "count": 4},
        ],
        "isActive": True,
        "accountAge": 39,
        "revenuePerContent": 53.5,
        "lastComputed": "2031-11-18T10:30:00+00:00",
    }
    # and Bob: one payment of 5, one follower, one authored video
    assert stats["Bob"] == {
        "totalRevenue": 5.0,
        "totalFollowers": 1,
        "contentCount": 1,
        "averageEngagement": 1.0,
        "lastActive": "2031-11-18T10:05:00+00:00",
        "totalEvents": 2,
        "eventsByType": [
            {"type": "connection_created", "count": 1},
            {"type": "payment_processed", "count": 1},
        ],
        "isActive": True,
        "accountAge": 39,
        "revenuePerContent": 5.0,
        "lastComputed": "2031-11-18T10:30:00+00:00",
    }
    # and a member without content or revenue divides by nothing
    assert stats["m1"]["contentCount"] == 0
    assert stats["m1"]["averageEngagement"] == 0.0
    assert stats["m1"]["revenuePerContent"] == 0.0
    assert stats["m1"]["totalEvents"] == 5  # 3 connections + 2 content events


async def test_a_creator_without_events_has_zero_stats(api: Api, dataset: Dataset) -> None:
    stats = await stats_of(api, dataset, "c1")
    assert stats["c1"] == {
        "totalRevenue": 0.0,
        "totalFollowers": 0,
        "contentCount": 0,
        "averageEngagement": 0.0,
        "lastActive": None,
        "totalEvents": 0,
        "eventsByType": [],
        "isActive": False,
        "accountAge": 39,
        "revenuePerContent": 0.0,
        "lastComputed": "2031-11-18T10:30:00+00:00",
    }


async def test_activity_and_age_follow_the_clock(
    api: Api, dataset: Dataset, clock: SettableClock
) -> None:
    # when 30 days pass after Ada's last event, and then one more minute
    clock.set(NOW.replace(hour=9, minute=45) + timedelta(days=30))
    active_at_30_days = (await stats_of(api, dataset, "Ada"))["Ada"]
    clock.advance(minutes=1)
    later = (await stats_of(api, dataset, "Ada"))["Ada"]

    # then she is active up to exactly 30 days, and inactive after; her age grows
    assert (active_at_30_days["isActive"], later["isActive"]) == (False, False)
    clock.set(NOW.replace(hour=9, minute=46) + timedelta(days=29))
    assert (await stats_of(api, dataset, "Ada"))["Ada"]["isActive"] is True
    assert later["accountAge"] == 69


async def test_the_rivals_events_never_count(api: Api, dataset: Dataset) -> None:
    # the rival's Ada (same names, other ids) has her own revenue; acme's is unchanged
    ids = [global_id("Thing", dataset.rival_things["Ada"])]
    rival = await api.data(dataset.rival.user, STATS, {"ids": ids})
    assert rival["nodes"][0]["stats"]["totalRevenue"] == 1000.0
    assert (await stats_of(api, dataset, "Ada"))["Ada"]["totalRevenue"] == 160.5
    # and acme's key cannot read the rival's thing at all
    assert (await api.data(dataset.tenant.user, STATS, {"ids": ids}))["nodes"] == [None]


def test_the_registry_and_the_graphql_type_name_the_same_metrics() -> None:
    fields = set(CreatorStats.__annotations__)
    assert set(CREATOR_METRICS) == fields
