"""batchUpdateThings: every error at its path, both policies, per-change events, UNCHANGED."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ontology.kit.ids import to_global_id
from tests.batches.support import (
    INSERT,
    KEY_RULE,
    NODE,
    REJECT_FAILED_ROWS,
    UPDATE,
    batch,
    counters,
    db_commands,
    error,
    events_of_type,
    ids_of,
    item,
    missing_id,
    nodes,
    oid,
    payload,
    run_batch,
    settled_documents,
    stored,
    thing,
)
from tests.factories import Api, Tenant, make_tenant, true_counts

STATUSES = "draft, active, published, inactive, archived"
NO_SUCH = "No such thing."


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    ids: dict[str, str]  # name -> global id
    foreign: str


async def world(api: Api) -> World:
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    items = [
        thing(name="Ada", properties={"a": 1}),
        thing(name="Bob"),
        thing("product", name="Pass", properties={"price": 10}),
        thing(name="Dee"),
        thing(name="Eve"),
        thing(name="Fay"),
    ]
    ids = ids_of(await batch(api, tenant.user, INSERT, items))
    [foreign] = ids_of(await batch(api, other.user, INSERT, [thing(name="Zed")]))
    assert foreign is not None
    named = {value["name"]: i for value, i in zip(items, ids, strict=True) if i is not None}
    return World(tenant, other, named, foreign)


def failing(index: int, thing_id: str | None, *problems: tuple[str, str, str]) -> dict[str, Any]:
    errors = [error(index, f"updates.{index}.{p}", code, msg) for p, code, msg in problems]
    return item(index, "FAILED", thing_id, errors)


async def test_reject_everything_reports_every_error_and_writes_nothing(api: Api) -> None:
    # given two tenants, and a batch with every way an update can fail
    w = await world(api)
    ids = w.ids
    updates: list[dict[str, Any]] = [
        {"id": ids["Ada"], "name": "Ada Lovelace", "expectedVersion": 1},
        {"id": missing_id(), "name": "X"},
        {"id": w.foreign, "name": "X"},
        {"id": "garbage", "name": "X"},
        {"id": to_global_id("Connection", oid(ids["Bob"])), "name": "X"},
        {"id": ids["Bob"], "name": "Robert", "expectedVersion": 7},
        {"id": ids["Ada"], "status": "inactive"},
        {"id": ids["Pass"], "properties": {"price": -1}},
        {"id": ids["Dee"], "name": " ", "status": "gone", "properties": {"$x": 1}},
        {"id": ids["Eve"], "properties": [1]},
        {"id": ids["Fay"], "name": "Fay"},
    ]
    before = await settled_documents(api.runtime, w.tenant.id, w.other.id)

    # when it is sent with the default policy
    body = await run_batch(api, w.tenant.user, UPDATE, updates)

    # then each error is at its path; a found thing's failure keeps its id; valid items
    # are NOT_WRITTEN without ids
    result = body["data"]["batchUpdateThings"]
    assert result == payload(
        [
            item(0, "NOT_WRITTEN"),
            failing(1, None, ("id", "NOT_FOUND", NO_SUCH)),
            failing(2, None, ("id", "NOT_FOUND", NO_SUCH)),
            failing(3, None, ("id", "NOT_FOUND", NO_SUCH)),
            failing(4, None, ("id", "NOT_FOUND", NO_SUCH)),
            failing(
                5,
                ids["Bob"],
                (
                    "expectedVersion",
                    "CONFLICT",
                    "Expected version 7, but the thing is at version 1.",
                ),
            ),
            failing(6, None, ("id", "DUPLICATE", "The same thing is item 0 of this batch.")),
            failing(
                7,
                ids["Pass"],
                ("properties.price", "SCHEMA_MISMATCH", "-1 is less than the minimum of 0"),
            ),
            failing(
                8,
                ids["Dee"],
                ("name", "INVALID_NAME", "Name must not be empty."),
                ("status", "INVALID_STATUS", f"Unknown status 'gone'; expected one of {STATUSES}."),
                ("properties.$x", "INVALID_PROPERTY_KEY", f"Key '$x' is not allowed: {KEY_RULE}"),
            ),
            failing(9, ids["Eve"], ("properties", "INVALID_PROPERTIES", "Must be a JSON object.")),
            item(10, "NOT_WRITTEN"),
        ]
    )
    assert result["summary"] == {"total": 11, "succeeded": 0, "failed": 9, "successRate": 0.0}
    # and nothing of either tenant changed
    assert await settled_documents(api.runtime, w.tenant.id, w.other.id) == before
    # and the checks cost one read: every thing by id at once
    assert db_commands(body) == 1


async def test_reject_failed_rows_updates_the_valid_items_with_an_event_per_change(
    api: Api,
) -> None:
    # given a tenant's things, and a batch of changes, no-ops and failures
    w = await world(api)
    ids = w.ids
    updates: list[dict[str, Any]] = [
        {"id": ids["Ada"], "name": "Ada Lovelace", "expectedVersion": 1},
        {"id": missing_id(), "name": "X"},
        {"id": ids["Bob"], "name": "Robert", "status": "inactive", "properties": {"b": [2]}},
        {"id": ids["Fay"], "name": "  Fay  ", "status": "active"},
        {"id": ids["Pass"], "properties": {"price": -1}},
        {"id": ids["Dee"], "name": "Dee", "status": "archived"},
        {"id": ids["Eve"], "expectedVersion": 3},
    ]
    before = {t["name"]: t for t in await stored(api.runtime, "things", {"groupId": w.tenant.id})}
    events_before = await stored(api.runtime, "events", {"groupId": w.tenant.id})

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, w.tenant.user, UPDATE, updates, REJECT_FAILED_ROWS)

    # then changed things are UPDATED, the no-op UNCHANGED, failures FAILED, in input order
    [summary_event] = await events_of_type(api.runtime, w.tenant.id, "things_batch_updated")
    assert result == payload(
        [
            item(0, "UPDATED", ids["Ada"]),
            failing(1, None, ("id", "NOT_FOUND", NO_SUCH)),
            item(2, "UPDATED", ids["Bob"]),
            item(3, "UNCHANGED", ids["Fay"]),
            failing(
                4,
                ids["Pass"],
                ("properties.price", "SCHEMA_MISMATCH", "-1 is less than the minimum of 0"),
            ),
            item(5, "UPDATED", ids["Dee"]),
            failing(
                6,
                ids["Eve"],
                (
                    "expectedVersion",
                    "CONFLICT",
                    "Expected version 3, but the thing is at version 1.",
                ),
            ),
        ],
        batch_event_id=to_global_id("Event", summary_event["_id"]),
    )
    assert result["summary"] == {
        "total": 7,
        "succeeded": 4,
        "failed": 3,
        "successRate": 0.5714,
    }

    # and exactly the changed fields were written, each changed thing one version up
    after = {t["name"]: t for t in await stored(api.runtime, "things", {"groupId": w.tenant.id})}
    assert sorted(after) == ["Ada Lovelace", "Dee", "Eve", "Fay", "Pass", "Robert"]
    assert [
        (after[n]["status"], after[n]["properties"], after[n]["version"])
        for n in ("Ada Lovelace", "Robert", "Dee", "Fay", "Pass", "Eve")
    ] == [
        ("active", {"a": 1}, 2),
        ("inactive", {"b": [2]}, 2),
        ("archived", {}, 2),
        ("active", {}, 1),
        ("active", {"price": 10}, 1),
        ("active", {}, 1),
    ]
    for name in ("Fay", "Pass", "Eve"):
        assert after[name] == before[name]
    for old, new in (("Ada", "Ada Lovelace"), ("Bob", "Robert"), ("Dee", "Dee")):
        assert after[new]["updatedAt"] > before[old]["updatedAt"]

    # and one thing_updated event per changed thing with each changed field's old and new
    # values, plus the summary event: 4 events in all
    events = await stored(api.runtime, "events", {"groupId": w.tenant.id})
    assert len(events) == len(events_before) + 4
    updated = await events_of_type(api.runtime, w.tenant.id, "thing_updated")
    assert sorted(
        ((to_global_id("Thing", e["targetId"]), e["metadata"]) for e in updated),
        key=lambda pair: [ids["Ada"], ids["Bob"], ids["Dee"]].index(pair[0]),
    ) == [
        (ids["Ada"], {"changes": {"name": {"old": "Ada", "new": "Ada Lovelace"}}}),
        (
            ids["Bob"],
            {
                "changes": {
                    "name": {"old": "Bob", "new": "Robert"},
                    "properties": {"old": {}, "new": {"b": [2]}},
                    "status": {"old": "active", "new": "inactive"},
                }
            },
        ),
        (ids["Dee"], {"changes": {"status": {"old": "active", "new": "archived"}}}),
    ]
    assert summary_event["metadata"] == {"count": 7, "updated": 3, "unchanged": 1, "failed": 3}
    assert (await api.data(w.tenant.user, NODE, {"id": result["batchEventId"]}))["node"] == {
        "id": result["batchEventId"],
        "type": "things_batch_updated",
        "metadata": {"count": 7, "updated": 3, "unchanged": 1, "failed": 3},
        "targetId": None,
    }

    # and the counters (storage included) equal what is stored
    assert await counters(api.runtime, w.tenant.id) == await true_counts(api.runtime, w.tenant.id)
    # and node() reads the new state
    assert [
        (n["name"], n["version"]) for n in await nodes(api, w.tenant.user, [ids["Ada"], ids["Fay"]])
    ] == [("Ada Lovelace", 2), ("Fay", 1)]


async def test_one_bad_item_under_reject_everything_updates_nothing(api: Api) -> None:
    # given a tenant's things
    w = await world(api)
    before = await settled_documents(api.runtime, w.tenant.id)
    updates: list[dict[str, Any]] = [
        {"id": w.ids["Ada"], "name": "Ada Lovelace"},
        {"id": w.ids["Bob"], "status": "bogus"},
        {"id": w.ids["Dee"], "properties": {"d": 1}},
    ]

    # when one item of the batch is invalid
    result = await batch(api, w.tenant.user, UPDATE, updates)

    # then nothing is updated, no event is written, no version moves
    assert result == payload(
        [
            item(0, "NOT_WRITTEN"),
            failing(
                1,
                w.ids["Bob"],
                (
                    "status",
                    "INVALID_STATUS",
                    f"Unknown status 'bogus'; expected one of {STATUSES}.",
                ),
            ),
            item(2, "NOT_WRITTEN"),
        ]
    )
    assert await settled_documents(api.runtime, w.tenant.id) == before


async def test_versions_follow_successive_batches(api: Api) -> None:
    # given a thing updated once by a batch
    w = await world(api)
    ada = w.ids["Ada"]
    await batch(api, w.tenant.user, UPDATE, [{"id": ada, "name": "Ada 2", "expectedVersion": 1}])

    # when a second batch expects version 1 again, and a third expects version 2
    stale = await batch(api, w.tenant.user, UPDATE, [{"id": ada, "expectedVersion": 1}])
    fresh = await batch(
        api, w.tenant.user, UPDATE, [{"id": ada, "name": "Ada 3", "expectedVersion": 2}]
    )

    # then the stale one is a CONFLICT and the fresh one moves the thing to version 3
    assert stale == payload(
        [
            failing(
                0,
                ada,
                (
                    "expectedVersion",
                    "CONFLICT",
                    "Expected version 1, but the thing is at version 2.",
                ),
            )
        ]
    )
    assert [r["status"] for r in fresh["results"]] == ["UPDATED"]
    [node] = await nodes(api, w.tenant.user, [ada])
    assert (node["name"], node["version"]) == ("Ada 3", 3)
    assert len(await events_of_type(api.runtime, w.tenant.id, "thing_updated")) == 2
    assert len(await events_of_type(api.runtime, w.tenant.id, "things_batch_updated")) == 2


async def test_a_batch_that_changes_nothing_reports_unchanged_items(api: Api) -> None:
    # given a tenant's things
    w = await world(api)
    before = await settled_documents(api.runtime, w.tenant.id)
    updates: list[dict[str, Any]] = [
        {"id": w.ids["Ada"], "name": "Ada", "properties": {"a": 1}},
        {"id": w.ids["Bob"], "status": "active"},
    ]

    # when every item of a batch sets the values the things already have
    result = await batch(api, w.tenant.user, UPDATE, updates)

    # then nothing is written, no event, no version bump
    assert await settled_documents(api.runtime, w.tenant.id) == before
    # and each item is UNCHANGED with its id: a success, not a rejected batch
    assert result == payload(
        [item(0, "UNCHANGED", w.ids["Ada"]), item(1, "UNCHANGED", w.ids["Bob"])]
    )
    assert result["summary"] == {"total": 2, "succeeded": 2, "failed": 0, "successRate": 1.0}


async def test_the_batch_event_counts_failed_items_not_their_errors(api: Api) -> None:
    # given a tenant, and a batch of one valid update and one item with two errors
    w = await world(api)
    updates: list[dict[str, Any]] = [
        {"id": w.ids["Ada"], "name": "Ada 2"},
        {"id": w.ids["Bob"], "name": "", "status": "gone"},
    ]

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, w.tenant.user, UPDATE, updates, REJECT_FAILED_ROWS)

    # then the summary says 1 failed item, and the event must say the same
    assert result["summary"] == {"total": 2, "succeeded": 1, "failed": 1, "successRate": 0.5}
    [event] = await events_of_type(api.runtime, w.tenant.id, "things_batch_updated")
    assert event["metadata"] == {"count": 2, "updated": 1, "unchanged": 0, "failed": 1}
