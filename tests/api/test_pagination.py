"""Keyset pagination through the API: exact pages, exact pageInfo, stable cursors.

Lists are newest first: ``first``/``after`` walk towards older items and
``last``/``before`` towards newer ones. A cursor is the encoded sort key
(``_id`` for things and connections, ``sortKey`` for events), so the expected
cursors are computed here with ``encode_cursor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from ontology.connections.models import NewConnection
from ontology.db.windows import scope_key
from ontology.events.service import NewEvent
from ontology.kit.clock import utcnow
from ontology.kit.ids import parse_global_id
from ontology.kit.pagination import PageRequest, encode_cursor
from ontology.things.models import NewThing
from tests.factories import Api, Tenant, create_thing, global_id, group_counts, make_tenant

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

THINGS = f"""
query($type: String, $first: Int, $after: String, $last: Int, $before: String) {{
  things(type: $type, first: $first, after: $after, last: $last, before: $before) {{
    edges {{ cursor node {{ id }} }}
    {PAGE_INFO}
    totalCount
  }}
}}
"""

EVENTS = f"""
query($first: Int, $after: String, $last: Int, $before: String) {{
  events(first: $first, after: $after, last: $last, before: $before) {{
    edges {{ cursor node {{ id }} }}
    {PAGE_INFO}
    totalCount
  }}
}}
"""

THING_CONNECTIONS = f"""
query(
  $id: ID!, $direction: Direction! = BOTH,
  $first: Int, $after: String, $last: Int, $before: String
) {{
  thing(id: $id) {{
    connections(
      direction: $direction, first: $first, after: $after, last: $last, before: $before
    ) {{
      edges {{ cursor direction connection {{ id }} node {{ id }} }}
      {PAGE_INFO}
      totalCount
    }}
  }}
}}
"""


def page_info(
    keys: Sequence[ObjectId | str], *, has_next: bool, has_previous: bool
) -> dict[str, Any]:
    return {
        "hasNextPage": has_next,
        "hasPreviousPage": has_previous,
        "startCursor": encode_cursor(keys[0]) if keys else None,
        "endCursor": encode_cursor(keys[-1]) if keys else None,
    }


def id_page(
    type_name: str,
    ids: Sequence[ObjectId],
    *,
    has_next: bool,
    has_previous: bool,
    total: int | None,
) -> dict[str, Any]:
    """The exact connection for a page of ``ids`` (newest first), keyed by ``_id``."""
    return {
        "edges": [
            {"cursor": encode_cursor(i), "node": {"id": global_id(type_name, i)}} for i in ids
        ],
        "pageInfo": page_info(ids, has_next=has_next, has_previous=has_previous),
        "totalCount": total,
    }


async def seed_things(
    api: Api, tenant: Tenant, names: Sequence[str], thing_type: str = "creator"
) -> list[ObjectId]:
    """Create things in order; their ids, oldest first."""
    ids: list[ObjectId] = []
    for name in names:
        doc = await api.runtime.services.things.create(
            tenant.id, NewThing(type=thing_type, name=name, properties={}, status="active")
        )
        ids.append(doc["_id"])
    return ids


async def things_page(api: Api, key: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(key, THINGS, variables)
    page: dict[str, Any] = data["things"]
    return page


# --- things -------------------------------------------------------------------------------


async def test_things_forward_walk_returns_every_thing_once_newest_first(api: Api) -> None:
    # given seven things, created t0 (oldest) .. t6 (newest)
    tenant = await make_tenant(api.runtime, "acme")
    t = await seed_things(api, tenant, [f"T{i}" for i in range(7)])

    # when walking forward three at a time
    page1 = await things_page(api, tenant.user, first=3)
    page2 = await things_page(api, tenant.user, first=3, after=page1["pageInfo"]["endCursor"])
    page3 = await things_page(api, tenant.user, first=3, after=page2["pageInfo"]["endCursor"])
    beyond = await things_page(api, tenant.user, first=3, after=page3["pageInfo"]["endCursor"])

    # then each page is exact, the last one partial, and one past the end is empty
    assert page1 == id_page("Thing", [t[6], t[5], t[4]], has_next=True, has_previous=False, total=7)
    assert page2 == id_page("Thing", [t[3], t[2], t[1]], has_next=True, has_previous=True, total=7)
    assert page3 == id_page("Thing", [t[0]], has_next=False, has_previous=True, total=7)
    assert beyond == id_page("Thing", [], has_next=False, has_previous=True, total=7)
    assert (await group_counts(api.runtime, tenant.id))["things"] == 7


async def test_things_backward_walk_returns_every_thing_once_newest_first(api: Api) -> None:
    # given seven things, t0 (oldest) .. t6 (newest)
    tenant = await make_tenant(api.runtime, "acme")
    t = await seed_things(api, tenant, [f"T{i}" for i in range(7)])

    # when walking backward (towards newer things) three at a time from the oldest end
    page1 = await things_page(api, tenant.user, last=3)
    page2 = await things_page(api, tenant.user, last=3, before=page1["pageInfo"]["startCursor"])
    page3 = await things_page(api, tenant.user, last=3, before=page2["pageInfo"]["startCursor"])

    # then every page is still ordered newest first, and together they cover all things
    assert page1 == id_page("Thing", [t[2], t[1], t[0]], has_next=False, has_previous=True, total=7)
    assert page2 == id_page("Thing", [t[5], t[4], t[3]], has_next=True, has_previous=True, total=7)
    assert page3 == id_page("Thing", [t[6]], has_next=True, has_previous=False, total=7)


async def test_things_forward_and_backward_meet_at_the_same_cursor(api: Api) -> None:
    # given five things
    tenant = await make_tenant(api.runtime, "acme")
    t = await seed_things(api, tenant, [f"T{i}" for i in range(5)])

    # when going forward two pages, then back from the start of the second page
    page1 = await things_page(api, tenant.user, first=2)
    page2 = await things_page(api, tenant.user, first=2, after=page1["pageInfo"]["endCursor"])
    back = await things_page(api, tenant.user, last=2, before=page2["pageInfo"]["startCursor"])

    # then going back returns exactly the first page (with backward pageInfo)
    assert page2 == id_page("Thing", [t[2], t[1]], has_next=True, has_previous=True, total=5)
    assert back == id_page("Thing", [t[4], t[3]], has_next=True, has_previous=False, total=5)


async def test_things_page_size_100_is_allowed(api: Api) -> None:
    # given 22 things
    tenant = await make_tenant(api.runtime, "acme")
    t = await seed_things(api, tenant, [f"T{i}" for i in range(22)])
    newest_first = list(reversed(t))

    # when asking for 20, and for the largest page size
    default = await things_page(api, tenant.user, first=20)
    largest = await things_page(api, tenant.user, first=100)
    largest_back = await things_page(api, tenant.user, last=100)

    # then the page holds 20, and 100 returns everything in one page
    assert default == id_page(
        "Thing", newest_first[:20], has_next=True, has_previous=False, total=22
    )
    assert largest == id_page("Thing", newest_first, has_next=False, has_previous=False, total=22)
    assert largest_back == id_page(
        "Thing", newest_first, has_next=False, has_previous=False, total=22
    )


async def test_things_filtered_by_type_page_through_that_type_only(api: Api) -> None:
    # given creators and communities interleaved
    tenant = await make_tenant(api.runtime, "acme")
    creators: list[ObjectId] = []
    communities: list[ObjectId] = []
    for i in range(5):
        creators += await seed_things(api, tenant, [f"C{i}"], "creator")
        communities += await seed_things(api, tenant, [f"G{i}"], "community")

    # when walking the communities two at a time
    page1 = await things_page(api, tenant.user, type="community", first=2)
    page2 = await things_page(
        api, tenant.user, type="community", first=2, after=page1["pageInfo"]["endCursor"]
    )
    page3 = await things_page(
        api, tenant.user, type="community", first=2, after=page2["pageInfo"]["endCursor"]
    )

    # then only communities come back, and totalCount is the per-type counter
    c = communities
    assert page1 == id_page("Thing", [c[4], c[3]], has_next=True, has_previous=False, total=5)
    assert page2 == id_page("Thing", [c[2], c[1]], has_next=True, has_previous=True, total=5)
    assert page3 == id_page("Thing", [c[0]], has_next=False, has_previous=True, total=5)
    counts = await group_counts(api.runtime, tenant.id)
    assert counts["things"] == 10
    assert counts["thingsByType"] == {"creator": 5, "community": 5}


async def test_things_created_during_a_forward_walk_neither_appear_nor_shift_it(api: Api) -> None:
    # given ten things
    tenant = await make_tenant(api.runtime, "acme")
    original = list(reversed(await seed_things(api, tenant, [f"T{i}" for i in range(10)])))

    # when walking forward three at a time and creating a thing before each next page
    seen: list[str] = []
    totals: list[int] = []
    created: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await things_page(api, tenant.user, first=3, after=cursor)
        seen += [e["node"]["id"] for e in page["edges"]]
        totals.append(page["totalCount"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
        created.append(await create_thing(api, tenant.user, "creator", f"New{len(created)}"))
    else:
        pytest.fail("the forward walk never reached a page without a next page")

    # then the walk returned exactly the original things: no duplicate, no gap
    assert seen == [global_id("Thing", i) for i in original]
    assert len(set(seen)) == 10
    # and totalCount (from the counters) did count the new things as they arrived
    assert totals == [10, 11, 12, 13]
    assert (await group_counts(api.runtime, tenant.id))["things"] == 13
    # and the new things are newer: they sit before the start of the original walk
    newer = await things_page(api, tenant.user, last=100, before=encode_cursor(original[0]))
    assert [e["node"]["id"] for e in newer["edges"]] == list(reversed(created))
    assert newer["pageInfo"]["hasNextPage"] is True
    assert newer["pageInfo"]["hasPreviousPage"] is False


# --- events -------------------------------------------------------------------------------


async def test_events_walk_both_ways_in_time_order_with_ties_broken_by_id(api: Api) -> None:
    # given seven events logged out of time order, two pairs in the same millisecond
    tenant = await make_tenant(api.runtime, "acme")
    base = utcnow().replace(microsecond=0) - timedelta(hours=1)
    seconds = [3, 1, 4, 1, 0, 3, 2]
    events = [
        await api.runtime.services.events.log(
            tenant.id, NewEvent(type="content_event", timestamp=base + timedelta(seconds=s))
        )
        for s in seconds
    ]
    # newest first: by time, then (same millisecond) by id, i.e. the later-logged first
    order = [events[i] for i in (2, 5, 0, 6, 3, 1, 4)]
    keys = [e["sortKey"] for e in order]
    assert keys == sorted(keys, reverse=True)

    def expected(chunk: Sequence[dict[str, Any]], has_next: bool, has_previous: bool):
        return {
            "edges": [
                {
                    "cursor": encode_cursor(e["sortKey"]),
                    "node": {"id": global_id("Event", e["_id"])},
                }
                for e in chunk
            ],
            "pageInfo": page_info(
                [e["sortKey"] for e in chunk], has_next=has_next, has_previous=has_previous
            ),
            "totalCount": 7,
        }

    # when walking forward three at a time
    f1 = (await api.data(tenant.user, EVENTS, {"first": 3}))["events"]
    f2 = (await api.data(tenant.user, EVENTS, {"first": 3, "after": f1["pageInfo"]["endCursor"]}))[
        "events"
    ]
    f3 = (await api.data(tenant.user, EVENTS, {"first": 3, "after": f2["pageInfo"]["endCursor"]}))[
        "events"
    ]
    # and backward three at a time
    b1 = (await api.data(tenant.user, EVENTS, {"last": 3}))["events"]
    b2 = (
        await api.data(tenant.user, EVENTS, {"last": 3, "before": b1["pageInfo"]["startCursor"]})
    )["events"]
    b3 = (
        await api.data(tenant.user, EVENTS, {"last": 3, "before": b2["pageInfo"]["startCursor"]})
    )["events"]

    # then both walks give the exact pages, and totalCount is the counter
    assert f1 == expected(order[0:3], has_next=True, has_previous=False)
    assert f2 == expected(order[3:6], has_next=True, has_previous=True)
    assert f3 == expected(order[6:7], has_next=False, has_previous=True)
    assert b1 == expected(order[4:7], has_next=False, has_previous=True)
    assert b2 == expected(order[1:4], has_next=True, has_previous=True)
    assert b3 == expected(order[0:1], has_next=True, has_previous=False)
    assert (await group_counts(api.runtime, tenant.id))["events"] == 7


# --- a thing's connections ----------------------------------------------------------------


async def test_thing_connections_walk_both_ways_across_directions(api: Api) -> None:
    # given a thing with six connections, alternately outbound and inbound,
    # and one connection between two other things
    tenant = await make_tenant(api.runtime, "acme")
    center, *others = await seed_things(api, tenant, [f"T{i}" for i in range(7)])
    connections: list[ObjectId] = []
    directions: list[str] = []
    ends: list[ObjectId] = []
    for k, other in enumerate(others):
        outbound = k % 2 == 0
        new = NewConnection(
            from_id=center if outbound else other,
            to_id=other if outbound else center,
            type="collaborates_with",
        )
        doc = await api.runtime.services.connections.create(tenant.id, new)
        connections.append(doc["_id"])
        directions.append("OUTBOUND" if outbound else "INBOUND")
        ends.append(other)
    await api.runtime.services.connections.create(
        tenant.id, NewConnection(from_id=others[0], to_id=others[1], type="reports_to")
    )

    def expected(positions: Sequence[int], has_next: bool, has_previous: bool, total: int = 6):
        return {
            "edges": [
                {
                    "cursor": encode_cursor(connections[k]),
                    "direction": directions[k],
                    "connection": {"id": global_id("Connection", connections[k])},
                    "node": {"id": global_id("Thing", ends[k])},
                }
                for k in positions
            ],
            "pageInfo": page_info(
                [connections[k] for k in positions], has_next=has_next, has_previous=has_previous
            ),
            "totalCount": total,
        }

    async def page(**variables: Any) -> dict[str, Any]:
        data = await api.data(
            tenant.user, THING_CONNECTIONS, {"id": global_id("Thing", center), **variables}
        )
        result: dict[str, Any] = data["thing"]["connections"]
        return result

    # when walking forward two at a time (the last page is exactly full)
    f1 = await page(first=2)
    f2 = await page(first=2, after=f1["pageInfo"]["endCursor"])
    f3 = await page(first=2, after=f2["pageInfo"]["endCursor"])
    # and backward four at a time (the last page is partial)
    b1 = await page(last=4)
    b2 = await page(last=4, before=b1["pageInfo"]["startCursor"])
    # and forward over the outbound ones only
    out = await page(direction="OUTBOUND", first=2)

    # then
    assert f1 == expected([5, 4], has_next=True, has_previous=False)
    assert f2 == expected([3, 2], has_next=True, has_previous=True)
    assert f3 == expected([1, 0], has_next=False, has_previous=True)
    assert b1 == expected([3, 2, 1, 0], has_next=False, has_previous=True)
    assert b2 == expected([5, 4], has_next=True, has_previous=False)
    assert out == expected([4, 2], has_next=True, has_previous=False, total=3)
    # and totalCount is the thing's own counters
    (doc,) = await api.runtime.repos.things.by_ids(tenant.id, [center])
    assert doc["connectionCounts"]["outbound"] == 3
    assert doc["connectionCounts"]["inbound"] == 3


# --- bad arguments ------------------------------------------------------------------------

BAD_SIZES = [
    pytest.param(
        {"first": 0}, "`Query.things`: `first` must be between 1 and 100, got 0.", id="first-0"
    ),
    pytest.param(
        {"first": 101},
        "`Query.things`: `first` must be between 1 and 100, got 101.",
        id="first-101",
    ),
    pytest.param(
        {"last": 0}, "`Query.things`: `last` must be between 1 and 100, got 0.", id="last-0"
    ),
    pytest.param(
        {"last": 101}, "`Query.things`: `last` must be between 1 and 100, got 101.", id="last-101"
    ),
    pytest.param(
        {"first": 2, "last": 2}, "`Query.things` takes `first` or `last`, not both.", id="both"
    ),
    pytest.param({}, "`Query.things` needs `first` or `last` (between 1 and 100).", id="neither"),
    pytest.param(
        {"first": None}, "`Query.things` needs `first` or `last` (between 1 and 100).", id="null"
    ),
]


@pytest.mark.parametrize(("variables", "message"), BAD_SIZES)
async def test_bad_page_sizes_are_refused_while_validating(
    api: Api, variables: dict[str, Any], message: str
) -> None:
    # given a group with a thing
    tenant = await make_tenant(api.runtime, "acme")
    await seed_things(api, tenant, ["Ada"])

    # when listing with a bad (or without a) page size
    body = await api.gql(tenant.user, THINGS, variables)

    # then the document is refused, naming the field, before any database command
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": message,
            "locations": [{"line": 3, "column": 3}],
            "extensions": {"code": "INVALID_PAGINATION"},
        }
    ]
    assert body["extensions"]["cost"]["dbCommands"] == 0


BAD_CURSORS = [
    pytest.param({"after": "garbage"}, "Invalid cursor 'garbage'.", id="after-garbage"),
    pytest.param({"before": "garbage"}, "Invalid cursor 'garbage'.", id="before-garbage"),
    pytest.param(
        # well-formed base64 of "o:not-an-object-id"
        {"after": "bzpub3QtYW4tb2JqZWN0LWlk"},
        "Invalid cursor 'bzpub3QtYW4tb2JqZWN0LWlk'.",
        id="after-not-an-object-id",
    ),
]


@pytest.mark.parametrize(("variables", "message"), BAD_CURSORS)
async def test_bad_cursors_are_a_top_level_error_with_a_clear_message(
    api: Api, variables: dict[str, Any], message: str
) -> None:
    # given a group with a thing
    tenant = await make_tenant(api.runtime, "acme")
    await seed_things(api, tenant, ["Ada"])

    # when listing from a bad cursor
    body = await api.gql(tenant.user, THINGS, {"first": 5, **variables})

    # then the whole field fails with the message and its code, and no database command ran
    assert body["data"] is None
    assert [(e["message"], e["path"], e["extensions"]) for e in body["errors"]] == [
        (message, ["things"], {"code": "INVALID_CURSOR"})
    ]
    assert body["extensions"]["cost"]["dbCommands"] == 0


async def test_bad_page_sizes_on_a_nested_list_refuse_the_document(api: Api) -> None:
    # given a thing
    tenant = await make_tenant(api.runtime, "acme")
    (thing,) = await seed_things(api, tenant, ["Ada"])

    # when paging its connections with first: 0
    body = await api.gql(
        tenant.user, THING_CONNECTIONS, {"id": global_id("Thing", thing), "first": 0}
    )

    # then nothing runs and the error names the nested field
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "`Thing.connections`: `first` must be between 1 and 100, got 0.",
            "locations": [{"line": 7, "column": 5}],
            "extensions": {"code": "INVALID_PAGINATION"},
        }
    ]
    assert body["extensions"]["cost"]["dbCommands"] == 0


async def test_a_first_page_starts_at_the_newest_key_the_group_counters_saw(api: Api) -> None:
    # given a group whose things (a burst of 600, then 3 courses) and events were written,
    # read by a process that has never seen them (its window hints forgotten)
    tenant = await make_tenant(api.runtime, "acme")
    batches = api.runtime.services.batches
    await batches.insert_things(
        tenant.id, [NewThing("creator", f"C{i}", {}, "active") for i in range(600)]
    )
    await batches.insert_things(
        tenant.id, [NewThing("course", f"K{i}", {}, "active") for i in range(3)]
    )
    api.runtime.database.hints.clear()

    # when reading the first pages of things (the 2 newest: courses), of one type, and
    # of events
    bodies = {
        "things": await api.gql(tenant.user, THINGS, {"first": 2}),
        "creators": await api.gql(tenant.user, THINGS, {"type": "creator", "first": 10}),
        "oldest": await api.gql(tenant.user, THINGS, {"last": 10}),
        "events": await api.gql(tenant.user, EVENTS, {"first": 10}),
    }

    # then each is one command: things and creators start at the newest key the group's
    # counters recorded (newest.things, newest.thingsByType.creator: a window of 16 ids
    # made one after another), the oldest things at the oldest (oldest.things), and the
    # group's few events are one window; the pages are the newest (oldest) items
    assert {name: body["extensions"]["cost"]["dbCommands"] for name, body in bodies.items()} == {
        "things": 1,
        "creators": 1,
        "oldest": 1,
        "events": 1,
    }
    group = await api.runtime.database.collection("groups").find_one({"_id": tenant.id})
    assert group is not None
    things = api.runtime.database.collection("things")
    newest = [
        doc["_id"] async for doc in things.find({"groupId": tenant.id}).sort("_id", -1).limit(2)
    ]
    assert group["newest"]["things"] == newest[0]
    assert [e["node"]["id"] for e in bodies["things"]["data"]["things"]["edges"]] == [
        global_id("Thing", i) for i in newest
    ]
    creators = [
        doc["_id"]
        async for doc in things.find({"groupId": tenant.id, "type": "creator"})
        .sort("_id", -1)
        .limit(10)
    ]
    assert group["newest"]["thingsByType"]["creator"] == creators[0]
    assert [e["node"]["id"] for e in bodies["creators"]["data"]["things"]["edges"]] == [
        global_id("Thing", i) for i in creators
    ]
    oldest = [
        doc["_id"] async for doc in things.find({"groupId": tenant.id}).sort("_id", 1).limit(10)
    ]
    assert group["oldest"]["things"] == oldest[0]
    assert [e["node"]["id"] for e in bodies["oldest"]["data"]["things"]["edges"]] == [
        global_id("Thing", i) for i in reversed(oldest)
    ]
    assert group["newest"]["events"] == max(
        [doc["sortKey"] async for doc in api.runtime.database.collection("events").find()]
    )
    # and, read cold, the first window the page sends holds at most 16 keys (ids made
    # one after another), whatever the group holds
    runtime = api.runtime
    runtime.database.hints.clear()
    page = PageRequest(size=2).known(group["counts"]["things"], group["newest"]["things"])
    spec = runtime.repos.things.page_spec(tenant.id, None, None, page)
    assert spec.scan is not None
    lo, hi, _ = next(iter(spec.scan.windows(scope_key("things", spec.filter), spec.limit)))
    in_window = await things.count_documents(spec.windowed(lo, hi))
    plan = await spec.explain(things)
    assert plan["executionStats"]["totalDocsExamined"] == in_window
    assert 3 <= in_window <= 16


async def test_a_things_relation_page_starts_at_the_newest_connection_recorded_on_it(
    api: Api,
) -> None:
    # given a hub with 200 outbound connections and 3 inbound ones, made in batches
    tenant = await make_tenant(api.runtime, "acme")
    batches = api.runtime.services.batches
    made = await batches.insert_things(
        tenant.id, [NewThing("creator", f"T{i}", {}, "active") for i in range(204)]
    )
    hub, *others = [parse_global_id(r.id or "", "Thing") for r in made.results]
    assert hub is not None and all(others)
    outbound = [NewConnection(from_id=hub, to_id=o, type="following") for o in others[:200]]
    inbound = [NewConnection(from_id=o, to_id=hub, type="following") for o in others[200:]]
    for links in (outbound, inbound):
        result = await batches.create_connections(tenant.id, links)
        assert result.failed == 0, result.errors

    # then the hub records the newest connection id of each direction, and of each type
    connections = api.runtime.database.collection("connections")
    newest = {
        end: await connections.find_one({end: hub}, sort=[("_id", -1)])
        for end in ("fromId", "toId")
    }
    hub_doc = await api.runtime.database.collection("things").find_one({"_id": hub})
    assert hub_doc is not None
    assert hub_doc["newestConnection"] == {
        "outbound": newest["fromId"]["_id"],  # type: ignore[index]
        "inbound": newest["toId"]["_id"],  # type: ignore[index]
        "byType": {
            "following": {
                "outbound": newest["fromId"]["_id"],  # type: ignore[index]
                "inbound": newest["toId"]["_id"],  # type: ignore[index]
            }
        },
    }

    # and a page of its outbound connections, read by a process that never saw them,
    # starts there: its first window holds at most 16 keys, not the 200
    api.runtime.database.hints.clear()
    page = PageRequest(size=5).known(None, hub_doc["newestConnection"]["outbound"])
    spec = api.runtime.repos.connections.for_thing_spec(tenant.id, "OUTBOUND", None, hub, page)
    assert spec.scan is not None
    lo, hi, _ = next(iter(spec.scan.windows(scope_key("connections", spec.filter), spec.limit)))
    in_window = await connections.count_documents(spec.windowed(lo, hi))
    assert 6 <= in_window <= 16
    body = await api.gql(
        tenant.user,
        "query($id: ID!) { thing(id: $id) { connections(first: 5, direction: OUTBOUND)"
        " { edges { node { id } } } } }",
        {"id": global_id("Thing", hub)},
    )
    ids = [e["node"]["id"] for e in body["data"]["thing"]["connections"]["edges"]]
    newest_five = connections.find({"fromId": hub}).sort("_id", -1).limit(5)
    assert ids == [global_id("Thing", c["toId"]) async for c in newest_five]
    assert body["extensions"]["cost"]["dbCommands"] == 2  # the thing, one window
