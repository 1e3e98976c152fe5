"""API calls per month: counted per operation, flushed to ``usage``, refused with HTTP 429.

The meter buffers counts in the process; ``meter.flush()`` writes them. Over the
limit every operation gets 429 with ``Retry-After`` (seconds to the next UTC
month), except the fields a client needs to see why (``viewer``, the quota
queries). A new month starts from zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ontology.groups.models import Plan
from ontology.ledger.plans import Metric
from tests.factories import Api, SettableClock, Tenant, make_tenant, raw_count
from tests.quotas.support import (
    CREATE_THING,
    GROUP_QUOTAS,
    events_of_type,
    set_limit,
    usage,
)

MID_MARCH = datetime(2040, 3, 15, 12, 0, tzinfo=UTC)
APRIL = datetime(2040, 4, 1, tzinfo=UTC)
MAY = datetime(2040, 5, 1, tzinfo=UTC)
THINGS = "{ things(first: 1) { totalCount } }"
METRIC = "api_calls_per_month"


async def usage_docs(api: Api, tenant: Tenant) -> list[dict[str, Any]]:
    cursor = api.runtime.database.collection("usage").find(
        {"groupId": tenant.id}, {"_id": 0}, sort=[("periodStart", 1)]
    )
    return [doc async for doc in cursor]


def usage_doc(tenant: Tenant, period: datetime, value: int) -> dict[str, Any]:
    next_period = datetime(period.year + period.month // 12, period.month % 12 + 1, 1, tzinfo=UTC)
    return {
        "groupId": tenant.id,
        "metric": METRIC,
        "periodStart": period,
        "value": value,
        "expiresAt": next_period + timedelta(days=100),
    }


def quota_exceeded_body(used: int, limit: int, retry_after: int) -> list[dict[str, Any]]:
    return [
        {
            "message": f"API call quota exceeded: {used} of {limit} calls used this month. "
            f"Retry after {retry_after} s (the next period), or upgrade the plan.",
            "extensions": {
                "code": "QUOTA_EXCEEDED",
                "metric": METRIC,
                "current": used,
                "limit": limit,
                "retryAfter": retry_after,
            },
        }
    ]


async def post_operation(
    api: Api, key: str, query: str, operation_name: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if operation_name is not None:
        body["operationName"] = operation_name
    return await api.client.post("/graphql", json=body, headers={"Authorization": f"Bearer {key}"})


async def test_every_operation_is_counted_and_flushed_to_the_month(api: Api) -> None:
    # given two pro groups
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")

    # when the first makes 7 operations (quota queries too), the second 2, and a bad key 1
    for i in range(3):
        created = await api.data(
            tenant.user, CREATE_THING, {"input": {"type": "creator", "name": f"T{i}"}}
        )
        assert created["createThing"]["errors"] == []
    for query in (THINGS, THINGS, "{ viewer { role } }", GROUP_QUOTAS):
        await api.data(tenant.user, query)
    for _ in range(2):
        await api.data(other.user, THINGS)
    unauthenticated = await api.post("ont_not-a-key", THINGS)
    assert unauthenticated.status_code == 401
    await api.runtime.services.quotas.meter.flush()

    # then each group's month holds exactly its operations
    assert await usage_docs(api, tenant) == [usage_doc(tenant, datetime(2040, 3, 1, tzinfo=UTC), 7)]
    assert await usage_docs(api, other) == [usage_doc(other, datetime(2040, 3, 1, tzinfo=UTC), 2)]
    assert await raw_count(api.runtime, "usage", {}) == 2

    # and a later flush adds to the same document
    await api.data(tenant.user, THINGS)
    await api.runtime.services.quotas.meter.flush()
    assert await usage_docs(api, tenant) == [usage_doc(tenant, datetime(2040, 3, 1, tzinfo=UTC), 8)]


async def test_the_quota_reports_count_this_month_including_the_current_call(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    for _ in range(4):
        await api.data(tenant.user, THINGS)
    await api.runtime.services.quotas.meter.flush()
    await api.data(tenant.user, THINGS)

    data = await api.data(tenant.user, GROUP_QUOTAS)

    assert data["groupQuotas"]["quotas"][2] == usage("API_CALLS_PER_MONTH", 6, 1000, 0.6, "OK")


async def test_over_the_limit_requests_get_429_until_the_next_month(
    api: Api, clock: SettableClock
) -> None:
    # given a pro group allowed 3 API calls a month, in mid-March
    clock.set(MID_MARCH)
    tenant = await make_tenant(api.runtime, "acme")
    other = await make_tenant(api.runtime, "globex")
    await set_limit(api.runtime, tenant.id, Metric.API_CALLS_PER_MONTH, 3)

    # when it makes 3 calls, they are answered
    for _ in range(3):
        assert (await api.post(tenant.user, THINGS)).status_code == 200

    # then the 4th gets 429, with the seconds to 1 April 00:00 UTC
    refused = await api.post(tenant.user, THINGS)
    retry = int((APRIL - MID_MARCH).total_seconds())
    assert retry == 1_425_600
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(retry)
    body = refused.json()
    assert body["data"] is None
    assert body["errors"] == quota_exceeded_body(3, 3, retry)
    assert body["errors"][0]["extensions"] == {
        "code": "QUOTA_EXCEEDED",
        "metric": "api_calls_per_month",
        "current": 3,
        "limit": 3,
        "retryAfter": 1_425_600,
    }

    # and so does a mutation, which writes nothing
    mutation = await api.post(
        tenant.user, CREATE_THING, {"input": {"type": "creator", "name": "Nope"}}
    )
    assert mutation.status_code == 429
    assert await raw_count(api.runtime, "things", {"groupId": tenant.id}) == 0

    # and so does a document mixing an exempt field with another
    mixed = await api.post(tenant.user, "{ viewer { role } things(first: 1) { totalCount } }")
    assert mixed.status_code == 429

    # and so does data reached through the viewer (its group's metrics lead to things)
    through_viewer = await api.post(
        tenant.user,
        "{ viewer { role group { slug metrics { topContentByEngagement { thing { name } } } } } }",
    )
    assert through_viewer.status_code == 429

    # but the caller can still see who it is and why (each counted, none refused)
    viewer = await api.post(tenant.user, "{ viewer { role group { slug } } }")
    assert (viewer.status_code, viewer.json()["data"]) == (
        200,
        {"viewer": {"role": "ORG_USER", "group": {"slug": "acme"}}},
    )
    quotas = await api.post(tenant.user, GROUP_QUOTAS)
    assert quotas.status_code == 200
    assert quotas.json()["data"]["groupQuotas"]["quotas"][2] == usage(
        "API_CALLS_PER_MONTH", 5, 3, 166.67, "EXCEEDED"
    )
    for query in (
        "{ quotaStatus { status } }",
        "{ checkCanCreateEntities { canCreate } }",
        "{ checkCanStore(bytes: 1) { canStore } }",
        "{ upgradePricing { currentPlan } }",
        "{ __typename }",
    ):
        response = await api.post(tenant.user, query)
        assert response.status_code == 200, (query, response.text)
        assert "errors" not in response.json()

    # and an operation chosen by name is exempt exactly when all its fields are
    document = "query Who { viewer { role } } query List { things(first: 1) { totalCount } }"
    assert (await post_operation(api, tenant.user, document, "Who")).status_code == 200
    listed = await post_operation(api, tenant.user, document, "List")
    assert listed.status_code == 429
    assert listed.json()["errors"] == quota_exceeded_body(11, 3, retry)

    # and other groups are not affected
    assert (await api.post(other.user, THINGS)).status_code == 200

    # and the refusals of that hour were logged once
    logged = await events_of_type(api.runtime, tenant.id, "quota_exceeded")
    assert [(e["timestamp"], e["metadata"]) for e in logged] == [
        (MID_MARCH, {"metric": METRIC, "current": 3, "requested": 1, "limit": 3})
    ]

    # and Retry-After counts down to the month's end, never below one second
    clock.set(APRIL - timedelta(milliseconds=500))
    late = await api.post(tenant.user, THINGS)
    assert (late.status_code, late.headers["Retry-After"]) == (429, "1")

    # when April starts, the count starts from zero and calls pass again
    clock.set(APRIL)
    for _ in range(3):
        assert (await api.post(tenant.user, THINGS)).status_code == 200
    april_quotas = await api.data(tenant.user, GROUP_QUOTAS)
    assert april_quotas["groupQuotas"]["quotas"][2] == usage(
        "API_CALLS_PER_MONTH", 4, 3, 133.33, "EXCEEDED"
    )
    again = await api.post(tenant.user, THINGS)
    assert again.status_code == 429
    assert again.headers["Retry-After"] == str(int((MAY - APRIL).total_seconds()))
    assert again.json()["errors"] == quota_exceeded_body(4, 3, 2_592_000)

    # and each month keeps its own count: refused calls are not counted
    await api.runtime.services.quotas.meter.flush()
    assert await usage_docs(api, tenant) == [
        usage_doc(tenant, datetime(2040, 3, 1, tzinfo=UTC), 11),
        usage_doc(tenant, APRIL, 4),
    ]


async def test_unlimited_groups_are_counted_but_never_refused(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.ENTERPRISE)
    capped = await make_tenant(api.runtime, "globex")
    await set_limit(api.runtime, capped.id, Metric.API_CALLS_PER_MONTH, -1)
    # (a million calls already this month: far past pro's 100,000)
    api.runtime.services.quotas.meter.record(capped.id, 10**6)

    for _ in range(5):
        assert (await api.post(tenant.user, THINGS)).status_code == 200
        assert (await api.post(capped.user, THINGS)).status_code == 200
    await api.runtime.services.quotas.meter.flush()

    assert [d["value"] for d in await usage_docs(api, tenant)] == [5]
    assert [d["value"] for d in await usage_docs(api, capped)] == [10**6 + 5]


async def test_a_zero_limit_refuses_everything_but_the_exempt_fields(
    api: Api, clock: SettableClock
) -> None:
    clock.set(MID_MARCH)
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.API_CALLS_PER_MONTH, 0)

    refused = await api.post(tenant.user, THINGS)
    viewer = await api.post(tenant.user, "{ viewer { role } }")

    assert refused.status_code == 429
    assert refused.json()["errors"] == quota_exceeded_body(0, 0, 1_425_600)
    assert viewer.status_code == 200
