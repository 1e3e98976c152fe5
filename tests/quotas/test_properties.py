"""Property: whatever happens, the group's counters equal what is stored.

Any sequence of creates, updates, deletes, connections, people, events,
knowledge, failed writes (invalid input, duplicates, over a limit) and plan
changes leaves ``counts`` equal to the values recomputed from the collections
(``storageBytes`` = the bytes of live things, connections, events and knowledge;
``inboundByType`` = connections by their target's type), and the content
engagement metrics read from them equal to those recomputed from the things,
after every single operation. Each example gets a fresh group in one database.
"""

from __future__ import annotations

import uuid
from typing import Any

from bson import ObjectId
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ontology.connections.models import NewConnection
from ontology.events.service import NewEvent
from ontology.groups.models import Plan
from ontology.kit.errors import ErrorCode, RejectedError
from ontology.kit.properties import PropertyErrorCode
from ontology.knowledge.service import KnowledgeKind, NewKnowledge
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.plans import Metric
from ontology.people.service import NewPerson
from ontology.runtime import Runtime
from ontology.things.errors import ThingErrorCode
from ontology.things.models import NewThing, ThingChanges
from ontology.vocabulary.errors import VocabularyErrorCode
from tests.factories import true_counts
from tests.quotas.support import (
    read_engagement,
    set_limit,
    stored_counts,
    true_engagement,
)

THING_TYPES = ("creator", "blog_post", "community")
# mostly allowed between any two things; some only between certain types
CONNECTION_TYPES = ("references", "part_of", "references", "part_of", "member_of", "authored")
INVALID = {
    "type": (NewThing("no_such_type", "X", {}, "active"), VocabularyErrorCode.UNKNOWN_TYPE),
    "status": (NewThing("creator", "X", {}, "sleeping"), ThingErrorCode.INVALID_STATUS),
    "key": (
        NewThing("creator", "X", {"$bad": 1}, "active"),
        PropertyErrorCode.INVALID_PROPERTY_KEY,
    ),
    "name": (NewThing("creator", "   ", {}, "active"), ErrorCode.INVALID_NAME),
}
OVER = ("entities_total", "connections_total", "users", "storage_gb")
index = st.integers(0, 40)
creates = st.tuples(st.just("create"), st.sampled_from(THING_TYPES), st.integers(0, 3))
connects = st.tuples(st.just("connect"), index, index, st.sampled_from(CONNECTION_TYPES))
operations = st.one_of(
    creates,
    creates,
    creates,
    connects,
    connects,
    connects,
    st.tuples(st.just("invalid"), st.sampled_from(sorted(INVALID))),
    st.tuples(st.just("update"), index, st.integers(0, 4)),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("disconnect"), index),
    st.tuples(st.just("person"), st.integers(0, 6)),
    st.tuples(st.just("event"), st.integers(0, 3)),
    st.tuples(st.just("knowledge"), st.integers(1, 3), st.integers(-1, 40)),
    st.tuples(st.just("over"), st.sampled_from(OVER)),
    st.tuples(st.just("plan"), st.sampled_from([plan.value for plan in Plan])),
)


async def ids(runtime: Runtime, collection: str, query: dict[str, Any]) -> list[ObjectId]:
    cursor = runtime.database.collection(collection).find(query, {"_id": 1}, sort=[("_id", 1)])
    return [doc["_id"] async for doc in cursor]


def pick(items: list[ObjectId], position: int) -> ObjectId:
    """An existing item, or an id that names nothing when there is none."""
    return items[position % len(items)] if items else ObjectId()


def pick_pair(items: list[ObjectId], a: int, b: int) -> tuple[ObjectId, ObjectId]:
    """Two distinct existing items when there are two (the same one when ``a == b``)."""
    if len(items) < 2:
        return pick(items, a), pick(items, b)
    first = a % len(items)
    second = first if a == b else (first + 1 + b % (len(items) - 1)) % len(items)
    return items[first], items[second]


def assert_quota_refusal(error: RejectedError, metric: str, current: int) -> None:
    assert [
        (e.code, (e.details or {}).get("metric"), (e.details or {}).get("current"))
        for e in error.errors
    ] == [(QuotaErrorCode.QUOTA_EXCEEDED, metric, current)]


async def run(runtime: Runtime, group_id: ObjectId, op: tuple[Any, ...]) -> None:
    """Apply one operation; expected failures raise ``RejectedError`` (checked where known)."""
    services = runtime.services
    things = await ids(runtime, "things", {"groupId": group_id, "deletedAt": None})
    kind = op[0]
    if kind == "create":
        _, thing_type, size = op
        await services.things.create(
            group_id, NewThing(thing_type, f"T{len(things)}", {"bio": "b" * 60 * size}, "active")
        )
    elif kind == "invalid":
        thing, code = INVALID[op[1]]
        try:
            await services.things.create(group_id, thing)
        except RejectedError as refused:
            assert [e.code for e in refused.errors] == [code]
        else:
            raise AssertionError(f"{op} was accepted")
    elif kind == "update":
        await services.things.update(
            group_id, pick(things, op[1]), ThingChanges(properties={"bio": "u" * 40 * op[2]})
        )
    elif kind == "delete":
        await services.things.delete(group_id, pick(things, op[1]))
    elif kind == "connect":
        _, a, b, connection_type = op
        await services.connections.create(
            group_id, NewConnection(*pick_pair(things, a, b), connection_type)
        )
    elif kind == "disconnect":
        connections = await ids(runtime, "connections", {"groupId": group_id})
        await services.connections.delete(group_id, pick(connections, op[1]))
    elif kind == "person":
        await services.people.create(group_id, NewPerson(f"p{op[1]}@example.com", f"P{op[1]}"))
    elif kind == "event":
        await services.events.log(
            group_id, NewEvent("content_event", metadata={"s": "e" * 50 * op[1]})
        )
    elif kind == "knowledge":
        _, size, linked = op
        await services.knowledge.add(
            group_id,
            NewKnowledge(
                kind=KnowledgeKind.DOCUMENT,
                text="k" * 100 * size,
                embedding=[0.5] * size,
                thing_id=pick(things, linked) if linked >= 0 else None,
                thing_given=linked >= 0,
            ),
        )
    elif kind == "over":
        await over_limit(runtime, group_id, Metric(op[1]), things)
    elif kind == "plan":
        group = await runtime.repos.groups.by_id(group_id)
        assert group is not None
        await services.quotas.change_plan(group, op[1], staff=True)


async def over_limit(
    runtime: Runtime, group_id: ObjectId, metric: Metric, things: list[ObjectId]
) -> None:
    """Cap ``metric`` at its current usage, attempt one more, then lift the cap."""
    services = runtime.services

    async def usage() -> int:
        counts = await runtime.repos.groups.counts(group_id)
        value: int = {
            Metric.ENTITIES_TOTAL: counts["things"],
            Metric.CONNECTIONS_TOTAL: counts["connections"],
            Metric.USERS: counts["people"],
            Metric.STORAGE_GB: counts["storageBytes"],
        }[metric]
        return value

    current = await usage()
    attempt: Any
    if metric is Metric.ENTITIES_TOTAL:
        attempt = services.things.create(group_id, NewThing("creator", "Over", {}, "active"))
    elif metric is Metric.USERS:
        attempt = services.people.create(group_id, NewPerson("over@example.com", "Over"))
    elif metric is Metric.STORAGE_GB:
        attempt = services.events.log(group_id, NewEvent("content_event"))
    else:
        taken = {
            (doc["fromId"], doc["toId"])
            async for doc in runtime.database.collection("connections").find(
                {"groupId": group_id, "type": "references"}
            )
        }
        free = [(a, b) for a in things for b in things if a != b and (a, b) not in taken]
        if not free:
            return
        attempt = services.connections.create(group_id, NewConnection(*free[0], "references"))
    # storage is capped at 0 GiB: nothing fits, whatever is stored
    await set_limit(runtime, group_id, metric, 0 if metric is Metric.STORAGE_GB else current)
    # (a cap that moves the level logs a quota_alert, whose bytes count in storage)
    current = await usage()
    try:
        await attempt
    except RejectedError as refused:
        assert_quota_refusal(refused, metric.value, current)
    else:
        raise AssertionError(f"a write over {metric.value} was accepted")
    finally:
        await set_limit(runtime, group_id, metric, None)


async def assert_thing_connection_counts(runtime: Runtime, group_id: ObjectId) -> None:
    expected: dict[ObjectId, list[int]] = {}
    async for doc in runtime.database.collection("connections").find({"groupId": group_id}):
        expected.setdefault(doc["fromId"], [0, 0])[1] += 1
        expected.setdefault(doc["toId"], [0, 0])[0] += 1
    async for doc in runtime.database.collection("things").find(
        {"groupId": group_id, "deletedAt": None}
    ):
        counts = doc["connectionCounts"]
        assert [counts["inbound"], counts["outbound"]] == expected.get(doc["_id"], [0, 0])


@settings(
    max_examples=25,
    deadline=None,
    database=None,  # no example database written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.sampled_from(list(Plan)),
    ops=st.lists(operations, min_size=4, max_size=16),
)
async def test_counters_always_equal_what_is_stored(
    runtime: Runtime, plan: Plan, ops: list[tuple[Any, ...]]
) -> None:
    # given a fresh group on any plan, with three things
    group = await runtime.services.groups.create(
        slug=f"g-{uuid.uuid4().hex[:12]}", name="Group", plan=plan
    )
    group_id = group["_id"]
    for thing_type in THING_TYPES:  # something to connect, update and delete from the start
        await runtime.services.things.create(
            group_id, NewThing(thing_type, thing_type.title(), {}, "active")
        )

    # when each operation runs, accepted or refused
    for op in ops:
        try:
            await run(runtime, group_id, op)
        except RejectedError as refused:  # expected: nothing may have been counted
            event(f"{op[0]}: {'/'.join(sorted({e.code.value for e in refused.errors}))}")
        else:
            event(f"{op[0]}: ok")

        # then the counters equal what is stored, after every operation, and so does the
        # content's engagement read from them (the top content, its inbound total, count)
        assert await stored_counts(runtime, group_id) == await true_counts(runtime, group_id), op
        assert await read_engagement(runtime, group_id) == await true_engagement(
            runtime, group_id
        ), op
    await assert_thing_connection_counts(runtime, group_id)
