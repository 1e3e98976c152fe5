"""Several API processes (a stream each) and a database restart."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from tests.factories import create_thing, make_tenant
from tests.live.client import Served, serve
from tests.live.ops import update

THING_CHANGED = "subscription($id: ID!) { thingChanged(id: $id) { kind thing { name } } }"


async def test_a_change_written_through_one_process_reaches_the_others(
    served: Served, settings: Settings
) -> None:
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user, name="Ada")
    async with serve(settings) as other:
        client = await other.connect(acme.customer)
        await client.subscribe("1", THING_CHANGED, {"id": thing})
        await other.subscribed(1)

        await update(served, acme.user, thing, name="Through the first")

        message = await client.receive()
        assert message["payload"]["data"]["thingChanged"]["thing"] == {"name": "Through the first"}


async def test_after_a_database_restart_delivery_resumes(tmp_path: Path) -> None:
    database = EmbeddedServer(tmp_path)
    await asyncio.to_thread(database.start)
    try:
        settings = Settings(
            mongodb_uri=database.uri,
            db_name=f"test_{uuid.uuid4().hex[:12]}",
            data_dir=tmp_path / "data",
            live_resume_seconds=30,
        )
        async with serve(settings) as served:
            acme = await make_tenant(served.runtime, "acme")
            thing = await create_thing(served.api, acme.user, name="Ada")
            client = await served.connect(acme.customer)
            await client.subscribe("1", THING_CHANGED, {"id": thing})
            await served.subscribed(1)

            await asyncio.to_thread(database.stop)
            await asyncio.to_thread(database.start)
            await update(served, acme.user, thing, name="After the restart")

            message = await client.receive(wait=30)
            assert message["payload"]["data"]["thingChanged"]["thing"] == {
                "name": "After the restart"
            }
            # (PyMongo's change stream resumed from its token by itself: a network error
            # is resumable; the feed resumes when the driver gives up)
            assert served.live.hub.metrics.stream_errors.labels("lost")._value.get() == 0
    finally:
        await asyncio.to_thread(database.stop)
