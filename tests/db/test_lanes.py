"""Single writes go first: a bulk write's commands after its first give way while a
single write of the process is in flight, for at most ``max_wait`` each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from pymongo import UpdateOne

from ontology.db.lanes import WriteLanes, lanes
from ontology.db.writes import bulk_write_chunked, insert_chunked
from ontology.ledger.ledger import TenantWrite
from ontology.runtime import Runtime
from tests.factories import make_tenant, until


@pytest.fixture
def patient_lanes() -> Iterator[WriteLanes]:
    """The process's lanes, waiting up to 10 s per command (a test's single writes end)."""
    before = lanes.max_wait
    lanes.max_wait = 10.0
    try:
        yield lanes
    finally:
        lanes.max_wait = before


async def test_a_bulk_insert_waits_between_chunks_while_a_single_write_runs(
    runtime: Runtime, patient_lanes: WriteLanes
) -> None:
    # given a single write in flight
    collection = runtime.database.collection("chunked")
    docs = [{"_id": i} for i in range(120)]
    with patient_lanes.single():
        # when 120 documents are inserted in chunks of 50
        insert = asyncio.create_task(insert_chunked(collection, docs, None, 50))
        await until(lambda: collection.count_documents({}))
        await asyncio.sleep(0.2)

        # then the first chunk is stored, and the second waits for the single write
        assert await collection.count_documents({}) == 50
        assert not insert.done()

    # and once it ends, the rest follows
    await insert
    assert await collection.count_documents({}) == 120


async def test_bulk_updates_wait_likewise(runtime: Runtime, patient_lanes: WriteLanes) -> None:
    collection = runtime.database.collection("chunked")
    await collection.insert_many([{"_id": i, "n": 0} for i in range(4)])
    updates = [UpdateOne({"_id": i}, {"$set": {"n": 1}}) for i in range(4)]
    with patient_lanes.single():
        update = asyncio.create_task(bulk_write_chunked(collection, updates, None, 2))
        await until(lambda: collection.count_documents({"n": 1}))
        await asyncio.sleep(0.2)
        assert await collection.count_documents({"n": 1}) == 2
        assert not update.done()
    totals = await update
    assert (totals.matched, await collection.count_documents({"n": 1})) == (4, 4)


async def test_a_write_of_one_command_never_waits(
    runtime: Runtime, patient_lanes: WriteLanes
) -> None:
    collection = runtime.database.collection("chunked")
    with patient_lanes.single():
        await asyncio.wait_for(insert_chunked(collection, [{"_id": 1}], None, 50), timeout=5)
    assert await collection.count_documents({}) == 1


async def test_a_single_write_of_the_ledger_holds_the_bulk_lane(
    runtime: Runtime, patient_lanes: WriteLanes
) -> None:
    # given a tenant's single write, held inside its transaction
    tenant = await make_tenant(runtime, "acme")
    collection = runtime.database.collection("chunked")
    inside, gate = asyncio.Event(), asyncio.Event()

    async def work(w: TenantWrite) -> None:
        inside.set()
        await gate.wait()

    single = asyncio.create_task(runtime.services.ledger.write(tenant.id, work, together=True))
    await inside.wait()

    # when a bulk insert runs meanwhile
    insert = asyncio.create_task(
        insert_chunked(collection, [{"_id": i} for i in range(100)], None, 50)
    )
    await until(lambda: collection.count_documents({}))
    await asyncio.sleep(0.2)

    # then its second chunk waits for the single write
    assert await collection.count_documents({}) == 50
    assert not insert.done()
    gate.set()
    await single
    await insert
    assert await collection.count_documents({}) == 100


async def test_a_bulk_command_waits_at_most_max_wait() -> None:
    # given lanes that wait at most 50 ms, and a single write that lasts
    short = WriteLanes(max_wait=0.05)
    with short.single():
        # when a bulk write takes its turn
        started = time.monotonic()
        await short.bulk_turn()
        waited = time.monotonic() - started

    # then it went on after about max_wait
    assert 0.04 <= waited < 1.0


async def test_a_bulk_command_goes_on_as_soon_as_the_single_writes_end() -> None:
    lanes_ = WriteLanes(max_wait=10.0)
    order: list[str] = []

    async def bulk() -> None:
        await lanes_.bulk_turn()
        order.append("bulk")

    with lanes_.single(), lanes_.single():
        turn = asyncio.create_task(bulk())
        await asyncio.sleep(0.05)
        order.append("singles end")
    await asyncio.wait_for(turn, timeout=1)
    assert order == ["singles end", "bulk"]
