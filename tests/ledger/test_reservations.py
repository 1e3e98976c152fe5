"""Long writes (batches) reserve their counts in a short transaction of their own: the
group's single writes go on while a batch writes its data, a failed or abandoned batch
gives its reservation back, and the counters equal the stored documents throughout
the windows documented in ``ontology.ledger.ledger``."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from bson import ObjectId

from ontology.db.client import Document
from ontology.events.service import NewEvent
from ontology.kit.clock import utcnow
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.ledger.ledger import ReservationLapsedError, TenantWrite
from ontology.runtime import Runtime
from ontology.things.models import NewThing, new_thing_document
from tests.factories import clock_at, group_counts, make_tenant, raw_count, true_counts
from tests.quotas.support import stored_counts


def batch_of(
    runtime: Runtime, group_id: ObjectId, size: int
) -> tuple[CountDelta, list[Document], list[Document]]:
    """A batch's counts, its event and its things, as the batch service builds them."""
    now = utcnow()
    docs = [
        new_thing_document(group_id, NewThing("creator", f"B{n}", {}, "active"), now)
        for n in range(size)
    ]
    delta = CountDelta().created("things", docs)
    for doc in docs:
        delta.things(doc["type"], 1, doc["sizeBytes"], status=doc["status"])
    event = new_event(group_id, "batch_imported", timestamp=now, metadata={"count": size})
    return delta, [event], docs


async def month_events(runtime: Runtime, group_id: ObjectId) -> int:
    """The events counted in the group's bucket of this month."""
    bucket = await runtime.database.collection("counters").find_one(
        {"groupId": group_id, "thingId": None, "period": "month"}
    )
    return int(bucket["events"]) if bucket else 0


async def test_a_single_write_goes_on_while_a_batch_writes_its_data(runtime: Runtime) -> None:
    # given a tenant whose batch has reserved its counts and is writing its data
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    delta, events, docs = batch_of(runtime, tenant.id, 50)
    started, gate = asyncio.Event(), asyncio.Event()
    runs = []

    async def data(w: TenantWrite) -> None:
        runs.append(w.session)
        started.set()
        await runtime.repos.things.insert_many(tenant.id, docs, w.session)
        await gate.wait()

    batch = asyncio.create_task(ledger.write_reserved(tenant.id, delta, events, data))
    await started.wait()

    # when a single write of the same group is sent meanwhile
    logged = await asyncio.wait_for(
        runtime.services.events.log(tenant.id, NewEvent("content_event")), timeout=10
    )

    # then it is stored before the batch ends, and counted with the batch's reservation
    assert not batch.done()
    assert await raw_count(runtime, "events", {"_id": logged["_id"]}) == 1
    assert (await group_counts(runtime, tenant.id))["things"] == 50
    gate.set()
    await batch
    # and once the batch commits, its record is gone and the counters equal the truth
    assert await raw_count(runtime, "ledger_reservations", {}) == 0
    assert await raw_count(runtime, "things", {"groupId": tenant.id}) == 50
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
    assert (await runtime.services.counter_check.check_group(tenant.id)).drifts == []
    # and the batch's data ran once: the single write's metric buckets, counted with the
    # reservation, did not make the batch's transaction conflict and start again
    assert len(runs) == 1


async def test_a_failed_batch_gives_its_reservation_back(runtime: Runtime) -> None:
    # given a tenant
    tenant = await make_tenant(runtime, "acme")
    before = await stored_counts(runtime, tenant.id)
    delta, events, docs = batch_of(runtime, tenant.id, 20)

    async def data(w: TenantWrite) -> None:
        await runtime.repos.things.insert_many(tenant.id, docs, w.session)
        raise RuntimeError("the batch fails after writing its things")

    # when its batch fails in its data transaction
    with pytest.raises(RuntimeError, match="the batch fails"):
        await runtime.services.ledger.write_reserved(tenant.id, delta, events, data)

    # then nothing is stored, and the counters are as before
    assert await raw_count(runtime, "things", {"groupId": tenant.id}) == 0
    assert await raw_count(runtime, "ledger_reservations", {}) == 0
    assert (
        await stored_counts(runtime, tenant.id) == before == await true_counts(runtime, tenant.id)
    )
    # and its event is taken back from the group's time buckets
    assert await month_events(runtime, tenant.id) == 0
    assert (await runtime.services.counter_check.check_group(tenant.id)).drifts == []


async def test_a_reservation_left_by_a_dead_process_is_released_after_its_lifetime(
    runtime: Runtime,
) -> None:
    # given a batch that reserved its counts, then its process died before its data
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    delta, events, _ = batch_of(runtime, tenant.id, 30)
    start = utcnow()
    with clock_at(start) as clock:
        await ledger.reserve_ahead(tenant.id, delta, events)
        assert (await group_counts(runtime, tenant.id))["things"] == 30
        assert await month_events(runtime, tenant.id) == 1

        # when the sweep runs within the reservation's lifetime, then after it
        assert await ledger.release_expired() == 0
        clock.set(start + timedelta(seconds=ledger.reservation_seconds + 1))
        released = await ledger.release_expired()

    # then it is released once, and the counters equal the stored documents again
    assert released == 1
    assert await ledger.release_expired() == 0
    assert await raw_count(runtime, "ledger_reservations", {}) == 0
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
    assert await month_events(runtime, tenant.id) == 0


async def test_a_batch_that_outlives_its_reservation_stores_nothing(runtime: Runtime) -> None:
    # given a batch writing its data
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    delta, events, docs = batch_of(runtime, tenant.id, 10)
    started, gate = asyncio.Event(), asyncio.Event()
    runs = []

    async def data(w: TenantWrite) -> None:
        runs.append(w.session)
        started.set()
        await runtime.repos.things.insert_many(tenant.id, docs, w.session)
        await gate.wait()

    start = utcnow()
    with clock_at(start) as clock:
        batch = asyncio.create_task(ledger.write_reserved(tenant.id, delta, events, data))
        await started.wait()

        # when its reservation's lifetime passes and the sweep releases it, then the
        # batch goes on
        clock.set(start + timedelta(seconds=ledger.reservation_seconds + 1))
        assert await ledger.release_expired() == 1
        gate.set()
        with pytest.raises(ReservationLapsedError):
            await batch

    # then the batch stored nothing, and the counters equal the stored documents
    assert await raw_count(runtime, "things", {"groupId": tenant.id}) == 0
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
