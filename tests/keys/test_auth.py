"""Authentication and roles over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from ontology.keys.models import Role, hash_secret
from tests.factories import CREATE_THING, Api, make_tenant, raw_count

VIEWER = "{ viewer { role group { slug } } }"
NEW_THING = {"input": {"type": "creator", "name": "Ada"}}


def unauthenticated(message: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
    }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing `Authorization: Bearer <api key>` header."),
        ({"Authorization": "Basic abc"}, "Expected `Authorization: Bearer <api key>`."),
        ({"Authorization": "Bearer nope"}, "Expected `Authorization: Bearer <api key>`."),
        ({"Authorization": "Bearer ont_not-a-real-key"}, "Invalid or revoked API key."),
    ],
)
async def test_requests_without_a_valid_key_get_401(
    api: Api, headers: dict[str, str], message: str
) -> None:
    await make_tenant(api.runtime, "acme")

    response = await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == unauthenticated(message)


async def test_a_revoked_key_stops_working_immediately(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    before = await api.post(tenant.user, VIEWER)
    assert before.json()["data"] == {"viewer": {"role": "ORG_USER", "group": {"slug": "acme"}}}

    revoked = await api.runtime.services.keys.revoke(tenant.id, tenant.key_ids[Role.ORG_USER])
    after = await api.post(tenant.user, VIEWER)

    assert revoked is True
    assert after.status_code == 401
    assert after.json() == unauthenticated("Invalid or revoked API key.")
    assert await api.runtime.services.keys.revoke(tenant.id, tenant.key_ids[Role.ORG_USER]) is False


async def test_only_the_hash_of_a_secret_is_stored(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    keys = api.runtime.database.collection("api_keys")

    stored = await keys.find_one({"_id": tenant.key_ids[Role.ORG_OWNER]})

    assert stored is not None
    assert stored["keyHash"] == hash_secret(tenant.owner)
    assert tenant.owner not in str(stored)


@pytest.mark.parametrize(
    ("role", "can_write"),
    [(Role.CUSTOMER, False), (Role.ORG_USER, True), (Role.ORG_OWNER, True)],
)
async def test_write_permission_by_role(api: Api, role: Role, can_write: bool) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    body = await api.gql(tenant.keys[role], CREATE_THING, NEW_THING)

    if can_write:
        assert body["data"]["createThing"]["errors"] == []
        assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 1
    else:
        assert body["data"] is None
        assert body["errors"][0]["message"] == (
            "This operation needs the org_user role; the key has customer."
        )
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
        assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 0
        assert await raw_count(api.runtime, "events", {"groupId": tenant.id}) == 0


async def test_customers_can_read(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await api.data(tenant.user, CREATE_THING, NEW_THING)

    data = await api.data(
        tenant.customer, "{ things(first: 5) { totalCount edges { node { name } } } }"
    )

    assert data == {"things": {"totalCount": 1, "edges": [{"node": {"name": "Ada"}}]}}


async def test_graphiql_page_needs_no_key(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_queries_over_get_work_with_a_key(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    response = await api.client.get(
        "/graphql",
        params={"query": VIEWER},
        headers={"Authorization": f"Bearer {tenant.customer}"},
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"role": "CUSTOMER", "group": {"slug": "acme"}}}
    assert len(response.headers["x-request-id"]) == 32


async def test_cost_extension_is_returned_in_development(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    body = await api.gql(tenant.customer, VIEWER)

    assert sorted(body["extensions"]["cost"]) == ["dbCommands", "documentsRead", "ms"]
    assert body["extensions"]["cost"]["dbCommands"] == 0
