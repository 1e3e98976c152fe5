"""Things through the GraphQL API: createThing, updateThing, deleteThing, thing, things."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import bson
import pytest
from bson import ObjectId

from ontology.kit.ids import parse_global_id
from tests.factories import (
    Api,
    SettableClock,
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

THING_FIELDS = """
id type name properties status version createdAt updatedAt
connectionCounts { inbound outbound byType { type inbound outbound count } }
"""
CREATE = f"""
mutation($input: CreateThingInput!) {{
  createThing(input: $input) {{
    thing {{ {THING_FIELDS} }}
    errors {{ index path code message }}
  }}
}}
"""
UPDATE = f"""
mutation($input: UpdateThingInput!) {{
  updateThing(input: $input) {{
    thing {{ {THING_FIELDS} }}
    errors {{ index path code message }}
  }}
}}
"""
DELETE = """
mutation($input: DeleteThingInput!) {
  deleteThing(input: $input) { deletedId errors { index path code message } }
}
"""
THING = f"query($id: ID!) {{ thing(id: $id) {{ {THING_FIELDS} }} }}"
NODE = "query($id: ID!) { node(id: $id) { id ... on Thing { name } } }"
THINGS = """
query($type: String, $status: String, $first: Int = 20) {
  things(type: $type, status: $status, first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { id name } }
  }
}
"""
EVENTS = """
query($type: String) {
  events(type: $type, first: 20) {
    edges { node { id type timestamp actorId targetId metadata } }
  }
}
"""


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    with clock_at(T0) as settable:
        yield settable


def iso(moment: datetime) -> str:
    return moment.isoformat()


def oid(thing_id: str) -> ObjectId:
    parsed = parse_global_id(thing_id, "Thing")
    assert parsed is not None
    return parsed


error = payload_error


def key_error(path: str, key: str) -> dict[str, Any]:
    return error(path, "INVALID_PROPERTY_KEY", f"Key {key!r} is not allowed: {KEY_RULE}")


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (the object itself is level 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_lists(depth: int) -> dict[str, Any]:
    """``{"l": [[...]]}``: the object is level 1, each list one more level."""
    value: list[Any] = [1]
    for _ in range(depth - 2):
        value = [value]
    return {"l": value}


def no_counts() -> dict[str, Any]:
    return {"inbound": 0, "outbound": 0, "byType": []}


async def raw_thing(api: Api, thing_id: str) -> dict[str, Any]:
    doc = await api.runtime.database.collection("things").find_one({"_id": oid(thing_id)})
    assert doc is not None
    return doc


async def events_of(api: Api, key: str, event_type: str | None = None) -> list[dict[str, Any]]:
    data = await api.data(key, EVENTS, {"type": event_type})
    return [edge["node"] for edge in data["events"]["edges"]]


# --- createThing -----------------------------------------------------------------------


async def test_create_thing_returns_and_stores_the_thing_with_its_event_and_counters(
    api: Api,
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    properties = {"price": 49.5, "currency": "EUR", "sku": "PASS-1", "tags": ["a", "b"]}

    # when
    data = await api.data(
        tenant.user,
        CREATE,
        {
            "input": {
                "type": "product",
                "name": "Course Pass",
                "properties": properties,
                "status": "published",
            }
        },
    )

    # then
    payload = data["createThing"]
    thing_id = payload["thing"]["id"]
    expected_thing = {
        "id": global_id("Thing", oid(thing_id)),
        "type": "product",
        "name": "Course Pass",
        "properties": properties,
        "status": "published",
        "version": 1,
        "createdAt": iso(T0),
        "updatedAt": iso(T0),
        "connectionCounts": no_counts(),
    }
    assert payload == {"thing": expected_thing, "errors": []}
    assert (await api.data(tenant.customer, THING, {"id": thing_id}))["thing"] == expected_thing
    doc = await raw_thing(api, thing_id)
    assert doc["groupId"] == tenant.id
    assert doc["deletedAt"] is None
    assert doc["sizeBytes"] == len(bson.encode({k: v for k, v in doc.items() if k != "sizeBytes"}))
    event = await api.runtime.database.collection("events").find_one({"groupId": tenant.id})
    assert event is not None
    assert await events_of(api, tenant.user) == [
        {
            "id": global_id("Event", event["_id"]),
            "type": "thing_created",
            "timestamp": iso(T0),
            "actorId": None,
            "targetId": thing_id,
            "metadata": {"type": "product", "name": "Course Pass"},
        }
    ]
    assert await group_counts(api.runtime, tenant.id) == {
        "things": 1,
        "thingsByType": {"product": 1},
        "thingsByStatus": {"published": 1},
        "connections": 0,
        "connectionsByType": {},
        "inboundByType": {},
        "events": 1,
        "people": 0,
        "knowledge": 0,
        "storageBytes": doc["sizeBytes"] + event["sizeBytes"],
    }


async def test_create_thing_defaults_to_draft_with_empty_properties(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    data = await api.data(tenant.user, CREATE, {"input": {"type": "creator", "name": "Ada"}})

    # then
    thing = data["createThing"]["thing"]
    assert data["createThing"]["errors"] == []
    assert (thing["type"], thing["name"], thing["properties"], thing["status"]) == (
        "creator",
        "Ada",
        {},
        "draft",
    )
    assert thing["version"] == 1


async def test_create_thing_trims_the_name_everywhere_it_is_stored(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    data = await api.data(
        tenant.user, CREATE, {"input": {"type": "creator", "name": "  Ada Lovelace \n\t"}}
    )

    # then
    thing_id = data["createThing"]["thing"]["id"]
    assert data["createThing"]["thing"]["name"] == "Ada Lovelace"
    assert (await raw_thing(api, thing_id))["name"] == "Ada Lovelace"
    assert (await events_of(api, tenant.user, "thing_created"))[0]["metadata"] == {
        "type": "creator",
        "name": "Ada Lovelace",
    }


async def test_create_thing_accepts_a_name_of_exactly_256_characters_after_trimming(
    api: Api,
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    name = "n" * 256

    # when
    data = await api.data(
        tenant.user, CREATE, {"input": {"type": "creator", "name": f"   {name}   "}}
    )

    # then
    assert data["createThing"]["errors"] == []
    assert data["createThing"]["thing"]["name"] == name


async def test_create_thing_accepts_properties_at_the_depth_and_size_limits(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    deepest = nested(10)
    largest = {"blob": "x" * 65520}  # encodes to exactly 65536 bytes
    assert len(bson.encode(largest)) == 64 * 1024

    # when
    deep = await api.data(
        tenant.user, CREATE, {"input": {"type": "creator", "name": "Deep", "properties": deepest}}
    )
    large = await api.data(
        tenant.user, CREATE, {"input": {"type": "creator", "name": "Large", "properties": largest}}
    )

    # then
    assert deep["createThing"]["errors"] == []
    assert deep["createThing"]["thing"]["properties"] == deepest
    assert large["createThing"]["errors"] == []
    assert large["createThing"]["thing"]["properties"] == largest
    assert (await group_counts(api.runtime, tenant.id))["things"] == 2


async def test_create_thing_by_an_org_owner_is_allowed(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    data = await api.data(tenant.owner, CREATE, {"input": {"type": "creator", "name": "Ada"}})

    # then
    assert data["createThing"]["errors"] == []
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 1


TOO_LARGE = {"blob": "x" * 65521}  # encodes to 65537 bytes

CREATE_REJECTIONS = [
    pytest.param(
        {"type": "spaceship"},
        [error("type", "UNKNOWN_TYPE", "Unknown thing type 'spaceship'.")],
        id="unknown-type",
    ),
    pytest.param(
        {"type": "s" * (1024 * 1024)},
        [
            error(
                "type",
                "UNKNOWN_TYPE",
                f"Unknown thing type {'s' * 64!r}… (1048576 characters).",
            )
        ],
        id="unknown-1-mib-type-is-not-echoed-whole",
    ),
    pytest.param(
        {"status": "s" * 65},
        [
            error(
                "status",
                "INVALID_STATUS",
                f"Unknown status {'s' * 64!r}… (65 characters); expected one of "
                "draft, active, published, inactive, archived.",
            )
        ],
        id="unknown-65-char-status-is-not-echoed-whole",
    ),
    pytest.param(
        {"name": ""},
        [error("name", "INVALID_NAME", "Name must not be empty.")],
        id="empty-name",
    ),
    pytest.param(
        {"name": " \t\n  "},
        [error("name", "INVALID_NAME", "Name must not be empty.")],
        id="whitespace-name",
    ),
    pytest.param(
        {"name": "n" * 257},
        [error("name", "INVALID_NAME", "Name is 257 characters; the limit is 256.")],
        id="257-char-name",
    ),
    pytest.param(
        {"status": "deleted"},
        [
            error(
                "status",
                "INVALID_STATUS",
                "Unknown status 'deleted'; expected one of "
                "draft, active, published, inactive, archived.",
            )
        ],
        id="unknown-status",
    ),
    pytest.param(
        {"status": "Active"},
        [
            error(
                "status",
                "INVALID_STATUS",
                "Unknown status 'Active'; expected one of "
                "draft, active, published, inactive, archived.",
            )
        ],
        id="status-is-case-sensitive",
    ),
    pytest.param(
        {"properties": {"$set": 1}},
        [key_error("properties.$set", "$set")],
        id="dollar-key",
    ),
    pytest.param(
        {"properties": {"a.b": 1}},
        [key_error("properties.a.b", "a.b")],
        id="dotted-key",
    ),
    pytest.param(
        {"properties": {"1st": 1}},
        [key_error("properties.1st", "1st")],
        id="key-starting-with-digit",
    ),
    pytest.param(
        {"properties": {"": 1}},
        [key_error("properties.", "")],
        id="empty-key",
    ),
    pytest.param(
        {"properties": {"outer": {"in$ner": True}}},
        [key_error("properties.outer.in$ner", "in$ner")],
        id="nested-bad-key",
    ),
    pytest.param(
        {"properties": {"items": [{"ok": 1}, {"bad-key": 2}]}},
        [key_error("properties.items.1.bad-key", "bad-key")],
        id="bad-key-inside-a-list",
    ),
    pytest.param(
        {"properties": nested(11)},
        [
            error(
                "properties" + ".a" * 10,
                "PROPERTIES_TOO_DEEP",
                "Nesting deeper than 10 levels.",
            )
        ],
        id="objects-11-deep",
    ),
    pytest.param(
        {"properties": nested_lists(11)},
        [
            error(
                "properties.l" + ".0" * 9,
                "PROPERTIES_TOO_DEEP",
                "Nesting deeper than 10 levels.",
            )
        ],
        id="lists-11-deep",
    ),
    pytest.param(
        {"properties": TOO_LARGE},
        [
            error(
                "properties",
                "PROPERTIES_TOO_LARGE",
                "Encoded size 65537 bytes exceeds the limit of 65536 bytes.",
            )
        ],
        id="over-64-kib",
    ),
    pytest.param(
        {"properties": [1, 2]},
        [error("properties", "INVALID_PROPERTIES", "Must be a JSON object.")],
        id="properties-a-list",
    ),
    pytest.param(
        {"properties": "text"},
        [error("properties", "INVALID_PROPERTIES", "Must be a JSON object.")],
        id="properties-a-string",
    ),
    pytest.param(
        {"type": "product", "properties": {"price": -1}},
        [error("properties.price", "SCHEMA_MISMATCH", "-1 is less than the minimum of 0")],
        id="product-negative-price",
    ),
    pytest.param(
        {"type": "product", "properties": {"price": 5, "currency": "eur"}},
        [error("properties.currency", "SCHEMA_MISMATCH", "'eur' does not match '^[A-Z]{3}$'")],
        id="product-bad-currency",
    ),
    pytest.param(
        {"type": "payment", "properties": {"amount": "ten"}},
        [error("properties.amount", "SCHEMA_MISMATCH", "'ten' is not of type 'number'")],
        id="payment-amount-not-a-number",
    ),
    pytest.param(
        {"type": "spaceship", "name": "  ", "status": "gone", "properties": {"$x": 1}},
        [
            error("type", "UNKNOWN_TYPE", "Unknown thing type 'spaceship'."),
            error("name", "INVALID_NAME", "Name must not be empty."),
            error(
                "status",
                "INVALID_STATUS",
                "Unknown status 'gone'; expected one of "
                "draft, active, published, inactive, archived.",
            ),
            key_error("properties.$x", "$x"),
        ],
        id="every-error-at-once",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), CREATE_REJECTIONS)
async def test_create_thing_rejects_bad_input_and_writes_nothing(
    api: Api, overrides: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    await create_thing(api, tenant.user, "creator", "Existing")
    before = await sizes_and_counters(api, tenant)
    thing_input = {"type": "creator", "name": "Ada", "properties": {}, "status": "active"}

    # when
    data = await api.data(tenant.user, CREATE, {"input": {**thing_input, **overrides}})

    # then
    assert data["createThing"] == {"thing": None, "errors": expected}
    assert await sizes_and_counters(api, tenant) == before


async def test_create_thing_by_a_customer_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    before = await sizes_and_counters(api, tenant)

    # when / then
    await assert_forbidden(
        api,
        tenant.customer,
        CREATE,
        {"input": {"type": "creator", "name": "Ada"}},
        "createThing",
    )
    assert await sizes_and_counters(api, tenant) == before


# --- updateThing -----------------------------------------------------------------------


async def test_update_thing_changes_fields_bumps_version_and_logs_one_event(
    api: Api, clock: SettableClock
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(
        api, tenant.user, "product", "Pass", {"price": 10}, status="draft"
    )
    later = clock.advance(minutes=1)

    # when
    data = await api.data(
        tenant.user,
        UPDATE,
        {
            "input": {
                "id": thing_id,
                "name": "  Pass Plus ",
                "properties": {"price": 12.5, "currency": "EUR"},
                "status": "published",
                "expectedVersion": 1,
            }
        },
    )

    # then
    expected_thing = {
        "id": thing_id,
        "type": "product",
        "name": "Pass Plus",
        "properties": {"price": 12.5, "currency": "EUR"},
        "status": "published",
        "version": 2,
        "createdAt": iso(T0),
        "updatedAt": iso(later),
        "connectionCounts": no_counts(),
    }
    assert data["updateThing"] == {"thing": expected_thing, "errors": []}
    assert (await api.data(tenant.user, THING, {"id": thing_id}))["thing"] == expected_thing
    updates = await events_of(api, tenant.user, "thing_updated")
    assert [{k: v for k, v in e.items() if k != "id"} for e in updates] == [
        {
            "type": "thing_updated",
            "timestamp": iso(later),
            "actorId": None,
            "targetId": thing_id,
            "metadata": {
                "changes": {
                    "name": {"old": "Pass", "new": "Pass Plus"},
                    "properties": {
                        "old": {"price": 10},
                        "new": {"price": 12.5, "currency": "EUR"},
                    },
                    "status": {"old": "draft", "new": "published"},
                }
            },
        }
    ]
    counts = await group_counts(api.runtime, tenant.id)
    assert (counts["things"], counts["thingsByType"], counts["events"]) == (1, {"product": 1}, 2)
    assert counts["storageBytes"] == await stored_bytes(api, tenant.id)
    doc = await raw_thing(api, thing_id)
    assert doc["sizeBytes"] == len(bson.encode({k: v for k, v in doc.items() if k != "sizeBytes"}))


async def test_update_thing_records_only_the_fields_that_really_change(
    api: Api, clock: SettableClock
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada", {"bio": "x"}, "draft")
    clock.advance(seconds=5)

    # when
    data = await api.data(
        tenant.user,
        UPDATE,
        {"input": {"id": thing_id, "name": "Ada", "properties": {"bio": "x"}, "status": "active"}},
    )

    # then
    assert data["updateThing"]["errors"] == []
    assert (data["updateThing"]["thing"]["version"], data["updateThing"]["thing"]["status"]) == (
        2,
        "active",
    )
    updates = await events_of(api, tenant.user, "thing_updated")
    assert [e["metadata"] for e in updates] == [
        {"changes": {"status": {"old": "draft", "new": "active"}}}
    ]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="nothing-given"),
        pytest.param(
            {"name": " Ada ", "properties": {"bio": "x"}, "status": "draft"}, id="same-values"
        ),
        pytest.param({"properties": {"bio": "x"}, "expectedVersion": 1}, id="same-properties"),
    ],
)
async def test_update_thing_without_changes_keeps_the_version_and_writes_nothing(
    api: Api, clock: SettableClock, changes: dict[str, Any]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada", {"bio": "x"}, "draft")
    before = await sizes_and_counters(api, tenant)
    doc_before = await raw_thing(api, thing_id)
    clock.advance(minutes=1)

    # when
    data = await api.data(tenant.user, UPDATE, {"input": {"id": thing_id, **changes}})

    # then
    assert data["updateThing"] == {
        "thing": {
            "id": thing_id,
            "type": "creator",
            "name": "Ada",
            "properties": {"bio": "x"},
            "status": "draft",
            "version": 1,
            "createdAt": iso(T0),
            "updatedAt": iso(T0),
            "connectionCounts": no_counts(),
        },
        "errors": [],
    }
    assert await events_of(api, tenant.user, "thing_updated") == []
    assert await sizes_and_counters(api, tenant) == before
    assert await raw_thing(api, thing_id) == doc_before


async def test_update_thing_with_a_stale_expected_version_is_a_conflict(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")
    first = await api.data(tenant.user, UPDATE, {"input": {"id": thing_id, "name": "Ada L."}})
    assert first["updateThing"]["thing"]["version"] == 2
    before = await sizes_and_counters(api, tenant)
    doc_before = await raw_thing(api, thing_id)

    # when
    data = await api.data(
        tenant.user,
        UPDATE,
        {"input": {"id": thing_id, "name": "Ada Lovelace", "expectedVersion": 1}},
    )

    # then
    assert data["updateThing"] == {
        "thing": None,
        "errors": [
            error(
                "expectedVersion", "CONFLICT", "Expected version 1, but the thing is at version 2."
            )
        ],
    }
    assert await sizes_and_counters(api, tenant) == before
    assert await raw_thing(api, thing_id) == doc_before


async def test_update_thing_with_the_current_expected_version_succeeds(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")

    # when
    data = await api.data(
        tenant.user, UPDATE, {"input": {"id": thing_id, "name": "Ada L.", "expectedVersion": 1}}
    )

    # then
    assert data["updateThing"]["errors"] == []
    assert (data["updateThing"]["thing"]["name"], data["updateThing"]["thing"]["version"]) == (
        "Ada L.",
        2,
    )


UPDATE_REJECTIONS = [
    pytest.param(
        {"name": ""}, [error("name", "INVALID_NAME", "Name must not be empty.")], id="empty-name"
    ),
    pytest.param(
        {"name": "   "},
        [error("name", "INVALID_NAME", "Name must not be empty.")],
        id="whitespace-name",
    ),
    pytest.param(
        {"name": "n" * 257},
        [error("name", "INVALID_NAME", "Name is 257 characters; the limit is 256.")],
        id="257-char-name",
    ),
    pytest.param(
        {"status": "gone"},
        [
            error(
                "status",
                "INVALID_STATUS",
                "Unknown status 'gone'; expected one of "
                "draft, active, published, inactive, archived.",
            )
        ],
        id="unknown-status",
    ),
    pytest.param(
        {"properties": {"$inc": 1}},
        [key_error("properties.$inc", "$inc")],
        id="dollar-key",
    ),
    pytest.param(
        {"properties": {"a.b": 1}},
        [key_error("properties.a.b", "a.b")],
        id="dotted-key",
    ),
    pytest.param(
        {"properties": {"9lives": 1}},
        [key_error("properties.9lives", "9lives")],
        id="key-starting-with-digit",
    ),
    pytest.param(
        {"properties": nested(11)},
        [
            error(
                "properties" + ".a" * 10,
                "PROPERTIES_TOO_DEEP",
                "Nesting deeper than 10 levels.",
            )
        ],
        id="11-deep",
    ),
    pytest.param(
        {"properties": TOO_LARGE},
        [
            error(
                "properties",
                "PROPERTIES_TOO_LARGE",
                "Encoded size 65537 bytes exceeds the limit of 65536 bytes.",
            )
        ],
        id="over-64-kib",
    ),
    pytest.param(
        {"properties": [1]},
        [error("properties", "INVALID_PROPERTIES", "Must be a JSON object.")],
        id="properties-a-list",
    ),
    pytest.param(
        {"properties": {"price": -3}},
        [error("properties.price", "SCHEMA_MISMATCH", "-3 is less than the minimum of 0")],
        id="negative-price",
    ),
    pytest.param(
        {"name": "", "expectedVersion": 7},
        [
            error("name", "INVALID_NAME", "Name must not be empty."),
            error(
                "expectedVersion", "CONFLICT", "Expected version 7, but the thing is at version 1."
            ),
        ],
        id="invalid-and-stale",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), UPDATE_REJECTIONS)
async def test_update_thing_rejects_bad_input_and_writes_nothing(
    api: Api, changes: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "product", "Pass", {"price": 10})
    before = await sizes_and_counters(api, tenant)
    doc_before = await raw_thing(api, thing_id)

    # when
    data = await api.data(tenant.user, UPDATE, {"input": {"id": thing_id, **changes}})

    # then
    assert data["updateThing"] == {"thing": None, "errors": expected}
    assert await sizes_and_counters(api, tenant) == before
    assert await raw_thing(api, thing_id) == doc_before


@pytest.mark.parametrize("target", ["never-existed", "malformed", "wrong-type", "other-tenant"])
async def test_update_thing_of_an_unknown_id_is_not_found(api: Api, target: str) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    foreign = await create_thing(api, other.user, "creator", "Foreign")
    ids = {
        "never-existed": global_id("Thing", ObjectId()),
        "malformed": "not-an-id",
        "wrong-type": global_id("Person", oid(foreign)),
        "other-tenant": foreign,
    }
    before = await sizes_and_counters(api, tenant)
    other_before = await sizes_and_counters(api, other)

    # when
    data = await api.data(tenant.user, UPDATE, {"input": {"id": ids[target], "name": "Hijack"}})

    # then
    assert data["updateThing"] == {
        "thing": None,
        "errors": [error("id", "NOT_FOUND", "No such thing.")],
    }
    assert await sizes_and_counters(api, tenant) == before
    assert await sizes_and_counters(api, other) == other_before
    assert (await raw_thing(api, foreign))["name"] == "Foreign"


async def test_update_thing_of_a_deleted_thing_is_not_found(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")
    await api.data(tenant.user, DELETE, {"input": {"id": thing_id}})
    before = await sizes_and_counters(api, tenant)

    # when
    data = await api.data(tenant.user, UPDATE, {"input": {"id": thing_id, "name": "Back"}})

    # then
    assert data["updateThing"] == {
        "thing": None,
        "errors": [error("id", "NOT_FOUND", "No such thing.")],
    }
    assert await sizes_and_counters(api, tenant) == before


async def test_update_thing_by_a_customer_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")
    before = await sizes_and_counters(api, tenant)
    doc_before = await raw_thing(api, thing_id)

    # when / then
    await assert_forbidden(
        api, tenant.customer, UPDATE, {"input": {"id": thing_id, "name": "Eve"}}, "updateThing"
    )
    assert await sizes_and_counters(api, tenant) == before
    assert await raw_thing(api, thing_id) == doc_before


# --- deleteThing -----------------------------------------------------------------------


async def test_delete_thing_hides_it_removes_its_connections_and_updates_counters(
    api: Api, clock: SettableClock
) -> None:
    # given: ada -authored-> post, bob -collaborates_with-> ada, ada -following-> bob,
    # and bob -authored-> post, which does not touch ada
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    bob = await create_thing(api, tenant.user, "creator", "Bob")
    post = await create_thing(api, tenant.user, "blog_post", "Post")
    await connect(api, tenant.user, ada, post, "authored")
    await connect(api, tenant.user, bob, ada, "collaborates_with")
    await connect(api, tenant.user, ada, bob, "following")
    kept = await connect(api, tenant.user, bob, post, "authored")
    before = await group_counts(api.runtime, tenant.id)
    assert before["connections"] == 4
    deleted_at = clock.advance(minutes=1)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": ada}})

    # then
    assert data["deleteThing"] == {"deletedId": ada, "errors": []}
    assert (await api.data(tenant.user, THING, {"id": ada}))["thing"] is None
    assert (await api.data(tenant.user, NODE, {"id": ada}))["node"] is None
    listed = await api.data(tenant.user, THINGS, {})
    assert listed["things"]["totalCount"] == 2
    assert [edge["node"]["id"] for edge in listed["things"]["edges"]] == [post, bob]
    bob_counts = (await api.data(tenant.user, THING, {"id": bob}))["thing"]["connectionCounts"]
    assert bob_counts == {
        "inbound": 0,
        "outbound": 1,
        "byType": [{"type": "authored", "inbound": 0, "outbound": 1, "count": 1}],
    }
    post_counts = (await api.data(tenant.user, THING, {"id": post}))["thing"]["connectionCounts"]
    assert post_counts == {
        "inbound": 1,
        "outbound": 0,
        "byType": [{"type": "authored", "inbound": 1, "outbound": 0, "count": 1}],
    }
    assert await raw_count(api.runtime, "connections", {"groupId": tenant.id}) == 1
    remaining = await api.runtime.database.collection("connections").find_one(
        {"groupId": tenant.id}
    )
    assert remaining is not None
    assert remaining["_id"] == parse_global_id(kept, "Connection")
    raw = await raw_thing(api, ada)
    assert raw["deletedAt"] == deleted_at
    after = await group_counts(api.runtime, tenant.id)
    assert after == {
        "things": 2,
        "thingsByType": {"creator": 1, "blog_post": 1},
        "thingsByStatus": {"active": 2},
        "connections": 1,
        "connectionsByType": {"authored": 1, "collaborates_with": 0, "following": 0},
        # the post keeps bob's connection; ada's two inbound and bob's one left with her
        "inboundByType": {"blog_post": 1, "creator": 0},
        "events": before["events"] + 1,
        "people": 0,
        "knowledge": 0,
        "storageBytes": await stored_bytes(api, tenant.id),
    }
    deletions = await events_of(api, tenant.user, "thing_deleted")
    assert [{k: v for k, v in e.items() if k != "id"} for e in deletions] == [
        {
            "type": "thing_deleted",
            "timestamp": iso(deleted_at),
            "actorId": None,
            "targetId": ada,
            "metadata": {"type": "creator", "name": "Ada", "connectionsRemoved": 3},
        }
    ]


async def test_delete_thing_twice_is_not_found_the_second_time(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")
    first = await api.data(tenant.user, DELETE, {"input": {"id": thing_id}})
    assert first["deleteThing"] == {"deletedId": thing_id, "errors": []}
    before = await sizes_and_counters(api, tenant)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": thing_id}})

    # then
    assert data["deleteThing"] == {
        "deletedId": None,
        "errors": [error("id", "NOT_FOUND", "No such thing.")],
    }
    assert await sizes_and_counters(api, tenant) == before


@pytest.mark.parametrize("target", ["never-existed", "malformed", "other-tenant"])
async def test_delete_thing_of_an_unknown_id_is_not_found(api: Api, target: str) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    await create_thing(api, tenant.user, "creator", "Mine")
    foreign = await create_thing(api, other.user, "creator", "Foreign")
    ids = {
        "never-existed": global_id("Thing", ObjectId()),
        "malformed": "%%%",
        "other-tenant": foreign,
    }
    before = await sizes_and_counters(api, tenant)
    other_before = await sizes_and_counters(api, other)

    # when
    data = await api.data(tenant.user, DELETE, {"input": {"id": ids[target]}})

    # then
    assert data["deleteThing"] == {
        "deletedId": None,
        "errors": [error("id", "NOT_FOUND", "No such thing.")],
    }
    assert await sizes_and_counters(api, tenant) == before
    assert await sizes_and_counters(api, other) == other_before
    assert (await raw_thing(api, foreign))["deletedAt"] is None


async def test_delete_thing_by_a_customer_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    thing_id = await create_thing(api, tenant.user, "creator", "Ada")
    before = await sizes_and_counters(api, tenant)

    # when / then
    await assert_forbidden(api, tenant.customer, DELETE, {"input": {"id": thing_id}}, "deleteThing")
    assert await sizes_and_counters(api, tenant) == before
    assert (await raw_thing(api, thing_id))["deletedAt"] is None


# --- thing / things --------------------------------------------------------------------


async def test_things_lists_newest_first_with_filters_and_total_counts(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada", status="active")
    post = await create_thing(api, tenant.user, "blog_post", "Post", status="draft")
    bob = await create_thing(api, tenant.user, "creator", "Bob", status="draft")

    # when
    everything = await api.data(tenant.customer, THINGS, {})
    creators = await api.data(tenant.customer, THINGS, {"type": "creator"})
    drafts = await api.data(tenant.customer, THINGS, {"status": "draft"})
    first_two = await api.data(tenant.customer, THINGS, {"first": 2})
    none = await api.data(tenant.customer, THINGS, {"type": "video"})

    # then
    def listing(data: dict[str, Any]) -> tuple[int | None, list[str]]:
        things = data["things"]
        return things["totalCount"], [edge["node"]["id"] for edge in things["edges"]]

    assert listing(everything) == (3, [bob, post, ada])
    assert listing(creators) == (2, [bob, ada])
    assert listing(drafts) == (2, [bob, post])  # counts.thingsByStatus
    assert listing(first_two) == (3, [bob, post])
    assert first_two["things"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert listing(none) == (0, [])


async def test_thing_is_null_for_unknown_malformed_and_foreign_ids(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    foreign = await create_thing(api, other.user, "creator", "Foreign")

    # when
    results = [
        (await api.data(tenant.user, THING, {"id": thing_id}))["thing"]
        for thing_id in (global_id("Thing", ObjectId()), "garbage", foreign)
    ]

    # then
    assert results == [None, None, None]
