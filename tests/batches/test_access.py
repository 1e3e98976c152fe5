"""Who may run batches (org_user and above), and how large a batch may be."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batches.conftest import SMALL_BATCH
from tests.batches.support import (
    CONNECT,
    FIELD,
    INSERT,
    UPDATE,
    batch,
    batch_input,
    db_commands,
    ids_of,
    rejected,
    run_batch,
    settled_documents,
    thing,
)
from tests.factories import Api, Tenant, make_tenant


async def items_for(api: Api, tenant: Tenant, operation: str, count: int) -> list[dict[str, Any]]:
    """``count`` valid items of ``operation`` for the tenant (things created as needed)."""
    if operation == INSERT:
        return [thing(name=f"T{i}") for i in range(count)]
    things = [thing(name=f"S{i}") for i in range(count + 1)]
    created: list[str] = []
    for start in range(0, len(things), SMALL_BATCH):  # within the smallest batch limit
        chunk = things[start : start + SMALL_BATCH]
        created += [i for i in ids_of(await batch(api, tenant.user, INSERT, chunk)) if i]
    if operation == CONNECT:
        return [
            {"fromId": created[i], "toId": created[i + 1], "type": "references"}
            for i in range(count)
        ]
    return [{"id": created[i], "name": f"U{i}"} for i in range(count)]


OPERATIONS = pytest.mark.parametrize(
    "operation", [INSERT, CONNECT, UPDATE], ids=["insert", "connect", "update"]
)


@OPERATIONS
async def test_a_customer_may_not_run_a_batch(api: Api, operation: str) -> None:
    # given a tenant and a valid batch
    tenant = await make_tenant(api.runtime, "acme")
    items = await items_for(api, tenant, operation, 2)
    before = await settled_documents(api.runtime, tenant.id)

    # when a customer key sends it (with an idempotency key)
    body = await api.gql(tenant.customer, operation, batch_input(operation, items, None, "k"))

    # then it is refused with a top-level FORBIDDEN error
    assert body["data"] is None
    assert [
        {"message": e["message"], "path": e["path"], "code": e["extensions"]["code"]}
        for e in body["errors"]
    ] == [
        {
            "message": "This operation needs the org_user role; the key has customer.",
            "path": [FIELD[operation]],
            "code": "FORBIDDEN",
        }
    ]
    # and nothing is written, not even the key's claim
    assert await settled_documents(api.runtime, tenant.id) == before
    assert db_commands(body) == 0


@OPERATIONS
async def test_an_owner_may_run_a_batch(api: Api, operation: str) -> None:
    # given a tenant and a valid batch
    tenant = await make_tenant(api.runtime, "acme")
    items = await items_for(api, tenant, operation, 2)

    # when its owner sends it, then every item is written
    result = await batch(api, tenant.owner, operation, items)
    assert [r["status"] for r in result["results"]] == (
        ["UPDATED"] * 2 if operation == UPDATE else ["CREATED"] * 2
    )


async def test_a_batch_without_a_key_is_unauthenticated(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")
    before = await settled_documents(api.runtime, tenant.id)

    # when a batch is sent without a key
    response = await api.post(None, INSERT, batch_input(INSERT, [thing()]))

    # then it is refused with HTTP 401 and nothing is written
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await settled_documents(api.runtime, tenant.id) == before


@OPERATIONS
async def test_a_batch_over_the_limit_is_refused_whole(small_api: Api, operation: str) -> None:
    # given an app taking at most 5 items per batch, and a tenant
    api = small_api
    tenant = await make_tenant(api.runtime, "acme")
    items = await items_for(api, tenant, operation, SMALL_BATCH + 1)
    before = await settled_documents(api.runtime, tenant.id)

    # when 6 items are sent, even with REJECT_FAILED_ROWS
    body = await run_batch(api, tenant.user, operation, items, "REJECT_FAILED_ROWS")

    # then the batch is refused as a whole: one error, no results, nothing written or read
    path = {INSERT: "things", CONNECT: "connections", UPDATE: "updates"}[operation]
    assert body["data"][FIELD[operation]] == rejected(
        6, "BATCH_TOO_LARGE", "6 items; a batch takes at most 5.", path
    )
    assert await settled_documents(api.runtime, tenant.id) == before
    assert db_commands(body) == 0

    # when 5 of them are sent, then all are written
    fits = await batch(api, tenant.user, operation, items[:SMALL_BATCH])
    assert [r["status"] for r in fits["results"]] == (
        ["UPDATED"] * 5 if operation == UPDATE else ["CREATED"] * 5
    )
