"""Events through the GraphQL API: logEvent, the events list and a thing's activity."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bson
import pytest
from bson import ObjectId

from ontology.kit.ids import parse_global_id
from tests.factories import (
    Api,
    SettableClock,
    Tenant,
    assert_forbidden,
    clock_at,
    create_thing,
    global_id,
    group_counts,
    make_tenant,
    payload_error,
    sizes_and_counters,
    stored_bytes,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY_RULE = "keys match ^[A-Za-z_][A-Za-z0-9_]*$ (no '$', no '.')."

EVENT_FIELDS = "id type timestamp metadata actorId targetId actor { id name } target { id name }"
LOG = f"""
mutation($input: LogEventInput!) {{
  logEvent(input: $input) {{
    event {{ {EVENT_FIELDS} }}
    errors {{ index path code message }}
  }}
}}
"""
EVENTS = """
query(
  $type: String, $actorId: ID, $targetId: ID, $since: DateTime, $until: DateTime, $first: Int = 20
) {
  events(
    type: $type, actorId: $actorId, targetId: $targetId, since: $since, until: $until,
    first: $first
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage }
    edges { node { id type timestamp actorId targetId } }
  }
}
"""
ACTIVITY = """
query($id: ID!, $first: Int = 20) {
  thing(id: $id) {
    activity(first: $first) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { node { id type timestamp actorId targetId } }
    }
  }
}
"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Event {{ {EVENT_FIELDS} }} }} }}"


@pytest.fixture(autouse=True)
def clock() -> Iterator[SettableClock]:
    with clock_at(T0) as settable:
        yield settable


def iso(moment: datetime) -> str:
    return moment.isoformat()


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, 1, hour, minute, tzinfo=UTC)


error = payload_error


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


async def log(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    data = await api.data(key, LOG, {"input": fields})
    payload: dict[str, Any] = data["logEvent"]
    return payload


async def logged(api: Api, key: str, **fields: Any) -> str:
    payload = await log(api, key, **fields)
    assert payload["errors"] == [], payload["errors"]
    event_id: str = payload["event"]["id"]
    return event_id


# --- logEvent --------------------------------------------------------------------------


async def test_log_event_returns_and_stores_the_event_and_counts_it(
    api: Api, clock: SettableClock
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    post = await create_thing(api, tenant.user, "blog_post", "Post")
    before = await group_counts(api.runtime, tenant.id)
    now = clock.advance(seconds=30, microseconds=123456)

    # when
    payload = await log(
        api,
        tenant.user,
        type="content_event",
        actorId=ada,
        targetId=post,
        metadata={"action": "viewed", "device": {"os": "linux"}, "ms": [1, 2]},
    )

    # then
    event_id = payload["event"]["id"]
    event_oid = parse_global_id(event_id, "Event")
    assert event_oid is not None
    expected = {
        "id": global_id("Event", event_oid),
        "type": "content_event",
        "timestamp": "2025-03-01T12:00:30.123000+00:00",
        "metadata": {"action": "viewed", "device": {"os": "linux"}, "ms": [1, 2]},
        "actorId": ada,
        "targetId": post,
        "actor": {"id": ada, "name": "Ada"},
        "target": {"id": post, "name": "Post"},
    }
    assert now.microsecond == 123456
    assert payload == {"event": expected, "errors": []}
    assert (await api.data(tenant.user, NODE, {"id": event_id}))["node"] == expected
    doc = await api.runtime.database.collection("events").find_one({"_id": event_oid})
    assert doc is not None
    assert doc["groupId"] == tenant.id
    assert doc["sizeBytes"] == len(bson.encode({k: v for k, v in doc.items() if k != "sizeBytes"}))
    assert await group_counts(api.runtime, tenant.id) == {
        **before,
        "events": before["events"] + 1,
        "storageBytes": before["storageBytes"] + doc["sizeBytes"],
    }
    assert before["storageBytes"] + doc["sizeBytes"] == await stored_bytes(api, tenant.id)


async def test_log_event_without_actor_target_or_metadata(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    payload = await log(api, tenant.user, type="report_generated")

    # then
    event = payload["event"]
    assert payload["errors"] == []
    assert {k: v for k, v in event.items() if k != "id"} == {
        "type": "report_generated",
        "timestamp": iso(T0),
        "metadata": {},
        "actorId": None,
        "targetId": None,
        "actor": None,
        "target": None,
    }
    assert (await group_counts(api.runtime, tenant.id))["events"] == 1


async def test_log_event_keeps_a_back_dated_timestamp_truncated_to_milliseconds(
    api: Api,
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    payload = await log(
        api, tenant.user, type="user_login", timestamp="2024-12-24T18:30:15.987654Z"
    )

    # then
    assert payload["errors"] == []
    assert payload["event"]["timestamp"] == "2024-12-24T18:30:15.987000+00:00"
    listed = await api.data(tenant.user, EVENTS, {})
    assert [e["node"]["timestamp"] for e in listed["events"]["edges"]] == [
        "2024-12-24T18:30:15.987000+00:00"
    ]


async def test_log_event_tolerates_a_clock_up_to_five_minutes_ahead(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")

    # when
    payload = await log(api, tenant.user, type="user_login", timestamp="2025-03-01T12:05:00Z")

    # then
    assert payload["errors"] == []
    assert payload["event"]["timestamp"] == "2025-03-01T12:05:00+00:00"


async def test_back_dated_events_are_listed_in_timestamp_order_not_insertion_order(
    api: Api,
) -> None:
    # given: logged newest first
    tenant = await make_tenant(api.runtime, "acme")
    now_event = await logged(api, tenant.user, type="user_login")
    yesterday = await logged(api, tenant.user, type="user_login", timestamp="2025-02-28T12:00:00Z")
    an_hour_ago = await logged(
        api, tenant.user, type="user_login", timestamp="2025-03-01T11:00:00Z"
    )
    last_year = await logged(api, tenant.user, type="user_login", timestamp="2024-03-01T12:00:00Z")

    # when
    listed = await api.data(tenant.user, EVENTS, {})

    # then
    assert [(e["node"]["id"], e["node"]["timestamp"]) for e in listed["events"]["edges"]] == [
        (now_event, "2025-03-01T12:00:00+00:00"),
        (an_hour_ago, "2025-03-01T11:00:00+00:00"),
        (yesterday, "2025-02-28T12:00:00+00:00"),
        (last_year, "2024-03-01T12:00:00+00:00"),
    ]


KEY_ERROR = "INVALID_PROPERTY_KEY"

LOG_REJECTIONS = [
    pytest.param(
        {"type": "teleported"},
        [error("type", "UNKNOWN_TYPE", "Unknown event type 'teleported'.")],
        id="unknown-type",
    ),
    pytest.param(
        {"type": "t" * (1024 * 1024)},
        [
            error(
                "type",
                "UNKNOWN_TYPE",
                f"Unknown event type {'t' * 64!r}… (1048576 characters).",
            )
        ],
        id="unknown-1-mib-type-is-not-echoed-whole",
    ),
    pytest.param(
        {"actorId": "missing"},
        [error("actorId", "NOT_FOUND", "No such thing.")],
        id="actor-missing",
    ),
    pytest.param(
        {"targetId": "missing"},
        [error("targetId", "NOT_FOUND", "No such thing.")],
        id="target-missing",
    ),
    pytest.param(
        {"actorId": "malformed"},
        [error("actorId", "NOT_FOUND", "No such thing.")],
        id="actor-malformed",
    ),
    pytest.param(
        {"targetId": "deleted"},
        [error("targetId", "NOT_FOUND", "No such thing.")],
        id="target-deleted",
    ),
    pytest.param(
        {"actorId": "foreign"},
        [error("actorId", "NOT_FOUND", "No such thing.")],
        id="actor-of-another-tenant",
    ),
    pytest.param(
        {"actorId": "missing", "targetId": "foreign"},
        [
            error("actorId", "NOT_FOUND", "No such thing."),
            error("targetId", "NOT_FOUND", "No such thing."),
        ],
        id="actor-and-target-missing",
    ),
    pytest.param(
        {"metadata": {"$where": 1}},
        [error("metadata.$where", KEY_ERROR, f"Key '$where' is not allowed: {KEY_RULE}")],
        id="metadata-dollar-key",
    ),
    pytest.param(
        {"metadata": {"a.b": 1}},
        [error("metadata.a.b", KEY_ERROR, f"Key 'a.b' is not allowed: {KEY_RULE}")],
        id="metadata-dotted-key",
    ),
    pytest.param(
        {"metadata": {"ok": {"2fa": True}}},
        [error("metadata.ok.2fa", KEY_ERROR, f"Key '2fa' is not allowed: {KEY_RULE}")],
        id="metadata-nested-key-starting-with-digit",
    ),
    pytest.param(
        {"metadata": nested(11)},
        [error("metadata" + ".a" * 10, "PROPERTIES_TOO_DEEP", "Nesting deeper than 10 levels.")],
        id="metadata-11-deep",
    ),
    pytest.param(
        {"metadata": {"blob": "x" * 65521}},
        [
            error(
                "metadata",
                "PROPERTIES_TOO_LARGE",
                "Encoded size 65537 bytes exceeds the limit of 65536 bytes.",
            )
        ],
        id="metadata-over-64-kib",
    ),
    pytest.param(
        {"metadata": ["a"]},
        [error("metadata", "INVALID_PROPERTIES", "Must be a JSON object.")],
        id="metadata-not-an-object",
    ),
    pytest.param(
        {"timestamp": "2025-03-01T12:06:00Z"},
        [error("timestamp", "INVALID_INPUT", "timestamp is in the future.")],
        id="timestamp-six-minutes-ahead",
    ),
    pytest.param(
        {"timestamp": "2025-03-01T12:05:00.001Z"},
        [error("timestamp", "INVALID_INPUT", "timestamp is in the future.")],
        id="timestamp-just-past-the-tolerance",
    ),
    pytest.param(
        {"timestamp": "2030-01-01T00:00:00Z"},
        [error("timestamp", "INVALID_INPUT", "timestamp is in the future.")],
        id="timestamp-years-ahead",
    ),
    pytest.param(
        {"timestamp": "2025-03-01T10:00:00"},
        [error("timestamp", "INVALID_INPUT", "timestamp needs a time zone.")],
        id="timestamp-without-time-zone",
    ),
    pytest.param(
        {
            "type": "nope",
            "actorId": "missing",
            "targetId": "malformed",
            "metadata": {"$x": 1},
            "timestamp": "2026-01-01T00:00:00Z",
        },
        [
            error("type", "UNKNOWN_TYPE", "Unknown event type 'nope'."),
            error("actorId", "NOT_FOUND", "No such thing."),
            error("targetId", "NOT_FOUND", "No such thing."),
            error("metadata.$x", KEY_ERROR, f"Key '$x' is not allowed: {KEY_RULE}"),
            error("timestamp", "INVALID_INPUT", "timestamp is in the future."),
        ],
        id="every-error-at-once",
    ),
]


SYSTEM_EVENT_TYPES = (
    "thing_created",
    "thing_updated",
    "thing_deleted",
    "connection_created",
    "connection_deleted",
    "batch_imported",
    "connections_batch_created",
    "things_batch_updated",
    "quota_exceeded",
    "subscription_event",
    "events_archived",
)
LOG_REJECTIONS += [
    pytest.param(
        {"type": system_type},
        [
            error(
                "type",
                "RESERVED_EVENT_TYPE",
                f"{system_type} is written by the system only; logEvent cannot log it.",
            )
        ],
        id=f"system-type-{system_type}",
    )
    for system_type in SYSTEM_EVENT_TYPES
]


@pytest.mark.parametrize(("overrides", "expected"), LOG_REJECTIONS)
async def test_log_event_rejects_bad_input_and_writes_nothing(
    api: Api, overrides: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    deleted = await create_thing(api, tenant.user, "creator", "Gone")
    removed = await api.data(
        tenant.user,
        "mutation($id: ID!) { deleteThing(input: {id: $id}) { errors { code } } }",
        {"id": deleted},
    )
    assert removed["deleteThing"]["errors"] == []
    ids = {
        "ada": ada,
        "missing": global_id("Thing", ObjectId()),
        "malformed": "not-an-id",
        "deleted": deleted,
        "foreign": await create_thing(api, other.user, "creator", "Foreign"),
    }
    fields: dict[str, Any] = {"type": "content_event", "actorId": ada, "targetId": ada}
    for name, value in overrides.items():
        fields[name] = ids[value] if name in ("actorId", "targetId") else value
    before = await sizes_and_counters(api, tenant)
    other_before = await sizes_and_counters(api, other)

    # when
    payload = await log(api, tenant.user, **fields)

    # then
    assert payload == {"event": None, "errors": expected}
    assert await sizes_and_counters(api, tenant) == before
    assert await sizes_and_counters(api, other) == other_before


async def test_log_event_by_a_customer_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    tenant = await make_tenant(api.runtime, "acme")
    before = await sizes_and_counters(api, tenant)

    # when / then
    await assert_forbidden(api, tenant.customer, LOG, {"input": {"type": "user_login"}}, "logEvent")
    assert await sizes_and_counters(api, tenant) == before


# --- events and activity ---------------------------------------------------------------


@dataclass
class Timeline:
    """Things ada (created 12:00:00) and post (12:00:01), and events logged back-dated."""

    tenant: Tenant
    ada: str
    post: str
    events: dict[str, dict[str, Any]]


@pytest.fixture
async def timeline(api: Api, clock: SettableClock) -> Timeline:
    tenant = await make_tenant(api.runtime, "acme")
    ada = await create_thing(api, tenant.user, "creator", "Ada")
    clock.advance(seconds=1)
    post = await create_thing(api, tenant.user, "blog_post", "Post")
    listed = await api.data(tenant.user, EVENTS, {"type": "thing_created"})
    created = {edge["node"]["targetId"]: edge["node"] for edge in listed["events"]["edges"]}
    events = {"ada_created": created[ada], "post_created": created[post]}
    for name, event_type, actor, target, moment in (
        ("login", "user_login", ada, None, at(9)),
        ("ada_views_post", "content_event", ada, post, at(10)),
        ("post_mentions_ada", "content_event", post, ada, at(11)),
        ("logout", "user_logout", ada, None, at(11, 30)),
        ("ada_edits_herself", "profile_updated", ada, ada, at(11, 45)),
    ):
        event_id = await logged(
            api,
            tenant.user,
            type=event_type,
            actorId=actor,
            targetId=target,
            timestamp=iso(moment),
        )
        events[name] = {
            "id": event_id,
            "type": event_type,
            "timestamp": iso(moment),
            "actorId": actor,
            "targetId": target,
        }
    return Timeline(tenant=tenant, ada=ada, post=post, events=events)


async def test_events_lists_every_event_newest_first_with_total_count(
    api: Api, timeline: Timeline
) -> None:
    # given
    e = timeline.events

    # when
    listed = (await api.data(timeline.tenant.user, EVENTS, {}))["events"]

    # then
    assert listed == {
        "totalCount": 7,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
        "edges": [
            {"node": e[name]}
            for name in (
                "post_created",
                "ada_created",
                "ada_edits_herself",
                "logout",
                "post_mentions_ada",
                "ada_views_post",
                "login",
            )
        ],
    }
    assert e["ada_created"] == {
        "id": e["ada_created"]["id"],
        "type": "thing_created",
        "timestamp": iso(T0),
        "actorId": None,
        "targetId": timeline.ada,
    }
    assert e["post_created"]["timestamp"] == "2025-03-01T12:00:01+00:00"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        pytest.param({"type": "content_event"}, ["post_mentions_ada", "ada_views_post"], id="type"),
        pytest.param(
            {"actorId": "ada"},
            ["ada_edits_herself", "logout", "ada_views_post", "login"],
            id="actor",
        ),
        pytest.param(
            {"targetId": "ada"},
            ["ada_created", "ada_edits_herself", "post_mentions_ada"],
            id="target",
        ),
        pytest.param(
            {"actorId": "post", "targetId": "ada"}, ["post_mentions_ada"], id="actor-and-target"
        ),
        pytest.param(
            {"type": "content_event", "actorId": "ada"}, ["ada_views_post"], id="type-and-actor"
        ),
        pytest.param(
            {"since": "2025-03-01T10:00:00Z", "until": "2025-03-01T11:00:00Z"},
            ["post_mentions_ada", "ada_views_post"],
            id="since-and-until-are-inclusive",
        ),
        pytest.param(
            {"since": "2025-03-01T11:30:00Z"},
            ["post_created", "ada_created", "ada_edits_herself", "logout"],
            id="since",
        ),
        pytest.param({"until": "2025-03-01T09:59:59.999Z"}, ["login"], id="until"),
        pytest.param(
            {"since": "2025-03-01T10:00:00.001Z", "until": "2025-03-01T10:59:59.999Z"},
            [],
            id="empty-range",
        ),
        pytest.param(
            {"type": "user_logout", "actorId": "ada", "since": "2025-03-01T11:00:00Z"},
            ["logout"],
            id="type-actor-and-since",
        ),
        pytest.param({"actorId": "malformed"}, [], id="malformed-actor"),
        pytest.param({"targetId": "missing"}, [], id="unknown-target"),
        pytest.param({"type": "payment_failed"}, [], id="type-never-logged"),
    ],
)
async def test_events_filters_return_exactly_the_matching_events_newest_first(
    api: Api, timeline: Timeline, filters: dict[str, str], expected: list[str]
) -> None:
    # given
    ids = {
        "ada": timeline.ada,
        "post": timeline.post,
        "malformed": "not-an-id",
        "missing": global_id("Thing", ObjectId()),
    }
    variables = {
        name: ids[value] if name in ("actorId", "targetId") else value
        for name, value in filters.items()
    }

    # when
    listed = (await api.data(timeline.tenant.user, EVENTS, variables))["events"]

    # then
    assert listed["edges"] == [{"node": timeline.events[name]} for name in expected]
    assert listed["totalCount"] is None


async def test_events_pages_with_first(api: Api, timeline: Timeline) -> None:
    # given
    e = timeline.events

    # when
    listed = (await api.data(timeline.tenant.user, EVENTS, {"first": 3}))["events"]

    # then
    assert [edge["node"] for edge in listed["edges"]] == [
        e["post_created"],
        e["ada_created"],
        e["ada_edits_herself"],
    ]
    assert listed["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}
    assert listed["totalCount"] == 7


async def test_activity_lists_events_as_actor_or_target_newest_first_each_once(
    api: Api, timeline: Timeline
) -> None:
    # given
    e = timeline.events

    # when
    ada = (await api.data(timeline.tenant.user, ACTIVITY, {"id": timeline.ada}))["thing"]
    post = (await api.data(timeline.tenant.user, ACTIVITY, {"id": timeline.post}))["thing"]

    # then
    assert [edge["node"] for edge in ada["activity"]["edges"]] == [
        e["ada_created"],
        e["ada_edits_herself"],
        e["logout"],
        e["post_mentions_ada"],
        e["ada_views_post"],
        e["login"],
    ]
    assert [edge["node"] for edge in post["activity"]["edges"]] == [
        e["post_created"],
        e["post_mentions_ada"],
        e["ada_views_post"],
    ]


async def test_activity_pages_with_first(api: Api, timeline: Timeline) -> None:
    # given
    e = timeline.events

    # when
    ada = (await api.data(timeline.tenant.user, ACTIVITY, {"id": timeline.ada, "first": 2}))[
        "thing"
    ]

    # then
    assert [edge["node"] for edge in ada["activity"]["edges"]] == [
        e["ada_created"],
        e["ada_edits_herself"],
    ]
    assert ada["activity"]["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False}


async def test_activity_includes_connection_events_of_the_thing(
    api: Api, timeline: Timeline, clock: SettableClock
) -> None:
    # given
    clock.advance(minutes=1)
    created = await api.data(
        timeline.tenant.user,
        """mutation($from: ID!, $to: ID!) {
          createConnection(input: {fromId: $from, toId: $to, type: "authored"}) {
            connection { id } errors { code }
          }
        }""",
        {"from": timeline.ada, "to": timeline.post},
    )
    assert created["createConnection"]["errors"] == []

    # when
    post = (await api.data(timeline.tenant.user, ACTIVITY, {"id": timeline.post}))["thing"]

    # then
    first = post["activity"]["edges"][0]["node"]
    assert {k: v for k, v in first.items() if k != "id"} == {
        "type": "connection_created",
        "timestamp": "2025-03-01T12:01:01+00:00",
        "actorId": timeline.ada,
        "targetId": timeline.post,
    }
    assert len(post["activity"]["edges"]) == 4
