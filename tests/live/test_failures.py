"""Failure: slow consumers, limits, change-stream errors and a lost stream."""

from __future__ import annotations

import asyncio

from ontology.config import Settings
from tests.factories import create_thing, make_tenant
from tests.live.client import Closed, Served, serve
from tests.live.ops import update

THING_CHANGED = "subscription($id: ID!) { thingChanged(id: $id) { kind thing { properties } } }"
# a message of about 60 KB: a few fill the socket buffers of a client that stops reading
BULKY = {"text": "x" * 60_000}


async def test_a_consumer_that_stops_reading_is_closed_with_4008(served: Served) -> None:
    served.live.hub.capacity = 2
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user, name="Ada")
    slow = await served.connect(acme.customer, receive_buffer=4096)
    await slow.subscribe("1", THING_CHANGED, {"id": thing})
    fast = await served.connect(acme.customer)
    await fast.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(2)

    # the slow client reads nothing while the thing keeps changing
    updates = 0
    while served.live.hub.count() == 2:
        assert updates < 200, "the slow consumer was never closed"
        updates += 1
        await update(served, acme.user, thing, properties={**BULKY, "n": updates})
        # the fast one keeps up
        message = await fast.receive()
        assert message["payload"]["data"]["thingChanged"]["thing"]["properties"]["n"] == updates

    # its subscription left the index at once; its socket closes once it reads again
    assert served.live.hub.count() == 1
    messages = 0
    while not isinstance(closed := await slow.receive(), Closed):
        messages += 1
    assert closed == Closed(4008, "Slow consumer: more than 2 changes not yet delivered.")
    assert messages < updates
    assert served.live.hub.metrics.closes.labels("slow_consumer")._value.get() == 1


async def test_subscriptions_are_limited_per_connection_key_and_group(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user, name="Ada")
    hub = served.live.hub
    hub.per_key, hub.per_group = 3, 4
    for connection_limit in (2,):
        served.live.settings.__dict__["subscriptions_per_connection"] = connection_limit
    first = await served.connect(acme.customer)
    for op_id in ("1", "2", "3"):
        await first.subscribe(op_id, THING_CHANGED, {"id": thing})
    refused = await first.receive()
    assert refused["id"] == "3"
    assert refused["payload"]["errors"] == [
        {
            "message": "This connection already runs 2 subscriptions (the most allowed).",
            "extensions": {"code": "SUBSCRIPTION_LIMIT"},
        }
    ]
    second = await served.connect(acme.customer)
    await second.subscribe("1", THING_CHANGED, {"id": thing})
    await second.subscribe("2", THING_CHANGED, {"id": thing})
    refused = await second.receive()
    assert refused["payload"]["errors"][0]["message"] == (
        "This API key already runs 3 subscriptions (the most allowed)."
    )
    other_key = await served.connect(acme.user)
    await other_key.subscribe("1", THING_CHANGED, {"id": thing})
    await other_key.subscribe("2", THING_CHANGED, {"id": thing})
    refused = await other_key.receive()
    assert refused["payload"]["errors"][0]["message"] == (
        "This group already runs 4 subscriptions (the most allowed)."
    )
    await served.subscribed(4)


async def fail_commands(served: Served, commands: list[str], times: int, code: int = 2) -> None:
    await served.runtime.database.client.admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"times": times},
            "data": {"failCommands": commands, "errorCode": code},
        }
    )


async def test_after_a_stream_error_delivery_resumes_without_loss(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user, name="Ada")
    client = await served.connect(acme.customer)
    await client.subscribe(
        "1", "subscription($id: ID!) { thingChanged(id: $id) { thing { name } } }", {"id": thing}
    )
    await served.subscribed(1)

    # the stream's next getMore fails (a non-resumable code), and the change made
    # meanwhile is read after the feed resumes from its token
    await fail_commands(served, ["getMore"], 1)
    await asyncio.sleep(1.0)
    await update(served, acme.user, thing, name="During")
    await update(served, acme.user, thing, name="After")

    names = [
        (await client.receive())["payload"]["data"]["thingChanged"]["thing"]["name"]
        for _ in range(2)
    ]
    assert names == ["During", "After"]
    assert served.live.hub.metrics.stream_errors.labels("resumed")._value.get() >= 1


async def test_a_stream_that_cannot_resume_closes_every_socket_with_4503(served: Served) -> None:
    served.live.feed.resume_seconds = 0.5
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user, name="Ada")
    client = await served.connect(acme.customer)
    await client.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(1)

    # every getMore and every attempt to reopen the stream fails for a while
    await fail_commands(served, ["getMore", "aggregate"], 1000)
    try:
        assert await client.receive(wait=10) == Closed(
            4503, "Live updates were interrupted; reconnect."
        )
    finally:
        await served.runtime.database.client.admin.command(
            {"configureFailPoint": "failCommand", "mode": "off"}
        )
    assert served.live.hub.count() == 0
    # the feed starts afresh: a new socket gets changes again
    await asyncio.sleep(1.5)
    again = await served.connect(acme.customer)
    await again.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(1)
    await update(served, acme.user, thing, properties={"n": 1})
    message = await again.receive()
    assert message["payload"]["data"]["thingChanged"]["thing"]["properties"] == {"n": 1}


async def test_subscribing_takes_from_the_keys_rate_bucket(settings: Settings) -> None:
    limited = settings.model_copy(update={"rate_limit_per_key": 0.01, "rate_limit_burst": 2})
    async with serve(limited) as served:
        acme = await make_tenant(served.runtime, "acme")
        thing = await create_thing(served.api, acme.user, name="Ada")
        client = await served.connect(acme.customer)
        for op_id in ("1", "2", "3"):
            await client.subscribe(op_id, THING_CHANGED, {"id": thing})
        refused = await client.receive()
        assert refused["id"] == "3"
        assert refused["type"] == "error"
        [error] = refused["payload"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["scope"] == "key"
        assert error["message"].startswith(
            "Too many requests for this API key: the limit is 0.01 per second with bursts of 2."
        )
        await served.subscribed(2)
        await served.runtime.database.client.drop_database(limited.db_name)
