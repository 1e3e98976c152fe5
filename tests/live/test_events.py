"""eventAdded: filters, commit order, and replay after a cursor with no gap or duplicate."""

from __future__ import annotations

import asyncio

from tests.factories import create_thing, make_tenant
from tests.live.client import Served, WsClient
from tests.live.ops import log_event, wakeups

EVENT_ADDED = """
subscription($type: String, $actorId: ID, $targetId: ID, $after: String) {
  eventAdded(type: $type, actorId: $actorId, targetId: $targetId, after: $after) {
    id type actor { name }
  }
}
"""
NEWEST_EVENT = "{ events(first: 1) { edges { cursor node { id } } } }"


async def drain(client: WsClient, count: int) -> list[tuple[str, str]]:
    """(operation id, event id) of the next ``count`` messages."""
    found = []
    for _ in range(count):
        message = await client.receive()
        assert isinstance(message, dict) and message["type"] == "next", message
        found.append((message["id"], message["payload"]["data"]["eventAdded"]["id"]))
    return found


async def test_new_events_reach_the_subscriptions_whose_filter_they_match(
    served: Served,
) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    ada = await create_thing(served.api, acme.user, name="Ada")
    bob = await create_thing(served.api, acme.user, name="Bob")
    client = await served.connect(acme.user)
    await client.subscribe("all", EVENT_ADDED)
    await client.subscribe("logins", EVENT_ADDED, {"type": "user_login"})
    await client.subscribe("ada", EVENT_ADDED, {"actorId": ada, "type": "user_login"})
    await client.subscribe("bob", EVENT_ADDED, {"targetId": bob})
    await served.subscribed(4)

    await log_event(served, globex.user, "user_login")  # another tenant's
    first = await log_event(served, acme.user, "user_login", actorId=ada)
    second = await log_event(served, acme.user, "user_logout", actorId=ada, targetId=bob)

    assert sorted(await drain(client, 5)) == sorted(
        [("all", first), ("logins", first), ("ada", first), ("all", second), ("bob", second)]
    )
    # the actor is read through the loaders: one find for the message that selects it
    assert wakeups(served, "events") == 5


async def test_after_replays_missed_events_in_order_then_goes_live(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    seen = await log_event(served, acme.user, "user_login")
    body = await served.api.data(acme.user, NEWEST_EVENT)
    cursor = body["events"]["edges"][0]["cursor"]
    assert body["events"]["edges"][0]["node"]["id"] == seen
    missed = [await log_event(served, acme.user, "user_login") for _ in range(3)]

    client = await served.connect(acme.user)
    await client.subscribe("1", EVENT_ADDED, {"after": cursor})
    replayed = await drain(client, 3)
    await served.subscribed(1)
    live = await log_event(served, acme.user, "user_logout")

    assert replayed == [("1", event) for event in missed]
    assert await drain(client, 1) == [("1", live)]


async def test_no_gap_and_no_duplicate_while_events_keep_coming(served: Served) -> None:
    # events are logged without pause while the subscription replays and goes live:
    # every event after the cursor arrives exactly once, in the order of the log
    acme = await make_tenant(served.runtime, "acme")
    await log_event(served, acme.user, "user_login")
    body = await served.api.data(acme.user, NEWEST_EVENT)
    cursor = body["events"]["edges"][0]["cursor"]
    logged: list[str] = [await log_event(served, acme.user, "user_login") for _ in range(5)]

    async def keep_logging() -> None:
        for _ in range(25):
            logged.append(await log_event(served, acme.user, "user_login"))

    writer = asyncio.create_task(keep_logging())
    client = await served.connect(acme.user)
    await client.subscribe("1", EVENT_ADDED, {"after": cursor})
    await writer
    received = [event for _, event in await drain(client, 30)]

    assert received == logged
    await log_event(served, acme.user, "user_login")
    assert len(await drain(client, 1)) == 1
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}  # nothing else was queued


async def test_a_replay_longer_than_the_limit_is_refused(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    served.live.settings.__dict__["subscription_replay_max"] = 2
    await log_event(served, acme.user, "user_login")
    body = await served.api.data(acme.user, NEWEST_EVENT)
    cursor = body["events"]["edges"][0]["cursor"]
    for _ in range(3):
        await log_event(served, acme.user, "user_login")

    client = await served.connect(acme.user)
    await client.subscribe("1", EVENT_ADDED, {"after": cursor})
    message = await client.receive()
    assert message["payload"]["errors"] == [
        {
            "message": "More than 2 events to replay: read them with the `events` query "
            "and subscribe after the newest.",
            "extensions": {"code": "SUBSCRIPTION_LIMIT"},
        }
    ]
    assert served.live.hub.count() == 0


async def test_events_logged_after_the_socket_connected_are_replayed(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    await log_event(served, acme.user, "user_login")
    body = await served.api.data(acme.user, NEWEST_EVENT)
    cursor = body["events"]["edges"][0]["cursor"]
    client = await served.connect(acme.user)
    missed = [await log_event(served, acme.user, "user_login") for _ in range(3)]

    await client.subscribe("1", EVENT_ADDED, {"after": cursor})

    assert await drain(client, 3) == [("1", event) for event in missed]


async def test_another_tenants_events_never_arrive_even_with_its_ids(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    theirs = await create_thing(served.api, globex.user, name="Theirs")
    client = await served.connect(acme.user)
    await client.subscribe("target", EVENT_ADDED, {"targetId": theirs})
    await client.subscribe("actor", EVENT_ADDED, {"actorId": theirs})
    await client.subscribe("all", EVENT_ADDED)
    await served.subscribed(3)

    await log_event(served, globex.user, "user_login", actorId=theirs, targetId=theirs)
    ours = await log_event(served, acme.user, "user_login")

    assert await drain(client, 1) == [("all", ours)]
    assert wakeups(served, "events") == 1
