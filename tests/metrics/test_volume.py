"""Metrics cost the same at 1,000 and at 100,000 events.

One module-scoped pair of groups (inserting 100,000 events takes a while on the
embedded server), read by two tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from tests.factories import Api, clock_at
from tests.metrics.support import VOLUME_NOW, api_with, insert_events, seed_creators

pytestmark = pytest.mark.asyncio(loop_scope="module")

NESTED = """
query($first: Int!) {
  things(first: $first) {
    edges {
      node {
        id
        connectionCounts { inbound outbound }
        connections(first: 5) { edges { direction node { id name connectionCounts { inbound } } } }
        activity(first: 5) { edges { node { type actor { name } target { name } } } }
        knowledge(first: 3) { edges { node { id } } }
        stats { totalRevenue totalFollowers contentCount totalEvents }
      }
    }
  }
}
"""
GROUP_METRICS = """
{
  viewer { group { metrics {
    userCount activeUsers totalEntities storageUsed { bytes }
    revenueThisMonth eventsThisMonth eventsThisWeek topContentByEngagement { thing { name }
    connectionCount } averageEngagementPerContent avgEventsPerUser avgRevenuePerUser
    isActive trendingUp
  } } }
  realtimeMetrics { eventsLastHour byType { type count } paymentsLastHour revenueLastHour }
}
"""


@dataclass
class Volume:
    api: Api
    small_key: str
    large_key: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def volume(
    mongo_server: EmbeddedServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Volume]:
    """Two groups of 110 creators: one with 1,000 events, one with 100,000."""
    settings = Settings(
        mongodb_uri=mongo_server.uri,
        db_name=f"test_{uuid.uuid4().hex[:12]}",
        data_dir=tmp_path_factory.mktemp("volume"),
        # seeding 100,000 events: commands of 1,000 documents, not 50 (the reads measured
        # here do not depend on it; no other tenant waits on this server)
        write_chunk_size=1000,
    )
    with clock_at(VOLUME_NOW):
        async with api_with(settings) as api:
            small_id, small_creators, small_key = await seed_creators(api.runtime, "small")
            large_id, large_creators, large_key = await seed_creators(api.runtime, "large")
            await insert_events(api.runtime, small_id, small_creators, 1_000)
            await insert_events(api.runtime, large_id, large_creators, 100_000)
            yield Volume(api=api, small_key=small_key, large_key=large_key)
            await api.runtime.database.client.drop_database(settings.db_name)


def cost(body: dict[str, Any]) -> dict[str, int]:
    assert "errors" not in body, body["errors"]
    spent = body["extensions"]["cost"]
    return {"dbCommands": spent["dbCommands"], "documentsRead": spent["documentsRead"]}


async def test_metrics_cost_the_same_at_1000_and_100000_events(volume: Volume) -> None:
    api = volume.api

    # when reading every group metric and the realtime metrics in each group
    small = await api.gql(volume.small_key, GROUP_METRICS)
    large = await api.gql(volume.large_key, GROUP_METRICS)

    # then both cost the same 4 commands and documents: the month counter (1 document),
    # the last 14 days' counters (14), the engagement facet (1) and the last hour's minute
    # counters (60). (apiCallsThisMonth is left out: it comes from the API-call meter,
    # which reads once per process and group and races with its flush, not from events.)
    assert cost(small) == cost(large) == {"dbCommands": 4, "documentsRead": 76}
    # and the numbers are the groups' own (+1: the batch's thing_created event)
    metrics = [body["data"]["viewer"]["group"]["metrics"] for body in (small, large)]
    assert [m["eventsThisMonth"] for m in metrics] == [1_001, 100_001]
    realtime = [body["data"]["realtimeMetrics"] for body in (small, large)]
    assert [r["eventsLastHour"] for r in realtime] == [61, 6_001]
    assert [(r["paymentsLastHour"], r["revenueLastHour"]) for r in realtime] == [
        (1, 10.0),
        (100, 1000.0),
    ]


async def test_nested_pages_cost_the_same_for_any_page_size_and_event_volume(
    volume: Volume,
) -> None:
    # when listing 10 and 100 things with connections, activity, knowledge and stats
    costs = {
        (name, first): cost(await volume.api.gql(key, NESTED, {"first": first}))["dbCommands"]
        for name, key in (("small", volume.small_key), ("large", volume.large_key))
        for first in (10, 100)
    }

    # then each costs 5 commands: the page, activity as actor and as target, knowledge
    # links, the actors' totals (the creators have no connections: their counters say
    # so, and no command is sent for them). In the large group each creator has ~900
    # events as actor and as target: the 10 creators the first page read are known to
    # have more than 64, so at 100 each walks windows of its own (one command per role:
    # the walk starts at the newest key and density the first page saw), and the 90
    # others share one command per role.
    assert costs == {("small", 10): 5, ("small", 100): 5, ("large", 10): 5, ("large", 100): 25}
