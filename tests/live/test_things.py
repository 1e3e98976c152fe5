"""thingChanged over a real socket: updates, counts, deletion, other tenants, wake-ups."""

from __future__ import annotations

from typing import Any

from tests.factories import create_thing, make_tenant
from tests.live.client import Served

THING_CHANGED = """
subscription($id: ID!) {
  thingChanged(id: $id) {
    kind thingId thing { id name version connectionCounts { inbound outbound } }
  }
}
"""

UPDATE_THING = """
mutation($input: UpdateThingInput!) {
  updateThing(input: $input) { thing { version } errors { code message } }
}
"""


async def update(served: Served, key: str, thing_id: str, **fields: Any) -> None:
    data = await served.api.data(key, UPDATE_THING, {"input": {"id": thing_id, **fields}})
    assert data["updateThing"]["errors"] == [], data


async def test_a_thing_update_reaches_its_subscriber_only(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    ada = await create_thing(served.api, acme.user, name="Ada")
    bob = await create_thing(served.api, acme.user, name="Bob")
    client = await served.connect(acme.customer)
    await client.subscribe("1", THING_CHANGED, {"id": ada})
    await served.subscribed(1)

    await update(served, acme.user, bob, name="Bob 2")  # another thing: nobody woken
    await update(served, acme.user, ada, name="Ada 2")

    message = await client.receive()
    assert message == {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {
                "thingChanged": {
                    "kind": "UPDATED",
                    "thingId": ada,
                    "thing": {
                        "id": ada,
                        "name": "Ada 2",
                        "version": 2,
                        "connectionCounts": {"inbound": 0, "outbound": 0},
                    },
                }
            },
            # the check that the thing exists; the message itself was built from the change
            "extensions": {"cost": {"dbCommands": 1}},
        },
    }
