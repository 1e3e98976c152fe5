"""The quota queries: exact reports, thresholds, checks, pricing, and what they cost.

Counters are moved directly where only the read path is under test (nothing
is written through the API, so the reports can be computed by hand).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ontology.app import create_app
from ontology.config import Settings
from ontology.groups.models import Plan
from ontology.ledger.plans import GIB, Metric
from ontology.runtime import open_runtime
from tests.factories import Api, Tenant, make_tenant
from tests.quotas.support import (
    CHECK_ENTITIES,
    CHECK_STORE,
    GROUP_QUOTAS,
    QUOTA_STATUS,
    UPGRADE_PRICING,
    bump_counters,
    insert_things,
    set_limit,
    usage,
)

ALL_OK = {"allOk": True, "warningCount": 0, "criticalCount": 0, "exceededCount": 0}
LIMITS = {
    "STARTER": [5, 1, 1000, 100, 500, 90],
    "PRO": [50, 100, 100_000, 10_000, 50_000, 365],
    "ENTERPRISE": [None] * 6,
}
METRICS = [
    "USERS",
    "STORAGE_GB",
    "API_CALLS_PER_MONTH",
    "ENTITIES_TOTAL",
    "CONNECTIONS_TOTAL",
    "EVENTS_RETENTION_DAYS",
]


def plan_pricing(plan: str, monthly: float | None, annual: float | None) -> dict[str, Any]:
    return {
        "plan": plan,
        "monthlyPrice": monthly,
        "annualPrice": annual,
        "limits": [
            {"metric": metric, "limit": limit}
            for metric, limit in zip(METRICS, LIMITS[plan], strict=True)
        ],
    }


PLANS = [
    plan_pricing("STARTER", 0, 0),
    plan_pricing("PRO", 49, 490),
    plan_pricing("ENTERPRISE", None, None),
]


def fresh(plan: str, api_calls: int = 1, **current: float) -> list[dict[str, Any]]:
    """Every metric of ``plan`` at zero (or ``current``), OK, as a report lists them."""
    limits = dict(zip(METRICS, LIMITS[plan], strict=True))
    rows = []
    for metric in METRICS:
        value = current.get(metric, api_calls if metric == "API_CALLS_PER_MONTH" else 0)
        limit = limits[metric]
        if metric == "EVENTS_RETENTION_DAYS":
            rows.append(usage(metric, None, limit, None, "OK" if limit else "UNLIMITED"))
        elif limit is None:
            rows.append(usage(metric, value, None, None, "UNLIMITED"))
        else:
            rows.append(usage(metric, value, limit, round(100 * value / limit, 2), "OK"))
    return rows


async def quotas_of(api: Api, key: str) -> dict[str, Any]:
    data = await api.data(key, GROUP_QUOTAS)
    result: dict[str, Any] = data["groupQuotas"]
    return result


# -- groupQuotas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("things", "status", "summary"),
    [
        (79, "OK", ALL_OK),
        (
            80,
            "WARNING",
            {"allOk": False, "warningCount": 1, "criticalCount": 0, "exceededCount": 0},
        ),
        (
            94,
            "WARNING",
            {"allOk": False, "warningCount": 1, "criticalCount": 0, "exceededCount": 0},
        ),
        (
            95,
            "CRITICAL",
            {"allOk": False, "warningCount": 0, "criticalCount": 1, "exceededCount": 0},
        ),
        (
            99,
            "CRITICAL",
            {"allOk": False, "warningCount": 0, "criticalCount": 1, "exceededCount": 0},
        ),
        (
            100,
            "EXCEEDED",
            {"allOk": False, "warningCount": 0, "criticalCount": 0, "exceededCount": 1},
        ),
        (
            101,
            "EXCEEDED",
            {"allOk": False, "warningCount": 0, "criticalCount": 0, "exceededCount": 1},
        ),
    ],
)
async def test_group_quotas_levels_at_each_threshold(
    api: Api, things: int, status: str, summary: dict[str, Any]
) -> None:
    # given a pro group whose entities limit is overridden to 100, with `things` of them
    tenant = await make_tenant(api.runtime, "acme")
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 100)
    await bump_counters(api.runtime, tenant.id, things=things)

    # when it asks for its quotas
    result = await quotas_of(api, tenant.user)

    # then entities is reported at exactly that level, and only it is a warning
    entities = usage("ENTITIES_TOTAL", things, 100, float(things), status)
    expected = fresh("PRO", ENTITIES_TOTAL=things)
    expected[3] = entities
    assert result == {
        "plan": "PRO",
        "quotas": expected,
        "warnings": [] if status == "OK" else [entities],
        "summary": summary,
    }


async def test_group_quotas_lists_every_alert_in_metric_order(api: Api) -> None:
    # given a starter group: 4 of 5 users, 95 of 100 things, 500 of 500 connections, half a GiB
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await bump_counters(
        api.runtime, tenant.id, people=4, things=95, connections=500, storageBytes=GIB // 2
    )

    # when it asks for its quotas
    result = await quotas_of(api, tenant.user)

    # then each metric has its level, the alerts keep the metric order, and they are counted
    users = usage("USERS", 4, 5, 80.0, "WARNING")
    entities = usage("ENTITIES_TOTAL", 95, 100, 95.0, "CRITICAL")
    connections = usage("CONNECTIONS_TOTAL", 500, 500, 100.0, "EXCEEDED")
    assert result == {
        "plan": "STARTER",
        "quotas": [
            users,
            usage("STORAGE_GB", 0.5, 1, 50.0, "OK"),
            usage("API_CALLS_PER_MONTH", 1, 1000, 0.1, "OK"),
            entities,
            connections,
            usage("EVENTS_RETENTION_DAYS", None, 90, None, "OK"),
        ],
        "warnings": [users, entities, connections],
        "summary": {"allOk": False, "warningCount": 1, "criticalCount": 1, "exceededCount": 1},
    }


async def test_group_quotas_of_an_enterprise_group_are_unlimited(api: Api) -> None:
    # given an enterprise group with a lot of usage
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.ENTERPRISE)
    await bump_counters(
        api.runtime, tenant.id, people=1000, things=10**7, connections=10**8, storageBytes=GIB * 5
    )

    # when it asks for its quotas
    result = await quotas_of(api, tenant.user)

    # then every metric is unlimited, with its current value, and nothing is an alert
    assert result == {
        "plan": "ENTERPRISE",
        "quotas": fresh(
            "ENTERPRISE",
            USERS=1000,
            STORAGE_GB=5.0,
            ENTITIES_TOTAL=10**7,
            CONNECTIONS_TOTAL=10**8,
        ),
        "warnings": [],
        "summary": ALL_OK,
    }


async def test_overrides_replace_plan_limits_in_reports(api: Api) -> None:
    # given a starter group with raised entities (250), unlimited connections (-1),
    # a lowered user limit (2) and 2 GiB of storage; and an enterprise group capped at 10 users
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await set_limit(api.runtime, tenant.id, Metric.ENTITIES_TOTAL, 250)
    await set_limit(api.runtime, tenant.id, Metric.CONNECTIONS_TOTAL, -1)
    await set_limit(api.runtime, tenant.id, Metric.USERS, 2)
    await set_limit(api.runtime, tenant.id, Metric.STORAGE_GB, 2)
    await bump_counters(
        api.runtime, tenant.id, people=1, things=200, connections=9000, storageBytes=GIB
    )
    capped = await make_tenant(api.runtime, "globex", plan=Plan.ENTERPRISE)
    await set_limit(api.runtime, capped.id, Metric.USERS, 10)
    await bump_counters(api.runtime, capped.id, people=9)

    # when both ask for their quotas
    result = await quotas_of(api, tenant.user)
    capped_result = await quotas_of(api, capped.user)

    # then the overrides are the limits, and the other metrics keep the plan's
    entities = usage("ENTITIES_TOTAL", 200, 250, 80.0, "WARNING")
    assert result["quotas"] == [
        usage("USERS", 1, 2, 50.0, "OK"),
        usage("STORAGE_GB", 1.0, 2, 50.0, "OK"),
        usage("API_CALLS_PER_MONTH", 1, 1000, 0.1, "OK"),
        entities,
        usage("CONNECTIONS_TOTAL", 9000, None, None, "UNLIMITED"),
        usage("EVENTS_RETENTION_DAYS", None, 90, None, "OK"),
    ]
    assert result["warnings"] == [entities]
    users = usage("USERS", 9, 10, 90.0, "WARNING")
    assert capped_result["quotas"] == [users, *fresh("ENTERPRISE")[1:]]
    assert capped_result["warnings"] == [users]


# -- quotaStatus ------------------------------------------------------------------------------


async def test_quota_status_of_a_healthy_starter_group(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)

    data = await api.data(tenant.user, QUOTA_STATUS)

    assert data["quotaStatus"] == {
        "status": "HEALTHY",
        "metrics": fresh("STARTER"),
        "warnings": [],
        "recommendations": [],
        "lastUpdated": "2040-03-01T12:00:00+00:00",
    }


async def test_quota_status_of_a_starter_group_recommends_pro(api: Api) -> None:
    # given a starter group with users at 80 %, entities at 95 % and connections at 100 %
    tenant = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await bump_counters(api.runtime, tenant.id, people=4, things=95, connections=500)

    data = await api.data(tenant.user, QUOTA_STATUS)

    users = usage("USERS", 4, 5, 80.0, "WARNING")
    entities = usage("ENTITIES_TOTAL", 95, 100, 95.0, "CRITICAL")
    connections = usage("CONNECTIONS_TOTAL", 500, 500, 100.0, "EXCEEDED")
    metrics = fresh("STARTER")
    metrics[0], metrics[3], metrics[4] = users, entities, connections
    assert data["quotaStatus"] == {
        "status": "EXCEEDED",
        "metrics": metrics,
        "warnings": [users, entities, connections],
        "recommendations": [
            "users is at 80% of its limit: upgrade from starter to pro (50).",
            "entities_total is at 95% of its limit: upgrade from starter to pro (10,000).",
            "connections_total is at 100% of its limit: upgrade from starter to pro (50,000).",
        ],
        "lastUpdated": "2040-03-01T12:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("plan", "counters", "status", "recommendations"),
    [
        (
            Plan.PRO,
            {"storageBytes": 85 * GIB},
            "WARNING",
            ["storage_gb is at 85% of its limit: upgrade from pro to enterprise (unlimited)."],
        ),
        (
            Plan.PRO,
            {"storageBytes": 85 * GIB, "things": 9_600},
            "CRITICAL",
            [
                "storage_gb is at 85% of its limit: upgrade from pro to enterprise (unlimited).",
                "entities_total is at 96% of its limit: upgrade from pro to enterprise "
                "(unlimited).",
            ],
        ),
        (
            Plan.ENTERPRISE,
            {"people": 9},
            "WARNING",
            ["users is at 90% of its limit: contact us to raise your enterprise limit."],
        ),
    ],
)
async def test_quota_status_is_the_worst_level_with_advice(
    api: Api,
    plan: Plan,
    counters: dict[str, int],
    status: str,
    recommendations: list[str],
) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=plan)
    if plan is Plan.ENTERPRISE:
        await set_limit(api.runtime, tenant.id, Metric.USERS, 10)
    await bump_counters(api.runtime, tenant.id, **counters)

    data = await api.data(tenant.user, QUOTA_STATUS)

    assert data["quotaStatus"]["status"] == status
    assert data["quotaStatus"]["recommendations"] == recommendations
    assert [w["metric"] for w in data["quotaStatus"]["warnings"]] == [
        m
        for m, field in zip(
            METRICS,
            ["people", "storageBytes", None, "things", "connections", None],
            strict=True,
        )
        if field in counters
    ]


# -- checks -----------------------------------------------------------------------------------


async def test_check_can_create_entities(api: Api) -> None:
    # given a starter group with 95 of 100 things, and enterprise groups with and without a cap
    starter = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await bump_counters(api.runtime, starter.id, things=95)
    enterprise = await make_tenant(api.runtime, "globex", plan=Plan.ENTERPRISE)
    await bump_counters(api.runtime, enterprise.id, things=10**6)
    capped = await make_tenant(api.runtime, "initech", plan=Plan.ENTERPRISE)
    await set_limit(api.runtime, capped.id, Metric.ENTITIES_TOTAL, 10)
    await bump_counters(api.runtime, capped.id, things=10)

    async def check(tenant: Tenant, count: int) -> dict[str, Any]:
        data = await api.data(tenant.user, CHECK_ENTITIES, {"count": count})
        result: dict[str, Any] = data["checkCanCreateEntities"]
        return result

    # then 5 fit, 6 do not (with the upgrade to suggest); unlimited always fits
    assert await check(starter, 5) == {
        "canCreate": True,
        "availableSlots": 5,
        "utilization": 95.0,
        "reason": None,
        "suggestion": None,
    }
    assert await check(starter, 6) == {
        "canCreate": False,
        "availableSlots": 5,
        "utilization": 95.0,
        "reason": "6 requested but only 5 of 100 entities are available.",
        "suggestion": "Upgrade to pro.",
    }
    assert await check(enterprise, 10**6) == {
        "canCreate": True,
        "availableSlots": None,
        "utilization": None,
        "reason": None,
        "suggestion": None,
    }
    assert await check(capped, 1) == {
        "canCreate": False,
        "availableSlots": 0,
        "utilization": 100.0,
        "reason": "1 requested but only 0 of 10 entities are available.",
        "suggestion": "Contact us to raise the limit.",
    }
    default = await api.data(
        starter.user, "{ checkCanCreateEntities { canCreate availableSlots } }"
    )
    assert default == {"checkCanCreateEntities": {"canCreate": True, "availableSlots": 5}}

    # and a count below 1 is a client error
    body = await api.gql(starter.user, CHECK_ENTITIES, {"count": 0})
    assert body["data"] is None
    assert [(e["message"], e["path"], e["extensions"]) for e in body["errors"]] == [
        (
            "`count` must be at least 1, got 0.",
            ["checkCanCreateEntities"],
            {"code": "BAD_USER_INPUT"},
        )
    ]


async def test_check_can_store(api: Api) -> None:
    # given a starter group (1 GiB) with half of it used, and an enterprise group
    starter = await make_tenant(api.runtime, "acme", plan=Plan.STARTER)
    await bump_counters(api.runtime, starter.id, storageBytes=GIB // 2)
    enterprise = await make_tenant(api.runtime, "globex", plan=Plan.ENTERPRISE)
    await bump_counters(api.runtime, enterprise.id, storageBytes=7 * GIB)

    async def check(tenant: Tenant, size: float) -> dict[str, Any]:
        data = await api.data(tenant.user, CHECK_STORE, {"bytes": size})
        result: dict[str, Any] = data["checkCanStore"]
        return result

    half = GIB // 2
    assert await check(starter, half) == {
        "canStore": True,
        "requestedBytes": half,
        "currentBytes": half,
        "limitBytes": GIB,
        "availableBytes": half,
        "utilization": 50.0,
        "reason": None,
        "suggestion": None,
    }
    assert await check(starter, half + 1) == {
        "canStore": False,
        "requestedBytes": half + 1,
        "currentBytes": half,
        "limitBytes": GIB,
        "availableBytes": half,
        "utilization": 50.0,
        "reason": "536870913 bytes requested but only 536870912 of 1 GiB are available.",
        "suggestion": "Upgrade to pro.",
    }
    assert await check(enterprise, 10 * GIB) == {
        "canStore": True,
        "requestedBytes": 10 * GIB,
        "currentBytes": 7 * GIB,
        "limitBytes": None,
        "availableBytes": None,
        "utilization": None,
        "reason": None,
        "suggestion": None,
    }
    body = await api.gql(starter.user, CHECK_STORE, {"bytes": -1})
    assert body["data"] is None
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
        ("`bytes` must not be negative, got -1.0.", {"code": "BAD_USER_INPUT"})
    ]


# -- upgradePricing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "upgrades"),
    [
        (
            Plan.STARTER,
            [
                {"plan": "PRO", "monthlyDifference": 49, "annualDifference": 490},
                {"plan": "ENTERPRISE", "monthlyDifference": None, "annualDifference": None},
            ],
        ),
        (
            Plan.PRO,
            [{"plan": "ENTERPRISE", "monthlyDifference": None, "annualDifference": None}],
        ),
        (Plan.ENTERPRISE, []),
    ],
)
async def test_upgrade_pricing(api: Api, plan: Plan, upgrades: list[dict[str, Any]]) -> None:
    tenant = await make_tenant(api.runtime, "acme", plan=plan)

    data = await api.data(tenant.user, UPGRADE_PRICING)

    assert data["upgradePricing"] == {
        "currentPlan": plan.name,
        "plans": PLANS,
        "upgrades": upgrades,
    }


# -- what the quota queries cost --------------------------------------------------------------


@pytest.fixture
async def quiet_api(settings: Settings) -> AsyncIterator[Api]:
    """The app without its lifespan, so no background flush races the meter's first read."""
    app = create_app(settings)
    async with open_runtime(settings, reuse_running_server=False) as runtime:
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client=client, runtime=runtime)
        await runtime.database.client.drop_database(settings.db_name)


QUERIES = [
    ("groupQuotas", GROUP_QUOTAS, None),  # the first read of this month's API calls
    ("groupQuotas", GROUP_QUOTAS, None),
    ("quotaStatus", QUOTA_STATUS, None),
    ("checkCanCreateEntities", CHECK_ENTITIES, {"count": 1}),
    ("checkCanStore", CHECK_STORE, {"bytes": 1024}),
    ("upgradePricing", UPGRADE_PRICING, None),
]
# The pinned cost: one query (the month's API-call counter, the first time this
# process sees the group this month), then none at all: everything else comes
# from the group document already loaded to authenticate the caller.
PINNED = [1, 0, 0, 0, 0, 0]


async def test_quota_queries_cost_the_same_for_10_and_10000_things(quiet_api: Api) -> None:
    api = quiet_api
    # given a pro group with 10 things and one with 10,000 (its whole quota)
    small = await make_tenant(api.runtime, "small")
    large = await make_tenant(api.runtime, "large")
    await insert_things(api.runtime, small.id, 10)
    await insert_things(api.runtime, large.id, 10_000)

    async def costs(tenant: Tenant) -> tuple[list[int], list[dict[str, Any]]]:
        commands, results = [], []
        for field, query, variables in QUERIES:
            body = await api.gql(tenant.user, query, variables)
            assert "errors" not in body, body
            commands.append(body["extensions"]["cost"]["dbCommands"])
            results.append(body["data"][field])
        return commands, results

    # when each runs every quota query
    small_costs, small_results = await costs(small)
    large_costs, large_results = await costs(large)

    # then each query costs the same, pinned, whatever the group's size
    assert small_costs == large_costs == PINNED
    # (and the answers do reflect the sizes)
    assert small_results[3] == {
        "canCreate": True,
        "availableSlots": 9_990,
        "utilization": 0.1,
        "reason": None,
        "suggestion": None,
    }
    assert large_results[3] == {
        "canCreate": False,
        "availableSlots": 0,
        "utilization": 100.0,
        "reason": "1 requested but only 0 of 10000 entities are available.",
        "suggestion": "Upgrade to enterprise.",
    }
    assert [q["metric"] for q in large_results[0]["warnings"]] == ["ENTITIES_TOTAL"]
    assert large_results[2]["status"] == "EXCEEDED"


async def test_the_first_quota_query_of_a_month_reads_the_counter_once(quiet_api: Api) -> None:
    api = quiet_api
    tenant = await make_tenant(api.runtime, "acme")

    first = await api.gql(tenant.user, QUOTA_STATUS)
    second = await api.gql(tenant.user, GROUP_QUOTAS)
    third = await api.gql(tenant.user, QUOTA_STATUS)

    assert [b["extensions"]["cost"]["dbCommands"] for b in (first, second, third)] == [1, 0, 0]
    assert [b["extensions"]["cost"]["documentsRead"] for b in (first, second, third)] == [0, 0, 0]


async def test_a_bad_variable_to_a_quota_query_is_the_clients_error(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "acme")

    body = await api.gql(tenant.user, CHECK_ENTITIES, {"count": "many"})

    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == (
        "Variable '$count' has invalid value: Int cannot represent non-integer value: 'many'"
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
