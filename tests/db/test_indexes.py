"""The index registry is what the server has, and every list query uses its index.

``FindSpec`` is the very object a repository runs, so explaining it proves the
query the application sends is an index scan, not a collection scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from ontology.connections.models import NewConnection
from ontology.db.indexes import (
    INDEXES,
    LOOKUP_KEYS,
    RETIRED_INDEXES,
    ensure_indexes,
    indexes_by_collection,
)
from ontology.db.queries import FindSpec
from ontology.events.repository import EventFilter
from ontology.events.service import NewEvent
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.kit.pagination import PageRequest
from ontology.knowledge.service import KnowledgeKind, NewKnowledge
from ontology.people.service import NewPerson
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import make_tenant


def expected_index_information(collection: str) -> dict[str, dict[str, Any]]:
    """``index_information()`` as the registry says it must be (without the ``v`` field)."""
    expected: dict[str, dict[str, Any]] = {"_id_": {"key": [("_id", 1)]}}
    for spec in indexes_by_collection()[collection]:
        info: dict[str, Any] = {"key": list(spec.keys)}
        if spec.unique:
            info["unique"] = True
        if spec.expire_after_seconds is not None:
            info["expireAfterSeconds"] = spec.expire_after_seconds
        expected[spec.name] = info
    return expected


async def actual_index_information(runtime: Runtime, collection: str) -> dict[str, Any]:
    info = await runtime.database.collection(collection).index_information()
    return {name: {k: v for k, v in fields.items() if k != "v"} for name, fields in info.items()}


async def test_every_collection_has_exactly_the_registered_indexes(runtime: Runtime) -> None:
    # given a runtime that has just started (start-up ensures the indexes)
    collections = sorted(indexes_by_collection())

    # when reading what the server has
    names = sorted(await runtime.database.db.list_collection_names())
    actual = {c: await actual_index_information(runtime, c) for c in collections}

    # then there is exactly one collection per registered collection ...
    assert names == collections
    assert {"things", "connections", "events", "people", "knowledge"} <= set(names)
    # ... and each has exactly the registered indexes (names, keys, unique flags) plus _id_
    assert actual == {c: expected_index_information(c) for c in collections}
    assert sum(len(indexes) - 1 for indexes in actual.values()) == len(INDEXES)


async def test_index_names_are_unique_and_tenant_indexes_start_with_group_id() -> None:
    # given the registry
    names = [spec.name for spec in INDEXES]

    # then no name is used twice, and every index leads with groupId except the two
    # looked up before the tenant is known, queued job runs, expired reservations and due
    # webhook deliveries (picked up across groups), the two that drive find_by_keys'
    # $lookup, the staff overview's (group documents are the tenants themselves), and
    # expiry (TTL) indexes
    assert len(names) == len(set(names))
    assert [
        s.name for s in INDEXES if s.keys[0][0] != "groupId" and s.expire_after_seconds is None
    ] == [
        "groups_slug",
        "groups_usage",
        "groups_plan_usage",
        "groups_plan_slug",
        "groups_status_slug",
        "groups_plan_status_slug",
        "api_keys_hash",
        "connections_from_lookup",
        "job_runs_status",
        "ledger_reservations_expiry",
        "ledger_shards_stale",
        "counters_thing_lookup",
        "webhook_deliveries_due",
    ]


def test_every_field_find_by_keys_joins_on_leads_an_index() -> None:
    # given the fields find_by_keys joins on (a $lookup, driven through an index on
    # the embedded server only when the index starts with the field)
    leading = {(s.collection, s.keys[0][0]) for s in INDEXES} | {
        (collection, "_id") for collection in LOOKUP_KEYS
    }

    # then each leads an index (``_id`` always does)
    assert [
        (collection, field)
        for collection, fields in LOOKUP_KEYS.items()
        for field in fields
        if (collection, field) not in leading
    ] == []


async def test_looking_up_keys_through_the_lookup_index_finds_only_the_tenants_own(
    runtime: Runtime,
) -> None:
    # given another tenant's 2,000 connections, one of them from the same source id,
    # and one of ours
    ours, theirs, source = ObjectId(), ObjectId(), ObjectId()
    connections = runtime.database.collection("connections")
    await connections.insert_many(
        [
            {"groupId": theirs, "fromId": ObjectId(), "toId": ObjectId(), "type": "x"}
            for _ in range(1_999)
        ]
        + [{"groupId": theirs, "fromId": source, "toId": ObjectId(), "type": "x"}]
    )
    target = ObjectId()
    await connections.insert_one({"groupId": ours, "fromId": source, "toId": target, "type": "x"})

    # when looking up our connections by source, as a batch of connections does
    found = await runtime.repos.connections.existing_keys(ours, [source])

    # then only ours is found
    assert found == {(source, target, "x")}


async def test_ensuring_the_indexes_again_changes_nothing(runtime: Runtime) -> None:
    # given the indexes made at start-up
    before = {c: await actual_index_information(runtime, c) for c in indexes_by_collection()}

    # when ensuring them a second time (every restart does)
    await ensure_indexes(runtime.database)

    # then they are unchanged
    after = {c: await actual_index_information(runtime, c) for c in indexes_by_collection()}
    assert after == before


async def test_a_retired_index_is_dropped_at_start_up(runtime: Runtime) -> None:
    # given an index an earlier version made (archival's old (groupId, timestamp, _id))
    events = runtime.database.collection("events")
    await events.create_index(
        [("groupId", 1), ("timestamp", 1), ("_id", 1)], name="events_group_timestamp"
    )
    assert "events_group_timestamp" in await events.index_information()

    # when the indexes are ensured (every start does)
    await ensure_indexes(runtime.database)

    # then it is gone and the events' indexes are exactly the registry's
    assert RETIRED_INDEXES == (("events", "events_group_timestamp"),)
    assert await actual_index_information(runtime, "events") == expected_index_information("events")


# --- query plans --------------------------------------------------------------------------


def plan_stages(explain: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stage of the winning plan, however it nests (inputStage(s), queryPlan, ...)."""
    winning = explain["queryPlanner"]["winningPlan"]

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "stage" in node:
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return list(walk(winning))


def assert_index_scan(explain: dict[str, Any], index_name: str | None) -> None:
    """One IXSCAN on ``index_name`` (on some index when ``None``), and no COLLSCAN."""
    stages = plan_stages(explain)
    assert "COLLSCAN" not in [s["stage"] for s in stages], stages
    scanned = [s.get("indexName") for s in stages if s["stage"] == "IXSCAN"]
    if index_name is None:
        assert len(scanned) == 1, stages
    else:
        assert scanned == [index_name], stages


@dataclass
class Seeded:
    group_id: ObjectId
    thing_id: ObjectId
    other_thing_id: ObjectId


@pytest.fixture
async def seeded(runtime: Runtime) -> Seeded:
    """Two groups with things of two types and statuses, connections of two types,
    events of several types with actors and targets, people and knowledge of each
    kind: enough data for the planner to have choices to make."""
    services = runtime.services
    result: Seeded | None = None
    for slug in ("acme", "globex"):
        tenant = await make_tenant(runtime, slug)
        things = [
            await services.things.create(
                tenant.id,
                NewThing(
                    type=("creator", "community")[i % 2],
                    name=f"T{i}",
                    properties={},
                    status=("active", "draft", "archived")[i % 3],
                ),
            )
            for i in range(24)
        ]
        for i in range(0, 20, 2):
            creator, community = things[i], things[i + 1]
            await services.connections.create(
                tenant.id, NewConnection(creator["_id"], community["_id"], "member_of")
            )
            await services.connections.create(
                tenant.id, NewConnection(creator["_id"], community["_id"], "moderates")
            )
        for i in range(10):
            await services.events.log(
                tenant.id,
                NewEvent(
                    type="content_event",
                    actor_id=things[i]["_id"],
                    target_id=things[i + 1]["_id"],
                    timestamp=utcnow() - timedelta(minutes=i),
                ),
            )
        for i, role in enumerate((Role.ORG_OWNER, Role.ORG_USER, Role.CUSTOMER) * 3):
            await services.people.create(
                tenant.id, NewPerson(email=f"p{i}@example.com", name=f"P{i}", role=role)
            )
        for i, kind in enumerate(list(KnowledgeKind) * 2):
            await services.knowledge.add(
                tenant.id,
                NewKnowledge(
                    kind=kind,
                    text=None if kind is KnowledgeKind.VECTOR_ONLY else f"text {i}",
                    embedding=[0.1, 0.2] if kind is KnowledgeKind.VECTOR_ONLY else None,
                ),
            )
        if result is None:
            result = Seeded(tenant.id, things[0]["_id"], things[1]["_id"])
    assert result is not None
    return result


# (collection, spec builder, expected index) for every filter combination of every list
SpecBuilder = Callable[[Runtime, Seeded, PageRequest], FindSpec]

LIST_QUERIES: list[Any] = [
    pytest.param(
        "things",
        lambda r, s, p: r.repos.things.page_spec(s.group_id, None, None, p),
        "things_live",
        id="things",
    ),
    pytest.param(
        "things",
        lambda r, s, p: r.repos.things.page_spec(s.group_id, "creator", None, p),
        "things_type",
        id="things-type",
    ),
    pytest.param(
        "things",
        lambda r, s, p: r.repos.things.page_spec(s.group_id, None, "active", p),
        "things_status",
        id="things-status",
    ),
    pytest.param(
        "things",
        lambda r, s, p: r.repos.things.page_spec(s.group_id, "creator", "active", p),
        "things_type_status",
        id="things-type-status",
    ),
    pytest.param(
        "connections",
        lambda r, s, p: r.repos.connections.page_spec(s.group_id, None, p),
        "connections_group",
        id="connections",
    ),
    pytest.param(
        "connections",
        lambda r, s, p: r.repos.connections.page_spec(s.group_id, "member_of", p),
        "connections_group_type",
        id="connections-type",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(s.group_id, EventFilter(), p),
        "events_group",
        id="events",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(s.group_id, EventFilter(type="content_event"), p),
        "events_type",
        id="events-type",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(s.group_id, EventFilter(actor_id=s.thing_id), p),
        "events_actor",
        id="events-actorId",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(
            s.group_id, EventFilter(target_id=s.other_thing_id), p
        ),
        "events_target",
        id="events-targetId",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(
            s.group_id,
            EventFilter(
                since=utcnow() - timedelta(minutes=5), until=utcnow() + timedelta(minutes=5)
            ),
            p,
        ),
        "events_group",
        id="events-since-until",
    ),
    # The API also accepts these combinations; no index serves them (expected: any index).
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(
            s.group_id, EventFilter(type="content_event", actor_id=s.thing_id), p
        ),
        # the actor rides the index, the type is a residual $match
        "events_actor",
        id="events-type-actorId",
    ),
    pytest.param(
        "events",
        lambda r, s, p: r.repos.events.page_spec(
            s.group_id, EventFilter(actor_id=s.thing_id, target_id=s.other_thing_id), p
        ),
        "events_actor",
        id="events-actorId-targetId",
    ),
    pytest.param(
        "people",
        lambda r, s, p: r.repos.people.page_spec(s.group_id, None, p),
        "people_group",
        id="people",
    ),
    pytest.param(
        "people",
        lambda r, s, p: r.repos.people.page_spec(s.group_id, "customer", p),
        "people_role",
        id="people-role",
    ),
    pytest.param(
        "knowledge",
        lambda r, s, p: r.repos.knowledge.page_spec(s.group_id, None, p),
        "knowledge_group",
        id="knowledge",
    ),
    pytest.param(
        "knowledge",
        lambda r, s, p: r.repos.knowledge.page_spec(s.group_id, "label", p),
        "knowledge_kind",
        id="knowledge-kind",
    ),
]


def pages(cursor_key: ObjectId | str) -> list[PageRequest]:
    """A first page, a page after a cursor, and a page before it (paging back)."""
    return [
        PageRequest(size=5),
        PageRequest(size=5, after=cursor_key),
        PageRequest(size=5, before=cursor_key, backward=True),
    ]


@pytest.mark.parametrize(("collection", "build", "index_name"), LIST_QUERIES)
async def test_every_list_query_is_an_index_scan(
    runtime: Runtime, seeded: Seeded, collection: str, build: SpecBuilder, index_name: str | None
) -> None:
    # given seeded data, and a cursor in the middle of the list (an _id or a sortKey)
    first_page = await build(runtime, seeded, PageRequest(size=3)).run(
        runtime.database.collection(collection)
    )
    sort_field = "sortKey" if collection == "events" else "_id"
    cursor_key = first_page[-1][sort_field]
    assert first_page, "the seeded data must match the filter"

    # when explaining the query the repository runs, for first, after and before pages
    explains = [
        await build(runtime, seeded, page).explain(runtime.database.collection(collection))
        for page in pages(cursor_key)
    ]

    # then each is an IXSCAN on the expected index, with no COLLSCAN anywhere in the plan
    for explain in explains:
        assert_index_scan(explain, index_name)


async def test_relation_pages_are_index_scans(runtime: Runtime, seeded: Seeded) -> None:
    # given the page specs the loaders run for one thing's connections, activity and knowledge
    repos = runtime.repos
    group_id, thing_id = seeded.group_id, seeded.thing_id
    specs: dict[str, tuple[str, Callable[[PageRequest], FindSpec]]] = {
        "connections_from": (
            "connections",
            lambda p: repos.connections.for_thing_spec(group_id, "OUTBOUND", None, thing_id, p),
        ),
        "connections_to": (
            "connections",
            lambda p: repos.connections.for_thing_spec(group_id, "INBOUND", None, thing_id, p),
        ),
        "connections_from_type": (
            "connections",
            lambda p: repos.connections.for_thing_spec(
                group_id, "OUTBOUND", "member_of", thing_id, p
            ),
        ),
        "connections_to_type": (
            "connections",
            lambda p: repos.connections.for_thing_spec(
                group_id, "INBOUND", "member_of", thing_id, p
            ),
        ),
        "events_actor": (
            "events",
            lambda p: repos.events.for_thing_spec(group_id, "actorId", thing_id, p),
        ),
        "events_target": (
            "events",
            lambda p: repos.events.for_thing_spec(group_id, "targetId", thing_id, p),
        ),
        "thing_knowledge_thing": (
            "thing_knowledge",
            lambda p: repos.knowledge.for_thing_spec(group_id, thing_id, p),
        ),
    }

    for index_name, (collection, build) in specs.items():
        cursor_key: ObjectId | str = (
            "0000000000001:" + "0" * 24 if collection == "events" else ObjectId()
        )
        for page in pages(cursor_key):
            # when explaining the first window the loader sends, for first, after and before pages
            explain = await build(page).explain(runtime.database.collection(collection))

            # then it is an IXSCAN on its index
            assert_index_scan(explain, index_name)


async def test_archived_events_read_their_manifests_on_the_key_index(runtime: Runtime) -> None:
    # given a window of days of a group's manifests, done and of one type
    group_id = ObjectId()
    prefix = f"events/group={group_id}/date="
    spec = runtime.repos.manifests.days_spec(
        group_id,
        f"{prefix}2026-01-01/",
        f"{prefix}2026-01-02/~",
        {"status": "done", "types": "content_event"},
    )

    # when explaining it, then the key range rides archive_manifests_key (status and
    # type are checked after it: as one filter the embedded server scans every
    # tenant's manifests)
    assert_index_scan(
        await spec.explain(runtime.database.collection("archive_manifests")),
        "archive_manifests_key",
    )
