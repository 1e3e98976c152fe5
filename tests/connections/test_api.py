"""Connections through the GraphQL API: createConnection, deleteConnection, the lists."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId

from ontology.kit.ids import parse_global_id
from tests.factories import (
    Api,
    SettableClock,
    Tenant,
    assert_forbidden,
    clock_at,
    connect,
    create_thing,
    global_id,
    group_counts,
    make_tenant,
    payload_error,
    raw_count,
    sizes_and_counters,
    stored_bytes,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY_RULE = "keys match ^[A-Za-z_][A-Za-z0-9_]*$ (no '$', no '.')."

CREATE = """
mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) {
    connection {
      id type fromId toId metadata strength validFrom validTo createdAt
      from { id name }
      to { id name }
    }
    errors { index path code message }
  }
}
"""
DELETE = """
mutation($input: DeleteConnectionInput!) {
  deleteConnection(input: $input) { deletedId errors { index path code message } }
}
"""
COUNTS = """
query($id: ID!) {
  thing(id: $id) {
    connectionCounts { inbound outbound byType { type inbound outbound count } }
  }
}
"""
CONNECTIONS = """
query($type: String, $first: Int = 20) {
  connections(type: $type, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { id type fromId toId } }
  }
}
"""
RELATED = """
query($id: ID!, $direction: Direction!, $type: String) {
  thing(id: $id) {
    connections(direction: $direction, type: $type, first: 20) {
      totalCount
      edges { direction connection { id type fromId toId } node { id name } }
    }
  }
}
"""
RELATED_DEFAULT = """
query($id: ID!) {
  thing(id: $id) {
    connections(first: 20) { totalCount edges { direction connection { id } node { name } } }
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Connection { type } } }"
EVENTS = """
query($type: String) {
  events(type: $type, first: 20) {
    edges { node { type timestamp actorId targetId metadata } }
  }
}
"""


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    with clock_at(T0) as settable:
        yield settable


@dataclass
class World:
    """A tenant with things: two creators, a blog post, a fan; and a foreign thing."""

    tenant: Tenant
    other: Tenant
    ids: dict[str, str]


@pytest.fixture
async def world(api: Api) -> World:
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    ids = {
        "ada": await create_thing(api, tenant.user, "creator", "Ada"),
        "bob": await create_thing(api, tenant.user, "creator", "Bob"),
        "post": await create_thing(api, tenant.user, "blog_post", "Post"),
        "fan": await create_thing(api, tenant.user, "audience_member", "Fan"),
        "gone": await create_thing(api, tenant.user, "creator", "Gone"),
        "foreign": await create_thing(api, other.user, "creator", "Foreign"),
        "missing": global_id("Thing", ObjectId()),
        "malformed": "not-an-id",
    }
    deleted = await api.data(
        tenant.user,
        "mutation($id: ID!) { deleteThing(input: {id: $id}) { errors { code } } }",
        {"id": ids["gone"]},
    )
    assert deleted["deleteThing"]["errors"] == []
    return World(tenant=tenant, other=other, ids=ids)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def oid(global_id_value: str, type_name: str) -> ObjectId:
    parsed = parse_global_id(global_id_value, type_name)
    assert parsed is not None
    return parsed


error = payload_error


def type_count(connection_type: str, inbound: int, outbound: int) -> dict[str, Any]:
    return {
        "type": connection_type,
        "inbound": inbound,
        "outbound": outbound,
        "count": inbound + outbound,
    }


async def sizes_counters_and_degrees(api: Api, tenant: Tenant) -> dict[str, Any]:
    """``sizes_and_counters`` and every thing's connection counts."""
    cursor = api.runtime.database.collection("things").find({"groupId": tenant.id})
    thing_counts = {doc["_id"]: doc["connectionCounts"] async for doc in cursor}
    return {**await sizes_and_counters(api, tenant), "thingCounts": thing_counts}


async def connection_counts(api: Api, key: str, thing_id: str) -> dict[str, Any]:
    data = await api.data(key, COUNTS, {"id": thing_id})
    counts: dict[str, Any] = data["thing"]["connectionCounts"]
    return counts


async def events_of(api: Api, key: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(key, EVENTS, {"type": event_type})
    return [edge["node"] for edge in data["events"]["edges"]]


# --- createConnection ------------------------------------------------------------------


async def test_create_connection_returns_it_and_updates_thing_and_group_counters(
    api: Api, world: World, clock: SettableClock
) -> None:
    # given
    tenant, ids = world.tenant, world.ids
    before = await group_counts(api.runtime, tenant.id)
    created_at = clock.advance(minutes=1)

    # when
    data = await api.data(
        tenant.user,
        CREATE,
        {
            "input": {
                "fromId": ids["ada"],
                "toId": ids["post"],
                "type": "authored",
                "metadata": {"role": "lead", "notes": {"draft": 3}},
                "strength": 0.75,
                "validFrom": "2025-01-01T00:00:00Z",
                "validTo": "2025-12-31T00:00:00+00:00",
            }
        },
    )

    # then
    payload = data["createConnection"]
    connection_id = payload["connection"]["id"]
    connection_oid = oid(connection_id, "Connection")
    assert payload == {
        "connection": {
            "id": global_id("Connection", connection_oid),
            "type": "authored",
            "fromId": ids["ada"],
            "toId": ids["post"],
            "metadata": {"role": "lead", "notes": {"draft": 3}},
            "strength": 0.75,
            "validFrom": "2025-01-01T00:00:00+00:00",
            "validTo": "2025-12-31T00:00:00+00:00",
            "createdAt": iso(created_at),
            "from": {"id": ids["ada"], "name": "Ada"},
            "to": {"id": ids["post"], "name": "Post"},
        },
        "errors": [],
    }
    assert await connection_counts(api, tenant.user, ids["ada"]) == {
        "inbound": 0,
        "outbound": 1,
        "byType": [type_count("authored", 0, 1)],
    }
    assert await connection_counts(api, tenant.user, ids["post"]) == {
        "inbound": 1,
        "outbound": 0,
        "byType": [type_count("authored", 1, 0)],
    }
    assert await connection_counts(api, tenant.user, ids["bob"]) == {
        "inbound": 0,
        "outbound": 0,
        "byType": [],
    }
    doc = await api.runtime.database.collection("connections").find_one({"_id": connection_oid})
    assert doc is not None
    assert (doc["groupId"], doc["fromId"], doc["toId"]) == (
        tenant.id,
        oid(ids["ada"], "Thing"),
        oid(ids["post"], "Thing"),
    )
    assert await events_of(api, tenant.user, "connection_created") == [
        {
            "type": "connection_created",
            "timestamp": iso(created_at),
            "actorId": ids["ada"],
            "targetId": ids["post"],
            "metadata": {"connectionId": str(connection_oid), "type": "authored"},
        }
    ]
    event = await api.runtime.database.collection("events").find_one(
        {"groupId": tenant.id, "type": "connection_created"}
    )
    assert event is not None
    assert await group_counts(api.runtime, tenant.id) == {
        **before,
        "connections": 1,
        "connectionsByType": {"authored": 1},
        "inboundByType": {"blog_post": 1},
        "events": before["events"] + 1,
        "storageBytes": before["storageBytes"] + doc["sizeBytes"] + event["sizeBytes"],
    }
    assert before["storageBytes"] + doc["sizeBytes"] + event["sizeBytes"] == await stored_bytes(
        api, tenant.id
    )


async def test_create_connection_defaults_metadata_strength_and_validity(
    api: Api, world: World
) -> None:
    # given
    ids = world.ids

    # when
    data = await api.data(
        world.tenant.user,
        CREATE,
        {"input": {"fromId": ids["fan"], "toId": ids["ada"], "type": "following"}},
    )

    # then
    connection = data["createConnection"]["connection"]
    assert data["createConnection"]["errors"] == []
    assert (
        connection["metadata"],
        connection["strength"],
        connection["validFrom"],
        connection["validTo"],
    ) == ({}, None, None, None)


async def test_create_connection_accepts_equal_valid_from_and_valid_to(
    api: Api, world: World
) -> None:
    # given
    ids = world.ids
    moment = "2025-06-01T00:00:00+00:00"

    # when
    data = await api.data(
        world.tenant.user,
        CREATE,
        {
            "input": {
                "fromId": ids["ada"],
                "toId": ids["bob"],
                "type": "collaborates_with",
                "validFrom": moment,
                "validTo": moment,
            }
        },
    )

    # then
    assert data["createConnection"]["errors"] == []
    assert (
        data["createConnection"]["connection"]["validFrom"],
        data["createConnection"]["connection"]["validTo"],
    ) == (moment, moment)


async def test_create_connection_in_reverse_or_of_another_type_is_not_a_duplicate(
    api: Api, world: World
) -> None:
    # given
    tenant, ids = world.tenant, world.ids
    await connect(api, tenant.user, ids["ada"], ids["bob"], "references")

    # when
    reverse = await api.data(
        tenant.user,
        CREATE,
        {"input": {"fromId": ids["bob"], "toId": ids["ada"], "type": "references"}},
    )
    other_type = await api.data(
        tenant.user,
        CREATE,
        {"input": {"fromId": ids["ada"], "toId": ids["bob"], "type": "collaborates_with"}},
    )

    # then
    assert reverse["createConnection"]["errors"] == []
    assert other_type["createConnection"]["errors"] == []
    counts = await group_counts(api.runtime, tenant.id)
    assert (counts["connections"], counts["connectionsByType"]) == (
        3,
        {"references": 2, "collaborates_with": 1},
    )
    assert await connection_counts(api, tenant.user, ids["ada"]) == {
        "inbound": 1,
        "outbound": 2,
        "byType": [type_count("collaborates_with", 0, 1), type_count("references", 1, 1)],
    }


async def test_create_connection_twice_is_a_duplicate_and_changes_no_counter(
    api: Api, world: World
) -> None:
    # given
    tenant, ids = world.tenant, world.ids
    await connect(api, tenant.user, ids["ada"], ids["post"], "authored")
    before = await sizes_counters_and_degrees(api, tenant)

    # when
    data = await api.data(
        tenant.user,
        CREATE,
        {
            "input": {
                "fromId": ids["ada"],
                "toId": ids["post"],
                "type": "authored",
                "metadata": {"again": True},
            }
        },
    )

    # then
    assert data["createConnection"] == {
        "connection": None,
        "errors": [
            error("type", "DUPLICATE", "A authored connection between these things exists.")
        ],
    }
    assert await sizes_counters_and_degrees(api, tenant) == before
    assert await connection_counts(api, tenant.user, ids["ada"]) == {
        "inbound": 0,
        "outbound": 1,
        "byType": [type_count("authored", 0, 1)],
    }


NOT_FOUND = "No such thing."

CREATE_REJECTIONS = [
    pytest.param(
        ("ada", "post", "likes", {}),
        [error("type", "UNKNOWN_TYPE", "Unknown connection type 'likes'.")],
        id="unknown-type",
    ),
    pytest.param(
        ("ada", "post", "l" * (1024 * 1024), {}),
        [
            error(
                "type",
                "UNKNOWN_TYPE",
                f"Unknown connection type {'l' * 64!r}… (1048576 characters).",
            )
        ],
        id="unknown-1-mib-type-is-not-echoed-whole",
    ),
    pytest.param(
        ("missing", "post", "authored", {}),
        [error("fromId", "NOT_FOUND", NOT_FOUND)],
        id="from-missing",
    ),
    pytest.param(
        ("ada", "missing", "authored", {}),
        [error("toId", "NOT_FOUND", NOT_FOUND)],
        id="to-missing",
    ),
    pytest.param(
        ("missing", "malformed", "references", {}),
        [error("fromId", "NOT_FOUND", NOT_FOUND), error("toId", "NOT_FOUND", NOT_FOUND)],
        id="both-missing",
    ),
    pytest.param(
        ("malformed", "post", "references", {}),
        [error("fromId", "NOT_FOUND", NOT_FOUND)],
        id="from-malformed",
    ),
    pytest.param(
        ("ada", "gone", "references", {}),
        [error("toId", "NOT_FOUND", NOT_FOUND)],
        id="to-deleted",
    ),
    pytest.param(
        ("foreign", "ada", "references", {}),
        [error("fromId", "NOT_FOUND", NOT_FOUND)],
        id="from-other-tenant",
    ),
    pytest.param(
        ("ada", "foreign", "references", {}),
        [error("toId", "NOT_FOUND", NOT_FOUND)],
        id="to-other-tenant",
    ),
    pytest.param(
        ("ada", "missing", "likes", {}),
        [
            error("type", "UNKNOWN_TYPE", "Unknown connection type 'likes'."),
            error("toId", "NOT_FOUND", NOT_FOUND),
        ],
        id="unknown-type-and-to-missing",
    ),
    pytest.param(
        ("post", "ada", "authored", {}),
        [
            error(
                "type",
                "CONNECTION_NOT_ALLOWED",
                "authored is not allowed from blog_post to creator.",
            )
        ],
        id="authored-from-a-post",
    ),
    pytest.param(
        ("fan", "post", "member_of", {}),
        [
            error(
                "type",
                "CONNECTION_NOT_ALLOWED",
                "member_of is not allowed from audience_member to blog_post.",
            )
        ],
        id="member-of-a-post",
    ),
    pytest.param(
        ("ada", "ada", "collaborates_with", {}),
        [
            error(
                "toId",
                "SELF_LOOP",
                "A collaborates_with connection cannot connect a thing to itself.",
            )
        ],
        id="self-loop",
    ),
    pytest.param(
        ("post", "post", "references", {}),
        [error("toId", "SELF_LOOP", "A references connection cannot connect a thing to itself.")],
        id="self-loop-on-an-any-to-any-type",
    ),
    pytest.param(
        (
            "ada",
            "bob",
            "collaborates_with",
            {"validFrom": "2025-06-01T00:00:00Z", "validTo": "2025-01-01T00:00:00Z"},
        ),
        [error("validFrom", "INVALID_RANGE", "validFrom must not be after validTo.")],
        id="valid-from-after-valid-to",
    ),
    pytest.param(
        # regression (found by fuzzing): comparing a naive and an aware time was a 500
        (
            "ada",
            "bob",
            "collaborates_with",
            {"validFrom": "2025-06-01T00:00:00", "validTo": "2025-01-01T00:00:00Z"},
        ),
        [error("validFrom", "INVALID_INPUT", "validFrom needs a time zone.")],
        id="valid-from-without-time-zone",
    ),
    pytest.param(
        ("ada", "bob", "references", {"metadata": {"$where": "1"}}),
        [
            error(
                "metadata.$where",
                "INVALID_PROPERTY_KEY",
                f"Key '$where' is not allowed: {KEY_RULE}",
            )
        ],
        id="metadata-dollar-key",
    ),
    pytest.param(
        ("ada", "bob", "references", {"metadata": [1]}),
        [error("metadata", "INVALID_PROPERTIES", "Must be a JSON object.")],
        id="metadata-not-an-object",
    ),
    pytest.param(
        (
            "ada",
            "ada",
            "collaborates_with",
            {"validFrom": "2025-06-02T00:00:00Z", "validTo": "2025-06-01T00:00:00Z"},
        ),
        [
            error(
                "toId",
                "SELF_LOOP",
                "A collaborates_with connection cannot connect a thing to itself.",
            ),
            error("validFrom", "INVALID_RANGE", "validFrom must not be after validTo."),
        ],
        id="self-loop-and-bad-range",
    ),
]


@pytest.mark.parametrize(("given", "expected"), CREATE_REJECTIONS)
async def test_create_connection_rejects_bad_input_and_writes_nothing(
    api: Api,
    world: World,
    given: tuple[str, str, str, dict[str, Any]],
    expected: list[dict[str, Any]],
) -> None:
    # given
    tenant, ids = world.tenant, world.ids
    await connect(api, tenant.user, ids["bob"], ids["post"], "authored")
    before = await sizes_counters_and_degrees(api, tenant)
    other_before = await sizes_counters_and_degrees(api, world.other)
    from_name, to_name, connection_type, extra = given

    # when
    data = await api.data(
        tenant.user,
        CREATE,
        {
            "input": {
                "fromId": ids[from_name],
                "toId": ids[to_name],
                "type": connection_type,
                **extra,
            }
        },
    )

    # then
    assert data["createConnection"] == {"connection": None, "errors": expected}
    assert await sizes_counters_and_degrees(api, tenant) == before
    assert await sizes_counters_and_degrees(api, world.other) == other_before


async def test_create_connection_by_a_customer_is_forbidden_and_writes_nothing(
    api: Api, world: World
) -> None:
    # given
    tenant, ids = world.tenant, world.ids
    before = await sizes_counters_and_degrees(api, tenant)

    # when / then
    await assert_forbidden(
        api,
        tenant.customer,
        CREATE,
        {"input": {"fromId": ids["ada"], "toId": ids["post"], "type": "authored"}},
        "createConnection",
    )
    assert await sizes_counters_and_degrees(api, tenant) == before


# --- connections lists -----------------------------------------------------------------


@dataclass
class Graph:
    ids: dict[str, str]
    connections: dict[str, str]


@pytest.fixture
async def graph(api: Api, world: World) -> Graph:
    """c1 ada-authored->post, c2 bob-collaborates_with->ada, c3 fan-following->ada,
    c4 bob-authored->post, c5 ada-following->bob (created in that order)."""
    ids, key = world.ids, world.tenant.user
    connections = {
        "c1": await connect(api, key, ids["ada"], ids["post"], "authored"),
        "c2": await connect(api, key, ids["bob"], ids["ada"], "collaborates_with"),
        "c3": await connect(api, key, ids["fan"], ids["ada"], "following"),
        "c4": await connect(api, key, ids["bob"], ids["post"], "authored"),
        "c5": await connect(api, key, ids["ada"], ids["bob"], "following"),
    }
    return Graph(ids=ids, connections=connections)


async def test_connections_lists_newest_first_with_type_filter_and_total_count(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    ids, c = graph.ids, graph.connections
    key = world.tenant.customer

    # when
    everything = (await api.data(key, CONNECTIONS, {}))["connections"]
    authored = (await api.data(key, CONNECTIONS, {"type": "authored"}))["connections"]
    page = (await api.data(key, CONNECTIONS, {"first": 2}))["connections"]
    unused = (await api.data(key, CONNECTIONS, {"type": "owns"}))["connections"]

    # then
    def node(name: str, from_name: str, to_name: str, connection_type: str) -> dict[str, Any]:
        return {
            "node": {
                "id": c[name],
                "type": connection_type,
                "fromId": ids[from_name],
                "toId": ids[to_name],
            }
        }

    assert everything["totalCount"] == 5
    assert everything["edges"] == [
        node("c5", "ada", "bob", "following"),
        node("c4", "bob", "post", "authored"),
        node("c3", "fan", "ada", "following"),
        node("c2", "bob", "ada", "collaborates_with"),
        node("c1", "ada", "post", "authored"),
    ]
    assert everything["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False}
    assert authored["totalCount"] == 2
    assert authored["edges"] == [
        node("c4", "bob", "post", "authored"),
        node("c1", "ada", "post", "authored"),
    ]
    assert page["totalCount"] == 5
    assert [edge["node"]["id"] for edge in page["edges"]] == [c["c5"], c["c4"]]
    assert page["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert unused == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
    }


def related(graph: Graph, name: str, direction: str, other: str, other_name: str) -> dict[str, Any]:
    kinds = {
        "c1": ("authored", "ada", "post"),
        "c2": ("collaborates_with", "bob", "ada"),
        "c3": ("following", "fan", "ada"),
        "c4": ("authored", "bob", "post"),
        "c5": ("following", "ada", "bob"),
    }
    connection_type, from_name, to_name = kinds[name]
    return {
        "direction": direction,
        "connection": {
            "id": graph.connections[name],
            "type": connection_type,
            "fromId": graph.ids[from_name],
            "toId": graph.ids[to_name],
        },
        "node": {"id": graph.ids[other], "name": other_name},
    }


async def test_thing_connections_follow_direction_and_type_with_related_things(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    key, ada = world.tenant.customer, graph.ids["ada"]

    async def listing(direction: str, connection_type: str | None = None) -> dict[str, Any]:
        variables = {"id": ada, "direction": direction, "type": connection_type}
        result: dict[str, Any] = (await api.data(key, RELATED, variables))["thing"]["connections"]
        return result

    # when
    both = await listing("BOTH")
    outbound = await listing("OUTBOUND")
    inbound = await listing("INBOUND")
    following = await listing("BOTH", "following")
    outbound_authored = await listing("OUTBOUND", "authored")
    inbound_authored = await listing("INBOUND", "authored")

    # then
    assert both == {
        "totalCount": 4,
        "edges": [
            related(graph, "c5", "OUTBOUND", "bob", "Bob"),
            related(graph, "c3", "INBOUND", "fan", "Fan"),
            related(graph, "c2", "INBOUND", "bob", "Bob"),
            related(graph, "c1", "OUTBOUND", "post", "Post"),
        ],
    }
    assert outbound == {
        "totalCount": 2,
        "edges": [
            related(graph, "c5", "OUTBOUND", "bob", "Bob"),
            related(graph, "c1", "OUTBOUND", "post", "Post"),
        ],
    }
    assert inbound == {
        "totalCount": 2,
        "edges": [
            related(graph, "c3", "INBOUND", "fan", "Fan"),
            related(graph, "c2", "INBOUND", "bob", "Bob"),
        ],
    }
    assert following == {
        "totalCount": 2,
        "edges": [
            related(graph, "c5", "OUTBOUND", "bob", "Bob"),
            related(graph, "c3", "INBOUND", "fan", "Fan"),
        ],
    }
    assert outbound_authored == {
        "totalCount": 1,
        "edges": [related(graph, "c1", "OUTBOUND", "post", "Post")],
    }
    assert inbound_authored == {"totalCount": 0, "edges": []}


async def test_thing_connections_default_to_both_directions(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    post = graph.ids["post"]

    # when
    data = await api.data(world.tenant.user, RELATED_DEFAULT, {"id": post})

    # then
    assert data["thing"]["connections"] == {
        "totalCount": 2,
        "edges": [
            {
                "direction": "INBOUND",
                "connection": {"id": graph.connections["c4"]},
                "node": {"name": "Bob"},
            },
            {
                "direction": "INBOUND",
                "connection": {"id": graph.connections["c1"]},
                "node": {"name": "Ada"},
            },
        ],
    }


async def test_thing_connection_counts_add_up_per_type(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    key, ids = world.tenant.user, graph.ids

    # when
    counts = {name: await connection_counts(api, key, ids[name]) for name in ("ada", "bob")}

    # then
    assert counts == {
        "ada": {
            "inbound": 2,
            "outbound": 2,
            "byType": [
                type_count("authored", 0, 1),
                type_count("collaborates_with", 1, 0),
                type_count("following", 1, 1),
            ],
        },
        "bob": {
            "inbound": 1,
            "outbound": 2,
            "byType": [
                type_count("authored", 0, 1),
                type_count("collaborates_with", 0, 1),
                type_count("following", 1, 0),
            ],
        },
    }


# --- deleteConnection ------------------------------------------------------------------


async def test_delete_connection_removes_it_and_updates_counters(
    api: Api, world: World, graph: Graph, clock: SettableClock
) -> None:
    # given
    tenant, ids, c = world.tenant, graph.ids, graph.connections
    before = await group_counts(api.runtime, tenant.id)
    deleted_at = clock.advance(minutes=2)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": c["c1"]}})

    # then
    assert data["deleteConnection"] == {"deletedId": c["c1"], "errors": []}
    assert (await api.data(tenant.user, NODE, {"id": c["c1"]}))["node"] is None
    listed = (await api.data(tenant.user, CONNECTIONS, {"type": "authored"}))["connections"]
    assert [edge["node"]["id"] for edge in listed["edges"]] == [c["c4"]]
    assert listed["totalCount"] == 1
    assert await raw_count(api.runtime, "connections", {"groupId": tenant.id}) == 4
    assert await connection_counts(api, tenant.user, ids["ada"]) == {
        "inbound": 2,
        "outbound": 1,
        "byType": [type_count("collaborates_with", 1, 0), type_count("following", 1, 1)],
    }
    assert await connection_counts(api, tenant.user, ids["post"]) == {
        "inbound": 1,
        "outbound": 0,
        "byType": [type_count("authored", 1, 0)],
    }
    assert await group_counts(api.runtime, tenant.id) == {
        **before,
        "connections": 4,
        "connectionsByType": {"authored": 1, "collaborates_with": 1, "following": 2},
        "inboundByType": {"blog_post": 1, "creator": 3},
        "events": before["events"] + 1,
        "storageBytes": await stored_bytes(api, tenant.id),
    }
    assert await events_of(api, tenant.user, "connection_deleted") == [
        {
            "type": "connection_deleted",
            "timestamp": iso(deleted_at),
            "actorId": ids["ada"],
            "targetId": ids["post"],
            "metadata": {"connectionId": str(oid(c["c1"], "Connection")), "type": "authored"},
        }
    ]


async def test_delete_connection_twice_is_not_found_the_second_time(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    tenant, c = world.tenant, graph.connections
    first = await api.data(tenant.user, DELETE, {"input": {"id": c["c2"]}})
    assert first["deleteConnection"]["errors"] == []
    before = await sizes_counters_and_degrees(api, tenant)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": c["c2"]}})

    # then
    assert data["deleteConnection"] == {
        "deletedId": None,
        "errors": [error("id", "NOT_FOUND", "No such connection.")],
    }
    assert await sizes_counters_and_degrees(api, tenant) == before


@pytest.mark.parametrize("target", ["never-existed", "malformed", "a-thing-id", "other-tenant"])
async def test_delete_connection_of_an_unknown_id_is_not_found(
    api: Api, world: World, graph: Graph, target: str
) -> None:
    # given
    tenant, other, ids = world.tenant, world.other, world.ids
    other_post = await create_thing(api, other.user, "blog_post", "Their post")
    foreign = await connect(api, other.user, ids["foreign"], other_post, "authored")
    connection_ids = {
        "never-existed": global_id("Connection", ObjectId()),
        "malformed": "???",
        "a-thing-id": ids["ada"],
        "other-tenant": foreign,
    }
    before = await sizes_counters_and_degrees(api, tenant)
    other_before = await sizes_counters_and_degrees(api, other)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": connection_ids[target]}})

    # then
    assert data["deleteConnection"] == {
        "deletedId": None,
        "errors": [error("id", "NOT_FOUND", "No such connection.")],
    }
    assert await sizes_counters_and_degrees(api, tenant) == before
    assert await sizes_counters_and_degrees(api, other) == other_before


async def test_delete_connection_by_a_customer_is_forbidden_and_writes_nothing(
    api: Api, world: World, graph: Graph
) -> None:
    # given
    tenant = world.tenant
    before = await sizes_counters_and_degrees(api, tenant)

    # when / then
    await assert_forbidden(
        api,
        tenant.customer,
        DELETE,
        {"input": {"id": graph.connections["c1"]}},
        "deleteConnection",
    )
    assert await sizes_counters_and_degrees(api, tenant) == before
