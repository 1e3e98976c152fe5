"""The subscription documents of graphql/ (GraphiQL's example tabs) run over a socket."""

from __future__ import annotations

from pathlib import Path

from ontology.api.documents import document_hash
from ontology.config import Settings
from tests.factories import create_thing, make_tenant
from tests.live.client import Served, serve
from tests.live.ops import log_event, update

ROOT = Path(__file__).resolve().parents[2]


def document(name: str) -> str:
    return (ROOT / "graphql" / f"{name}.graphql").read_text()


async def test_the_subscription_documents_run(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    ada = await create_thing(served.api, acme.user, name="Ada")
    client = await served.connect(acme.user)
    await client.subscribe("thing", document("ThingChanged"), {"id": ada})
    await client.subscribe("events", document("EventAdded"), {"type": "user_login"})
    await served.subscribed(2)

    await update(served, acme.user, ada, name="Ada 2")
    await log_event(served, acme.user, "user_login", actorId=ada)

    messages = {}
    for _ in range(2):
        message = await client.receive()
        assert "errors" not in message["payload"], message
        messages[message["id"]] = message["payload"]["data"]
    assert messages["thing"]["thingChanged"]["thing"]["name"] == "Ada 2"
    assert messages["events"]["eventAdded"]["actor"] == {"id": ada, "name": "Ada 2"}


async def test_a_message_nested_too_deep_closes_the_socket_with_4400(served: Served) -> None:
    acme = await make_tenant(served.runtime, "acme")
    client = await served.connect(acme.user)
    deep: object = 1
    for _ in range(40):
        deep = {"a": deep}
    await client.send(
        {"id": "1", "type": "subscribe", "payload": {"query": "{x}", "variables": deep}}
    )
    closed = await client.receive()
    assert closed == type(closed)(4400, "WebSocket message must be valid JSON")


async def test_with_trusted_documents_required_a_subscription_names_one(
    settings: Settings,
) -> None:
    required = settings.model_copy(update={"trusted_documents": "required"})
    async with serve(required) as served:
        acme = await make_tenant(served.runtime, "acme")
        # (HTTP runs trusted documents only too)
        created = await served.api.data(
            acme.user, document("CreateThing"), {"input": {"type": "creator", "name": "Ada"}}
        )
        ada = created["createThing"]["thing"]["id"]
        client = await served.connect(acme.user)
        await client.subscribe("raw", "subscription { eventAdded { id } }")
        refused = await client.receive()
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"] == {"code": "UNTRUSTED_DOCUMENT"}

        text = document("ThingChanged")
        payload = {"documentId": f"sha256:{document_hash(text)}", "variables": {"id": ada}}
        await client.send({"id": "named", "type": "subscribe", "payload": payload})
        await served.subscribed(1)
        await served.api.data(
            acme.user, document("UpdateThing"), {"input": {"id": ada, "name": "Ada 2"}}
        )
        message = await client.receive()
        assert message["id"] == "named"
        assert message["payload"]["data"]["thingChanged"]["thing"]["name"] == "Ada 2"
        await served.runtime.database.client.drop_database(required.db_name)
