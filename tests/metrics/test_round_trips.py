"""Creator stats cost the same commands for any page size; without batching they would not.

Counts come from ``extensions.cost`` (the PyMongo command listener). The same
query with the loaders' batching switched off (``dataloader_batching``) shows
what one query per item would cost.
"""

from __future__ import annotations

from ontology.config import Settings
from tests.factories import Api, SettableClock
from tests.metrics.support import VOLUME_NOW, api_with, insert_events, seed_creators

CREATOR_STATS = """
query($first: Int!) {
  things(first: $first, type: "creator") {
    edges { node { name stats { totalRevenue totalFollowers contentCount totalEvents
      eventsByType { type count } lastActive isActive revenuePerContent } } }
  }
}
"""


async def test_creator_stats_cost_two_commands_and_one_query_per_item_without_batching(
    api: Api, settings: Settings, clock: SettableClock
) -> None:
    # given 110 creators with 1,000 events between them
    clock.set(VOLUME_NOW)
    group_id, creators, key = await seed_creators(api.runtime, "acme")
    await insert_events(api.runtime, group_id, creators, 1_000)

    # when listing 10 and 100 creators with their stats, with and without batching
    batched = {n: await api.gql(key, CREATOR_STATS, {"first": n}) for n in (10, 100)}
    async with api_with(settings, dataloader_batching=False) as unbatched_api:
        unbatched = {
            n: await unbatched_api.gql(key, CREATOR_STATS, {"first": n}) for n in (10, 100)
        }

    # then with the loaders: the page and one batch of totals, whatever the size
    commands = {n: body["extensions"]["cost"]["dbCommands"] for n, body in batched.items()}
    assert commands == {10: 2, 100: 2}
    # and one query per creator without them
    commands = {n: body["extensions"]["cost"]["dbCommands"] for n, body in unbatched.items()}
    assert commands == {10: 11, 100: 101}
    # and both give the same answer: every event and payment is someone's
    assert {n: b["data"] for n, b in batched.items()} == {
        n: b["data"] for n, b in unbatched.items()
    }
    # (event n has creator n % 110 as actor; the page leaves out the 10 oldest creators)
    listed = [n for n in range(1_000) if n % len(creators) >= 10]
    stats = [e["node"]["stats"] for e in batched[100]["data"]["things"]["edges"]]
    assert sum(s["totalEvents"] for s in stats) == len(listed) == 900
    assert sum(s["totalRevenue"] for s in stats) == 10.0 * len([n for n in listed if n % 60 == 0])
