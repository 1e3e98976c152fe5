"""The change stream is open only while a socket listens: the first acknowledged socket
opens it (before its ack), and it closes ``live_feed_linger_seconds`` after the last."""

from __future__ import annotations

import asyncio
from typing import Any

from ontology.config import Settings
from tests.factories import create_thing, make_tenant, server_blocks, until
from tests.live.client import Served, serve
from tests.live.ops import update

THING_CHANGED = "subscription($id: ID!) { thingChanged(id: $id) { kind thing { name } } }"


async def open_cursors(served: Served) -> int:
    status: dict[str, Any] = await served.runtime.database.db.command("serverStatus")
    return int(status["metrics"]["cursor"]["open"]["total"])


async def renamed(served: Served, key: str, thing: str, name: str) -> dict[str, Any]:
    """Subscribe to ``thing`` on a new socket, rename it, and return the message."""
    client = await served.connect(key)
    await client.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(1)
    await update(served, key, thing, name=name)
    message = await client.receive(wait=3.0)
    await client.close()
    assert isinstance(message, dict)
    return message


async def test_the_stream_opens_with_the_first_socket_and_closes_after_the_last(
    settings: Settings,
) -> None:
    async with serve(settings.model_copy(update={"live_feed_linger_seconds": 0.2})) as served:
        acme = await make_tenant(served.runtime, "acme")
        ada = await create_thing(served.api, acme.user, name="Ada")
        idle = await open_cursors(served)
        assert not served.live.feed.running
        # a write while nobody listens: no stream reads it
        await update(served, acme.user, ada, name="Ada 1")
        assert (served.live.feed.running, await open_cursors(served)) == (False, idle)

        first = await served.connect(acme.customer)
        assert (served.live.feed.running, await open_cursors(served)) == (True, idle + 1)
        second = await served.connect(acme.customer)
        await first.close()
        await asyncio.sleep(0.4)  # past the linger: the second socket still listens
        assert (served.live.feed.running, await open_cursors(served)) == (True, idle + 1)

        await second.close()

        async def closed() -> bool:
            return not served.live.feed.running and await open_cursors(served) == idle

        await until(closed)


async def test_a_change_right_after_the_ack_arrives_however_slowly_the_stream_opens(
    settings: Settings,
) -> None:
    async with serve(settings) as served:
        acme = await make_tenant(served.runtime, "acme")
        ada = await create_thing(served.api, acme.user, name="Ada")
        # the server sleeps 600 ms before opening the stream (its aggregate command)
        async with server_blocks(served.runtime.database, "aggregate", 600):
            message = await renamed(served, acme.user, ada, "Ada 2")

        assert message["payload"]["data"] == {
            "thingChanged": {"kind": "UPDATED", "thing": {"name": "Ada 2"}}
        }


async def test_a_reopened_stream_delivers_from_the_ack_on(settings: Settings) -> None:
    async with serve(settings.model_copy(update={"live_feed_linger_seconds": 0})) as served:
        acme = await make_tenant(served.runtime, "acme")
        ada = await create_thing(served.api, acme.user, name="Ada")
        expected = {"id": "1", "type": "next"}

        for name in ("Ada 2", "Ada 3"):
            message = await renamed(served, acme.user, ada, name)

            assert {k: message[k] for k in expected} == expected
            assert message["payload"]["data"] == {
                "thingChanged": {"kind": "UPDATED", "thing": {"name": name}}
            }

            async def closed() -> bool:
                return not served.live.feed.running

            await until(closed)
