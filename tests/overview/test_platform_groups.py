"""The staff overview: ``platformGroups`` for platform_owner keys, bounded pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ontology.groups.models import Plan
from ontology.groups.repository import GroupListFilter, GroupOrder
from ontology.keys.models import Role
from ontology.kit.errors import RejectedError
from ontology.kit.pagination import PageRequest
from ontology.ledger.plans import Metric
from ontology.ledger.standing import standing_fields
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.db.test_indexes import assert_index_scan
from tests.factories import GROUP_HEADER, Api, Tenant, make_staff_key, make_tenant

PLATFORM_GROUPS = """
query($first: Int!, $after: String, $plan: Plan, $status: OverallQuotaStatus,
      $orderBy: PlatformGroupOrder) {
  platformGroups(first: $first, after: $after, plan: $plan, status: $status,
                 orderBy: $orderBy) {
    edges { cursor node { slug plan usagePercent quotaStatus } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
FULL_ITEM = """
query {
  platformGroups(first: 1, status: WARNING) {
    edges { node {
      id slug name type plan status
      counts { things connections events people }
      usagePercent quotaStatus
      quotas { metric current limit percentUsed status }
      lastArchivalRun { status eventsMoved }
      lastActivityAt
    } }
  }
}
"""


async def with_things(runtime: Runtime, tenant: Tenant, limit: int, things: int) -> None:
    """The tenant's entities limit set to ``limit``, and ``things`` things created."""
    await runtime.services.quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, limit)
    for i in range(things):
        await runtime.services.things.create(
            tenant.id, NewThing(type="creator", name=f"T{i}", properties={}, status="active")
        )


@pytest.fixture
async def platform(api: Api) -> dict[str, Tenant]:
    """Five groups at every quota level (entities), on two plans, and the staff's own."""
    runtime = api.runtime
    tenants = {
        "warn": await make_tenant(runtime, "warn", Plan.STARTER),  # 4 of 5: 80 %
        "over": await make_tenant(runtime, "over", Plan.PRO),  # 3 of 2: 150 %
        "calm": await make_tenant(runtime, "calm", Plan.STARTER),  # 1 of 10: 10 %
        "crit": await make_tenant(runtime, "crit", Plan.PRO),  # 19 of 20: 95 %
        "idle": await make_tenant(runtime, "idle", Plan.STARTER),  # nothing: 0 %
    }
    await with_things(runtime, tenants["warn"], 5, 4)
    await with_things(runtime, tenants["over"], 5, 3)
    await runtime.services.quotas.set_limit(tenants["over"].id, Metric.ENTITIES_TOTAL, 2)
    await with_things(runtime, tenants["calm"], 10, 1)
    await with_things(runtime, tenants["crit"], 20, 19)
    return tenants


def rows(body: dict[str, Any]) -> list[tuple[str, str, float, str]]:
    assert "errors" not in body, body["errors"]
    return [
        (e["node"]["slug"], e["node"]["plan"], e["node"]["usagePercent"], e["node"]["quotaStatus"])
        for e in body["data"]["platformGroups"]["edges"]
    ]


async def test_every_role_but_platform_owner_is_refused(
    api: Api, platform: dict[str, Tenant]
) -> None:
    # given a key of each tenant role
    tenant = platform["warn"]
    for role in (Role.CUSTOMER, Role.ORG_USER, Role.ORG_OWNER):
        # when it asks for the overview
        body = await api.gql(tenant.keys[role], PLATFORM_GROUPS, {"first": 5})

        # then it is refused as a whole, with a typed error and no data
        assert body["data"] is None
        assert [(e["message"], e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
            (
                f"This operation needs the platform_owner role; the key has {role.value}.",
                ["platformGroups"],
                "FORBIDDEN",
            )
        ]


async def test_staff_list_every_group_by_usage_with_its_level(
    api: Api, platform: dict[str, Tenant]
) -> None:
    # given a staff key (whatever group it acts on)
    staff = await make_staff_key(api.runtime)

    # when listing by usage, with and without acting on a tenant
    body = await api.gql(staff, PLATFORM_GROUPS, {"first": 10})
    acting = await api.gql(staff, PLATFORM_GROUPS, {"first": 10}, headers={GROUP_HEADER: "calm"})

    # then every group is listed, highest usage first, newest first among equals
    expected = [
        ("over", "PRO", 150.0, "EXCEEDED"),
        ("crit", "PRO", 95.0, "CRITICAL"),
        ("warn", "STARTER", 80.0, "WARNING"),
        ("calm", "STARTER", 10.0, "HEALTHY"),
        ("staff", "STARTER", 0.0, "HEALTHY"),
        ("idle", "STARTER", 0.0, "HEALTHY"),
    ]
    assert rows(body) == expected
    assert rows(acting) == expected


async def test_filters_and_name_order_page_through_every_group_once(
    api: Api, platform: dict[str, Tenant]
) -> None:
    staff = await make_staff_key(api.runtime)

    async def walk(variables: dict[str, Any]) -> list[str]:
        slugs: list[str] = []
        after = None
        while True:
            body = await api.gql(staff, PLATFORM_GROUPS, {**variables, "first": 2, "after": after})
            slugs += [row[0] for row in rows(body)]
            info = body["data"]["platformGroups"]["pageInfo"]
            if not info["hasNextPage"]:
                return slugs
            after = info["endCursor"]

    # when paging two at a time, in each order and with each filter
    # then each group comes once, in order, and only those the filter keeps
    assert await walk({"orderBy": "NAME"}) == ["calm", "crit", "idle", "over", "staff", "warn"]
    assert await walk({}) == ["over", "crit", "warn", "calm", "staff", "idle"]
    assert await walk({"plan": "PRO"}) == ["over", "crit"]
    assert await walk({"plan": "STARTER", "orderBy": "NAME"}) == ["calm", "idle", "staff", "warn"]
    assert await walk({"status": "HEALTHY"}) == ["calm", "staff", "idle"]
    assert await walk({"status": "HEALTHY", "orderBy": "NAME"}) == ["calm", "idle", "staff"]
    assert await walk({"status": "CRITICAL", "orderBy": "NAME"}) == ["crit"]
    assert await walk({"status": "EXCEEDED", "plan": "PRO"}) == ["over"]
    assert await walk({"status": "WARNING", "plan": "PRO", "orderBy": "NAME"}) == []


async def test_an_item_carries_counts_quotas_archival_and_activity(
    api: Api, platform: dict[str, Tenant]
) -> None:
    staff = await make_staff_key(api.runtime)

    # given the group's own quota report (its one API call counted)
    own = "{ groupQuotas { quotas { metric current limit percentUsed status } } }"
    report = await api.data(platform["warn"].user, own)
    await api.runtime.services.quotas.meter.flush()  # not racing the flush that runs each second

    # when reading the WARNING group in full
    body = await api.gql(staff, FULL_ITEM)

    # then it has its counters, its quota report as groupQuotas gives it, and its activity
    assert "errors" not in body, body["errors"]
    node = body["data"]["platformGroups"]["edges"][0]["node"]
    assert node["quotas"] == report["groupQuotas"]["quotas"]
    newest = (await api.runtime.repos.groups.by_id(platform["warn"].id) or {})["newest"]["events"]
    assert {k: v for k, v in node.items() if k not in ("quotas", "lastActivityAt")} == {
        "id": node["id"],
        "slug": "warn",
        "name": "Warn",
        "type": "organization",
        "plan": "STARTER",
        "status": "active",
        # events: 4 thing_created and the quota_alert of crossing 80 %
        "counts": {"things": 4, "connections": 0, "events": 5, "people": 0},
        "usagePercent": 80.0,
        "quotaStatus": "WARNING",
        "lastArchivalRun": None,
    }
    newest_ms = int(newest.split(":")[0])
    assert datetime.fromisoformat(node["lastActivityAt"]) == datetime.fromtimestamp(
        newest_ms / 1000, UTC
    )


def commands(body: dict[str, Any]) -> int:
    assert "errors" not in body, body["errors"]
    count: int = body["extensions"]["cost"]["dbCommands"]
    return count


async def test_a_page_costs_the_same_commands_whatever_its_size(
    api: Api, platform: dict[str, Tenant]
) -> None:
    # given six groups and a staff key
    staff = await make_staff_key(api.runtime)

    # when reading a first page of 1 and of 3 groups in each order: cold (a process that
    # just started), again (warm), and the next page
    seen: dict[str, list[tuple[int, int, int]]] = {}
    for order in ("USAGE_DESC", "NAME"):
        seen[order] = []
        for first in (1, 3):
            api.runtime.database.hints.clear()
            cold = await api.gql(staff, PLATFORM_GROUPS, {"first": first, "orderBy": order})
            warm = await api.gql(staff, PLATFORM_GROUPS, {"first": first, "orderBy": order})
            cursor = cold["data"]["platformGroups"]["pageInfo"]["endCursor"]
            after = await api.gql(
                staff, PLATFORM_GROUPS, {"first": first, "orderBy": order, "after": cursor}
            )
            seen[order].append((commands(cold), commands(warm), commands(after)))

    # then the size of a page changes nothing: a cold first page walks down from the top
    # of its key space (11 windows by usage: from 9,999 % to the 150 % group; 7 by slug:
    # from "" to "c"), then reads the page's API calls (once per process) and last
    # archival runs (1 each); warm, the walk starts where the last one found its
    # first group: 1 window + the runs; a next page starts at its cursor
    assert seen == {
        "USAGE_DESC": [(13, 2, 3), (13, 2, 3)],
        "NAME": [(9, 2, 3), (9, 2, 2)],
    }


async def test_every_order_and_filter_reads_its_index(
    runtime: Runtime, platform: dict[str, Tenant]
) -> None:
    groups = runtime.repos.groups
    page = PageRequest(size=2)
    cases = {
        (GroupOrder.USAGE_DESC, None, None): "groups_usage",
        (GroupOrder.USAGE_DESC, None, "WARNING"): "groups_usage",
        (GroupOrder.USAGE_DESC, "pro", None): "groups_plan_usage",
        (GroupOrder.USAGE_DESC, "pro", "EXCEEDED"): "groups_plan_usage",
        (GroupOrder.NAME, None, None): "groups_slug",
        (GroupOrder.NAME, None, "HEALTHY"): "groups_status_slug",
        (GroupOrder.NAME, "starter", None): "groups_plan_slug",
        (GroupOrder.NAME, "starter", "HEALTHY"): "groups_plan_status_slug",
    }
    for (order, plan, status), index in cases.items():
        # when explaining the first command of the page
        spec = groups.list_spec(order, GroupListFilter(plan, status), page)
        explain = await spec.explain(runtime.database.collection("groups"))

        # then it is one index scan of the list's index, and the spec names it
        assert spec.index == index
        assert_index_scan(explain, index)


async def test_the_stored_standing_follows_every_write_and_limit_change(
    runtime: Runtime, platform: dict[str, Tenant]
) -> None:
    services, groups = runtime.services, runtime.repos.groups
    warn = platform["warn"]

    async def standing() -> tuple[str, str]:
        doc = await groups.by_id(warn.id)
        assert doc is not None
        # what the update pipelines stored is what the Python computation gives
        assert {k: doc[k] for k in ("usageKey", "quotaStatus")} == standing_fields(doc)
        return doc["usageKey"].split(":")[0], doc["quotaStatus"]

    # given 4 things of 5 allowed
    assert await standing() == ("0000000800000", "WARNING")

    # when a thing is deleted (an unenforced write), then usage falls with it
    page = await runtime.repos.things.page(warn.id, None, None, PageRequest(size=1))
    await services.things.delete(warn.id, page[0]["_id"])
    assert await standing() == ("0000000600000", "HEALTHY")

    # when the limit is lowered, then the same counters are a higher level
    await services.quotas.set_limit(warn.id, Metric.ENTITIES_TOTAL, 3)
    assert await standing() == ("0000001000000", "EXCEEDED")

    # when the group changes plan (its override stays), and the override goes
    group = await groups.by_id(warn.id)
    assert group is not None
    await services.quotas.change_plan(group, "pro")
    assert await standing() == ("0000001000000", "EXCEEDED")
    await services.quotas.set_limit(warn.id, Metric.ENTITIES_TOTAL, None)
    assert await standing() == ("0000000000300", "HEALTHY")  # 3 of 10,000

    # when a write is refused by its quota, then nothing changes
    await services.quotas.set_limit(warn.id, Metric.ENTITIES_TOTAL, 3)
    with pytest.raises(RejectedError):
        await services.things.create(
            warn.id, NewThing(type="creator", name="One more", properties={}, status="active")
        )
    assert await standing() == ("0000001000000", "EXCEEDED")


async def test_start_up_gives_groups_stored_without_it_their_standing(
    runtime: Runtime, platform: dict[str, Tenant]
) -> None:
    # given a group stored before the standing was kept
    collection = runtime.database.collection("groups")
    await collection.update_one(
        {"_id": platform["crit"].id}, {"$unset": {"usageKey": "", "quotaStatus": ""}}
    )

    # when the limits are synced, as at start-up
    changed = await runtime.services.quotas.sync_limits()

    # then that group, and only it, gets its standing back
    doc = await collection.find_one({"_id": platform["crit"].id})
    assert doc is not None
    assert changed == 1
    assert (doc["usageKey"], doc["quotaStatus"]) == (
        f"0000000950000:{platform['crit'].id}",
        "CRITICAL",
    )


async def test_a_cursor_of_another_order_or_list_is_refused(
    api: Api, platform: dict[str, Tenant]
) -> None:
    staff = await make_staff_key(api.runtime)
    by_name = await api.gql(staff, PLATFORM_GROUPS, {"first": 1, "orderBy": "NAME"})
    by_usage = await api.gql(staff, PLATFORM_GROUPS, {"first": 1})
    events = await api.gql(platform["warn"].user, "{ events(first: 1) { pageInfo { endCursor } } }")
    cursors = {
        "USAGE_DESC": by_name["data"]["platformGroups"]["pageInfo"]["endCursor"],
        "NAME": by_usage["data"]["platformGroups"]["pageInfo"]["endCursor"],
    }
    event_cursor = events["data"]["events"]["pageInfo"]["endCursor"]

    # when a page is asked after a cursor of the other order, of the events, or of nothing
    refused = []
    for order, cursor in [*cursors.items(), ("NAME", event_cursor), ("NAME", "garbage")]:
        body = await api.gql(
            staff, PLATFORM_GROUPS, {"first": 1, "orderBy": order, "after": cursor}
        )
        refused.append((body["data"], [e["extensions"]["code"] for e in body["errors"]]))

    # then each is refused as INVALID_CURSOR
    assert refused == [(None, ["INVALID_CURSOR"])] * 4
