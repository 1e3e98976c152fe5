"""The WebSocket transport: authentication at connection_init, roles, revocation, pings."""

from __future__ import annotations

from ontology.keys.models import Role
from tests.factories import create_thing, make_staff_key, make_tenant
from tests.live.client import Closed, Served

THING_CHANGED = "subscription($id: ID!) { thingChanged(id: $id) { kind thing { name } } }"
EVENT_ADDED = "subscription { eventAdded { type } }"


async def test_the_key_comes_from_connection_init_or_the_upgrade_request(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    by_payload = await served.open()
    assert by_payload.subprotocol == "graphql-transport-ws"
    assert await by_payload.init(acme.customer) == {"type": "connection_ack"}
    # payload keys in any case, or under "headers"
    by_headers = await served.open()
    assert await by_headers.init(None, headers={"authorization": f"Bearer {acme.customer}"}) == {
        "type": "connection_ack"
    }
    by_upgrade = await served.open(headers={"Authorization": f"Bearer {acme.customer}"})
    assert await by_upgrade.init(None) == {"type": "connection_ack"}
    assert served.live.hub.metrics.connections._value.get() == 3


async def test_a_missing_unknown_or_revoked_key_closes_the_socket_with_4401(
    served: Served,
) -> None:
    acme = await make_tenant(served.runtime, "acme")
    await served.runtime.services.keys.revoke(acme.id, acme.key_ids[Role.ORG_USER])
    for key, reason in (
        (None, "Missing `Authorization: Bearer <api key>` header."),
        ("ont_not_a_key", "Invalid or revoked API key."),
        (acme.user, "Invalid or revoked API key."),
    ):
        client = await served.open()
        assert await client.init(key) == Closed(4401, reason)


async def test_the_group_rules_of_http_hold(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    await make_tenant(served.runtime, "globex")
    client = await served.open()
    assert await client.init(acme.owner, **{"X-Ontology-Group": "globex"}) == Closed(
        4403, "This key cannot act on group 'globex'."
    )
    # staff act on the group they name
    staff = await make_staff_key(served.runtime)
    thing = await create_thing(served.api, acme.user)
    client = await served.open()
    assert await client.init(staff, **{"X-Ontology-Group": "acme"}) == {"type": "connection_ack"}
    await client.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(1)


async def test_subscribing_before_connection_init_closes_with_4401(served: Served) -> None:
    client = await served.open()
    await client.subscribe("1", EVENT_ADDED)
    assert await client.receive() == Closed(4401, "Unauthorized")


async def test_roles_are_checked_before_anything_runs(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    client = await served.connect(acme.customer)
    await client.subscribe("1", EVENT_ADDED)
    assert await client.receive() == {
        "id": "1",
        "type": "error",
        "payload": [
            {
                "message": "This operation needs the org_user role; the key has customer.",
                "locations": [{"line": 1, "column": 16}],
                "path": ["eventAdded"],
                "extensions": {"code": "FORBIDDEN"},
            }
        ],
    }
    assert served.live.hub.count() == 0


async def test_bad_arguments_get_typed_errors(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    client = await served.connect(acme.user)
    await client.subscribe("1", "subscription { eventAdded(after: 3) { type } }")
    message = await client.receive()
    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["GRAPHQL_VALIDATION_FAILED"]
    await client.subscribe("2", 'subscription { eventAdded(after: "nonsense!") { type } }')
    assert await client.receive() == {
        "id": "2",
        "type": "next",
        "payload": {
            "data": None,
            # raised while the stream starts: graphql-core gives no location
            "errors": [
                {"message": "Invalid cursor 'nonsense!'.", "extensions": {"code": "INVALID_CURSOR"}}
            ],
            "extensions": {"cost": {"dbCommands": 0}},
        },
    }
    assert await client.receive() == {"id": "2", "type": "complete"}
    long_id = "x" * 2000
    await client.subscribe("3", THING_CHANGED, {"id": long_id})
    message = await client.receive()
    assert message["type"] == "error"
    assert [e["extensions"]["code"] for e in message["payload"]] == ["BAD_USER_INPUT"]


async def test_a_revoked_key_closes_its_sockets_at_once(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    thing = await create_thing(served.api, acme.user)
    revoked = await served.connect(acme.customer)
    await revoked.subscribe("1", THING_CHANGED, {"id": thing})
    other_key = await served.connect(acme.user)
    await other_key.subscribe("1", THING_CHANGED, {"id": thing})
    await served.subscribed(2)

    await served.runtime.services.keys.revoke(acme.id, acme.key_ids[Role.CUSTOMER])

    assert await revoked.receive(wait=5) == Closed(4401, "The API key was revoked.")
    await served.subscribed(1)  # the other key's subscription stays
    assert served.live.hub.by_key == {acme.key_ids[Role.ORG_USER]: 1}


async def test_the_server_answers_pings_and_pings(served: Served) -> None:
    served.live.settings.__dict__["subscription_ping_seconds"] = 0.2
    acme = await make_tenant(served.runtime, "acme")
    client = await served.connect(acme.customer)
    await client.send({"type": "ping"})
    assert await client.receive() == {"type": "pong"}
    assert await client.receive(wait=2) == {"type": "ping"}
    await client.send({"type": "pong"})
    assert await client.receive(wait=2) == {"type": "ping"}


async def test_a_guessed_id_of_another_tenant_is_not_found(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    globex = await make_tenant(served.runtime, "globex")
    theirs = await create_thing(served.api, globex.user)
    client = await served.connect(acme.user)
    for op_id, query in (
        ("1", THING_CHANGED),
        ("2", "subscription($id: ID!) { connectionsChanged(thingId: $id) { kind } }"),
    ):
        await client.subscribe(op_id, query, {"id": theirs})
        message = await client.receive()
        assert message["payload"]["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
        assert await client.receive() == {"id": op_id, "type": "complete"}
    assert served.live.hub.count() == 0
