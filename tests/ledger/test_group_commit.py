"""Group commit: single writes of one group that wait while the group's previous
transaction runs are committed together, each with its own answer, and the counters
stay exact."""

from __future__ import annotations

import asyncio
from typing import Any

from bson import ObjectId
from pymongo.errors import OperationFailure

from ontology.connections.models import NewConnection
from ontology.db.cost import track_cost
from ontology.events.service import NewEvent
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.ledger.counters import CountDelta
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.events import new_event
from ontology.ledger.ledger import TenantWrite
from ontology.ledger.plans import Metric
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import group_counts, make_tenant, raw_count, true_counts
from tests.quotas.support import stored_counts


def sample(runtime: Runtime, name: str, labels: dict[str, str] | None = None) -> float:
    value = runtime.metrics.registry.get_sample_value(name, labels or {})
    return value or 0.0


async def settled(coroutines: list[Any]) -> list[Any]:
    return await asyncio.gather(*coroutines, return_exceptions=True)


async def test_writes_waiting_together_share_one_transaction(runtime: Runtime) -> None:
    # given a tenant
    tenant = await make_tenant(runtime, "acme")
    events = runtime.services.events

    # when 20 events are logged at once
    with track_cost() as cost:
        logged = await settled(
            [events.log(tenant.id, NewEvent("content_event", metadata={"n": n})) for n in range(20)]
        )

    # then the first commits alone, and the 19 that waited for it commit together
    assert [type(doc) for doc in logged] == [dict] * 20
    assert cost.command_names.count("commitTransaction") == 2
    assert sample(runtime, "ontology_group_commits_total", {"outcome": "together"}) == 1.0
    assert sample(runtime, "ontology_group_commit_writes_total") == 19.0
    # and each caller got its own event, all stored once, all counted: the first on the
    # group, the 19 on this process's counter shard until it is folded
    assert len({doc["_id"] for doc in logged}) == 20
    assert await raw_count(runtime, "events", {"groupId": tenant.id}) == 20
    assert (await group_counts(runtime, tenant.id))["events"] == 1
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)
    await runtime.services.ledger.fold_all()
    assert (await group_counts(runtime, tenant.id))["events"] == 20
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_one_failing_write_splits_the_transaction_and_only_it_fails(
    runtime: Runtime,
) -> None:
    # given two things
    tenant = await make_tenant(runtime, "acme")
    things = runtime.services.things
    ada = await things.create(tenant.id, NewThing("creator", "Ada", {}, "active"))
    bob = await things.create(tenant.id, NewThing("creator", "Bob", {}, "active"))
    connections = runtime.services.connections

    # when a write is in flight, and three more wait: two creating the same connection
    # and one thing
    follow = NewConnection(from_id=ada["_id"], to_id=bob["_id"], type="following")
    answers = await settled(
        [
            things.create(tenant.id, NewThing("creator", "First", {}, "active")),
            connections.create(tenant.id, follow),
            connections.create(tenant.id, follow),
            things.create(tenant.id, NewThing("creator", "Cy", {}, "active")),
        ]
    )

    # then the three waiting ones were tried together, split, and run alone: the
    # duplicate alone fails, with its own error
    assert sample(runtime, "ontology_group_commits_total") == 0.0
    assert (
        runtime.metrics.registry.get_sample_value(
            "ontology_group_commits_total", {"outcome": "split"}
        )
        == 1.0
    )
    assert isinstance(answers[0], dict) and isinstance(answers[1], dict)
    assert isinstance(answers[3], dict)
    assert isinstance(answers[2], RejectedError)
    assert answers[2].errors == [
        ItemError(
            ErrorCode.DUPLICATE, "A following connection between these things exists.", "type"
        )
    ]
    # and what is stored is exactly what the answers say, and counted
    assert await raw_count(runtime, "connections", {"groupId": tenant.id}) == 1
    assert await raw_count(runtime, "things", {"groupId": tenant.id}) == 4
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_writes_together_never_pass_a_limit(runtime: Runtime) -> None:
    # given a tenant allowed 5 things, which has 2
    tenant = await make_tenant(runtime, "acme", Plan.PRO)
    await runtime.services.quotas.set_limit(tenant.id, Metric.ENTITIES_TOTAL, 5)
    things = runtime.services.things
    for n in range(2):
        await things.create(tenant.id, NewThing("creator", f"Old{n}", {}, "active"))

    # when 8 creates arrive at once
    answers = await settled(
        [things.create(tenant.id, NewThing("creator", f"New{n}", {}, "active")) for n in range(8)]
    )

    # then exactly 3 are stored (the limit), the 5 others refused with QUOTA_EXCEEDED
    created = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, RejectedError)]
    assert (len(created), len(refused)) == (3, 5)
    assert {e.code for r in refused for e in r.errors} == {QuotaErrorCode.QUOTA_EXCEEDED}
    assert await raw_count(runtime, "things", {"groupId": tenant.id, "deletedAt": None}) == 5
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_a_transient_error_retries_the_shared_transaction_without_counting_twice(
    runtime: Runtime,
) -> None:
    # given a tenant whose group is busy with a long write of its own
    tenant = await make_tenant(runtime, "acme")
    ledger = runtime.services.ledger
    gate = asyncio.Event()

    async def long_write(w: TenantWrite) -> None:
        await gate.wait()

    holder = asyncio.create_task(ledger.write(tenant.id, long_write))
    await asyncio.sleep(0.01)

    def event_write(flaky: bool = False) -> Any:
        attempts = 0

        async def work(w: TenantWrite) -> int:
            nonlocal attempts
            attempts += 1
            await w.count(CountDelta(), [new_event(tenant.id, "content_event", timestamp=utcnow())])
            if flaky and attempts == 1:
                # what the server answers when another transaction wrote the same document
                raise OperationFailure(
                    "WriteConflict", 112, {"errorLabels": ["TransientTransactionError"]}
                )
            return attempts

        return work

    # when one write waits alone for the lock, and three wait behind it, the second of
    # which fails once with a transient error
    works = [event_write(), event_write(), event_write(flaky=True), event_write()]
    tasks = []
    for work in works:
        tasks.append(asyncio.create_task(ledger.write(tenant.id, work, together=True)))
        await asyncio.sleep(0.01)
    gate.set()
    await holder
    attempts = await asyncio.gather(*tasks)

    # then the three were committed together, on the second attempt of their transaction
    # (the first attempt stopped at the error, before the last work ran)
    assert attempts == [1, 2, 2, 1]
    assert sample(runtime, "ontology_group_commits_total", {"outcome": "together"}) == 1.0
    # and each event is stored once and counted once
    assert await raw_count(runtime, "events", {"groupId": tenant.id}) == 4
    await ledger.fold_all()
    assert (await group_counts(runtime, tenant.id))["events"] == 4
    assert await stored_counts(runtime, tenant.id) == await true_counts(runtime, tenant.id)


async def test_a_group_alone_is_not_held_by_another_groups_writes(runtime: Runtime) -> None:
    # given two tenants
    acme = await make_tenant(runtime, "acme")
    other = await make_tenant(runtime, "other")
    events = runtime.services.events

    # when both log events at once
    docs = await settled(
        [
            events.log(g.id, NewEvent("content_event", metadata={"n": n}))
            for n in range(5)
            for g in (acme, other)
        ]
    )

    # then each group's events are its own, committed in transactions of its own
    assert all(isinstance(d, dict) for d in docs)
    await runtime.services.ledger.fold_all()
    for tenant in (acme, other):
        stored = await raw_count(runtime, "events", {"groupId": tenant.id})
        assert stored == 5
        assert (await group_counts(runtime, tenant.id))["events"] == 5
    groups = {d["groupId"] for d in docs}
    assert groups == {acme.id, other.id}
    assert all(isinstance(g, ObjectId) for g in groups)
