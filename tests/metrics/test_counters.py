"""Counters: what one event adds, when it expires, and that it changes with the event or not
at all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ontology.runtime import Runtime
from tests.batches.support import fail_point
from tests.factories import (
    Api,
    SettableClock,
    global_id,
    make_tenant,
    payload_error,
    sizes_and_counters,
)
from tests.metrics.support import build_things

LOG_EVENT = """
mutation($input: LogEventInput!) {
  logEvent(input: $input) { event { id type } errors { index path code message } }
}
"""
AT = datetime(2031, 11, 18, 10, 30, 15, tzinfo=UTC)


async def counters_of(runtime: Runtime, group_id: Any) -> list[dict[str, Any]]:
    cursor = runtime.database.collection("counters").find(
        {"groupId": group_id}, {"_id": 0, "groupId": 0}, sort=[("period", 1), ("thingId", 1)]
    )
    return [doc async for doc in cursor]


async def test_one_event_adds_to_four_buckets_and_its_actors_totals(
    api: Api, clock: SettableClock
) -> None:
    # given a group with things, created at AT (their creation events are counted too)
    clock.set(AT)
    tenant = await make_tenant(api.runtime, "acme")
    await api.runtime.database.collection("counters").delete_many({})
    things = await build_things(api.runtime, tenant.id)
    await api.runtime.database.collection("counters").delete_many({})

    # when Ada logs a payment of 12.25
    body = await api.data(
        tenant.user,
        LOG_EVENT,
        {
            "input": {
                "type": "payment_processed",
                "actorId": global_id("Thing", things["Ada"]),
                "targetId": global_id("Thing", things["p1"]),
                "metadata": {"amount": 12.25},
            }
        },
    )
    assert body["logEvent"]["errors"] == []

    # then exactly four group buckets and Ada's totals hold it; only the day tracks actors,
    # and every bucket expires after its retention
    bucket = {"events": 1, "byType": {"payment_processed": 1}, "revenue": 12.25, "payments": 1}
    assert await counters_of(api.runtime, tenant.id) == [
        {
            "thingId": None,
            "period": "day",
            "start": datetime(2031, 11, 18, tzinfo=UTC),
            **bucket,
            "actors": [things["Ada"]],
            "expiresAt": datetime(2031, 12, 23, tzinfo=UTC),
        },
        {
            "thingId": None,
            "period": "hour",
            "start": datetime(2031, 11, 18, 10, tzinfo=UTC),
            **bucket,
            "expiresAt": datetime(2031, 11, 26, 10, tzinfo=UTC),
        },
        {
            "thingId": None,
            "period": "minute",
            "start": datetime(2031, 11, 18, 10, 30, tzinfo=UTC),
            **bucket,
            "expiresAt": datetime(2031, 11, 18, 12, 30, tzinfo=UTC),
        },
        {
            "thingId": None,
            "period": "month",
            "start": datetime(2031, 11, 1, tzinfo=UTC),
            **bucket,
            "expiresAt": datetime(2032, 12, 5, tzinfo=UTC),
        },
        {
            "thingId": things["Ada"],
            "period": "total",
            "start": None,
            **bucket,
            "lastActive": AT.replace(microsecond=0),
        },
    ]


async def test_a_back_dated_event_skips_buckets_that_would_have_expired(
    api: Api, clock: SettableClock
) -> None:
    clock.set(AT)
    tenant = await make_tenant(api.runtime, "acme")
    things = await build_things(api.runtime, tenant.id)
    await api.runtime.database.collection("counters").delete_many({})

    # when an event is logged 20 days back (hour and minute buckets would be gone already)
    body = await api.data(
        tenant.user,
        LOG_EVENT,
        {
            "input": {
                "type": "content_event",
                "actorId": global_id("Thing", things["m1"]),
                "timestamp": "2031-10-29T08:00:00+00:00",
            }
        },
    )
    assert body["logEvent"]["errors"] == []

    # then only the day, the month and the actor's totals hold it
    kept = [(c["period"], c["start"]) for c in await counters_of(api.runtime, tenant.id)]
    assert kept == [
        ("day", datetime(2031, 10, 29, tzinfo=UTC)),
        ("month", datetime(2031, 10, 1, tzinfo=UTC)),
        ("total", None),
    ]


async def test_a_failed_counter_update_leaves_no_event_and_no_counter(
    api: Api, clock: SettableClock
) -> None:
    # given a group with things and a fail point on the counters' update (the first
    # update of the transaction: the quota reservation is a findAndModify)
    clock.set(AT)
    tenant = await make_tenant(api.runtime, "acme")
    things = await build_things(api.runtime, tenant.id)
    before = await sizes_and_counters(api, tenant)
    counters_before = await counters_of(api.runtime, tenant.id)

    # when an event is logged
    async with fail_point(api.runtime, ["update"]):
        body = await api.gql(
            tenant.user,
            LOG_EVENT,
            {"input": {"type": "content_event", "actorId": global_id("Thing", things["m1"])}},
        )

    # then the client sees the masked failure and neither the event nor any counter changed
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    assert await sizes_and_counters(api, tenant) == before
    assert await counters_of(api.runtime, tenant.id) == counters_before


async def test_a_payment_needs_a_bounded_numeric_amount(api: Api, clock: SettableClock) -> None:
    clock.set(AT)
    tenant = await make_tenant(api.runtime, "acme")
    before = await sizes_and_counters(api, tenant)
    bad = (
        {},
        {"amount": "12"},
        {"amount": True},
        {"amount": -1},
        {"amount": 1e308},
        {"amount": 10**13},
    )
    for metadata in bad:
        body = await api.data(
            tenant.user, LOG_EVENT, {"input": {"type": "payment_processed", "metadata": metadata}}
        )
        assert body["logEvent"] == {
            "event": None,
            "errors": [
                payload_error(
                    "metadata.amount",
                    "INVALID_INPUT",
                    "payment_processed needs metadata.amount, "
                    "a number from 0 to 1,000,000,000,000.",
                )
            ],
        }
    assert await sizes_and_counters(api, tenant) == before
