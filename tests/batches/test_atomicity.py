"""A failure in the middle of a batch's transaction leaves nothing of the batch.

The server's ``failCommand`` fail point fails the n-th command of a kind with a
non-transient error (BadValue), so the driver does not retry the transaction. Each
test pins the commands sent, which shows where the failure hit.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import OperationFailure

from ontology.runtime import Runtime
from tests.batches.support import (
    CONNECT,
    FIELD,
    INSERT,
    REJECT_FAILED_ROWS,
    UPDATE,
    batch,
    batch_input,
    counters,
    db_commands,
    fail_point,
    ids_of,
    nodes,
    settled_documents,
    stored,
    thing,
)
from tests.factories import Api, Tenant, make_tenant, true_counts


async def test_the_fail_point_fails_the_chosen_command_once(runtime: Runtime) -> None:
    # given the fail point armed for the second insert
    collection = runtime.database.collection("scratch")
    async with fail_point(runtime, ["insert"], skip=1):
        # when three inserts are sent
        await collection.insert_one({"n": 1})
        with pytest.raises(OperationFailure) as failure:
            await collection.insert_one({"n": 2})

    # then the second failed with BadValue, and once the fail point is off inserts pass
    assert failure.value.code == 2
    await collection.insert_one({"n": 3})
    assert [d["n"] async for d in collection.find({}, sort=[("n", 1)])] == [1, 3]


async def masked_failure(
    api: Api, api_key: str, operation: str, items: list[dict[str, Any]], **options: Any
) -> dict[str, Any]:
    """Send a batch expected to fail unexpectedly; check the masked error; the body."""
    response = await api.post(api_key, operation, batch_input(operation, items, **options))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 3, "column": 3}],
            "path": [FIELD[operation]],
            "extensions": {"code": "INTERNAL", "requestId": response.headers["X-Request-Id"]},
        }
    ]
    return body


async def tenant_with_things(api: Api) -> tuple[Tenant, list[str]]:
    tenant = await make_tenant(api.runtime, "acme")
    ids = ids_of(
        await batch(
            api,
            tenant.user,
            INSERT,
            [thing(name="Ada"), thing(name="Bob"), thing("community", name="Guild")],
        )
    )
    assert all(ids)
    return tenant, [i for i in ids if i is not None]


@pytest.mark.parametrize(
    ("skip", "commands"),
    [
        # the reservation's record fails: findAndModify (reservation), update (the group's
        # time buckets), insert (fails), abort
        (0, 4),
        # the things insert fails: the reservation (findAndModify, update, insert, commit),
        # insert (fails), abort, and its release (delete the record, findAndModify, the
        # time buckets: update (back), update and delete (counts back at 0), commit)
        (1, 12),
        # the event insert fails after the things were inserted: + insert (things)
        (2, 13),
    ],
    ids=["reservation-insert-fails", "things-insert-fails", "event-insert-fails"],
)
async def test_a_failed_insert_batch_leaves_nothing(api: Api, skip: int, commands: int) -> None:
    # given a tenant with things, and a fail point on the batch's first or second insert
    tenant, _ = await tenant_with_things(api)
    before = await settled_documents(api.runtime, tenant.id)
    items = [thing(name=f"New{i}") for i in range(3)]

    # when a valid batch is sent
    async with fail_point(api.runtime, ["insert"], skip=skip):
        body = await masked_failure(api, tenant.user, INSERT, items, policy=REJECT_FAILED_ROWS)

    # then the client sees the masked error, and no document or counter changed
    assert db_commands(body) == commands
    assert await settled_documents(api.runtime, tenant.id) == before


@pytest.mark.parametrize(
    ("skip", "commands"),
    [
        # the reservation's commit fails: findAndModify (reservation), update (the group's
        # time buckets), insert (its record), commit (fails)
        (0, 4),
        # the data's commit fails: the reservation (4), insert (things), insert (event),
        # delete (the record), commit (fails), and the release (delete, findAndModify,
        # update, update, delete, commit)
        (1, 14),
    ],
    ids=["reservation-commit-fails", "data-commit-fails"],
)
async def test_a_failed_commit_leaves_nothing(api: Api, skip: int, commands: int) -> None:
    # given a tenant, and a fail point on commitTransaction
    tenant, _ = await tenant_with_things(api)
    before = await settled_documents(api.runtime, tenant.id)

    # when a valid batch is sent
    try:
        async with fail_point(api.runtime, ["commitTransaction"], skip=skip):
            body = await masked_failure(api, tenant.user, INSERT, [thing(name="New")])

        # then every write of the batch is gone, and its reserved counts given back
        assert db_commands(body) == commands
        assert await settled_documents(api.runtime, tenant.id) == before
    finally:
        # The driver does not abort after a failed commit, and the embedded server keeps
        # such a transaction open (mongod reaps it after 60 s): end it, or dropping the
        # test database waits for its locks forever.
        await api.runtime.database.client.admin.command("killAllSessions", [])


async def test_a_failure_releases_the_idempotency_key_for_a_retry(api: Api) -> None:
    # given a tenant, and a fail point on the key's completion inside the transaction
    # (the second update: the first is the reservation's, of the group's time buckets)
    tenant, _ = await tenant_with_things(api)
    before = await settled_documents(api.runtime, tenant.id)
    items = [thing(name="New")]

    # when a batch is sent with a key
    async with fail_point(api.runtime, ["update"], skip=1):
        body = await masked_failure(api, tenant.user, INSERT, items, key="import-7")

    # then nothing was written and the claim was released: claim (insert), the
    # reservation (findAndModify, update, insert, commit), insert (things), update (the
    # key's completion: fails), abortTransaction, its release (delete, findAndModify,
    # update, update, delete, commit), release (delete)
    assert db_commands(body) == 15
    assert await settled_documents(api.runtime, tenant.id) == before

    # when the request is retried with the key
    retried = await batch(api, tenant.user, INSERT, items, None, "import-7")

    # then it runs, and writes the batch once
    assert [r["status"] for r in retried["results"]] == ["CREATED"]
    names = [t["name"] for t in await stored(api.runtime, "things", {"groupId": tenant.id})]
    assert names == ["Ada", "Bob", "Guild", "New"]
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


@pytest.mark.parametrize(
    ("commands_failed", "skip", "commands"),
    [
        # find (things), find (stored connections), findAndModify (reservation), insert
        # (connections), update (thing counts), aggregate (the targets' types and counts),
        # update (the group's inboundByType), insert (event: fails), abortTransaction
        (["insert"], 1, 9),
        # ... update (thing counts: fails), abortTransaction
        (["update"], 0, 6),
    ],
    ids=["event-insert-fails", "thing-counts-update-fails"],
)
async def test_a_failed_connection_batch_leaves_nothing(
    api: Api, commands_failed: list[str], skip: int, commands: int
) -> None:
    # given a tenant's things, and a fail point after the connections are inserted
    tenant, (ada, bob, guild) = await tenant_with_things(api)
    before = await settled_documents(api.runtime, tenant.id)
    links = [
        {"fromId": ada, "toId": guild, "type": "member_of"},
        {"fromId": bob, "toId": guild, "type": "member_of"},
        {"fromId": ada, "toId": bob, "type": "following"},
    ]

    # when a valid batch is sent
    async with fail_point(api.runtime, commands_failed, skip=skip):
        body = await masked_failure(api, tenant.user, CONNECT, links)

    # then no connection, count, event or counter is left
    assert db_commands(body) == commands
    assert await settled_documents(api.runtime, tenant.id) == before
    ends = await nodes(api, tenant.user, [ada, bob, guild])
    assert [n["connectionCounts"] for n in ends] == [
        {"inbound": 0, "outbound": 0, "byType": []}
    ] * 3


async def test_a_failed_update_batch_leaves_nothing(api: Api) -> None:
    # given a tenant's things, and a fail point on the events insert (the second insert,
    # after the reservation's record)
    tenant, (ada, bob, _) = await tenant_with_things(api)
    before = await settled_documents(api.runtime, tenant.id)
    updates = [{"id": ada, "name": "Ada Lovelace"}, {"id": bob, "status": "archived"}]

    # when a valid batch is sent
    async with fail_point(api.runtime, ["insert"], skip=1):
        body = await masked_failure(api, tenant.user, UPDATE, updates)

    # then no name, status, version, event or counter changed: find, the reservation
    # (findAndModify, update, insert, commit), update (things), insert (events: fails),
    # abortTransaction, its release (delete, findAndModify, update, update, delete, commit)
    assert db_commands(body) == 14
    assert await settled_documents(api.runtime, tenant.id) == before
    assert [
        (n["name"], n["status"], n["version"]) for n in await nodes(api, tenant.user, [ada, bob])
    ] == [
        ("Ada", "active", 1),
        ("Bob", "active", 1),
    ]
