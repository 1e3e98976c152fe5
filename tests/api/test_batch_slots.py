"""At most ``batch_concurrency_per_group`` batch mutations of a group at once; more get 429.

The first batch is held on the server (``failCommand`` with ``blockConnection``
on its insert) while it holds the group's write lock, so the second waits for
that lock: both hold a slot while the third arrives.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ontology.config import Settings
from tests.api.test_http import api_with
from tests.factories import Api, make_tenant, server_blocks, until

BATCH = """
mutation Batch($input: BatchInsertThingsInput!) {
  batchInsertThings(input: $input) { results { status } errors { code } }
}
"""
UPDATE = """
mutation Update($input: BatchUpdateThingsInput!) {
  batchUpdateThings(input: $input) { results { status } }
}
"""


def things(*names: str) -> dict[str, Any]:
    return {"input": {"things": [{"type": "creator", "name": name} for name in names]}}


def created(count: int) -> dict[str, Any]:
    return {"batchInsertThings": {"results": [{"status": "CREATED"}] * count, "errors": []}}


async def test_a_third_concurrent_batch_of_a_group_is_refused_at_once(settings: Settings) -> None:
    async with api_with(settings, batch_concurrency_per_group=2) as api:
        # given two tenants, and two batches of the first one running
        tenant = await make_tenant(api.runtime, "acme")
        other = await make_tenant(api.runtime, "globex")
        slots = api.runtime.batch_slots
        assert slots is not None
        async with server_blocks(api.runtime.database, "insert", 1500):
            first = asyncio.create_task(api.gql(tenant.user, BATCH, things("a", "b")))
            second = asyncio.create_task(api.gql(tenant.user, BATCH, things("c")))
            await until(lambda: slots.in_use(tenant.id) == 2)
            # (a batch takes its slot before it is counted as an API call: wait for both)
            meter = api.runtime.services.quotas.meter
            for _ in range(500):
                if await meter.current(tenant.id) == 2:
                    break
                await asyncio.sleep(0.01)
            calls_before = await meter.current(tenant.id)
            assert calls_before == 2

            # when a third batch of the group arrives, of another kind
            third = await api.post(tenant.owner, UPDATE, {"input": {"updates": []}})
            calls_after = await meter.current(tenant.id)
            # and a batch of the other tenant
            elsewhere = await api.gql(other.user, BATCH, things("x"))

            # then the third is refused at once, before any database work
            assert third.status_code == 429
            assert third.headers["retry-after"] == "1"
            body = third.json()
            assert body["data"] is None
            assert body["errors"] == [
                {
                    "message": "This group already runs 2 batch mutations, the most it may run "
                    "at once. Retry after 1 s.",
                    "extensions": {
                        "code": "RATE_LIMITED",
                        "scope": "batch",
                        "limit": 2,
                        "retryAfter": 1,
                    },
                }
            ]
            assert body["extensions"]["cost"]["dbCommands"] == 0
            assert calls_after == calls_before  # not counted as an API call
            # and the other tenant's batch is not affected
            assert elsewhere["data"] == created(1)
            assert slots.in_use(other.id) == 0

        # and the two running batches finish normally, freeing their slots
        assert (await first)["data"] == created(2)
        assert (await second)["data"] == created(1)
        assert slots.in_use(tenant.id) == 0
        again = await api.gql(tenant.user, BATCH, things("d"))
        assert again["data"] == created(1)
        metrics = api.runtime.metrics.render().decode()
        assert 'ontology_rate_limited_total{scope="batch"} 1.0' in metrics


async def test_single_writes_and_reads_are_not_batches(api: Api) -> None:
    # given the default limit (2) and a tenant
    tenant = await make_tenant(api.runtime, "acme")
    slots = api.runtime.batch_slots
    assert slots is not None and slots.limit == 2

    # when it sends three single creates and a read at once
    create = """
    mutation Create($input: CreateThingInput!) { createThing(input: $input) { errors { code } } }
    """
    bodies = await asyncio.gather(
        *(api.gql(tenant.user, create, {"input": {"type": "creator", "name": n}}) for n in "abc"),
        api.gql(tenant.user, "{ viewer { role } }"),
    )

    # then none of them takes a batch slot
    assert [b.get("errors") for b in bodies] == [None] * 4
    assert slots.in_use(tenant.id) == 0


async def test_a_batch_inside_a_fragment_still_takes_a_slot(settings: Settings) -> None:
    async with api_with(settings, batch_concurrency_per_group=1) as api:
        tenant = await make_tenant(api.runtime, "acme")
        slots = api.runtime.batch_slots
        assert slots is not None
        hidden = """
        mutation Hidden($input: BatchInsertThingsInput!) { ...Write }
        fragment Write on Mutation { batchInsertThings(input: $input) { summary { total } } }
        """
        async with server_blocks(api.runtime.database, "insert", 1500):
            running = asyncio.create_task(api.gql(tenant.user, BATCH, things("a")))
            await until(lambda: slots.in_use(tenant.id) == 1)
            refused = await api.post(tenant.user, hidden, things("b"))
        await running

        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["scope"] == "batch"
