"""The database commands a batch sends grow only by one per ``write_chunk_size`` items.

Every development response carries ``extensions.cost.dbCommands`` (authentication
and the API-call meter are not counted). The numbers are pinned exactly, with
each command named, at two sizes of each batch; ``track_cost`` names them at the
service level.
"""

from __future__ import annotations

import itertools
from typing import Any

from bson import ObjectId

from ontology.batches.service import ThingUpdate
from ontology.connections.models import NewConnection
from ontology.db.cost import track_cost
from ontology.groups.models import Plan
from ontology.kit.ids import to_global_id
from ontology.runtime import Runtime
from ontology.things.models import NewThing, ThingChanges
from ontology.things.repository import ThingRepository
from tests.batches.support import (
    CONNECT,
    INSERT,
    UPDATE,
    counters,
    db_commands,
    events_of_type,
    ids_of,
    item,
    nodes,
    payload,
    quota_error,
    run_batch,
    stored,
    thing,
)
from tests.factories import Api, make_tenant, true_counts

# batchInsertThings, in two transactions (Ledger.write_reserved): the reservation, short,
# so the group's other writes go on while the batch writes: findAndModify (the quota
# reservation and counters, one pipeline update of the group, returning it as it was for
# quota alerts), update (the group's metric time buckets, one bulk write: counted with the
# reservation, so the data transaction does not touch them), insert (the reservation's
# record), commitTransaction; then the data: insert (every thing: one insert per
# ``write_chunk_size`` things, 50 by default, so that other tenants' writes interleave),
# insert (the batch_imported event), delete (the reservation's record),
# commitTransaction.
# Every other event insert is followed by one update of the metric counters (one bulk
# write; a reserved batch's events by an actor update the actor's totals there too).
RESERVATION = ["findAndModify", "update", "insert", "commitTransaction"]
INSERT_COMMANDS = [*RESERVATION, "insert", "insert", "delete", "commitTransaction"]
# batchCreateConnections: aggregate (both ends of every item: one $documents + $lookup
# of all the ids), aggregate (the stored connections leaving those things, likewise),
# findAndModify (reservation), insert (every connection), update (every thing's connection
# counts, one bulk write), aggregate (the targets' types and new inbound counts, one
# $documents + $lookup), update (the group's inboundByType; a target that is content adds
# a find of the group's engagement board before it), insert (the event),
# commitTransaction.
CONNECT_COMMANDS = [
    "aggregate",
    "aggregate",
    "findAndModify",
    "insert",
    "update",
    "aggregate",
    "update",
    "insert",
    "update",
    "commitTransaction",
]
# batchUpdateThings: aggregate (every thing by id, one $documents + $lookup), the
# reservation (as above), update (every thing at its version, one bulk write), insert
# (the thing_updated events and the summary event, one insert_many), delete (the
# reservation's record), commitTransaction.
UPDATE_COMMANDS = [
    "aggregate",
    *RESERVATION,
    "update",
    "insert",
    "delete",
    "commitTransaction",
]


async def seed_things(runtime: Runtime, group_id: ObjectId, count: int) -> list[ObjectId]:
    """``count`` creators, inserted by the batch service itself (so counters match)."""
    items = [NewThing("creator", f"T{i:05d}", {"i": i}, "active") for i in range(count)]
    result = await runtime.services.batches.insert_things(group_id, items)
    assert result.failed == 0
    return [d["_id"] for d in await stored(runtime, "things", {"groupId": group_id})]


async def test_each_batch_names_its_commands(api: Api) -> None:
    # given a tenant with 3 things
    tenant = await make_tenant(api.runtime, "acme")
    batches = api.runtime.services.batches
    a, b, c = await seed_things(api.runtime, tenant.id, 3)

    # when each batch runs at the service level, counting its commands
    with track_cost() as inserted:
        await batches.insert_things(tenant.id, [NewThing("creator", "D", {}, "active")])
    with track_cost() as connected:
        await batches.create_connections(
            tenant.id, [NewConnection(a, b, "references"), NewConnection(b, c, "references")]
        )
    with track_cost() as updated:
        await batches.update_things(tenant.id, [ThingUpdate(a, ThingChanges(name="A2"))])

    # then each sends exactly the commands of its shape
    assert inserted.command_names == INSERT_COMMANDS
    assert connected.command_names == CONNECT_COMMANDS
    assert updated.command_names == UPDATE_COMMANDS


def chunks(items: int, size: int = 50) -> int:
    """Write commands for ``items`` documents at the default ``write_chunk_size``."""
    return -(-items // size)


async def test_10000_things_over_http_take_one_more_command_per_chunk_of_50(api: Api) -> None:
    # given a PRO tenant (entities_total 10,000)
    tenant = await make_tenant(api.runtime, "acme", Plan.PRO)
    hundred = [thing(name=f"H{i:03d}", properties={"i": i}) for i in range(100)]
    small = await make_tenant(api.runtime, "small", Plan.PRO)

    # when 100 things are inserted by one tenant, and 10,000 by another
    body_100 = await run_batch(api, small.user, INSERT, hundred)
    items = [thing(name=f"T{i:05d}", properties={"i": i}) for i in range(10_000)]
    body = await run_batch(api, tenant.user, INSERT, items)

    # then both send the same 7 commands besides the inserts of the things, 2 and 200,
    # and the batch that reaches the limit (10,000 of 10,000) 4 more for its quota alert
    # (insert the event, its metric counters, the group's counts, find the webhooks)
    alert = 4
    assert (db_commands(body_100), db_commands(body)) == (
        7 + chunks(100),
        7 + chunks(10_000) + alert,
    )
    assert (db_commands(body_100), db_commands(body)) == (9, 211)

    # and every item is CREATED, in order, with its own id
    result = body["data"]["batchInsertThings"]
    ids = ids_of(result)
    [event] = await events_of_type(api.runtime, tenant.id, "batch_imported")
    assert result == payload(
        [item(i, "CREATED", ids[i]) for i in range(10_000)],
        batch_event_id=to_global_id("Event", event["_id"]),
    )
    assert result["summary"] == {
        "total": 10_000,
        "succeeded": 10_000,
        "failed": 0,
        "successRate": 1.0,
    }
    assert len(set(ids)) == 10_000
    assert event["metadata"] == {"count": 10_000, "created": 10_000, "failed": 0}

    # and the counters read 10,000 things (exactly the PRO limit), matching what is stored
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
    assert (await counters(api.runtime, tenant.id))["things"] == 10_000
    assert (await counters(api.runtime, tenant.id))["thingsByType"] == {"creator": 10_000}
    # and the first and last ids resolve to their items
    ends = await nodes(api, tenant.user, [ids[0], ids[-1]])
    assert [(n["name"], n["properties"]) for n in ends] == [
        ("T00000", {"i": 0}),
        ("T09999", {"i": 9999}),
    ]

    # when one more thing is asked for, then it is refused at the limit
    more = (await run_batch(api, tenant.user, INSERT, [thing(name="One more")]))["data"]
    refusal = quota_error(0, "things.0", "entities_total", 10_000, 1, 10_000)
    assert more["batchInsertThings"] == payload([item(0, "FAILED", errors=[refusal])])


def pairs(ids: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` distinct references connections between the given things."""
    ordered = itertools.permutations(ids, 2)
    return [
        {"fromId": a, "toId": b, "type": "references"} for a, b in itertools.islice(ordered, count)
    ]


async def test_connection_batches_of_100_and_1000_grow_by_one_command_per_chunk(api: Api) -> None:
    # given a tenant with 40 things (1,560 ordered pairs)
    tenant = await make_tenant(api.runtime, "acme", Plan.ENTERPRISE)
    ids = [to_global_id("Thing", i) for i in await seed_things(api.runtime, tenant.id, 40)]
    links = pairs(ids, 1100)

    # when 100 connections are created, then 1,000 others
    body_100 = await run_batch(api, tenant.user, CONNECT, links[:100])
    body_1000 = await run_batch(api, tenant.user, CONNECT, links[100:])

    # then both send the same 9 commands besides the inserts of the connections (1 and 5),
    # and every connection is created and counted
    assert (db_commands(body_100), db_commands(body_1000)) == (9 + chunks(100), 9 + chunks(1000))
    for body, size in ((body_100, 100), (body_1000, 1000)):
        statuses = {r["status"] for r in body["data"]["batchCreateConnections"]["results"]}
        assert (statuses, len(body["data"]["batchCreateConnections"]["results"])) == (
            {"CREATED"},
            size,
        )
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
    assert (await counters(api.runtime, tenant.id))["connections"] == 1100
    things = await stored(api.runtime, "things", {"groupId": tenant.id})
    assert sum(t["connectionCounts"]["outbound"] for t in things) == 1100
    assert sum(t["connectionCounts"]["inbound"] for t in things) == 1100


async def test_update_batches_of_100_and_1000_grow_by_one_command_per_chunk(api: Api) -> None:
    # given a tenant with 1,000 things
    tenant = await make_tenant(api.runtime, "acme", Plan.ENTERPRISE)
    ids = [to_global_id("Thing", i) for i in await seed_things(api.runtime, tenant.id, 1000)]

    # when 100 things are renamed, then all 1,000
    body_100 = await run_batch(
        api, tenant.user, UPDATE, [{"id": i, "name": "first"} for i in ids[:100]]
    )
    body_1000 = await run_batch(
        api, tenant.user, UPDATE, [{"id": i, "name": "second"} for i in ids]
    )

    # then both send the same 7 commands besides the updates of the things and the inserts
    # of their thing_updated events (and the summary event), one per chunk of 50 each
    assert (db_commands(body_100), db_commands(body_1000)) == (
        7 + chunks(100) + chunks(101),
        7 + chunks(1000) + chunks(1001),
    )
    results = body_1000["data"]["batchUpdateThings"]["results"]
    assert {r["status"] for r in results} == {"UPDATED"}
    things = await stored(api.runtime, "things", {"groupId": tenant.id})
    assert {(t["name"], t["version"]) for t in things[:100]} == {("second", 3)}
    assert {(t["name"], t["version"]) for t in things[100:]} == {("second", 2)}
    assert len(await events_of_type(api.runtime, tenant.id, "thing_updated")) == 1100
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_each_versioned_update_of_a_batch_is_an_index_lookup(runtime: Runtime) -> None:
    # given a tenant with things
    tenant = await make_tenant(runtime, "acme")
    [thing_id, *_] = await seed_things(runtime, tenant.id, 50)

    # when the filter of the update a batch sends for one thing is explained (as a find:
    # the embedded server's explain of an update does not plan its query)
    query = {**ThingRepository._live(tenant.id), "_id": thing_id, "version": 1}
    explain = await runtime.database.collection("things").find(query).explain()

    # then it reads one document through things_live, not every thing stored
    plan = explain["queryPlanner"]["winningPlan"]
    assert (plan["stage"], plan["inputStage"]["stage"], plan["inputStage"]["indexName"]) == (
        "FETCH",
        "IXSCAN",
        "things_live",
    )
    assert explain["executionStats"]["totalDocsExamined"] == 1
