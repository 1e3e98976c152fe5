"""thingChanged over a real socket: updates, counts, deletion, other tenants, wake-ups."""

from __future__ import annotations

from tests.factories import connect, create_thing, make_tenant
from tests.live.client import Served
from tests.live.ops import delete_thing, update, wakeups

THING_CHANGED = """
subscription($id: ID!) {
  thingChanged(id: $id) {
    kind thingId thing { id name version connectionCounts { inbound outbound } }
  }
}
"""


def change(thing_id: str, kind: str, thing: dict[str, object] | None, commands: int) -> object:
    return {
        "id": "1",
        "type": "next",
        "payload": {
            "data": {"thingChanged": {"kind": kind, "thingId": thing_id, "thing": thing}},
            "extensions": {"cost": {"dbCommands": commands}},
        },
    }


async def test_each_change_of_the_thing_reaches_its_subscriber_only(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    ada = await create_thing(served.api, acme.user, name="Ada")
    bob = await create_thing(served.api, acme.user, name="Bob")
    club = await create_thing(served.api, acme.user, "community", name="Club")
    client = await served.connect(acme.customer)
    await client.subscribe("1", THING_CHANGED, {"id": ada})
    await served.subscribed(1)

    # another thing changes: nobody is woken
    await update(served, acme.user, bob, name="Bob 2")
    # the thing changes, then only its connection counts, then it is deleted
    await update(served, acme.user, ada, name="Ada 2")
    await connect(served.api, acme.user, ada, club, "member_of")
    await delete_thing(served, acme.user, ada)

    counts = {"inbound": 0, "outbound": 0}
    # the first message also carries the check that the thing exists (one find);
    # each message is built from the document the change carried: no command
    assert await client.receive() == change(
        ada, "UPDATED", {"id": ada, "name": "Ada 2", "version": 2, "connectionCounts": counts}, 1
    )
    assert await client.receive() == change(
        ada,
        "COUNTS",
        {"id": ada, "name": "Ada 2", "version": 2, "connectionCounts": {**counts, "outbound": 1}},
        0,
    )
    assert await client.receive() == change(ada, "DELETED", None, 0)
    assert await client.receive() == {"id": "1", "type": "complete"}
    assert wakeups(served, "thing") == 3
    assert served.live.hub.count() == 0


async def test_one_change_wakes_exactly_the_subscriptions_of_that_thing(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    ids = [await create_thing(served.api, acme.user, name=f"T{i}") for i in range(3)]
    clients = [await served.connect(acme.customer) for _ in range(2)]
    # two subscriptions on the first thing, one on each of the others
    for client in clients:
        await client.subscribe("1", THING_CHANGED, {"id": ids[0]})
    await clients[0].subscribe("2", THING_CHANGED, {"id": ids[1]})
    await clients[1].subscribe("2", THING_CHANGED, {"id": ids[2]})
    await served.subscribed(4)

    await update(served, acme.user, ids[0], name="Changed")

    for client in clients:
        message = await client.receive()
        assert message["id"] == "1"
        assert message["payload"]["data"]["thingChanged"]["thing"]["name"] == "Changed"
    assert wakeups(served, "thing") == 2
    metrics = (await served.api.client.get("/metrics")).text
    assert 'ontology_live_wakeups_total{kind="thing"} 2.0' in metrics
    assert 'ontology_live_subscriptions{kind="thing"} 4.0' in metrics


async def test_another_tenants_changes_never_reach_a_subscription(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    ours = await create_thing(served.api, acme.user, name="Ours")
    theirs = await create_thing(served.api, globex.user, name="Theirs")
    client = await served.connect(acme.user)
    await client.subscribe("1", THING_CHANGED, {"id": ours})
    # a guessed id of the other tenant: refused like an unknown one
    await client.subscribe("2", THING_CHANGED, {"id": theirs})
    refused = await client.receive()
    assert refused["payload"]["errors"] == [
        {"message": f"No thing {theirs!r}.", "extensions": {"code": "NOT_FOUND"}}
    ]
    assert await client.receive() == {"id": "2", "type": "complete"}
    await served.subscribed(1)

    await update(served, globex.user, theirs, name="Theirs 2")
    await update(served, acme.user, ours, name="Ours 2")

    message = await client.receive()
    assert message["payload"]["data"]["thingChanged"]["thing"]["name"] == "Ours 2"
    assert wakeups(served, "thing") == 1
