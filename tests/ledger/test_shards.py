"""Counter shards: writes committed together count on their process's shard, paid from a
quota lease, and reach the group's counters and time buckets when the shard is folded
(by its process within ``counter_fold_seconds``, by any process once it is stale)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import OperationFailure

from ontology.config import Settings
from ontology.db.cost import track_cost
from ontology.events.service import NewEvent
from ontology.kit.clock import utcnow
from ontology.kit.errors import RejectedError
from ontology.ledger import ledger as ledger_module
from ontology.ledger.buckets import Period, bucket_start
from ontology.ledger.counters import CountDelta
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.events import new_event
from ontology.ledger.ledger import TenantWrite
from ontology.ledger.plans import Metric
from ontology.ledger.shards import LEASE_BATCHES, STALE
from ontology.runtime import Runtime, open_runtime
from ontology.things.models import NewThing
from tests.db.test_indexes import assert_index_scan
from tests.factories import clock_at, group_counts, make_tenant, raw_count, true_counts
from tests.quotas.support import stored_counts


async def log_together(runtime: Runtime, group_id: ObjectId, n: int) -> list[Any]:
    """``n`` events logged at once: the first commits alone, the others together."""
    events = runtime.services.events
    return await asyncio.gather(
        *(events.log(group_id, NewEvent("content_event", metadata={"n": i})) for i in range(n))
    )


def forget_shards(runtime: Runtime) -> None:
    """What a ``kill -9`` does to a process's shards: it never folds them."""
    for shard in runtime.services.ledger._shards.values():
        if shard.timer is not None:
            shard.timer.cancel()
    runtime.services.ledger._shards.clear()


async def shard_of(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    [shard] = (
        await runtime.database.collection("ledger_shards").find({"groupId": group_id}).to_list()
    )
    return shard


async def group_doc(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    found = await runtime.database.collection("groups").find_one({"_id": group_id})
    assert found is not None
    return found


async def minute_events(runtime: Runtime, group_id: ObjectId) -> int:
    start = bucket_start(Period.MINUTE, utcnow())
    docs = await runtime.repos.counters.buckets(
        group_id, Period.MINUTE, start, start + timedelta(minutes=1)
    )
    return sum(int(doc["events"]) for doc in docs)


async def test_writes_together_count_on_the_shard_until_it_is_folded(settings: Settings) -> None:
    # given a process that folds its shards 0.3 s after a write reaches them
    async with open_runtime(settings.model_copy(update={"counter_fold_seconds": 0.3})) as runtime:
        tenant = await make_tenant(runtime, "acme")

        # when 20 events are logged at once
        with track_cost() as cost:
            logged = await log_together(runtime, tenant.id, 20)

        # then the 19 committed together leased room from the group and wrote only the
        # process's shard: not the group's counters or time buckets
        sizes = [int(doc["sizeBytes"]) for doc in logged]
        shard = await shard_of(runtime, tenant.id)
        assert shard["counts"] == {"events": 19, "storageBytes": sum(sizes[1:])}
        granted = LEASE_BATCHES * sum(sizes[1:])
        assert shard["granted"] == {"storageBytes": granted}
        assert shard["lease"] == {"storageBytes": granted - sum(sizes[1:])}
        assert shard["newest"]["events"] == max(doc["sortKey"] for doc in logged[1:])
        assert sorted(shard["buckets"]) == [
            f"{period.value}@{int(bucket_start(period, logged[1]['timestamp']).timestamp())}"
            for period in (Period.DAY, Period.HOUR, Period.MINUTE, Period.MONTH)
        ]
        group = await group_doc(runtime, tenant.id)
        assert group["counts"]["events"] == 1
        assert group["leased"] == {"storageBytes": granted}
        assert await minute_events(runtime, tenant.id) == 1
        assert cost.command_names == [
            # the first, alone: the group's counters, the event, the group's time buckets
            *("findAndModify", "insert", "update", "commitTransaction"),
            # the 19 together: a lease from the group, granted on the shard, spent there
            *("update", "update", "findAndModify", "insert", "commitTransaction"),
        ]
        # and a counter check counts the shard as stored: no drift
        assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
        assert [c.drifts for c in await runtime.services.counter_check.check()] == [[]]

        # when the fold interval passes
        await asyncio.sleep(0.8)

        # then the group counts all 20 in its counters and its time buckets, its lease is
        # back, and the shard holds nothing
        group = await group_doc(runtime, tenant.id)
        assert group["counts"]["events"] == 20
        assert group["counts"]["storageBytes"] == sum(sizes)
        assert group["leased"] == {"storageBytes": 0}
        assert await minute_events(runtime, tenant.id) == 20
        assert set(await shard_of(runtime, tenant.id)) == {"_id", "groupId", "beatAt"}
        assert [c.drifts for c in await runtime.services.counter_check.check()] == [[]]


async def test_a_lease_counts_as_used_until_it_is_folded(runtime: Runtime) -> None:
    # given a tenant allowed a million things, whose process leased room for things
    tenant = await make_tenant(runtime, "acme")
    quotas, things = runtime.services.quotas, runtime.services.things
    await quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 1_000_000)
    await asyncio.gather(
        *(things.create(tenant.id, NewThing("creator", f"T{n}", {}, "active")) for n in range(8))
    )
    group = await group_doc(runtime, tenant.id)
    assert group["counts"]["things"] == 1
    assert group["leased"]["things"] == 7 * LEASE_BATCHES

    # when its limit is lowered to what is counted and leased
    await quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 1 + 7 * LEASE_BATCHES)

    # then a write on the group is refused, the leased room counted as used
    try:
        await things.create(tenant.id, NewThing("creator", "Refused", {}, "active"))
    except RejectedError as refused:
        [error] = refused.errors
        assert error.code == QuotaErrorCode.QUOTA_EXCEEDED
        assert error.details["current"] == 1 + 7 * LEASE_BATCHES
    else:
        raise AssertionError("the write was not refused")
    # and once the shard is folded, the lease is back and the write goes through
    await runtime.services.ledger.fold_all()
    group = await group_doc(runtime, tenant.id)
    assert (group["counts"]["things"], group["leased"]["things"]) == (8, 0)
    await things.create(tenant.id, NewThing("creator", "Accepted", {}, "active"))
    assert await raw_count(runtime, "things", {"groupId": tenant.id}) == 9
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_near_a_limit_writes_together_count_on_the_group(runtime: Runtime) -> None:
    # given a tenant allowed 100 things: a lease for 7 would be more than 1/64 of its room
    tenant = await make_tenant(runtime, "acme")
    await runtime.services.quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 100)
    things = runtime.services.things

    # when 8 things are created at once
    await asyncio.gather(
        *(things.create(tenant.id, NewThing("creator", f"T{n}", {}, "active")) for n in range(8))
    )

    # then no lease was granted: all 8 are on the group's counters at once
    group = await group_doc(runtime, tenant.id)
    assert group["counts"]["things"] == 8
    assert group.get("leased", {}).get("things", 0) == 0
    assert await raw_count(runtime, "ledger_shards", {}) == 0


async def test_the_shard_of_a_process_that_stopped_is_folded_by_another(
    settings: Settings,
) -> None:
    with clock_at(utcnow()) as clock:
        # given a process that counted events on its shard and stopped without folding it
        async with open_runtime(settings) as stopped:
            tenant = await make_tenant(stopped, "acme")
            logged = await log_together(stopped, tenant.id, 10)
            forget_shards(stopped)
        async with open_runtime(settings) as runtime:
            assert (await group_counts(runtime, tenant.id))["events"] == 1

            # when another process sweeps before the shard is stale, then after
            assert await runtime.services.ledger.fold_stale() == 0
            clock.advance(seconds=STALE.total_seconds() + 1)
            assert await runtime.services.ledger.fold_stale() == 1

            # then the shard is gone, its counts and time buckets are the group's, its
            # lease is back
            group = await group_doc(runtime, tenant.id)
            assert group["counts"]["events"] == 10
            assert group["counts"]["storageBytes"] == sum(int(d["sizeBytes"]) for d in logged)
            assert group["leased"] == {"storageBytes": 0}
            assert await raw_count(runtime, "ledger_shards", {}) == 0
            assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
            # and both reads of shards are index scans (explained without their hints)
            shards = runtime.database.collection("ledger_shards")
            stale = await shards.find({"beatAt": {"$lt": utcnow()}}).sort("beatAt", 1).explain()
            assert_index_scan(stale, "ledger_shards_stale")
            of_group = await shards.find({"groupId": tenant.id}).explain()
            assert_index_scan(of_group, "ledger_shards_group")
            await runtime.database.client.drop_database(settings.db_name)


async def test_a_shard_folded_by_another_process_is_not_spent_again(runtime: Runtime) -> None:
    # given a process holding a lease on its shard
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    await log_together(runtime, tenant.id, 5)
    [shard] = ledger._shards.values()
    assert shard.lease

    # when another process folds that shard (a sweep, here by hand)
    async def fold(session: Any) -> None:
        held = await ledger.shards.take(shard.id, tenant.id, session)
        assert held is not None
        await ledger._fold(tenant.id, held, session)

    await runtime.database.in_transaction(fold)

    # then the next writes together find the lease gone and count on the group at once
    await log_together(runtime, tenant.id, 5)
    group = await group_doc(runtime, tenant.id)
    assert group["counts"]["events"] == 10
    assert group["leased"] == {"storageBytes": 0}
    assert shard.lease == {}
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_a_process_forgets_idle_shards_past_its_bound(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a process that keeps track of one group's shard at most, which wrote
    # together for one tenant and folded it
    monkeypatch.setattr(ledger_module, "REMEMBERED_SHARDS", 1)
    acme, other = await make_tenant(runtime, "acme"), await make_tenant(runtime, "other")
    ledger = runtime.services.ledger
    await log_together(runtime, acme.id, 3)
    await ledger.fold_all()
    [first] = ledger._shards.values()
    assert first.timer is not None
    first.timer.cancel()  # its wait for the fold: the fold ran already
    await asyncio.sleep(0)
    assert first.idle()

    # when another tenant's writes commit together
    await log_together(runtime, other.id, 3)

    # then the idle shard is forgotten, the new one kept, and both groups count all
    assert list(ledger._shards) == [other.id]
    await ledger.fold_all()
    assert (await group_counts(runtime, acme.id))["events"] == 3
    assert (await group_counts(runtime, other.id))["events"] == 3


async def test_after_a_conflict_a_groups_single_writes_count_on_the_shard(
    runtime: Runtime,
) -> None:
    # given a tenant whose single write had to be retried (another process's transaction
    # wrote the group's documents meanwhile: what the server answers then)
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    attempts = 0

    async def conflicted(w: TenantWrite) -> None:
        nonlocal attempts
        attempts += 1
        await w.count(CountDelta(), [new_event(tenant.id, "content_event", timestamp=utcnow())])
        if attempts == 1:
            raise OperationFailure(
                "WriteConflict", 112, {"errorLabels": ["TransientTransactionError"]}
            )

    await ledger.write(tenant.id, conflicted, together=True)
    assert (attempts, (await group_counts(runtime, tenant.id))["events"]) == (2, 1)

    # when the group's next single write arrives, alone
    logged = await runtime.services.events.log(tenant.id, NewEvent("content_event"))

    # then it counts on the process's shard, not on the group's documents
    assert (await group_counts(runtime, tenant.id))["events"] == 1
    assert (await shard_of(runtime, tenant.id))["counts"] == {
        "events": 1,
        "storageBytes": logged["sizeBytes"],
    }
    await ledger.fold_all()
    assert (await group_counts(runtime, tenant.id))["events"] == 2
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_a_counter_check_finds_and_repairs_leases_no_shard_holds(runtime: Runtime) -> None:
    # given a group whose leases are what its process's shard was granted, and a group
    # document that says 5 more things are leased than any shard holds
    tenant = await make_tenant(runtime, "acme")
    await log_together(runtime, tenant.id, 5)
    granted = (await shard_of(runtime, tenant.id))["granted"]["storageBytes"]
    groups = runtime.database.collection("groups")
    await groups.update_one({"_id": tenant.id}, {"$inc": {"leased.things": 5}})
    service = runtime.services.counter_check

    # when the counters are checked, then repaired
    [checked] = await service.check()
    [repaired] = await service.check("acme", repair=True)

    # then the stray lease is the one drift, and the repair takes it back, leaving the
    # shard's lease in place until its fold
    assert [d.to_json() for d in checked.drifts] == [
        {"what": "leased.things", "stored": 5, "true": 0}
    ]
    assert repaired.repaired is True
    assert (await group_doc(runtime, tenant.id))["leased"] == {
        "storageBytes": granted,
        "things": 0,
    }
    assert [c.drifts for c in await service.check()] == [[]]
    await runtime.services.ledger.fold_all()
    assert (await group_doc(runtime, tenant.id))["leased"] == {"storageBytes": 0, "things": 0}
