"""Idempotency keys: a retry gets the stored answer; reuse, in-flight, leases, groups, expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from ontology.config import Settings
from ontology.kit.clock import set_clock
from tests.batches.conftest import SMALL_BATCH
from tests.batches.support import (
    CONNECT,
    FIELD,
    INSERT,
    REJECT_EVERYTHING,
    REJECT_FAILED_ROWS,
    T0,
    UPDATE,
    batch,
    batch_input,
    counters,
    db_commands,
    ids_of,
    insert_fingerprint,
    item,
    payload,
    rejected,
    run_batch,
    serve,
    settled_documents,
    stored,
    thing,
)
from tests.factories import Api, SettableClock, make_tenant, true_counts

REUSED = "This idempotency key was used for a different request."
RUNNING = "A request with this idempotency key is still running; retry later."


async def keys_of(api: Api, group_id: Any) -> list[Any]:
    return await stored(api.runtime, "idempotency_keys", {"groupId": group_id})


async def test_a_retried_insert_gets_the_stored_result_and_writes_nothing(
    api: Api, settings: Settings
) -> None:
    # given a batch written once with a key
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada"), thing(name=""), thing(name="Bob")]
    first = await run_batch(api, tenant.user, INSERT, items, REJECT_FAILED_ROWS, "import-1")
    after_first = await settled_documents(api.runtime, tenant.id)

    # when the same request is sent again with the same key
    again = await run_batch(api, tenant.user, INSERT, items, REJECT_FAILED_ROWS, "import-1")

    # then the answer is the stored one, identical, and nothing is written again
    assert again["data"] == first["data"]
    assert [r["status"] for r in again["data"]["batchInsertThings"]["results"]] == [
        "CREATED",
        "FAILED",
        "CREATED",
    ]
    assert await settled_documents(api.runtime, tenant.id) == after_first
    # the first run: claim (insert), the reservation (findAndModify, insert,
    # commitTransaction), things (insert), completion (update), event (insert), counters
    # (update), the reservation's record (delete), commitTransaction; the retry: claim
    # (duplicate key) and find
    assert (db_commands(first), db_commands(again)) == (10, 2)

    # when the same request arrives at another process on the same database (a restart)
    async with serve(settings) as restarted:
        later = await run_batch(
            restarted, tenant.user, INSERT, items, REJECT_FAILED_ROWS, "import-1"
        )

    # then it too gets the stored answer, and still nothing is written
    assert later["data"] == first["data"]
    assert await settled_documents(api.runtime, tenant.id) == after_first


async def test_the_key_record_holds_the_result_and_expires_24_hours_after_creation(
    api: Api,
) -> None:
    # given a fixed clock and a tenant
    set_clock(SettableClock(T0))
    tenant = await make_tenant(api.runtime, "acme")

    # when a batch is written with a key
    result = await batch(api, tenant.user, INSERT, [thing(name="Ada")], None, "k-1")

    # then the record is done, holds the result, and expires at createdAt + 24 h
    [record] = await keys_of(api, tenant.id)
    assert {k: v for k, v in record.items() if k not in ("_id", "fingerprint")} == {
        "groupId": tenant.id,
        "key": "k-1",
        "status": "done",
        "leaseUntil": T0 + timedelta(minutes=10),
        "createdAt": T0,
        "expiresAt": T0 + timedelta(hours=24),
        "result": {
            "results": [{"index": 0, "status": "CREATED", "id": ids_of(result)[0], "errors": []}],
            "errors": [],
            "batchEventId": result["batchEventId"],
        },
    }
    assert record["fingerprint"] == insert_fingerprint([thing(name="Ada")])

    # and the server deletes records at expiresAt, through the TTL index
    indexes = await api.runtime.database.collection("idempotency_keys").index_information()
    assert indexes["idempotency_keys_expiry"]["key"] == [("expiresAt", 1)]
    assert indexes["idempotency_keys_expiry"]["expireAfterSeconds"] == 0
    assert indexes["idempotency_keys_unique"]["key"] == [("groupId", 1), ("key", 1)]
    assert indexes["idempotency_keys_unique"]["unique"] is True


async def test_a_retried_connection_batch_and_update_batch_get_their_stored_results(
    api: Api,
) -> None:
    # given things, a connection batch and an update batch each written once with a key
    tenant = await make_tenant(api.runtime, "acme")
    ada, guild = ids_of(
        await batch(api, tenant.user, INSERT, [thing(name="Ada"), thing("community")])
    )
    links = [{"fromId": ada, "toId": guild, "type": "member_of"}]
    updates = [{"id": ada, "name": "Ada Lovelace", "expectedVersion": 1}]
    connected = await batch(api, tenant.user, CONNECT, links, None, "links-1")
    updated = await batch(api, tenant.user, UPDATE, updates, None, "updates-1")
    written = await settled_documents(api.runtime, tenant.id)

    # when both are sent again with their keys
    connected_again = await batch(api, tenant.user, CONNECT, links, None, "links-1")
    updated_again = await batch(api, tenant.user, UPDATE, updates, None, "updates-1")

    # then each answer is the stored one: still CREATED and UPDATED (not DUPLICATE or
    # CONFLICT), and nothing was written again
    assert connected_again == connected
    assert updated_again == updated
    assert [r["status"] for r in connected_again["results"]] == ["CREATED"]
    assert [r["status"] for r in updated_again["results"]] == ["UPDATED"]
    assert await settled_documents(api.runtime, tenant.id) == written

    # when the update is sent without a key
    unkeyed = await batch(api, tenant.user, UPDATE, updates)

    # then it is a new request, checked against the stored version
    assert [r["errors"][0]["code"] for r in unkeyed["results"]] == ["CONFLICT"]


async def test_a_rejected_batch_is_remembered_too(api: Api) -> None:
    # given a batch rejected as a whole (one invalid item) under a key
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada"), thing(name="")]
    first = await batch(api, tenant.user, INSERT, items, None, "k")
    before = await settled_documents(api.runtime, tenant.id)

    # when it is retried, then the same answer comes back
    assert await batch(api, tenant.user, INSERT, items, None, "k") == first
    assert [r["status"] for r in first["results"]] == ["NOT_WRITTEN", "FAILED"]

    # when the corrected batch is sent with the same key
    fixed = await batch(api, tenant.user, INSERT, [thing(name="Ada")], None, "k")

    # then it is another request under a used key
    assert fixed == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")
    assert await settled_documents(api.runtime, tenant.id) == before
    [record] = await keys_of(api, tenant.id)
    assert record["status"] == "done"


async def test_the_same_key_for_a_different_request_is_refused(api: Api) -> None:
    # given a batch written with a key
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada")]
    first = await batch(api, tenant.user, INSERT, items, None, "k")
    [ada] = ids_of(first)
    assert ada is not None
    before = await settled_documents(api.runtime, tenant.id)

    # when the key comes with other items, another policy, or another mutation
    other_items = await batch(api, tenant.user, INSERT, [thing(name="Bob")], None, "k")
    other_policy = await batch(api, tenant.user, INSERT, items, REJECT_FAILED_ROWS, "k")
    other_mutation = await batch(api, tenant.user, UPDATE, [{"id": ada, "name": "X"}], None, "k")

    # then each is refused with IDEMPOTENCY_KEY_REUSED, and nothing is written
    assert other_items == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")
    assert other_policy == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")
    assert other_mutation == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")
    assert await settled_documents(api.runtime, tenant.id) == before
    # and the stored answer is still served for the original request
    assert await batch(api, tenant.user, INSERT, items, None, "k") == first


async def test_a_request_while_the_first_is_still_running_is_a_conflict(api: Api) -> None:
    # given a key claimed for this very request by a process that is still running it
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada")]
    claimed_at = T0
    repo = api.runtime.repos.idempotency
    assert await repo.claim(tenant.id, "k", insert_fingerprint(items), claimed_at) is None
    before = await settled_documents(api.runtime, tenant.id)
    set_clock(SettableClock(claimed_at + timedelta(minutes=5)))

    # when the same request arrives
    result = await batch(api, tenant.user, INSERT, items, None, "k")

    # then it is refused with CONFLICT and nothing is written; the claim is untouched
    assert result == rejected(1, "CONFLICT", RUNNING, "idempotencyKey")
    assert await settled_documents(api.runtime, tenant.id) == before

    # when a different request uses the key meanwhile, then it is a reuse
    other = await batch(api, tenant.user, INSERT, [thing(name="Bob")], None, "k")
    assert other == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")


async def test_a_claim_whose_lease_lapsed_is_taken_over(api: Api) -> None:
    # given a key claimed at T0 by a process that died (its lease ends at T0 + 10 min)
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada"), thing(name="Bob")]
    repo = api.runtime.repos.idempotency
    assert await repo.claim(tenant.id, "k", insert_fingerprint(items), T0) is None
    clock = SettableClock(T0 + timedelta(minutes=10))
    set_clock(clock)
    before = await settled_documents(api.runtime, tenant.id)

    # when the request is retried at the very end of the lease
    at_end = await batch(api, tenant.user, INSERT, items, None, "k")

    # then the claim still holds
    assert at_end == rejected(2, "CONFLICT", RUNNING, "idempotencyKey")
    assert await settled_documents(api.runtime, tenant.id) == before

    # when it is retried a millisecond later
    retry_at = clock.advance(milliseconds=1)
    taken = await batch(api, tenant.user, INSERT, items, None, "k")

    # then the retry takes the claim over and writes the batch once
    ids = ids_of(taken)
    assert [r["status"] for r in taken["results"]] == ["CREATED", "CREATED"]
    things = await stored(api.runtime, "things", {"groupId": tenant.id})
    assert sorted(t["name"] for t in things) == ["Ada", "Bob"]
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
    [record] = await keys_of(api, tenant.id)
    assert (record["status"], record["createdAt"], record["expiresAt"], record["leaseUntil"]) == (
        "done",
        T0,
        T0 + timedelta(hours=24),
        retry_at + timedelta(minutes=10),
    )
    assert [r["id"] for r in record["result"]["results"]] == ids

    # and a later retry gets that result without writing
    assert await batch(api, tenant.user, INSERT, items, None, "k") == taken
    assert len(await stored(api.runtime, "things", {"groupId": tenant.id})) == 2


async def test_keys_are_per_group(api: Api) -> None:
    # given a batch written by one tenant with a key
    acme = await make_tenant(api.runtime, "acme")
    globex = await make_tenant(api.runtime, "globex")
    first = await batch(api, acme.user, INSERT, [thing(name="Ada")], None, "shared")

    # when another tenant uses the same key, for the same and then a different request
    same = await batch(api, globex.user, INSERT, [thing(name="Ada")], None, "shared")
    acme_other = await batch(api, acme.user, INSERT, [thing(name="Bob")], None, "shared")

    # then the other tenant's request runs on its own and writes its own thing
    assert [r["status"] for r in same["results"]] == ["CREATED"]
    assert same["results"][0]["id"] != first["results"][0]["id"]
    assert same["batchEventId"] != first["batchEventId"]
    for tenant in (acme, globex):
        things = await stored(api.runtime, "things", {"groupId": tenant.id})
        assert [t["name"] for t in things] == ["Ada"]
        assert [r["key"] for r in await keys_of(api, tenant.id)] == ["shared"]
    # and the key is still bound to the first tenant's request in that tenant
    assert acme_other == rejected(1, "IDEMPOTENCY_KEY_REUSED", REUSED, "idempotencyKey")


async def test_a_key_must_be_1_to_200_characters(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")
    before = await settled_documents(api.runtime, tenant.id)
    message = "idempotencyKey must be 1-200 characters."

    # when keys of 0 and 201 characters are sent
    empty = await batch(api, tenant.user, INSERT, [thing()], None, "")
    long = await batch(api, tenant.user, INSERT, [thing()], None, "k" * 201)

    # then both are refused as INVALID_INPUT, and nothing is written or claimed
    assert empty == rejected(1, "INVALID_INPUT", message, "idempotencyKey")
    assert long == rejected(1, "INVALID_INPUT", message, "idempotencyKey")
    assert await settled_documents(api.runtime, tenant.id) == before

    # when a key of 200 characters is sent, then it is accepted
    ok = await batch(api, tenant.user, INSERT, [thing()], None, "k" * 200)
    assert ok == payload([item(0, "CREATED", ids_of(ok)[0])], batch_event_id=ok["batchEventId"])
    assert [r["key"] for r in await keys_of(api, tenant.id)] == ["k" * 200]


async def test_a_batch_too_large_claims_no_key(small_api: Api) -> None:
    # given a tenant of an app taking at most 5 items per batch
    api = small_api
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name=f"T{i}") for i in range(SMALL_BATCH + 1)]

    # when a batch of 6 is sent with a key
    body = await api.gql(tenant.user, INSERT, batch_input(INSERT, items, None, "k"))

    # then it is refused before the key is claimed
    assert body["data"][FIELD[INSERT]] == rejected(
        6, "BATCH_TOO_LARGE", "6 items; a batch takes at most 5.", "things"
    )
    assert await keys_of(api, tenant.id) == []
    # and the key is free for a batch that fits
    ok = await batch(api, tenant.user, INSERT, items[:SMALL_BATCH], REJECT_EVERYTHING, "k")
    assert [r["status"] for r in ok["results"]] == ["CREATED"] * SMALL_BATCH


async def test_two_concurrent_requests_with_one_key_write_once(api: Api) -> None:
    # given a tenant and a batch
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name=f"T{i}") for i in range(50)]

    # when the same request is sent twice at the same time with one key
    first, second = await asyncio.gather(
        batch(api, tenant.user, INSERT, items, None, "k"),
        batch(api, tenant.user, INSERT, items, None, "k"),
    )

    # then one ran, and the other got either its stored answer or CONFLICT (still running)
    ran, other = (first, second) if first["results"] else (second, first)
    assert [r["status"] for r in ran["results"]] == ["CREATED"] * 50
    assert other in (ran, rejected(50, "CONFLICT", RUNNING, "idempotencyKey"))
    # and the batch was written exactly once
    assert len(await stored(api.runtime, "things", {"groupId": tenant.id})) == 50
    assert len(await stored(api.runtime, "events", {"groupId": tenant.id})) == 1
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
