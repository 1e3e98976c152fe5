"""batchCreateConnections: every error at its path, both policies, counts, events, quotas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ontology.connections.models import NewConnection
from ontology.kit.clock import set_clock
from ontology.kit.errors import ErrorCode, ItemError
from ontology.kit.ids import to_global_id
from ontology.ledger.plans import Metric
from tests.batches.support import (
    CONNECT,
    INSERT,
    KEY_RULE,
    NODE,
    REJECT_FAILED_ROWS,
    T0,
    batch,
    counters,
    db_commands,
    error,
    events_of_type,
    ids_of,
    item,
    missing_id,
    nested,
    nodes,
    oid,
    payload,
    quota_error,
    run_batch,
    settled_documents,
    stored,
    thing,
)
from tests.factories import Api, SettableClock, Tenant, connect, make_tenant, true_counts

FEB = "2025-02-01T00:00:00+00:00"
T_JAN = datetime(2025, 1, 1, tzinfo=UTC)
JAN = "2025-01-01T00:00:00+00:00"


@dataclass
class World:
    tenant: Tenant
    other: Tenant
    ada: str  # creator
    bob: str  # creator
    guild: str  # community
    foreign: str  # a creator of the other tenant


async def world(api: Api) -> World:
    """Two tenants; the first has Ada and Bob (creators), a Guild, and Ada following Bob."""
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    ada, bob, guild = ids_of(
        await batch(
            api,
            tenant.user,
            INSERT,
            [thing(name="Ada"), thing(name="Bob"), thing("community", name="Guild")],
        )
    )
    [foreign] = ids_of(await batch(api, other.user, INSERT, [thing(name="Eve")]))
    assert ada and bob and guild and foreign
    await connect(api, tenant.user, ada, bob, "following")
    return World(tenant, other, ada, bob, guild, foreign)


def link(from_id: str, to_id: str, connection_type: str, **more: Any) -> dict[str, Any]:
    return {"fromId": from_id, "toId": to_id, "type": connection_type, **more}


def failing(index: int, *problems: tuple[str, str, str]) -> dict[str, Any]:
    errors = [error(index, f"connections.{index}.{p}", code, msg) for p, code, msg in problems]
    return item(index, "FAILED", errors=errors)


NO_SUCH = "No such thing."


def every_case(w: World) -> tuple[list[dict[str, Any]], dict[int, list[tuple[str, str, str]]]]:
    """Items covering every way to fail (by index), and two valid ones (0 and 10)."""
    items = [
        link(w.ada, w.guild, "member_of", validFrom=JAN, validTo=JAN),
        link(missing_id(), w.guild, "member_of"),
        link(w.ada, w.foreign, "references"),
        link("not-an-id", "bm90LWEtdGhpbmc", "references"),
        link(to_global_id("Connection", oid(w.ada)), w.bob, "references"),
        link(w.ada, w.bob, "likes"),
        link(w.ada, w.bob, "member_of"),
        link(w.ada, w.ada, "references"),
        link(w.ada, w.guild, "owns", validFrom=FEB, validTo=JAN),
        link(w.ada, w.bob, "following"),
        link(w.bob, w.guild, "member_of", strength=0.5, metadata={"since": 2020}),
        link(w.bob, w.guild, "member_of"),
        link(w.bob, w.ada, "references", metadata={"a.b": 1}),
        link(w.bob, w.ada, "references", metadata=[1]),
        link(w.bob, w.ada, "references", metadata=nested(11)),
        link(missing_id(), w.bob, "likes", validFrom=FEB, validTo=JAN),
    ]
    problems = {
        1: [("fromId", "NOT_FOUND", NO_SUCH)],
        2: [("toId", "NOT_FOUND", NO_SUCH)],
        3: [("fromId", "NOT_FOUND", NO_SUCH), ("toId", "NOT_FOUND", NO_SUCH)],
        4: [("fromId", "NOT_FOUND", NO_SUCH)],
        5: [("type", "UNKNOWN_TYPE", "Unknown connection type 'likes'.")],
        6: [
            (
                "type",
                "CONNECTION_NOT_ALLOWED",
                "member_of is not allowed from creator to creator.",
            )
        ],
        7: [
            (
                "toId",
                "SELF_LOOP",
                "A references connection cannot connect a thing to itself.",
            )
        ],
        8: [("validFrom", "INVALID_RANGE", "validFrom must not be after validTo.")],
        9: [("type", "DUPLICATE", "A following connection between these things exists.")],
        11: [("type", "DUPLICATE", "The same connection is item 10 of this batch.")],
        12: [("metadata.a.b", "INVALID_PROPERTY_KEY", f"Key 'a.b' is not allowed: {KEY_RULE}")],
        13: [("metadata", "INVALID_PROPERTIES", "Must be a JSON object.")],
        14: [("metadata" + ".a" * 10, "PROPERTIES_TOO_DEEP", "Nesting deeper than 10 levels.")],
        15: [
            ("type", "UNKNOWN_TYPE", "Unknown connection type 'likes'."),
            ("fromId", "NOT_FOUND", NO_SUCH),
            ("validFrom", "INVALID_RANGE", "validFrom must not be after validTo."),
        ],
    }
    return items, problems


async def test_reject_everything_reports_every_error_and_writes_nothing(api: Api) -> None:
    # given two tenants and a batch with every kind of invalid connection and two valid ones
    w = await world(api)
    items, problems = every_case(w)
    before = await settled_documents(api.runtime, w.tenant.id, w.other.id)

    # when it is sent with the default policy
    body = await run_batch(api, w.tenant.user, CONNECT, items)

    # then every error is reported at its path in input order; the valid items are NOT_WRITTEN
    result = body["data"]["batchCreateConnections"]
    assert result == payload(
        [
            failing(i, *problems[i]) if i in problems else item(i, "NOT_WRITTEN")
            for i in range(len(items))
        ]
    )
    assert result["summary"] == {"total": 16, "succeeded": 0, "failed": 14, "successRate": 0.0}
    # and nothing of either tenant changed (documents, counters, thing connection counts)
    assert await settled_documents(api.runtime, w.tenant.id, w.other.id) == before
    # and the checks cost two reads: the things by id, the stored connections leaving them
    assert db_commands(body) == 2


async def test_reject_failed_rows_writes_the_valid_connections_with_their_counts(
    api: Api,
) -> None:
    # given the same batch, without the items that have several errors
    w = await world(api)
    all_items, all_problems = every_case(w)
    keep = [i for i in range(len(all_items)) if len(all_problems.get(i, [])) <= 1]
    items = [all_items[i] for i in keep]
    renumbered = {keep.index(i): all_problems[i] for i in keep if i in all_problems}
    # item 11 names item 10 by its new index
    renumbered[keep.index(11)] = [
        ("type", "DUPLICATE", f"The same connection is item {keep.index(10)} of this batch.")
    ]
    other_before = await settled_documents(api.runtime, w.other.id)

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, w.tenant.user, CONNECT, items, REJECT_FAILED_ROWS)

    # then the two valid items are CREATED, every other one FAILED, in input order
    [event] = await events_of_type(api.runtime, w.tenant.id, "connections_batch_created")
    ids = ids_of(result)
    assert result == payload(
        [
            failing(i, *renumbered[i]) if i in renumbered else item(i, "CREATED", ids[i])
            for i in range(len(items))
        ],
        batch_event_id=to_global_id("Event", event["_id"]),
    )
    assert result["summary"] == {
        "total": 14,
        "succeeded": 2,
        "failed": 12,
        "successRate": 0.1429,
    }
    created = [ids[0], ids[keep.index(10)]]

    # and the ids resolve to the stored connections, as given
    assert await nodes(api, w.tenant.user, created) == [
        {"id": created[0], "type": "member_of", "fromId": w.ada, "toId": w.guild},
        {"id": created[1], "type": "member_of", "fromId": w.bob, "toId": w.guild},
    ]
    docs = {
        to_global_id("Connection", d["_id"]): d
        for d in await stored(api.runtime, "connections", {"groupId": w.tenant.id})
    }
    assert len(docs) == 3  # with the stored "following"
    assert [
        (docs[i]["strength"], docs[i]["metadata"], docs[i]["validFrom"], docs[i]["validTo"])
        for i in created
        if i is not None
    ] == [
        (None, {}, T_JAN, T_JAN),
        (0.5, {"since": 2020}, None, None),
    ]

    # and each end's connection counts went up by exactly its new connections
    ends = await nodes(api, w.tenant.user, [w.ada, w.bob, w.guild])
    assert [(n["name"], n["connectionCounts"]) for n in ends] == [
        (
            "Ada",
            {
                "inbound": 0,
                "outbound": 2,
                "byType": [
                    {"type": "following", "inbound": 0, "outbound": 1, "count": 1},
                    {"type": "member_of", "inbound": 0, "outbound": 1, "count": 1},
                ],
            },
        ),
        (
            "Bob",
            {
                "inbound": 1,
                "outbound": 1,
                "byType": [
                    {"type": "following", "inbound": 1, "outbound": 0, "count": 1},
                    {"type": "member_of", "inbound": 0, "outbound": 1, "count": 1},
                ],
            },
        ),
        (
            "Guild",
            {
                "inbound": 2,
                "outbound": 0,
                "byType": [{"type": "member_of", "inbound": 2, "outbound": 0, "count": 2}],
            },
        ),
    ]

    # and one summary event, which node() resolves from batchEventId
    assert event["metadata"] == {"count": 14, "created": 2, "failed": 12}
    assert (await api.data(w.tenant.user, NODE, {"id": result["batchEventId"]}))["node"] == {
        "id": result["batchEventId"],
        "type": "connections_batch_created",
        "metadata": {"count": 14, "created": 2, "failed": 12},
        "targetId": None,
    }
    # (3 events: batch_imported, connection_created of the setup, this batch's)
    assert len(await stored(api.runtime, "events", {"groupId": w.tenant.id})) == 3

    # and the counters equal what is stored; the other tenant is untouched
    assert await counters(api.runtime, w.tenant.id) == await true_counts(api.runtime, w.tenant.id)
    assert (await counters(api.runtime, w.tenant.id))["connectionsByType"] == {
        "following": 1,
        "member_of": 2,
    }
    assert await settled_documents(api.runtime, w.other.id) == other_before


async def test_a_valid_batch_writes_every_connection_and_one_event(api: Api) -> None:
    # given a tenant with things
    w = await world(api)
    items = [
        link(w.ada, w.guild, "member_of"),
        link(w.bob, w.guild, "member_of"),
        link(w.bob, w.ada, "following"),
        link(w.ada, w.bob, "references", metadata={"note": "x"}),
    ]
    events_before = len(await stored(api.runtime, "events", {"groupId": w.tenant.id}))

    # when the batch is sent
    body = await run_batch(api, w.tenant.user, CONNECT, items)

    # then every item is CREATED, in order, with the batch event
    result = body["data"]["batchCreateConnections"]
    [event] = await events_of_type(api.runtime, w.tenant.id, "connections_batch_created")
    ids = ids_of(result)
    assert result == payload(
        [item(i, "CREATED", ids[i]) for i in range(4)],
        batch_event_id=to_global_id("Event", event["_id"]),
    )
    assert result["summary"] == {"total": 4, "succeeded": 4, "failed": 0, "successRate": 1.0}
    assert event["metadata"] == {"count": 4, "created": 4, "failed": 0}
    # and exactly one event was added: no connection_created per item
    assert len(await stored(api.runtime, "events", {"groupId": w.tenant.id})) == events_before + 1
    assert await counters(api.runtime, w.tenant.id) == await true_counts(api.runtime, w.tenant.id)
    assert (await counters(api.runtime, w.tenant.id))["connections"] == 5


async def test_a_duplicate_of_an_earlier_item_names_it_under_reject_everything(api: Api) -> None:
    # given a tenant, and a batch whose item 2 repeats item 0
    w = await world(api)
    items = [
        link(w.ada, w.guild, "member_of"),
        link(w.bob, w.guild, "member_of"),
        link(w.ada, w.guild, "member_of", metadata={"other": True}),
    ]
    before = await settled_documents(api.runtime, w.tenant.id)

    # when it is sent
    result = await batch(api, w.tenant.user, CONNECT, items)

    # then item 2 is a DUPLICATE naming item 0, the others NOT_WRITTEN, nothing written
    assert result == payload(
        [
            item(0, "NOT_WRITTEN"),
            item(1, "NOT_WRITTEN"),
            failing(2, ("type", "DUPLICATE", "The same connection is item 0 of this batch.")),
        ]
    )
    assert await settled_documents(api.runtime, w.tenant.id) == before


async def test_a_non_finite_strength_is_invalid_input(api: Api) -> None:
    # given a tenant (JSON cannot carry infinity, so the service is called directly)
    w = await world(api)
    before = await settled_documents(api.runtime, w.tenant.id)
    connection = NewConnection(oid(w.ada), oid(w.guild), "member_of", strength=float("inf"))

    # when the batch is run
    result = await api.runtime.services.batches.create_connections(w.tenant.id, [connection])

    # then the item fails at its strength and nothing is written
    assert result.errors == [
        ItemError(
            ErrorCode.INVALID_INPUT,
            "strength must be a finite number.",
            "connections.0.strength",
            0,
        )
    ]
    assert result.batch_event_id is None
    assert await settled_documents(api.runtime, w.tenant.id) == before


async def test_a_batch_over_the_connections_quota_fails_every_valid_item(api: Api) -> None:
    # given a fixed clock and a tenant holding 1 connection, allowed 2
    set_clock(SettableClock(T0))
    w = await world(api)
    assert await api.runtime.services.quotas.set_limit(w.tenant.id, Metric.CONNECTIONS_TOTAL, 2)
    before = await settled_documents(api.runtime, w.tenant.id)
    items = [
        link(w.ada, w.guild, "member_of"),
        link(w.ada, w.ada, "references"),
        link(w.bob, w.guild, "member_of"),
    ]

    # when 2 valid connections are asked for under REJECT_FAILED_ROWS
    result = await batch(api, w.tenant.user, CONNECT, items, REJECT_FAILED_ROWS)

    # then each valid item fails with QUOTA_EXCEEDED for the 2 requested
    def over(index: int) -> dict[str, Any]:
        refusal = quota_error(index, f"connections.{index}", "connections_total", 1, 2, 2)
        return item(index, "FAILED", errors=[refusal])

    assert result == payload(
        [
            over(0),
            failing(
                1,
                ("toId", "SELF_LOOP", "A references connection cannot connect a thing to itself."),
            ),
            over(2),
        ]
    )
    # and no connection, count or batch event is written (only the refusal is logged)
    after = await settled_documents(api.runtime, w.tenant.id)
    for collection in ("things", "connections"):
        assert after[f"{w.tenant.id}/{collection}"] == before[f"{w.tenant.id}/{collection}"]
    assert [e["type"] for e in after[f"{w.tenant.id}/events"][-1:]] == ["quota_exceeded"]
    assert len(after[f"{w.tenant.id}/events"]) == len(before[f"{w.tenant.id}/events"]) + 1
    assert await counters(api.runtime, w.tenant.id) == await true_counts(api.runtime, w.tenant.id)

    # when only one fits
    fits = await batch(
        api, w.tenant.user, CONNECT, [items[0], link(w.ada, w.ada, "owns")], REJECT_FAILED_ROWS
    )

    # then it is written and the counter reaches the limit
    assert [r["status"] for r in fits["results"]] == ["CREATED", "FAILED"]
    assert (await counters(api.runtime, w.tenant.id))["connections"] == 2


async def test_the_batch_event_counts_failed_items_not_their_errors(api: Api) -> None:
    # given a tenant, and a batch of one valid item and one item with two errors
    w = await world(api)
    items = [link(w.ada, w.guild, "member_of"), link(missing_id(), w.bob, "likes")]

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, w.tenant.user, CONNECT, items, REJECT_FAILED_ROWS)

    # then the summary says 1 failed item, and the event must say the same
    assert result["summary"] == {"total": 2, "succeeded": 1, "failed": 1, "successRate": 0.5}
    [event] = await events_of_type(api.runtime, w.tenant.id, "connections_batch_created")
    assert event["metadata"] == {"count": 2, "created": 1, "failed": 1}
