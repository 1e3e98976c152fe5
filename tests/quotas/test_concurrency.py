"""32 concurrent writers against one limit: never past it, exactly filled, every refusal exact.

Single writes go through the HTTP API; "batch-sized" reservations go through
``Ledger.write`` with a work function that reserves ``n`` at once and
inserts ``n`` valid documents, as a batch mutation would. Every writer keeps
writing until it is refused; single writes can only be refused once the
counter is at the limit, so the limit is always filled exactly.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from ontology.connections.models import NewConnection, count_changes, new_connection_document
from ontology.kit.clock import utcnow
from ontology.kit.errors import ItemError, RejectedError
from ontology.ledger.counters import CountDelta
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.events import new_event
from ontology.ledger.ledger import TenantWrite
from ontology.ledger.plans import GIB, Metric
from ontology.runtime import Runtime
from ontology.things.models import NewThing, new_thing_document
from tests.factories import Api, global_id, make_tenant, raw_count, true_counts
from tests.quotas.support import (
    CREATE_CONNECTION,
    CREATE_PERSON,
    CREATE_THING,
    T0,
    bump_counters,
    events_of_type,
    insert_things,
    refusal,
    refusal_message,
    set_limit,
    stored_counts,
)

WRITERS = 32
BATCH_SIZES = [2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7]  # 12 batch writers
SINGLE_WRITERS = WRITERS - len(BATCH_SIZES)  # 20 single writers over HTTP
LIMIT = 100


@dataclass
class Outcome:
    """What the writers got back: stored items, and every refusal as returned."""

    stored: int = 0
    api_refusals: list[list[dict[str, Any]]] = field(default_factory=list)
    batch_refusals: list[tuple[int, list[ItemError]]] = field(default_factory=list)


def quota_item_error(metric: Metric, current: int, requested: int, limit: int) -> ItemError:
    return ItemError(
        QuotaErrorCode.QUOTA_EXCEEDED,
        refusal_message(metric, current, requested, limit),
        "type",
        None,
        details={
            "metric": metric.value,
            "current": current,
            "requested": requested,
            "limit": limit,
            "available": max(0, limit - current),
        },
    )


def assert_batch_refusals(outcome: Outcome, metric: Metric) -> None:
    """A batch of n is refused only when current + n > limit; the error says so exactly."""
    for size, errors in outcome.batch_refusals:
        assert len(errors) == 1, errors
        current = errors[0].details["current"] if errors[0].details else None
        assert isinstance(current, int)
        assert LIMIT - size < current <= LIMIT, (size, current)
        assert errors == [quota_item_error(metric, current, size, LIMIT)]


async def api_writer(
    api: Api, key: str, query: str, next_input: Iterator[dict[str, Any]], outcome: Outcome
) -> None:
    """Write one item at a time until refused."""
    while True:
        data = await api.data(key, query, {"input": next(next_input)})
        (payload,) = data.values()
        if payload["errors"]:
            outcome.api_refusals.append(payload["errors"])
            return
        outcome.stored += 1


async def batch_writer(
    runtime: Runtime,
    group_id: ObjectId,
    size: int,
    build: Any,
    outcome: Outcome,
) -> None:
    """Reserve and insert ``size`` items at once until refused."""
    ledger = runtime.services.ledger
    while True:
        work = build(size)
        try:
            await ledger.write(group_id, work)
        except RejectedError as refused:
            outcome.batch_refusals.append((size, refused.errors))
            return
        outcome.stored += size


def thing_batch(runtime: Runtime, group_id: ObjectId) -> Any:
    def build(size: int) -> Any:
        now = utcnow()
        docs = [
            new_thing_document(group_id, NewThing("creator", f"Batch{i}", {}, "active"), now)
            for i in range(size)
        ]
        delta = CountDelta().things(
            "creator", size, sum(doc["sizeBytes"] for doc in docs), status="active"
        )

        async def work(w: TenantWrite) -> None:
            await w.count(delta)
            await runtime.database.collection("things").insert_many(docs, session=w.session)

        return work

    return build


async def test_32_writers_store_exactly_the_entities_limit(api: Api) -> None:
    # given a pro group whose entities limit is 100
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, LIMIT)
    outcome = Outcome()
    names = (
        {"type": "creator", "name": f"Single{i}", "status": "active"} for i in itertools.count()
    )
    build = thing_batch(api.runtime, tenant.id)

    # when 20 single writers (HTTP) and 12 batch writers race until each is refused
    await asyncio.gather(
        *(
            api_writer(api, tenant.user, CREATE_THING, names, outcome)
            for _ in range(SINGLE_WRITERS)
        ),
        *(batch_writer(api.runtime, tenant.id, n, build, outcome) for n in BATCH_SIZES),
    )

    # then exactly 100 things are stored and counted
    assert outcome.stored == LIMIT
    assert (
        await raw_count(api.runtime, "things", {"groupId": tenant.id, "deletedAt": None}) == LIMIT
    )
    counts = await stored_counts(api.runtime, tenant.id)
    assert (counts["things"], counts["thingsByType"]) == (LIMIT, {"creator": LIMIT})
    assert counts == await true_counts(api.runtime, tenant.id)
    # and every writer was refused exactly once, with the exact quota error
    assert outcome.api_refusals == [[refusal(Metric.ENTITIES_TOTAL, LIMIT, 1, LIMIT, "type")]] * (
        SINGLE_WRITERS
    )
    assert len(outcome.batch_refusals) == len(BATCH_SIZES)
    assert_batch_refusals(outcome, Metric.ENTITIES_TOTAL)
    # and the refusals of that hour were logged once
    logged = await events_of_type(api.runtime, tenant.id, "quota_exceeded")
    assert [e["metadata"]["metric"] for e in logged] == ["entities_total"]


async def test_32_writers_store_exactly_the_connections_limit(api: Api) -> None:
    # given a pro group with 16 things (480 possible connections) and a limit of 100 connections
    tenant = await make_tenant(api.runtime, "acme")
    things = [doc["_id"] for doc in await insert_things(api.runtime, tenant.id, 16)]
    await set_limit(api.runtime, tenant.id, Metric.CONNECTIONS_TOTAL, LIMIT)
    pairs = iter(
        [
            (a, b, kind)
            for kind in ("references", "part_of")
            for a, b in itertools.permutations(things, 2)
        ]
    )
    inputs = (
        {"fromId": global_id("Thing", a), "toId": global_id("Thing", b), "type": kind}
        for a, b, kind in pairs
    )
    runtime = api.runtime

    def build(size: int) -> Any:
        now = utcnow()
        docs = [
            new_connection_document(tenant.id, NewConnection(a, b, kind), now)
            for a, b, kind in itertools.islice(pairs, size)
        ]
        delta = CountDelta()
        changes = []
        for doc in docs:
            delta.connections(doc["type"], 1, doc["sizeBytes"])
            changes += count_changes(doc, 1)

        async def work(w: TenantWrite) -> None:
            await w.count(delta)
            await runtime.database.collection("connections").insert_many(docs, session=w.session)
            await runtime.services.connections.engagement.record(tenant.id, changes, w.session)

        return work

    outcome = Outcome()

    # when 20 single writers (HTTP) and 12 batch writers race until each is refused
    await asyncio.gather(
        *(
            api_writer(api, tenant.user, CREATE_CONNECTION, inputs, outcome)
            for _ in range(SINGLE_WRITERS)
        ),
        *(batch_writer(runtime, tenant.id, n, build, outcome) for n in BATCH_SIZES),
    )

    # then exactly 100 connections are stored and counted, and every refusal is exact
    assert outcome.stored == LIMIT
    assert await raw_count(runtime, "connections", {"groupId": tenant.id}) == LIMIT
    counts = await stored_counts(runtime, tenant.id)
    assert counts["connections"] == LIMIT
    assert counts == await true_counts(runtime, tenant.id)
    assert (
        outcome.api_refusals
        == [[refusal(Metric.CONNECTIONS_TOTAL, LIMIT, 1, LIMIT, "type")]] * SINGLE_WRITERS
    )
    assert len(outcome.batch_refusals) == len(BATCH_SIZES)
    assert_batch_refusals(outcome, Metric.CONNECTIONS_TOTAL)
    # and each thing's connection counts add up to what is stored
    inbound: dict[ObjectId, int] = dict.fromkeys(things, 0)
    outbound: dict[ObjectId, int] = dict.fromkeys(things, 0)
    async for doc in runtime.database.collection("connections").find({"groupId": tenant.id}):
        outbound[doc["fromId"]] += 1
        inbound[doc["toId"]] += 1
    async for doc in runtime.database.collection("things").find({"groupId": tenant.id}):
        counts_of = doc["connectionCounts"]
        assert (counts_of["inbound"], counts_of["outbound"]) == (
            inbound[doc["_id"]],
            outbound[doc["_id"]],
        )


async def test_32_writers_store_exactly_what_fits_in_storage(api: Api) -> None:
    # given a pro group limited to 1 GiB with room for exactly 10 creates of a 3-letter name
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.STORAGE_GB, 1)
    thing = new_thing_document(tenant.id, NewThing("creator", "W00", {}, "active"), T0)
    event = new_event(
        tenant.id,
        "thing_created",
        timestamp=T0,
        target_id=thing["_id"],
        metadata={"type": "creator", "name": "W00"},
    )
    per_create = thing["sizeBytes"] + event["sizeBytes"]
    already = GIB - 10 * per_create
    await bump_counters(api.runtime, tenant.id, storageBytes=already)

    async def write(i: int) -> list[dict[str, Any]]:
        data = await api.data(
            tenant.user,
            CREATE_THING,
            {"input": {"type": "creator", "name": f"W{i:02d}", "status": "active"}},
        )
        errors: list[dict[str, Any]] = data["createThing"]["errors"]
        return errors

    # when 32 writers create one thing each at once
    results = await asyncio.gather(*(write(i) for i in range(WRITERS)))

    # then exactly 10 are stored, storage reaches the limit (plus the one refusal event,
    # and the one alert of the write that reached 100 %, in its transaction)
    assert sum(errors == [] for errors in results) == 10
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 10
    logged = await events_of_type(api.runtime, tenant.id, "quota_exceeded")
    assert [e["metadata"]["metric"] for e in logged] == ["storage_gb"]
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert [(e["metadata"]["from"], e["metadata"]["to"]) for e in alerts] == [
        ("CRITICAL", "EXCEEDED")
    ]
    alert = alerts[0]["sizeBytes"]
    counts = await stored_counts(api.runtime, tenant.id)
    assert counts["storageBytes"] == GIB + alert + logged[0]["sizeBytes"]
    truth = await true_counts(api.runtime, tenant.id)
    assert counts == {**truth, "storageBytes": truth["storageBytes"] + already}
    # and the 22 others were refused in bytes, seen before or after the refusal event counted
    refused = [errors for errors in results if errors]
    assert len(refused) == WRITERS - 10
    full = {GIB + alert, GIB + alert + logged[0]["sizeBytes"]}
    for errors in refused:
        current = int(errors[0]["quota"]["current"])
        assert current in full
        assert errors == [refusal(Metric.STORAGE_GB, current, per_create, GIB, "")]


async def test_32_writers_add_exactly_the_users_limit(api: Api) -> None:
    # given a pro group limited to 10 users
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.USERS, 10)

    async def add(i: int) -> list[dict[str, Any]]:
        data = await api.data(
            tenant.owner,
            CREATE_PERSON,
            {"input": {"email": f"person{i}@example.com", "name": f"Person {i}"}},
        )
        errors: list[dict[str, Any]] = data["createPerson"]["errors"]
        return errors

    # when 32 owners add a person each at once
    results = await asyncio.gather(*(add(i) for i in range(WRITERS)))

    # then exactly 10 are added and 22 refused, each exactly
    assert sum(errors == [] for errors in results) == 10
    assert [errors for errors in results if errors] == [
        [refusal(Metric.USERS, 10, 1, 10, "email")]
    ] * (WRITERS - 10)
    assert await raw_count(api.runtime, "people", {"groupId": tenant.id}) == 10
    counts = await stored_counts(api.runtime, tenant.id)
    assert counts["people"] == 10
    assert counts == await true_counts(api.runtime, tenant.id)
    logged = await events_of_type(api.runtime, tenant.id, "quota_exceeded")
    assert [e["metadata"] for e in logged] == [
        {"metric": "users", "current": 10, "requested": 1, "limit": 10}
    ]
