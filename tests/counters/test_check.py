"""``ontology counters check``: counters recounted from the collections, drifts reported
exactly, repaired without losing writes that land during the repair."""

from __future__ import annotations

import asyncio
from typing import Any

from bson import ObjectId

from ontology.config import Settings
from ontology.counters.service import Drift
from ontology.db.cost import track_cost
from ontology.kit.clock import utcnow
from ontology.kit.ids import parse_global_id
from ontology.knowledge.service import KnowledgeKind, NewKnowledge
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.people.service import NewPerson
from ontology.runtime import open_runtime
from ontology.things.models import NewThing, new_thing_document
from tests.db.test_indexes import assert_index_scan
from tests.factories import (
    Api,
    Tenant,
    connect,
    create_thing,
    make_tenant,
    stored_bytes,
    true_counts,
)
from tests.quotas.support import stored_counts

THINGS = """
query($status: String, $type: String) {
  things(status: $status, type: $type, first: 10) { totalCount }
}
"""
UPDATE_STATUS = """
mutation($id: ID!, $status: String!) {
  updateThing(input: {id: $id, status: $status}) { errors { code } }
}
"""
BATCH_UPDATE = """
mutation($updates: [UpdateThingInput!]!) {
  batchUpdateThings(input: {updates: $updates}) { errors { code } }
}
"""
DELETE = "mutation($id: ID!) { deleteThing(input: {id: $id}) { errors { code } } }"


async def small_graph(api: Api, tenant: Tenant) -> dict[str, str]:
    key = tenant.user
    ada = await create_thing(api, key, "creator", "Ada", status="active")
    bob = await create_thing(api, key, "creator", "Bob", status="draft")
    post = await create_thing(api, key, "blog_post", "Post", status="published")
    await connect(api, key, ada, post, "authored")
    await connect(api, key, bob, ada, "following")
    await connect(api, key, ada, bob, "collaborates_with")
    group_id = tenant.id
    await api.runtime.services.people.create(
        group_id, NewPerson(email="ada@example.com", name="Ada")
    )
    await api.runtime.services.knowledge.add(
        group_id, NewKnowledge(kind=KnowledgeKind.LABEL, text="hello")
    )
    return {"ada": ada, "bob": bob, "post": post}


async def test_the_recount_is_what_is_stored(api: Api) -> None:
    # given a group with things of three statuses, connections, people, knowledge
    tenant = await make_tenant(api.runtime, "acme")
    await small_graph(api, tenant)

    # when
    truth = await true_counts(api.runtime, tenant.id)

    # then: counted by hand
    events = await api.runtime.database.collection("events").count_documents({"groupId": tenant.id})
    assert truth == {
        "things": 3,
        "thingsByType": {"creator": 2, "blog_post": 1},
        "thingsByStatus": {"active": 1, "draft": 1, "published": 1},
        "connections": 3,
        "connectionsByType": {"authored": 1, "following": 1, "collaborates_with": 1},
        "inboundByType": {"blog_post": 1, "creator": 2},
        "events": events,
        "people": 1,
        "knowledge": 1,
        "storageBytes": await stored_bytes(api, tenant.id),
    }
    assert await stored_counts(api.runtime, tenant.id) == truth
    assert [c.drifts for c in await api.runtime.services.counter_check.check()] == [[]]


async def test_status_counts_follow_every_write_and_serve_total_count(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ids = await small_graph(api, tenant)
    key = tenant.user

    async def totals() -> dict[str, Any]:
        result = {}
        for status in ("active", "draft", "published", "archived"):
            data = await api.data(key, THINGS, {"status": status})
            result[status] = data["things"]["totalCount"]
        return result

    assert await totals() == {"active": 1, "draft": 1, "published": 1, "archived": 0}

    # when: a single update, a batch update, a delete
    data = await api.data(key, UPDATE_STATUS, {"id": ids["bob"], "status": "active"})
    assert data["updateThing"]["errors"] == []
    assert await totals() == {"active": 2, "draft": 0, "published": 1, "archived": 0}
    updates = [
        {"id": ids["ada"], "status": "archived"},
        {"id": ids["post"], "status": "published"},  # unchanged
    ]
    data = await api.data(key, BATCH_UPDATE, {"updates": updates})
    assert data["batchUpdateThings"]["errors"] == []
    assert await totals() == {"active": 1, "draft": 0, "published": 1, "archived": 1}
    data = await api.data(key, DELETE, {"id": ids["ada"]})
    assert data["deleteThing"]["errors"] == []

    # then
    assert await totals() == {"active": 1, "draft": 0, "published": 1, "archived": 0}
    both = await api.data(key, THINGS, {"status": "active", "type": "creator"})
    assert both["things"]["totalCount"] is None  # no counter by type and status
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def corrupt(api: Api, group_id: ObjectId, thing_id: ObjectId) -> None:
    groups = api.runtime.database.collection("groups")
    await groups.update_one(
        {"_id": group_id},
        {
            "$inc": {
                "counts.things": 5,
                "counts.thingsByType.creator": -1,
                "counts.storageBytes": 100,
                "counts.connectionsByType.ghost": 2,
            },
            "$unset": {"counts.thingsByStatus": "", "newest.connections": ""},
        },
    )
    await api.runtime.database.collection("things").update_one(
        {"_id": thing_id}, {"$inc": {"connectionCounts.inbound": 3}}
    )


async def test_check_reports_each_drift_and_repair_fixes_them(api: Api) -> None:
    # given counters corrupted by hand, and a healthy neighbour
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "other")
    ids = await small_graph(api, tenant)
    await small_graph(api, other)
    ada = parse_global_id(ids["ada"], "Thing")
    assert ada is not None
    truth = await true_counts(api.runtime, tenant.id)
    newest_connection = max(
        [
            d["_id"]
            async for d in api.runtime.database.collection("connections").find(
                {"groupId": tenant.id}
            )
        ]
    )
    await corrupt(api, tenant.id, ada)
    service = api.runtime.services.counter_check

    # when
    checked = await service.check()

    # then: every drift, exactly; nothing written; the neighbour is clean
    by_slug = {c.slug: c for c in checked}
    assert by_slug["other"].drifts == []
    assert by_slug["acme"].drifts == [
        Drift("counts.things", 8, 3),
        Drift("counts.storageBytes", truth["storageBytes"] + 100, truth["storageBytes"]),
        Drift("counts.thingsByType.creator", 1, 2),
        Drift("counts.thingsByStatus.active", 0, 1),
        Drift("counts.thingsByStatus.draft", 0, 1),
        Drift("counts.thingsByStatus.published", 0, 1),
        Drift("counts.connectionsByType.ghost", 2, 0),
        Drift("newest.connections", None, newest_connection),
        Drift(f"thing {ada} connectionCounts.inbound", 4, 1),
    ]
    assert by_slug["acme"].repaired is False
    assert (await stored_counts(api.runtime, tenant.id))["things"] == 8

    # when repaired
    [repaired] = await service.check("acme", repair=True)

    # then
    assert repaired.repaired is True
    assert len(repaired.drifts) == 9
    assert await stored_counts(api.runtime, tenant.id) == truth
    thing = await api.runtime.database.collection("things").find_one({"_id": ada})
    assert thing is not None and thing["connectionCounts"]["inbound"] == 1
    assert [c.drifts for c in await service.check()] == [[], []]


async def test_a_repair_loses_no_write_made_while_it_runs(api: Api, settings: Settings) -> None:
    # given a corrupted group, and a second process (its own client) repairing it
    tenant = await make_tenant(api.runtime, "acme")
    ids = await small_graph(api, tenant)
    ada = parse_global_id(ids["ada"], "Thing")
    assert ada is not None
    await corrupt(api, tenant.id, ada)
    writes = 20

    async def write_through_the_api() -> None:
        for i in range(writes):
            thing = await create_thing(api, tenant.user, "creator", f"W{i}", status="draft")
            if i % 4 == 0:
                await connect(api, tenant.user, thing, ids["ada"], "following")
            await asyncio.sleep(0)

    # when: writes run in a task while the other process repairs, several times
    async with open_runtime(settings) as operator:
        operator.services.counter_check.batch_size = 2  # many batches: a long recount
        task = asyncio.create_task(write_through_the_api())
        repairs = 0
        while not task.done():
            await operator.services.counter_check.check("acme", repair=True)
            repairs += 1
            await asyncio.sleep(0.05)  # let writes through between repairs
        await task

    # then: every write counted on top of the repaired values (the writes that met a
    # repair's transaction went on to the process's counter shard: folded first)
    assert repairs >= 2
    await api.runtime.services.ledger.fold_all()
    truth = await true_counts(api.runtime, tenant.id)
    assert truth["things"] == 3 + writes
    assert truth["thingsByStatus"] == {"active": 1, "draft": 1 + writes, "published": 1}
    assert await stored_counts(api.runtime, tenant.id) == truth
    assert [c.drifts for c in await api.runtime.services.counter_check.check()] == [[]]


async def test_a_recount_sends_commands_by_batch_not_by_document(api: Api) -> None:
    # given 3 things, 3 connections, ~7 events, 1 person, 1 knowledge item
    tenant = await make_tenant(api.runtime, "acme")
    await small_graph(api, tenant)
    service = api.runtime.services.counter_check

    async def commands(batch_size: int) -> list[str]:
        service.batch_size = batch_size
        with track_cost() as cost:
            await service.check("acme")
        return cost.command_names

    # when
    large = await commands(1000)
    small = await commands(2)

    # then: with one batch, one command per collection (and the things' connections)
    assert large == [
        "find",  # groups (the slug)
        "find",  # the group's counters
        "find",  # things
        "find",  # their outbound connections
        "find",  # their inbound connections
        "find",  # connections
        "find",  # events
        "find",  # knowledge
        "find",  # thing_knowledge
        "find",  # people
        "find",  # the group's pending batch reservations
        "find",  # the group's counter shards
        "find",  # the group's metric buckets
        "commitTransaction",
    ]
    # with batches of 2: a getMore per further batch, two lookups per batch of things
    assert small.count("getMore") > 0
    assert small.count("find") == large.count("find") + 2


async def test_metric_buckets_that_still_exist_are_recounted(api: Api) -> None:
    # given a group whose day bucket of today is corrupted (and one of an hour)
    tenant = await make_tenant(api.runtime, "acme")
    await small_graph(api, tenant)
    counters = api.runtime.database.collection("counters")
    day = await counters.find_one({"groupId": tenant.id, "thingId": None, "period": "day"})
    hour = await counters.find_one({"groupId": tenant.id, "thingId": None, "period": "hour"})
    assert day is not None and hour is not None
    await counters.update_one(
        {"_id": day["_id"]},
        {"$inc": {"events": 2, "byType.thing_created": -1, "byType.ghost": 4, "revenue": 9.5}},
    )
    await counters.update_one({"_id": hour["_id"]}, {"$unset": {"byType.connection_created": ""}})
    service = api.runtime.services.counter_check

    # when checked, then repaired
    [checked] = await service.check("acme")
    [repaired] = await service.check("acme", repair=True)

    # then each drift is reported, then fixed
    events, created = day["events"], day["byType"]["thing_created"]
    linked = hour["byType"]["connection_created"]
    at_day, at_hour = day["start"].isoformat(), hour["start"].isoformat()
    assert checked.drifts == [
        Drift(f"bucket day {at_day} events", events + 2, events),
        Drift(f"bucket day {at_day} byType.ghost", 4, 0),
        Drift(f"bucket day {at_day} byType.thing_created", created - 1, created),
        Drift(f"bucket day {at_day} revenue", 9.5, 0.0),
        Drift(f"bucket hour {at_hour} byType.connection_created", 0, linked),
    ]
    assert repaired.repaired and len(repaired.drifts) == 5
    after = await counters.find_one({"_id": day["_id"]})
    assert after is not None
    assert (after["events"], after["byType"]["thing_created"], after["revenue"]) == (
        events,
        created,
        0.0,
    )
    assert [c.drifts for c in await service.check()] == [[]]


async def test_a_batch_reservation_pending_is_no_drift_and_a_repair_keeps_it(api: Api) -> None:
    # given a group with a batch whose counts are reserved (its reservation transaction
    # committed) and whose data is not written yet
    runtime = api.runtime
    tenant = await make_tenant(runtime, "acme")
    await small_graph(api, tenant)
    before = await stored_counts(runtime, tenant.id)
    docs = [
        new_thing_document(tenant.id, NewThing("creator", f"B{n}", {}, "draft"), utcnow())
        for n in range(3)
    ]
    delta = CountDelta().created("things", docs)
    for doc in docs:
        delta.things(doc["type"], 1, doc["sizeBytes"], status=doc["status"])
    event = new_event(tenant.id, "batch_imported", timestamp=utcnow(), metadata={"count": 3})
    reservation = await runtime.services.ledger.reserve_ahead(tenant.id, delta, [event])
    reserved = await stored_counts(runtime, tenant.id)
    assert (reserved["things"], reserved["thingsByStatus"]["draft"]) == (6, 4)
    assert reserved["events"] == before["events"] + 1

    # when the counters are checked, then repaired
    service = runtime.services.counter_check
    checked = await service.check()
    [repaired] = await service.check("acme", repair=True)

    # then the reserved counts (and the event the reservation added to the group's time
    # buckets) are part of the truth: no drift, nothing taken back
    assert [c.drifts for c in checked] == [[]]
    assert repaired.drifts == []
    assert await stored_counts(runtime, tenant.id) == reserved

    # and the read of the group's reservations is an index scan (explained without its hint)
    reservations = runtime.database.collection("ledger_reservations")
    explained = await reservations.find({"groupId": tenant.id}, {"fields": 1}).explain()
    assert_index_scan(explained, "ledger_reservations_group")

    # and once the reservation is released, the counters are what they were, still exact
    assert await runtime.services.ledger.release(tenant.id, reservation) is True
    assert await stored_counts(runtime, tenant.id) == before
    assert [c.drifts for c in await service.check()] == [[]]
