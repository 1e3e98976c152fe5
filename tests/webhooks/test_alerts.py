"""Quota alerts: one ``quota_alert`` event per crossing, in the crossing write's
transaction, delivered to the group's webhooks from a durable outbox."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from ontology.config import Settings
from ontology.jobs.webhooks import deliver_webhooks
from ontology.kit.errors import RejectedError
from ontology.kit.pagination import PageRequest
from ontology.ledger.plans import Metric
from ontology.people.service import NewPerson
from ontology.runtime import open_runtime
from ontology.things.models import NewThing
from ontology.webhooks.models import check_target
from ontology.webhooks.service import WebhookService
from tests.db.test_indexes import assert_index_scan
from tests.factories import CREATE_THING, Api, Tenant, clock_at, make_tenant
from tests.quotas.support import events_of_type, set_limit
from tests.webhooks.conftest import Receiver

T0 = datetime(2040, 3, 1, 12, 0, tzinfo=UTC)
ERRORS = "errors { index path code message }"
CREATE_WEBHOOK = f"""
mutation($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{
    webhook {{ id url events description }}
    secret
    {ERRORS}
  }}
}}
"""
WEBHOOKS = "query { webhooks { id url events } }"
DELETE_WEBHOOK = f"""
mutation($id: ID!) {{ deleteWebhook(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}
"""
DELIVERIES = """
query {
  webhookDeliveries(first: 20) {
    edges { node { id eventType status attempts lastStatusCode lastError } }
  }
}
"""


async def add_webhook(api: Api, tenant: Tenant, url: str) -> tuple[str, str]:
    data = await api.data(
        tenant.owner, CREATE_WEBHOOK, {"input": {"url": url, "events": ["quota_alert"]}}
    )
    payload = data["createWebhook"]
    assert payload["errors"] == []
    return payload["webhook"]["id"], payload["secret"]


async def create(api: Api, group_id: ObjectId, n: int, start: int = 0) -> list[ObjectId]:
    ids = []
    for i in range(start, start + n):
        doc = await api.runtime.services.things.create(
            group_id, NewThing(type="creator", name=f"T{i}", properties={}, status="active")
        )
        ids.append(doc["_id"])
    return ids


def crossings_of(events: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return [
        (
            e["metadata"]["metric"],
            e["metadata"]["from"],
            e["metadata"]["to"],
            e["metadata"]["current"],
        )
        for e in events
    ]


async def test_each_crossing_writes_one_alert_either_way(api: Api) -> None:
    # given a group allowed 20 things
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 20)

    # when it grows to the limit, is refused past it, then shrinks
    ids = await create(api, tenant.id, 20)
    try:
        await create(api, tenant.id, 1, start=20)
        raise AssertionError("the 21st thing was accepted")
    except RejectedError:
        pass
    for thing_id in ids[:5]:
        await api.runtime.services.things.delete(tenant.id, thing_id)

    # then one event per crossing, in order: up at 16, 19, 20; down at 19, 18, 15
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert crossings_of(alerts) == [
        ("entities_total", "OK", "WARNING", 16),
        ("entities_total", "WARNING", "CRITICAL", 19),
        ("entities_total", "CRITICAL", "EXCEEDED", 20),
        ("entities_total", "EXCEEDED", "CRITICAL", 19),
        ("entities_total", "CRITICAL", "WARNING", 18),
        ("entities_total", "WARNING", "OK", 15),
    ]
    assert alerts[0]["metadata"] == {
        "metric": "entities_total",
        "from": "OK",
        "to": "WARNING",
        "current": 16,
        "limit": 20,
        "percentUsed": 80.0,
    }
    # and the alert events are counted like every other
    assert (await api.runtime.repos.groups.counts(tenant.id))["events"] == len(
        [d async for d in api.runtime.database.collection("events").find({"groupId": tenant.id})]
    )


async def test_a_batch_crossing_two_levels_writes_one_alert(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 20)
    things = [
        {"type": "creator", "name": f"B{i}", "properties": {}, "status": "active"}
        for i in range(19)
    ]
    batch = "mutation($t: [CreateThingInput!]!) { batchInsertThings(input: {things: $t}) {"
    body = await api.gql(tenant.user, batch + " errors { code } } }", {"t": things})
    assert body["data"]["batchInsertThings"]["errors"] == [], body
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert crossings_of(alerts) == [("entities_total", "OK", "CRITICAL", 19)]


async def test_writes_committed_together_write_one_alert_per_crossing(
    api: Api, receiver: Receiver
) -> None:
    # given a group with a webhook, allowed 20 things, holding 14 (70 %: OK)
    runtime = api.runtime
    tenant = await make_tenant(runtime, "acme")
    await set_limit(runtime, tenant.id, Metric.ENTITIES_TOTAL, 20)
    await add_webhook(api, tenant, receiver.url)
    await create(api, tenant.id, 14)

    # when 6 creates arrive at once: the first commits alone (15, still OK), the 5 that
    # waited for it together, in one combined reservation (20: WARNING, CRITICAL and
    # EXCEEDED crossed by the sum)
    answers = await asyncio.gather(
        *[
            runtime.services.things.create(
                tenant.id, NewThing(type="creator", name=f"N{n}", properties={}, status="active")
            )
            for n in range(6)
        ],
        return_exceptions=True,
    )

    # then all 6 are stored, 5 of them in one shared transaction
    assert [type(a) for a in answers] == [dict] * 6
    shared = runtime.metrics.registry.get_sample_value(
        "ontology_group_commits_total", {"outcome": "together"}
    )
    assert shared == 1.0
    # and the combined reservation wrote one alert for its one crossing, not one per write
    alerts = await events_of_type(runtime, tenant.id, "quota_alert")
    assert crossings_of(alerts) == [("entities_total", "OK", "EXCEEDED", 20)]
    # and one delivery of it is in the outbox
    deliveries = runtime.database.collection("webhook_deliveries")
    assert [d["eventId"] async for d in deliveries.find({"groupId": tenant.id})] == [
        alerts[0]["_id"]
    ]


async def test_a_write_crossing_nothing_costs_what_it_did_and_a_crossing_pins_its_cost(
    api: Api, receiver: Receiver
) -> None:
    # given a group with a webhook, allowed 5 things, holding 3
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
    await add_webhook(api, tenant, receiver.url)
    await create(api, tenant.id, 3)

    def thing(name: str) -> dict[str, Any]:
        return {"input": {"type": "creator", "name": name, "properties": {}, "status": "active"}}

    # when a thing crosses 80 % (4 of 5), then one that crosses 100 % (5 of 5)
    crossing = await api.gql(tenant.user, CREATE_THING, thing("Four"))
    # (a write that crosses nothing: an event, 4 commands as before alerts existed)
    plain = await api.gql(
        tenant.user,
        'mutation { logEvent(input: {type: "content_event", metadata: {}}) { errors { code } } }',
    )

    # then the thing costs its 5 commands (tests/api/test_command_counts.py); the
    # crossing 5 more:
    #   insert events (the alert), update counters (its buckets), update groups (its
    #   counts), find webhooks, insert webhook_deliveries
    assert crossing["data"]["createThing"]["errors"] == []
    assert crossing["extensions"]["cost"]["dbCommands"] == 10
    assert plain["data"]["logEvent"]["errors"] == []
    assert plain["extensions"]["cost"]["dbCommands"] == 4


async def test_deliveries_are_signed_listed_and_retried_with_backoff(
    api: Api, receiver: Receiver
) -> None:
    # given a webhook whose receiver fails twice, then answers
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
    _, secret = await add_webhook(api, tenant, receiver.url)
    receiver.answers = [500, 503]
    with clock_at(T0) as clock:
        await create(api, tenant.id, 4)  # crosses 80 %

        # when the worker runs: a failure, retried 10 s later, then 20 s later
        first = await deliver_webhooks(api.runtime)
        early = await deliver_webhooks(api.runtime)
        clock.advance(seconds=10)
        second = await deliver_webhooks(api.runtime)
        clock.advance(seconds=19)
        too_soon = await deliver_webhooks(api.runtime)
        clock.advance(seconds=1)
        third = await deliver_webhooks(api.runtime)

    # then
    assert [r.as_json() for r in (first, early, second, too_soon, third)] == [
        {"delivered": 0, "retried": 1, "failed": 0},
        {"delivered": 0, "retried": 0, "failed": 0},
        {"delivered": 0, "retried": 1, "failed": 0},
        {"delivered": 0, "retried": 0, "failed": 0},
        {"delivered": 1, "retried": 0, "failed": 0},
    ]
    assert len(receiver.received) == 3
    [alert] = await events_of_type(api.runtime, tenant.id, "quota_alert")
    delivery_ids = {r.headers["X-Ontology-Delivery"] for r in receiver.received}
    assert len(delivery_ids) == 1  # the same delivery, retried
    last = receiver.received[-1]
    assert last.headers["X-Ontology-Event"] == "quota_alert"
    timestamp, mac = last.headers["X-Ontology-Signature"].split(",")
    assert timestamp == f"t={int((T0 + timedelta(seconds=30)).timestamp())}"
    expected = hmac.new(
        secret.encode(), f"{timestamp[2:]}.{last.body}".encode(), hashlib.sha256
    ).hexdigest()
    assert mac == f"v1={expected}"
    assert last.json == {
        "id": str(alert["_id"]),
        "type": "quota_alert",
        "groupId": str(tenant.id),
        "timestamp": alert["timestamp"].isoformat(),
        "data": alert["metadata"],
    }
    data = await api.data(tenant.owner, DELIVERIES)
    [edge] = data["webhookDeliveries"]["edges"]
    assert {k: v for k, v in edge["node"].items() if k != "id"} == {
        "eventType": "quota_alert",
        "status": "DELIVERED",
        "attempts": 3,
        "lastStatusCode": 204,
        "lastError": None,
    }


async def test_a_delivery_fails_after_its_last_attempt(api: Api, receiver: Receiver) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
    await add_webhook(api, tenant, receiver.url)
    receiver.answers = [500, 500, 500, 500]
    with clock_at(T0) as clock:
        await create(api, tenant.id, 4)
        runs = []
        for _ in range(3):
            runs.append((await deliver_webhooks(api.runtime)).as_json())
            clock.advance(hours=1)
        after = await deliver_webhooks(api.runtime)
    assert runs == [
        {"delivered": 0, "retried": 1, "failed": 0},
        {"delivered": 0, "retried": 1, "failed": 0},
        {"delivered": 0, "retried": 0, "failed": 1},
    ]
    assert after.as_json() == {"delivered": 0, "retried": 0, "failed": 0}
    data = await api.data(tenant.owner, DELIVERIES)
    [edge] = data["webhookDeliveries"]["edges"]
    assert (edge["node"]["status"], edge["node"]["attempts"], edge["node"]["lastError"]) == (
        "FAILED",
        3,
        "HTTP 500",
    )


async def test_no_crossing_is_lost_when_a_worker_dies_mid_way(
    api: Api, receiver: Receiver, settings: Settings
) -> None:
    # given two crossings written while no worker runs
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
    await add_webhook(api, tenant, receiver.url)
    with clock_at(T0) as clock:
        await create(api, tenant.id, 5)  # 80 % at 4, 100 % at 5
        # when a worker claims the first delivery and dies before posting it
        dead = await api.runtime.repos.deliveries.claim_due(
            "dead:1", T0, T0 + timedelta(seconds=60)
        )
        assert dead is not None
        # and another process's worker runs: it delivers the other one only
        async with open_runtime(settings) as other:
            survivor = await deliver_webhooks(other, owner="survivor:2")
            assert survivor.as_json() == {"delivered": 1, "retried": 0, "failed": 0}
            # once the dead worker's lease lapses, the next run delivers the first
            clock.advance(seconds=59)
            assert (await deliver_webhooks(other, owner="survivor:2")).delivered == 0
            clock.advance(seconds=1)
            assert (await deliver_webhooks(other, owner="survivor:2")).delivered == 1
            assert (await deliver_webhooks(other, owner="survivor:2")).delivered == 0

    # then each crossing reached the receiver exactly once
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert sorted(r.json["id"] for r in receiver.received) == sorted(str(a["_id"]) for a in alerts)
    assert len(receiver.received) == 2
    assert [r.json["data"]["to"] for r in receiver.received] == ["EXCEEDED", "WARNING"]


async def test_webhooks_are_the_owners_and_of_one_group(api: Api, receiver: Receiver) -> None:
    # given two tenants, each with a webhook
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "other")
    mine, secret = await add_webhook(api, tenant, receiver.url)
    theirs, _ = await add_webhook(api, other, receiver.url)

    # then the owner lists its own, without the secret; other roles are refused
    assert await api.data(tenant.owner, WEBHOOKS) == {
        "webhooks": [{"id": mine, "url": receiver.url, "events": ["quota_alert"]}]
    }
    assert secret.startswith("whsec_") and len(secret) > 40
    for key in (tenant.user, tenant.customer):
        body = await api.gql(key, WEBHOOKS)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await api.gql(
            key, CREATE_WEBHOOK, {"input": {"url": receiver.url, "events": ["quota_alert"]}}
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # another tenant's webhook is not found, and stays
    data = await api.data(tenant.owner, DELETE_WEBHOOK, {"id": theirs})
    assert data["deleteWebhook"] == {
        "deletedId": None,
        "errors": [
            {"index": None, "path": "id", "code": "NOT_FOUND", "message": "No such webhook."}
        ],
    }
    assert len((await api.data(other.owner, WEBHOOKS))["webhooks"]) == 1
    data = await api.data(tenant.owner, DELETE_WEBHOOK, {"id": mine})
    assert data["deleteWebhook"] == {"deletedId": mine, "errors": []}
    assert await api.data(tenant.owner, WEBHOOKS) == {"webhooks": []}
    # bad events are refused, nothing written
    data = await api.data(
        tenant.owner, CREATE_WEBHOOK, {"input": {"url": receiver.url, "events": ["nope"]}}
    )
    assert data["createWebhook"]["webhook"] is None
    assert [e["code"] for e in data["createWebhook"]["errors"]] == ["INVALID_INPUT"]
    assert await api.data(tenant.owner, WEBHOOKS) == {"webhooks": []}


async def test_a_target_that_is_not_public_https_is_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    strict = WebhookService(
        api.runtime.repos.webhooks, api.runtime.repos.deliveries, allow_private=False
    )
    refused = {
        "http://hooks.example.com/x": "The URL must use https.",
        "https://127.0.0.1/x": "127.0.0.1 is not a public address.",
        "https://10.1.2.3/x": "10.1.2.3 is not a public address.",
        "https://[::1]/x": "::1 is not a public address.",
        "https://169.254.169.254/latest": "169.254.169.254 is not a public address.",
        "https://localhost/x": "localhost is not a public address.",
        "https://db.internal/x": "db.internal is not a public address.",
        "https://intranet/x": "intranet is not a public address.",
        "https://user:pw@hooks.example.com/": "The URL must not carry credentials.",
        "ftp://hooks.example.com/": "The URL must be http(s)://host/...",
    }
    for url, message in refused.items():
        try:
            await strict.create(tenant.id, url, ["quota_alert"])
            raise AssertionError(f"{url} was accepted")
        except RejectedError as rejected:
            assert [(e.code.value, e.path, e.message) for e in rejected.errors] == [
                ("WEBHOOK_TARGET_REFUSED", "url", message)
            ]
    assert await api.runtime.repos.webhooks.of_group(tenant.id) == []
    assert check_target("https://hooks.example.com/ontology", False) == []
    assert check_target("https://93.184.216.34/x", False) == []
    doc, _ = await strict.create(tenant.id, "https://hooks.example.com/ontology", ["quota_alert"])
    assert doc["url"] == "https://hooks.example.com/ontology"


async def test_the_outbox_reads_are_index_scans(api: Api, receiver: Receiver) -> None:
    # given a pending delivery
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
    await add_webhook(api, tenant, receiver.url)
    await create(api, tenant.id, 4)
    deliveries = api.runtime.database.collection("webhook_deliveries")

    # when explaining the group's list and the worker's claim (without its hint)
    page = await api.runtime.repos.deliveries.page_spec(tenant.id, PageRequest(size=5)).explain(
        deliveries
    )
    due = (
        await deliveries.find({"status": "pending", "nextAttemptAt": {"$lte": datetime.now(UTC)}})
        .sort([("status", 1), ("nextAttemptAt", 1)])
        .explain()
    )

    # then
    assert_index_scan(page, "webhook_deliveries_group")
    assert_index_scan(due, "webhook_deliveries_due")


async def test_a_limit_or_plan_change_that_moves_a_level_writes_an_alert(api: Api) -> None:
    # given a pro group holding 16 things
    tenant = await make_tenant(api.runtime, "acme")
    await create(api, tenant.id, 16)

    # when its limit drops to 20 (80 %), then to 16 (100 %), then back to the plan's
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 20)
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 16)
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 100)
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, None)
    # and the cap is lifted to unlimited
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 10)
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, -1)

    # then
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert [
        (a["metadata"]["from"], a["metadata"]["to"], a["metadata"]["limit"]) for a in alerts
    ] == [
        ("OK", "WARNING", 20),
        ("WARNING", "EXCEEDED", 16),
        ("EXCEEDED", "OK", 100),
        ("OK", "EXCEEDED", 10),
        ("EXCEEDED", "OK", None),
    ]


async def test_a_plan_change_that_moves_a_level_writes_an_alert(api: Api) -> None:
    # given a pro group (50 users) with 4 people
    tenant = await make_tenant(api.runtime, "acme")
    for i in range(4):
        await api.runtime.services.people.create(
            tenant.id, NewPerson(email=f"p{i}@example.com", name=f"P{i}")
        )

    # when it moves to starter (5 users: 80 %), then back
    group = await api.runtime.repos.groups.by_id(tenant.id)
    assert group is not None
    moved, over = await api.runtime.services.quotas.change_plan(group, "starter")
    await api.runtime.services.quotas.change_plan(moved, "pro")

    # then one alert each way, in the plan change's transaction
    alerts = await events_of_type(api.runtime, tenant.id, "quota_alert")
    assert over == []
    assert [
        (a["metadata"]["metric"], a["metadata"]["from"], a["metadata"]["to"]) for a in alerts
    ] == [
        ("users", "OK", "WARNING"),
        ("users", "WARNING", "OK"),
    ]


async def test_each_group_lists_only_its_own_deliveries(api: Api, receiver: Receiver) -> None:
    # given two tenants whose writes each cross 80 %, each with a webhook
    tenants = [await make_tenant(api.runtime, slug) for slug in ("acme", "other")]
    for tenant in tenants:
        await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 5)
        await add_webhook(api, tenant, receiver.url)
    await create(api, tenants[0].id, 4)
    await create(api, tenants[1].id, 5)

    # when each owner lists its deliveries
    listed = [
        [
            e["node"]["eventType"]
            for e in (await api.data(t.owner, DELIVERIES))["webhookDeliveries"]["edges"]
        ]
        for t in tenants
    ]

    # then each sees its own: one crossing, and two
    assert listed == [["quota_alert"], ["quota_alert", "quota_alert"]]
    stored = api.runtime.database.collection("webhook_deliveries")
    assert [d["groupId"] async for d in stored.find({}).sort("_id", 1)] == [
        tenants[0].id,
        tenants[1].id,
        tenants[1].id,
    ]
