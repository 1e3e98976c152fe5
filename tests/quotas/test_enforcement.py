"""Enforcement through the API: exact refusals, overrides, plan changes, refusal events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ontology.app import create_app
from ontology.config import Settings
from ontology.groups.models import Plan
from ontology.kit.errors import ItemError, RejectedError
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.events import new_event
from ontology.ledger.plans import GIB, Metric
from ontology.runtime import open_runtime
from ontology.things.models import NewThing, new_thing_document
from tests.factories import (
    GROUP_HEADER,
    Api,
    SettableClock,
    Tenant,
    collection_sizes,
    global_id,
    make_staff_key,
    make_tenant,
    raw_count,
    true_counts,
)
from tests.quotas.support import (
    ADD_KNOWLEDGE,
    CHANGE_PLAN,
    CREATE_CONNECTION,
    CREATE_PERSON,
    CREATE_THING,
    DELETE_CONNECTION,
    DELETE_THING,
    LOG_EVENT,
    T0,
    UPDATE_THING,
    bump_counters,
    events_of_type,
    insert_things,
    refusal,
    refusal_message,
    set_limit,
    stored_counts,
)

COLLECTIONS = ("things", "connections", "events", "people", "knowledge", "thing_knowledge")


async def mutate(api: Api, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The single payload of a mutation."""
    data = await api.data(key, query, variables)
    (payload,) = data.values()
    result: dict[str, Any] = payload
    return result


async def create(api: Api, key: str, name: str, thing_type: str = "creator") -> dict[str, Any]:
    return await mutate(
        api, key, CREATE_THING, {"input": {"type": thing_type, "name": name, "status": "active"}}
    )


async def created_id(api: Api, key: str, name: str, thing_type: str = "creator") -> str:
    payload = await create(api, key, name, thing_type)
    assert payload["errors"] == [], payload["errors"]
    thing_id: str = payload["thing"]["id"]
    return thing_id


async def add_person(api: Api, tenant: Tenant, email: str) -> dict[str, Any]:
    return await mutate(
        api, tenant.owner, CREATE_PERSON, {"input": {"email": email, "name": email.split("@")[0]}}
    )


def thing_and_event_bytes(tenant: Tenant, name: str, thing_type: str = "creator") -> int:
    """The storage a createThing of ``name`` reserves: the thing and its event."""
    thing = new_thing_document(tenant.id, NewThing(thing_type, name, {}, "active"), T0)
    event = new_event(
        tenant.id,
        "thing_created",
        timestamp=T0,
        target_id=thing["_id"],
        metadata={"type": thing_type, "name": name},
    )
    return int(thing["sizeBytes"] + event["sizeBytes"])


# -- each metric refuses exactly, and nothing is written --------------------------------------


async def test_entities_over_the_limit_are_refused_exactly(api: Api) -> None:
    # given a pro group whose entities limit is overridden to 2, with 2 things
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 2)
    await created_id(api, tenant.user, "Ada")
    await created_id(api, tenant.user, "Bob")
    before = await collection_sizes(api.runtime, COLLECTIONS)

    # when a third is created
    payload = await create(api, tenant.user, "Cy")

    # then it is refused with the quota's figures, and only the refusal's event is written
    assert payload == {
        "thing": None,
        "errors": [refusal(Metric.ENTITIES_TOTAL, 2, 1, 2, "type")],
    }
    assert await collection_sizes(api.runtime, COLLECTIONS) == {
        **before,
        "events": before["events"] + 1,
    }
    assert (await stored_counts(api.runtime, tenant.id))["things"] == 2
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_connections_over_the_limit_are_refused_exactly(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.CONNECTIONS_TOTAL, 1)
    ada = await created_id(api, tenant.user, "Ada")
    bob = await created_id(api, tenant.user, "Bob")
    first = await mutate(
        api,
        tenant.user,
        CREATE_CONNECTION,
        {"input": {"fromId": ada, "toId": bob, "type": "references"}},
    )
    assert first["errors"] == []
    before = await collection_sizes(api.runtime, COLLECTIONS)

    payload = await mutate(
        api,
        tenant.user,
        CREATE_CONNECTION,
        {"input": {"fromId": bob, "toId": ada, "type": "references"}},
    )

    assert payload == {
        "connection": None,
        "errors": [refusal(Metric.CONNECTIONS_TOTAL, 1, 1, 1, "type")],
    }
    assert await collection_sizes(api.runtime, COLLECTIONS) == {
        **before,
        "events": before["events"] + 1,
    }
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_users_over_the_limit_are_refused_exactly(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.USERS, 1)
    assert (await add_person(api, tenant, "ada@example.com"))["errors"] == []
    before = await collection_sizes(api.runtime, COLLECTIONS)

    payload = await add_person(api, tenant, "bob@example.com")

    assert payload == {"person": None, "errors": [refusal(Metric.USERS, 1, 1, 1, "email")]}
    assert await collection_sizes(api.runtime, COLLECTIONS) == {
        **before,
        "events": before["events"] + 1,
    }
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_a_zero_storage_limit_refuses_every_growing_write(api: Api) -> None:
    # given a pro group with a thing and a storage override of 0 GiB (nothing fits)
    tenant = await make_tenant(api.runtime, "acme")
    ada = await created_id(api, tenant.user, "Ada")
    await set_limit(api.runtime, tenant.id, Metric.STORAGE_GB, 0)
    used = (await stored_counts(api.runtime, tenant.id))["storageBytes"]

    # when it creates a thing
    payload = await create(api, tenant.user, "Bob")

    # then the storage quota refuses it, in bytes, at the payload's root
    requested = thing_and_event_bytes(tenant, "Bob")
    assert payload == {
        "thing": None,
        "errors": [refusal(Metric.STORAGE_GB, used, requested, 0, "")],
    }
    # and so are events, knowledge and growing updates (each after the first refusal's event)
    refused_event = (await events_of_type(api.runtime, tenant.id, "quota_exceeded"))[0]
    used += refused_event["sizeBytes"]
    before = await collection_sizes(api.runtime, COLLECTIONS)
    for query, variables in (
        (LOG_EVENT, {"input": {"type": "content_event", "metadata": {"n": 1}}}),
        (ADD_KNOWLEDGE, {"input": {"kind": "LABEL", "text": "hello"}}),
        (UPDATE_THING, {"input": {"id": ada, "properties": {"bio": "x" * 100}}}),
    ):
        errors = (await mutate(api, tenant.user, query, variables))["errors"]
        assert [
            (e["code"], e["path"], e["quota"]["metric"], e["quota"]["current"]) for e in errors
        ] == [("QUOTA_EXCEEDED", "", "storage_gb", used)]
        assert errors[0]["quota"]["limit"] == 0
    assert await collection_sizes(api.runtime, COLLECTIONS) == before
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


# -- unlimited and overrides ------------------------------------------------------------------


async def test_enterprise_groups_are_never_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.ENTERPRISE)
    await bump_counters(
        api.runtime,
        tenant.id,
        things=10**7,
        connections=10**8,
        people=10**5,
        storageBytes=10**6 * GIB,
    )
    ada = await created_id(api, tenant.user, "Ada")
    bob = await created_id(api, tenant.user, "Bob")
    link = await mutate(
        api,
        tenant.user,
        CREATE_CONNECTION,
        {"input": {"fromId": ada, "toId": bob, "type": "references"}},
    )
    person = await add_person(api, tenant, "ada@example.com")
    assert (link["errors"], person["errors"]) == ([], [])
    assert await raw_count(api.runtime, "quota_event_marks", {}) == 0


async def test_a_minus_one_override_is_unlimited_and_removing_it_restores_the_plan(
    api: Api,
) -> None:
    # given a pro group at its 10,000 things
    tenant = await make_tenant(api.runtime, "acme")
    await insert_things(api.runtime, tenant.id, 10_000)
    assert (await create(api, tenant.user, "Over"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 10_000, 1, 10_000, "type")
    ]

    # when the limit is overridden to -1, then it can grow past the plan
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, -1)
    await created_id(api, tenant.user, "Past1")
    await created_id(api, tenant.user, "Past2")

    # and when the override is removed, the plan's limit is back
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, None)
    assert (await create(api, tenant.user, "Over"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 10_002, 1, 10_000, "type")
    ]
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


async def test_an_override_raises_or_lowers_the_plan_limit(api: Api) -> None:
    # given a starter group (100 things) raised to 101, and a pro group lowered to 1
    raised = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await insert_things(api.runtime, raised.id, 100)
    await set_limit(api.runtime, raised.id, Metric.ENTITIES_TOTAL, 101)
    lowered = await make_tenant(api.runtime, "globex")
    await set_limit(api.runtime, lowered.id, Metric.ENTITIES_TOTAL, 1)

    # then each may create up to its override, no further
    await created_id(api, raised.user, "Extra")
    assert (await create(api, raised.user, "More"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 101, 1, 101, "type")
    ]
    await created_id(api, lowered.user, "Only")
    assert (await create(api, lowered.user, "More"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 1, 1, 1, "type")
    ]


async def test_an_override_made_while_a_plan_change_is_in_flight_still_holds(api: Api) -> None:
    # given a pro group as its owner's request loaded it
    tenant = await make_tenant(api.runtime, "acme")
    quotas = api.runtime.services.quotas
    loaded = await api.runtime.repos.groups.by_id(tenant.id)
    assert loaded is not None

    # when an operator caps its entities at 1, then the request switches it to starter
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 1)
    await quotas.change_plan(loaded, "starter")

    # then the override holds, in enforcement as in reports
    await created_id(api, tenant.user, "Only")
    assert (await create(api, tenant.user, "More"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 1, 1, 1, "type")
    ]


# -- plan changes -----------------------------------------------------------------------------


async def test_a_downgrade_below_usage_is_allowed_then_refuses_until_usage_fits(
    api: Api,
) -> None:
    # given a pro group with 102 things and 6 people
    tenant = await make_tenant(api.runtime, "acme")
    docs = await insert_things(api.runtime, tenant.id, 102)
    for i in range(6):
        assert (await add_person(api, tenant, f"p{i}@example.com"))["errors"] == []

    # when its owner switches it to starter (100 things, 5 users)
    payload = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "STARTER"})

    # then the change is made and reports the metrics now over their limit
    assert payload["group"]["plan"] == "STARTER"
    assert (payload["group"]["counts"]["things"], payload["group"]["counts"]["people"]) == (102, 6)
    assert (payload["overLimit"], payload["errors"]) == (["USERS", "ENTITIES_TOTAL"], [])
    # and writes of those metrics are refused
    assert (await create(api, tenant.user, "New"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 102, 1, 100, "type")
    ]
    assert (await add_person(api, tenant, "p6@example.com"))["errors"] == [
        refusal(Metric.USERS, 6, 1, 5, "email")
    ]

    # when things are deleted down to the limit, creates are still refused (100 + 1 > 100)
    ids = [global_id("Thing", doc["_id"]) for doc in docs]
    for thing_id in ids[:2]:
        assert (await mutate(api, tenant.user, DELETE_THING, {"id": thing_id}))["errors"] == []
    assert (await create(api, tenant.user, "New"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 100, 1, 100, "type")
    ]

    # and once one more is gone, one create fits again, and no more
    assert (await mutate(api, tenant.user, DELETE_THING, {"id": ids[2]}))["errors"] == []
    await created_id(api, tenant.user, "Fits")
    assert (await create(api, tenant.user, "New"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 100, 1, 100, "type")
    ]
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)

    # and upgrading back lifts the refusal, with nothing over
    back = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "PRO"})
    assert (back["group"]["plan"], back["overLimit"], back["errors"]) == ("PRO", [], [])
    await created_id(api, tenant.user, "Again")


async def test_deleting_is_never_refused_at_or_over_the_storage_limit(api: Api) -> None:
    # given a pro group with three small things, two of them connected
    tenant = await make_tenant(api.runtime, "acme")
    ada = await created_id(api, tenant.user, "Ada")
    bob = await created_id(api, tenant.user, "Bob")
    cy = await created_id(api, tenant.user, "Cy")
    link = await mutate(
        api,
        tenant.user,
        CREATE_CONNECTION,
        {"input": {"fromId": ada, "toId": bob, "type": "references"}},
    )
    # and storage over the starter limit, then downgraded to starter
    await bump_counters(api.runtime, tenant.id, storageBytes=GIB)
    changed = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "STARTER"})
    assert changed["overLimit"] == ["STORAGE_GB"]

    # when the connection and the unconnected thing are deleted
    unlinked = await mutate(api, tenant.user, DELETE_CONNECTION, {"id": link["connection"]["id"]})
    deleted = await mutate(api, tenant.user, DELETE_THING, {"id": cy})

    # then both deletes are made: a delete never needs more quota
    assert unlinked == {"deletedId": link["connection"]["id"], "errors": []}
    assert deleted == {"deletedId": cy, "errors": []}
    counts = await stored_counts(api.runtime, tenant.id)
    assert (counts["things"], counts["connections"]) == (2, 0)


async def test_the_change_plan_payload_counts_include_the_event_it_logged(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    payload = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "STARTER"})

    stored = await stored_counts(api.runtime, tenant.id)
    assert stored["events"] == 1
    assert payload["group"]["counts"] == {
        "things": 0,
        "people": 0,
        "events": 1,
        "storageBytes": stored["storageBytes"],
    }


async def test_change_plan_needs_the_org_owner_role(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    for key, role in ((tenant.user, "org_user"), (tenant.customer, "customer")):
        body = await api.gql(key, CHANGE_PLAN, {"plan": "STARTER"})
        assert body["data"] is None
        assert [(e["message"], e["path"], e["extensions"]) for e in body["errors"]] == [
            (
                f"This operation needs the org_owner role; the key has {role}.",
                ["changePlan"],
                {"code": "FORBIDDEN"},
            )
        ]

    group = await api.runtime.repos.groups.by_id(tenant.id)
    assert group is not None
    assert group["plan"] == "pro"
    assert await events_of_type(api.runtime, tenant.id, "subscription_event") == []


async def staff_change_plan(api: Api, staff: str, slug: str, plan: str) -> dict[str, Any]:
    """changePlan sent by a platform_owner acting on the group ``slug``."""
    body = await api.gql(staff, CHANGE_PLAN, {"plan": plan}, headers={GROUP_HEADER: slug})
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["changePlan"]
    return payload


def forbidden(message: str) -> list[tuple[str, list[str], dict[str, str]]]:
    return [(message, ["changePlan"], {"code": "FORBIDDEN"})]


def top_level(body: dict[str, Any]) -> list[tuple[str, list[str], dict[str, str]]]:
    return [(e["message"], e["path"], e["extensions"]) for e in body["errors"]]


async def test_an_org_owner_cannot_put_the_group_on_the_custom_enterprise_plan(api: Api) -> None:
    # given a starter group
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    group_before = await api.runtime.repos.groups.by_id(tenant.id)
    before = await collection_sizes(api.runtime, COLLECTIONS)

    # when its owner asks for enterprise (every limit unlimited)
    body = await api.gql(tenant.owner, CHANGE_PLAN, {"plan": "ENTERPRISE"})

    # then it is refused and nothing changes: plan, enforced limits, events
    assert body["data"] is None
    assert top_level(body) == forbidden(
        "enterprise is a custom plan: only a platform_owner can assign it."
    )
    assert await api.runtime.repos.groups.by_id(tenant.id) == group_before
    assert await collection_sizes(api.runtime, COLLECTIONS) == before
    assert (await create(api, tenant.user, "Still limited"))["errors"] == []


async def test_an_org_owner_cannot_move_an_enterprise_group_to_a_priced_plan(api: Api) -> None:
    # given an enterprise group (its plan agreed with staff)
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.ENTERPRISE)
    group_before = await api.runtime.repos.groups.by_id(tenant.id)
    before = await collection_sizes(api.runtime, COLLECTIONS)

    # when its owner moves it to pro, or asks for enterprise again
    to_pro = await api.gql(tenant.owner, CHANGE_PLAN, {"plan": "PRO"})
    again = await api.gql(tenant.owner, CHANGE_PLAN, {"plan": "ENTERPRISE"})

    # then both are refused and nothing changes
    assert top_level(to_pro) == forbidden(
        "The group is on the custom plan enterprise: only a platform_owner can change it."
    )
    assert top_level(again) == forbidden(
        "enterprise is a custom plan: only a platform_owner can assign it."
    )
    assert await api.runtime.repos.groups.by_id(tenant.id) == group_before
    assert await collection_sizes(api.runtime, COLLECTIONS) == before


async def test_a_platform_owner_assigns_enterprise_and_takes_it_away(api: Api) -> None:
    # given a starter group and a platform_owner
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    staff = await make_staff_key(api.runtime)

    # when staff puts the group on enterprise, then back on pro
    onto = await staff_change_plan(api, staff, "acme", "ENTERPRISE")
    enterprise = await api.runtime.repos.groups.by_id(tenant.id)
    off = await staff_change_plan(api, staff, "acme", "PRO")

    # then both changes are made, with the limits of each plan
    assert (onto["group"]["plan"], onto["overLimit"], onto["errors"]) == ("ENTERPRISE", [], [])
    assert enterprise is not None
    assert enterprise["quota"] == {
        "users": -1,
        "storage_gb": -1,
        "entities_total": -1,
        "connections_total": -1,
    }
    assert (off["group"]["plan"], off["overLimit"], off["errors"]) == ("PRO", [], [])
    assert [
        e["metadata"] for e in await events_of_type(api.runtime, tenant.id, "subscription_event")
    ] == [
        {"change": "plan", "from": "starter", "to": "enterprise"},
        {"change": "plan", "from": "enterprise", "to": "pro"},
    ]


async def test_a_plan_change_is_recorded_as_a_subscription_event(
    api: Api, clock: SettableClock
) -> None:
    tenant = await make_tenant(api.runtime, "acme")
    staff = await make_staff_key(api.runtime)

    first = await staff_change_plan(api, staff, "acme", "ENTERPRISE")
    clock.advance(minutes=5)
    second = await staff_change_plan(api, staff, "acme", "STARTER")

    assert (first["overLimit"], first["errors"], second["overLimit"], second["errors"]) == (
        [],
        [],
        [],
        [],
    )
    events = await events_of_type(api.runtime, tenant.id, "subscription_event")
    assert [(e["timestamp"], e["metadata"], e["actorId"], e["targetId"]) for e in events] == [
        (T0, {"change": "plan", "from": "pro", "to": "enterprise"}, None, None),
        (
            T0 + timedelta(minutes=5),
            {"change": "plan", "from": "enterprise", "to": "starter"},
            None,
            None,
        ),
    ]
    data = await api.data(
        tenant.user,
        '{ events(type: "subscription_event", first: 20) '
        "{ totalCount edges { node { metadata } } } }",
    )
    assert data["events"]["edges"][0]["node"]["metadata"] == {
        "change": "plan",
        "from": "enterprise",
        "to": "starter",
    }
    assert await stored_counts(api.runtime, tenant.id) == await true_counts(api.runtime, tenant.id)


# -- the quota_exceeded event -----------------------------------------------------------------


async def test_a_refusal_is_logged_once_per_metric_per_hour_per_group(
    api: Api, clock: SettableClock
) -> None:
    # given two pro groups capped at 0 things and 0 users
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    for group in (tenant, other):
        await set_limit(api.runtime, group.id, Metric.ENTITIES_TOTAL, 0)
        await set_limit(api.runtime, group.id, Metric.USERS, 0)

    async def logged(group: Tenant) -> list[tuple[Any, Any]]:
        events = await events_of_type(api.runtime, group.id, "quota_exceeded")
        return [(e["timestamp"], e["metadata"]) for e in events]

    entities = {"metric": "entities_total", "current": 0, "requested": 1, "limit": 0}
    users = {"metric": "users", "current": 0, "requested": 1, "limit": 0}

    # when two creates are refused in the same hour, then one event is logged
    assert (await create(api, tenant.user, "A"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    clock.advance(minutes=59, seconds=59)
    assert (await create(api, tenant.user, "B"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert await logged(tenant) == [(T0, entities)]

    # when another metric is refused in that hour, it has its own event
    assert (await add_person(api, tenant, "a@example.com"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert await logged(tenant) == [(T0, entities), (T0 + timedelta(seconds=3599), users)]

    # when the next hour starts, the next refusal is logged again
    clock.set(T0 + timedelta(hours=1))
    assert (await create(api, tenant.user, "C"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert (await create(api, tenant.user, "D"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert await logged(tenant) == [
        (T0, entities),
        (T0 + timedelta(seconds=3599), users),
        (T0 + timedelta(hours=1), entities),
    ]

    # and another group's refusals are its own
    assert (await create(api, other.user, "A"))["errors"][0]["code"] == "QUOTA_EXCEEDED"
    assert await logged(other) == [(T0 + timedelta(hours=1), entities)]
    for group in (tenant, other):
        assert await stored_counts(api.runtime, group.id) == await true_counts(
            api.runtime, group.id
        )


# -- plans as data ----------------------------------------------------------------------------

TINY_PLANS = {
    "plans": {
        "starter": {
            "limits": {
                "users": 1,
                "storage_gb": 1,
                "api_calls_per_month": 1000,
                "entities_total": 3,
                "connections_total": 1,
                "events_retention_days": 7,
            },
            "price": {"monthly": 5, "annual": 50},
        },
        "pro": {
            "limits": {
                "users": 2,
                "storage_gb": 2,
                "api_calls_per_month": 2000,
                "entities_total": 6,
                "connections_total": 2,
                "events_retention_days": 14,
            },
            "price": {"monthly": 15, "annual": None},
        },
    },
    "upgradePath": ["starter", "pro"],
}


@pytest.fixture
def tiny_settings(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "plans.json"
    path.write_text(json.dumps(TINY_PLANS))
    return settings.model_copy(update={"plans_file": path})


@pytest.fixture
async def tiny_api(tiny_settings: Settings) -> AsyncIterator[Api]:
    """The app with a plans file of tiny limits and only two plans."""
    app = create_app(tiny_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client=client, runtime=app.state.runtime)
        await app.state.runtime.database.client.drop_database(tiny_settings.db_name)


async def test_a_plans_file_sets_the_limits_enforced_and_offered(tiny_api: Api) -> None:
    api = tiny_api
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)

    for name in ("A", "B", "C"):
        await created_id(api, tenant.user, name)
    assert (await create(api, tenant.user, "D"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 3, 1, 3, "type")
    ]
    data = await api.data(
        tenant.user,
        "{ upgradePricing { plans { plan monthlyPrice annualPrice } upgrades "
        "{ plan monthlyDifference annualDifference } } }",
    )
    assert data["upgradePricing"] == {
        "plans": [
            {"plan": "STARTER", "monthlyPrice": 5, "annualPrice": 50},
            {"plan": "PRO", "monthlyPrice": 15, "annualPrice": None},
        ],
        "upgrades": [{"plan": "PRO", "monthlyDifference": 10, "annualDifference": None}],
    }
    # a plan the file does not define cannot be chosen
    payload = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "ENTERPRISE"})
    assert payload == {
        "group": None,
        "overLimit": [],
        "errors": [
            {
                "index": None,
                "path": "plan",
                "code": "INVALID_INPUT",
                "message": "Unknown plan 'enterprise'.",
                "quota": None,
            }
        ],
    }
    upgraded = await mutate(api, tenant.owner, CHANGE_PLAN, {"plan": "PRO"})
    assert (upgraded["group"]["plan"], upgraded["overLimit"]) == ("PRO", [])
    for name in ("D", "E", "F"):
        await created_id(api, tenant.user, name)
    assert (await create(api, tenant.user, "G"))["errors"] == [
        refusal(Metric.ENTITIES_TOTAL, 6, 1, 6, "type")
    ]


async def test_editing_the_plans_file_changes_enforcement_of_existing_groups(
    settings: Settings, tiny_settings: Settings
) -> None:
    # given a starter group with 3 things, made under the default plans (100 things)
    async with open_runtime(settings) as runtime:
        group = await runtime.services.groups.create(slug="acme", name="Acme", plan=Plan.STARTER)
        for name in ("A", "B", "C"):
            await runtime.services.things.create(
                group["_id"], NewThing("creator", name, {}, "active")
            )

    # when the service restarts with a plans file allowing 3 things on starter
    try:
        async with open_runtime(tiny_settings) as runtime:
            # then a fourth is refused
            with pytest.raises(RejectedError) as refused:
                await runtime.services.things.create(
                    group["_id"], NewThing("creator", "D", {}, "active")
                )
            assert refused.value.errors == [
                ItemError(
                    QuotaErrorCode.QUOTA_EXCEEDED,
                    refusal_message(Metric.ENTITIES_TOTAL, 3, 1, 3),
                    "type",
                    None,
                    details={
                        "metric": "entities_total",
                        "current": 3,
                        "requested": 1,
                        "limit": 3,
                        "available": 0,
                    },
                )
            ]
            # and its report shows the new limit
            reloaded = await runtime.repos.groups.by_id(group["_id"])
            assert reloaded is not None
            reports = await runtime.services.quotas.report(reloaded)
            assert [(r.metric, r.current, r.limit) for r in reports][3] == (
                Metric.ENTITIES_TOTAL,
                3,
                3,
            )
    finally:
        async with open_runtime(settings) as runtime:
            await runtime.database.client.drop_database(settings.db_name)


async def test_the_role_is_checked_before_the_users_quota(api: Api) -> None:
    # given a pro group allowed no users at all
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.USERS, 0)

    # when an org_user adds a person, then it is forbidden (no quota is involved)
    body = await api.gql(
        tenant.user, CREATE_PERSON, {"input": {"email": "a@example.com", "name": "A"}}
    )
    assert body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [{"code": "FORBIDDEN"}]
    assert await events_of_type(api.runtime, tenant.id, "quota_exceeded") == []

    # when the owner does, then the quota refuses it
    assert (await add_person(api, tenant, "a@example.com"))["errors"] == [
        refusal(Metric.USERS, 0, 1, 0, "email")
    ]
