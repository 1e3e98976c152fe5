"""connectionsChanged: added and removed connections of one thing, both ends, filters."""

from __future__ import annotations

from tests.factories import connect, create_thing, make_tenant
from tests.live.client import Served
from tests.live.ops import delete_connection, delete_thing, wakeups

CONNECTIONS_CHANGED = """
subscription($id: ID!, $direction: Direction, $type: String) {
  connectionsChanged(thingId: $id, direction: $direction, type: $type) {
    kind direction connection { id type } node { name }
  }
}
"""


def message(op_id: str, kind: str, direction: str, connection: str, kind_type: str,
            node: str | None, commands: int) -> object:  # fmt: skip
    return {
        "id": op_id,
        "type": "next",
        "payload": {
            "data": {
                "connectionsChanged": {
                    "kind": kind,
                    "direction": direction,
                    "connection": {"id": connection, "type": kind_type},
                    "node": {"name": node} if node else None,
                }
            },
            "extensions": {"cost": {"dbCommands": commands}},
        },
    }


async def test_added_and_removed_connections_reach_both_ends(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    ada = await create_thing(served.api, acme.user, name="Ada")
    club = await create_thing(served.api, acme.user, "community", name="Club")
    band = await create_thing(served.api, acme.user, "community", name="Band")
    client = await served.connect(acme.customer)
    await client.subscribe("ada", CONNECTIONS_CHANGED, {"id": ada})
    await client.subscribe("club", CONNECTIONS_CHANGED, {"id": club, "direction": "INBOUND"})
    await client.subscribe("typed", CONNECTIONS_CHANGED, {"id": ada, "type": "following"})
    await served.subscribed(3)

    joined = await connect(served.api, acme.user, ada, club, "member_of")
    banded = await connect(served.api, acme.user, ada, band, "member_of")
    await delete_connection(served, acme.user, joined)

    # the first message of each also carries the check that the thing exists
    received = [await client.receive() for _ in range(5)]
    by_op: dict[str, list[object]] = {}
    for each in received:
        assert isinstance(each, dict)
        by_op.setdefault(each["id"], []).append(each)
    assert by_op == {
        "ada": [
            message("ada", "ADDED", "OUTBOUND", joined, "member_of", "Club", 2),
            message("ada", "ADDED", "OUTBOUND", banded, "member_of", "Band", 1),
            message("ada", "REMOVED", "OUTBOUND", joined, "member_of", "Club", 1),
        ],
        "club": [
            message("club", "ADDED", "INBOUND", joined, "member_of", "Ada", 2),
            message("club", "REMOVED", "INBOUND", joined, "member_of", "Ada", 1),
        ],
    }
    # the typed subscription read none of them
    assert wakeups(served, "connections") == 5


async def test_deleting_a_thing_removes_its_connections_from_the_other_ends(
    served: Served,
) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    ada = await create_thing(served.api, acme.user, name="Ada")
    club = await create_thing(served.api, acme.user, "community", name="Club")
    joined = await connect(served.api, acme.user, ada, club, "member_of")
    # another tenant's graph changes meanwhile
    g_ada = await create_thing(served.api, globex.user, name="Ada")
    g_club = await create_thing(served.api, globex.user, "community", name="Club")
    client = await served.connect(acme.customer)
    await client.subscribe("club", CONNECTIONS_CHANGED, {"id": club})
    await served.subscribed(1)

    await connect(served.api, globex.user, g_ada, g_club, "member_of")
    await delete_thing(served, acme.user, ada)

    assert await client.receive() == message(
        "club", "REMOVED", "INBOUND", joined, "member_of", None, 2
    )
    assert wakeups(served, "connections") == 1
