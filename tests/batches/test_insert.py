"""batchInsertThings: every validation error at its path, both error policies, quotas."""

from __future__ import annotations

from typing import Any

from ontology.groups.models import Plan
from ontology.kit.clock import set_clock
from ontology.kit.ids import to_global_id
from ontology.ledger.plans import Metric
from tests.batches.support import (
    INSERT,
    KEY_RULE,
    NODE,
    REJECT_EVERYTHING,
    REJECT_FAILED_ROWS,
    T0,
    batch,
    counters,
    db_commands,
    error,
    events_of_type,
    ids_of,
    item,
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
from tests.factories import Api, SettableClock, make_tenant, true_counts

STATUSES = "draft, active, published, inactive, archived"
BLOB_AT_LIMIT = 65536 - 16  # {"blob": "x" * n} encodes to n + 16 bytes


def invalid_things() -> list[tuple[dict[str, Any], list[tuple[str, str, str]]]]:
    """(item, [(path after "things.<i>.", code, message)]): one of each way to fail."""
    return [
        (thing("spaceship"), [("type", "UNKNOWN_TYPE", "Unknown thing type 'spaceship'.")]),
        (thing(name="   "), [("name", "INVALID_NAME", "Name must not be empty.")]),
        (
            thing(name="x" * 257),
            [("name", "INVALID_NAME", "Name is 257 characters; the limit is 256.")],
        ),
        (
            thing(status="deleted"),
            [
                (
                    "status",
                    "INVALID_STATUS",
                    f"Unknown status 'deleted'; expected one of {STATUSES}.",
                )
            ],
        ),
        (
            thing(properties={"a$b": 1, "c.d": 2, "ok": {"$gt": 1}}),
            [
                ("properties.a$b", "INVALID_PROPERTY_KEY", f"Key 'a$b' is not allowed: {KEY_RULE}"),
                ("properties.c.d", "INVALID_PROPERTY_KEY", f"Key 'c.d' is not allowed: {KEY_RULE}"),
                (
                    "properties.ok.$gt",
                    "INVALID_PROPERTY_KEY",
                    f"Key '$gt' is not allowed: {KEY_RULE}",
                ),
            ],
        ),
        (
            thing(properties=nested(11)),
            [
                (
                    "properties" + ".a" * 10,
                    "PROPERTIES_TOO_DEEP",
                    "Nesting deeper than 10 levels.",
                )
            ],
        ),
        (
            thing(properties={"blob": "x" * (BLOB_AT_LIMIT + 1)}),
            [
                (
                    "properties",
                    "PROPERTIES_TOO_LARGE",
                    "Encoded size 65537 bytes exceeds the limit of 65536 bytes.",
                )
            ],
        ),
        (
            thing("product", properties={"price": -1}),
            [("properties.price", "SCHEMA_MISMATCH", "-1 is less than the minimum of 0")],
        ),
        (
            thing("product", properties={"price": 5, "currency": "eur", "sku": "s" * 65}),
            [
                ("properties.currency", "SCHEMA_MISMATCH", "'eur' does not match '^[A-Z]{3}$'"),
                ("properties.sku", "SCHEMA_MISMATCH", f"'{'s' * 65}' is too long"),
            ],
        ),
        (
            thing("payment", properties={"amount": "ten"}),
            [("properties.amount", "SCHEMA_MISMATCH", "'ten' is not of type 'number'")],
        ),
        (
            thing(properties=[1, 2]),
            [("properties", "INVALID_PROPERTIES", "Must be a JSON object.")],
        ),
        (
            thing("spaceship", name="", status="gone", properties={"$where": 1}),
            [
                ("type", "UNKNOWN_TYPE", "Unknown thing type 'spaceship'."),
                ("name", "INVALID_NAME", "Name must not be empty."),
                ("status", "INVALID_STATUS", f"Unknown status 'gone'; expected one of {STATUSES}."),
                (
                    "properties.$where",
                    "INVALID_PROPERTY_KEY",
                    f"Key '$where' is not allowed: {KEY_RULE}",
                ),
            ],
        ),
    ]


def valid_things() -> list[dict[str, Any]]:
    """Valid items, each at a limit: 256-character name, 10 levels, 64 KiB of properties."""
    return [
        thing(name="Ada"),
        thing(name="n" * 256),
        thing(properties=nested(10)),
        thing(properties={"blob": "x" * BLOB_AT_LIMIT}),
        thing("product", properties={"price": 0, "currency": "EUR", "sku": "s" * 64}),
    ]


def failed(index: int, problems: list[tuple[str, str, str]]) -> dict[str, Any]:
    errors = [error(index, f"things.{index}.{path}", code, msg) for path, code, msg in problems]
    return item(index, "FAILED", errors=errors)


async def test_reject_everything_reports_every_invalid_item_and_writes_nothing(api: Api) -> None:
    # given a tenant, and a batch of every kind of invalid item followed by valid ones
    tenant = await make_tenant(api.runtime, "acme")
    invalid = invalid_things()
    items = [value for value, _ in invalid] + valid_things()
    before = await settled_documents(api.runtime, tenant.id)

    # when it is sent with the default policy
    body = await run_batch(api, tenant.user, INSERT, items)

    # then every error is reported at its path, in input order, and the valid items are
    # NOT_WRITTEN without ids
    expected_results = [failed(i, problems) for i, (_, problems) in enumerate(invalid)]
    expected_results += [item(len(invalid) + i, "NOT_WRITTEN") for i in range(len(valid_things()))]
    assert body["data"]["batchInsertThings"] == payload(expected_results)
    assert body["data"]["batchInsertThings"]["summary"] == {
        "total": 17,
        "succeeded": 0,
        "failed": 12,
        "successRate": 0.0,
    }
    # and nothing was written, nor even read: validation needs no database
    assert await settled_documents(api.runtime, tenant.id) == before
    assert db_commands(body) == 0


async def test_reject_failed_rows_writes_the_valid_items_and_reports_the_others(api: Api) -> None:
    # given a tenant, and invalid items (one error each) interleaved with valid ones
    tenant = await make_tenant(api.runtime, "acme")
    invalid = [(value, problems) for value, problems in invalid_things() if len(problems) == 1]
    valid = valid_things()
    items: list[dict[str, Any]] = []
    expected_failures: dict[int, list[tuple[str, str, str]]] = {}
    for position in range(max(len(invalid), len(valid))):
        if position < len(valid):
            items.append(valid[position])
        if position < len(invalid):
            expected_failures[len(items)] = invalid[position][1]
            items.append(invalid[position][0])

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, tenant.user, INSERT, items, REJECT_FAILED_ROWS)

    # then each valid item is CREATED with an id, each invalid one FAILED, in input order
    [event] = await events_of_type(api.runtime, tenant.id, "batch_imported")
    ids = ids_of(result)
    expected_results = [
        failed(i, expected_failures[i]) if i in expected_failures else item(i, "CREATED", ids[i])
        for i in range(len(items))
    ]
    assert result == payload(expected_results, batch_event_id=to_global_id("Event", event["_id"]))
    assert result["summary"] == {
        "total": 14,
        "succeeded": 5,
        "failed": 9,
        "successRate": 0.3571,
    }
    created = [i for n, i in enumerate(ids) if n not in expected_failures and i is not None]
    assert len(created) == len(set(created)) == 5

    # and the ids resolve through node() to exactly the valid items, as given
    found = await nodes(api, tenant.user, created)
    assert [
        {"id": n["id"], "type": n["type"], "name": n["name"], "properties": n["properties"]}
        for n in found
    ] == [
        {"id": i, "type": v["type"], "name": v["name"], "properties": v["properties"]}
        for i, v in zip(created, valid, strict=True)
    ]
    assert {(n["status"], n["version"]) for n in found} == {("active", 1)}

    # and exactly those are stored, with one batch_imported event counting the batch
    things = await stored(api.runtime, "things", {"groupId": tenant.id})
    assert sorted(to_global_id("Thing", t["_id"]) for t in things) == sorted(created)
    assert event["metadata"] == {"count": 14, "created": 5, "failed": 9}
    assert (event["actorId"], event["targetId"]) == (None, None)
    assert len(await stored(api.runtime, "events", {"groupId": tenant.id})) == 1

    # and the counters equal what is stored
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)
    assert (await counters(api.runtime, tenant.id))["things"] == 5


async def test_one_bad_item_under_reject_everything_writes_nothing(api: Api) -> None:
    # given a tenant with a thing already, and a batch of valid items but one
    tenant = await make_tenant(api.runtime, "acme")
    await batch(api, tenant.user, INSERT, [thing(name="Existing")])
    before = await settled_documents(api.runtime, tenant.id)
    items = [thing(name="A"), thing(name="B"), thing("product", properties={"price": -0.5})]
    items.append(thing(name="C"))

    # when it is sent (REJECT_EVERYTHING given explicitly)
    result = await batch(api, tenant.user, INSERT, items, REJECT_EVERYTHING)

    # then the bad item is FAILED, the others NOT_WRITTEN without ids, and no event
    assert result == payload(
        [
            item(0, "NOT_WRITTEN"),
            item(1, "NOT_WRITTEN"),
            item(
                2,
                "FAILED",
                errors=[
                    error(
                        2,
                        "things.2.properties.price",
                        "SCHEMA_MISMATCH",
                        "-0.5 is less than the minimum of 0",
                    )
                ],
            ),
            item(3, "NOT_WRITTEN"),
        ]
    )
    assert result["summary"] == {"total": 4, "succeeded": 0, "failed": 1, "successRate": 0.0}
    # and the raw documents and the group's counters are exactly as before
    assert await settled_documents(api.runtime, tenant.id) == before


async def test_a_valid_batch_stores_every_thing_one_event_and_exact_counters(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")
    items = [
        thing(name="  Ada  "),
        thing("product", name="Pass", properties={"price": 49.5, "tags": ["a"]}, status="draft"),
        thing("community", name="Guild", status="published"),
    ]

    # when a valid batch is sent
    result = await batch(api, tenant.user, INSERT, items)

    # then every item is CREATED, in order, with the batch's event
    [event] = await events_of_type(api.runtime, tenant.id, "batch_imported")
    ids = ids_of(result)
    assert result == payload(
        [item(i, "CREATED", ids[i]) for i in range(3)],
        batch_event_id=to_global_id("Event", event["_id"]),
    )
    assert result["summary"] == {"total": 3, "succeeded": 3, "failed": 0, "successRate": 1.0}

    # and the documents are stored as given (the name trimmed), at version 1, no connections
    docs = {to_global_id("Thing", t["_id"]): t for t in await stored(api.runtime, "things", {})}
    assert [
        (
            docs[i]["groupId"],
            docs[i]["type"],
            docs[i]["name"],
            docs[i]["properties"],
            docs[i]["status"],
            docs[i]["version"],
            docs[i]["deletedAt"],
            docs[i]["connectionCounts"],
        )
        for i in ids
        if i is not None
    ] == [
        (tenant.id, "creator", "Ada", {}, "active", 1, None, zero_counts()),
        (
            tenant.id,
            "product",
            "Pass",
            {"price": 49.5, "tags": ["a"]},
            "draft",
            1,
            None,
            zero_counts(),
        ),
        (tenant.id, "community", "Guild", {}, "published", 1, None, zero_counts()),
    ]

    # and exactly one event, which node() resolves from batchEventId
    assert len(await stored(api.runtime, "events", {})) == 1
    assert event["metadata"] == {"count": 3, "created": 3, "failed": 0}
    node = (await api.data(tenant.user, NODE, {"id": result["batchEventId"]}))["node"]
    assert node == {
        "id": result["batchEventId"],
        "type": "batch_imported",
        "metadata": {"count": 3, "created": 3, "failed": 0},
        "targetId": None,
    }

    # and the counters count each thing, its type, the event, and every stored byte
    assert await counters(api.runtime, tenant.id) == {
        "things": 3,
        "thingsByType": {"creator": 1, "product": 1, "community": 1},
        "thingsByStatus": {"active": 1, "draft": 1, "published": 1},
        "connections": 0,
        "connectionsByType": {},
        "inboundByType": {},
        "events": 1,
        "people": 0,
        "knowledge": 0,
        "storageBytes": sum(t["sizeBytes"] for t in docs.values()) + event["sizeBytes"],
    }


def zero_counts() -> dict[str, Any]:
    return {"inbound": 0, "outbound": 0, "byType": {}}


async def test_an_empty_batch_writes_nothing(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")
    before = await settled_documents(api.runtime, tenant.id)

    # when an empty batch is sent
    body = await run_batch(api, tenant.user, INSERT, [], REJECT_FAILED_ROWS)

    # then nothing is reported, written or even read
    assert body["data"]["batchInsertThings"] == {
        "results": [],
        "errors": [],
        "summary": {"total": 0, "succeeded": 0, "failed": 0, "successRate": 0.0},
        "batchEventId": None,
    }
    assert await settled_documents(api.runtime, tenant.id) == before
    assert db_commands(body) == 0


async def test_the_quota_reservation_covers_exactly_the_written_items(api: Api) -> None:
    # given a fixed clock (refusals are logged once per hour) and a tenant allowed 4 things,
    # holding 1
    set_clock(SettableClock(T0))
    tenant = await make_tenant(api.runtime, "acme", Plan.PRO)
    assert await api.runtime.services.quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 4)
    await batch(api, tenant.user, INSERT, [thing(name="First")])
    before = await settled_documents(api.runtime, tenant.id)
    bad = thing(name="")
    name_error = (
        "name",
        "INVALID_NAME",
        "Name must not be empty.",
    )

    # when a REJECT_FAILED_ROWS batch of 4 valid items and 1 invalid does not fit
    refused = await batch(
        api,
        tenant.user,
        INSERT,
        [thing(name="A"), bad, thing(name="B"), thing(name="C"), thing(name="D")],
        REJECT_FAILED_ROWS,
    )

    # then every valid item fails with QUOTA_EXCEEDED (4 requested: the items to write)
    def over(index: int, current: int, requested: int) -> dict[str, Any]:
        error_ = quota_error(index, f"things.{index}", "entities_total", current, requested, 4)
        return item(index, "FAILED", errors=[error_])

    assert refused == payload(
        [over(0, 1, 4), failed(1, [name_error]), over(2, 1, 4), over(3, 1, 4), over(4, 1, 4)]
    )
    assert refused["summary"] == {"total": 5, "succeeded": 0, "failed": 5, "successRate": 0.0}
    # and no thing and no batch event is written; the refusal itself is logged once
    after = await settled_documents(api.runtime, tenant.id)
    assert after[f"{tenant.id}/things"] == before[f"{tenant.id}/things"]
    new_events = [e for e in after[f"{tenant.id}/events"] if e not in before[f"{tenant.id}/events"]]
    assert [(e["type"], e["metadata"]) for e in new_events] == [
        (
            "quota_exceeded",
            {"metric": "entities_total", "current": 1, "requested": 4, "limit": 4},
        )
    ]
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)

    # when a batch of 5 items of which 3 are valid is sent: 1 + 3 fits the limit of 4
    written = await batch(
        api,
        tenant.user,
        INSERT,
        [thing(name="A"), bad, thing(name="B"), bad, thing(name="C")],
        REJECT_FAILED_ROWS,
    )

    # then the 3 valid items are written and the counter reaches the limit exactly
    ids = ids_of(written)
    assert [r["status"] for r in written["results"]] == [
        "CREATED",
        "FAILED",
        "CREATED",
        "FAILED",
        "CREATED",
    ]
    assert len({i for i in ids if i is not None}) == 3
    assert (await counters(api.runtime, tenant.id))["things"] == 4
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)

    # when one more thing is asked for under REJECT_EVERYTHING
    full = await batch(api, tenant.user, INSERT, [thing(name="E")])

    # then it is refused at 4 of 4, and the refusal is not logged again within the hour
    assert full == payload([over(0, 4, 1)])
    assert len(await events_of_type(api.runtime, tenant.id, "quota_exceeded")) == 1
    assert (await counters(api.runtime, tenant.id))["things"] == 4
    assert await counters(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_the_batch_event_counts_failed_items_not_their_errors(api: Api) -> None:
    # given a tenant, and a batch of one valid item and one item with two errors
    tenant = await make_tenant(api.runtime, "acme")
    items = [thing(name="Ada"), thing("spaceship", name="")]

    # when it is sent with REJECT_FAILED_ROWS
    result = await batch(api, tenant.user, INSERT, items, REJECT_FAILED_ROWS)

    # then the summary says 1 failed item, and the event must say the same
    assert result["summary"] == {"total": 2, "succeeded": 1, "failed": 1, "successRate": 0.5}
    [event] = await events_of_type(api.runtime, tenant.id, "batch_imported")
    assert event["metadata"] == {"count": 2, "created": 1, "failed": 1}


async def test_ids_of_created_things_are_the_stored_ids(api: Api) -> None:
    # given a tenant
    tenant = await make_tenant(api.runtime, "acme")

    # when a batch is written
    result = await batch(api, tenant.user, INSERT, [thing(name=f"T{i}") for i in range(3)])

    # then each result's id is its item's document, in input order
    docs = await stored(api.runtime, "things", {"groupId": tenant.id})
    by_id = {d["_id"]: d["name"] for d in docs}
    assert [by_id[oid(i)] for i in ids_of(result)] == ["T0", "T1", "T2"]
