"""realtimeMetrics (coalesced), quotaStatusChanged (on level changes), archivalRunChanged."""

from __future__ import annotations

import asyncio
import itertools
import time

from ontology.groups.models import Plan
from tests.factories import make_tenant
from tests.live.client import Served
from tests.live.ops import log_event

REALTIME = "subscription { realtimeMetrics { eventsLastHour } }"
QUOTAS = """
subscription { quotaStatusChanged { status warnings { metric current status } } }
"""
RUNS = "subscription { archivalRunChanged { status } }"
BATCH = """
mutation($things: [CreateThingInput!]!) {
  batchInsertThings(input: {things: $things}) { summary { succeeded } }
}
"""
ARCHIVE = "mutation { archiveGroupEvents(olderThanDays: 30) { run { id } errors { code } } }"


async def test_realtime_metrics_are_coalesced_to_one_message_a_second(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    client = await served.connect(acme.user)
    await client.subscribe("1", REALTIME)
    first = await client.receive()
    assert first["payload"]["data"] == {"realtimeMetrics": {"eventsLastHour": 0}}
    started = time.monotonic()

    for _ in range(6):
        await log_event(served, acme.user, "user_login")

    seen: list[tuple[int, float]] = []
    while not seen or seen[-1][0] < 6:
        message = await client.receive()
        count = message["payload"]["data"]["realtimeMetrics"]["eventsLastHour"]
        seen.append((count, time.monotonic() - started))
    # six events, far fewer messages, a second or more apart
    assert len(seen) <= 3, seen
    assert seen[0][1] >= 0.9, seen
    assert all(b[1] - a[1] >= 0.9 for a, b in itertools.pairwise(seen)), seen


async def test_quota_status_is_pushed_when_a_level_changes(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme", Plan.STARTER)
    client = await served.connect(acme.user)
    await client.subscribe("1", QUOTAS)
    first = await client.receive()
    assert first["payload"]["data"]["quotaStatusChanged"] == {"status": "HEALTHY", "warnings": []}

    # 10 of 100 entities: no level changes, nothing is pushed; 80: WARNING
    things = [{"type": "creator", "name": f"T{i}"} for i in range(10)]
    await served.api.data(acme.user, BATCH, {"things": things})
    await asyncio.sleep(1.5)
    await served.api.data(acme.user, BATCH, {"things": things * 7})

    message = await client.receive()
    assert message["payload"]["data"]["quotaStatusChanged"] == {
        "status": "WARNING",
        "warnings": [{"metric": "ENTITIES_TOTAL", "current": 80.0, "status": "WARNING"}],
    }


async def test_archival_runs_are_pushed_as_they_change(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    client = await served.connect(acme.user)
    await client.subscribe("1", RUNS)
    await served.subscribed(1)

    await served.api.data(globex.owner, ARCHIVE)  # another tenant's run
    await served.api.data(acme.owner, ARCHIVE)

    message = await client.receive()
    assert message["payload"]["data"] == {"archivalRunChanged": {"status": "QUEUED"}}
    assert served.live.hub.metrics.wakeups.labels("runs")._value.get() == 1
