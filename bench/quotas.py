"""Quota enforcement cost, measured side by side in one run.

1. A single create with enforcement (the atomic conditional update pipeline on
   the group document) against the same create with a plain ``$inc`` of the
   counters, interleaved so both see the same machine load.
2. ``groupQuotas`` on a group with 10 things and one with 10,000: time and
   database commands.

Run: python bench/quotas.py [--creates N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import Bench, bench_app, median_ms, timed
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.ledger.counters import CountDelta
from ontology.ledger.ledger import Ledger
from ontology.things.models import NewThing, new_thing_document
from ontology.things.service import ThingService

GROUP_QUOTAS = "{ groupQuotas { plan quotas { metric current limit percentUsed status } } }"


class UnenforcedLedger(Ledger):
    """The baseline: the same counter update as a plain ``$inc``, no limit check."""

    async def reserve(self, group_id, delta, session, *, enforce=True):  # type: ignore[no-untyped-def]
        await self.accounts.apply_counts(group_id, delta, session)


async def create_cost(bench: Bench, creates: int) -> tuple[float, float]:
    runtime = bench.runtime
    group = await runtime.services.groups.create(slug="bench-create", name="B", plan=Plan.PRO)
    enforced = runtime.services.things
    ledger = runtime.services.ledger
    plain = ThingService(
        runtime.repos.things,
        UnenforcedLedger(
            ledger.database,
            ledger.book,
            ledger.accounts,
            ledger.log,
            ledger.usage,
            ledger.metrics,
            ledger.reservations,
        ),
        runtime.vocabulary,
        runtime.limits,
        enforced.detach,
    )
    thing = NewThing(type="creator", name="Bench creator", properties={"n": 1})
    with_quota: list[float] = []
    without: list[float] = []
    for _ in range(20):  # warm up both paths
        await enforced.create(group["_id"], thing)
        await plain.create(group["_id"], thing)
    for _ in range(creates):
        with_quota.append(await timed(lambda: enforced.create(group["_id"], thing)))
        without.append(await timed(lambda: plain.create(group["_id"], thing)))
    return median_ms(with_quota), median_ms(without)


async def seed_things(bench: Bench, slug: str, count: int) -> str:
    runtime = bench.runtime
    group = await runtime.services.groups.create(slug=slug, name=slug, plan=Plan.PRO)
    docs = [
        new_thing_document(
            group["_id"], NewThing(type="creator", name=f"c{n}", properties={}), _now()
        )
        for n in range(count)
    ]
    await runtime.database.collection("things").insert_many(docs)
    delta = CountDelta().things(
        "creator", count, sum(d["sizeBytes"] for d in docs), status=docs[0]["status"]
    )
    delta.created("things", docs)
    await runtime.repos.accounts.apply_counts(group["_id"], delta)
    _, secret = await runtime.services.keys.create(group["_id"], Role.ORG_USER)
    return secret


def _now():  # type: ignore[no-untyped-def]
    from ontology.kit.clock import utcnow

    return utcnow()


async def group_quotas_cost(bench: Bench, key: str, runs: int) -> tuple[float, int, int]:
    samples = []
    commands = documents = 0
    for _ in range(runs):
        body = await bench.gql(key, GROUP_QUOTAS)
        samples.append(body["extensions"]["cost"]["ms"] / 1000)
        commands = body["extensions"]["cost"]["dbCommands"]
        documents = body["extensions"]["cost"]["documentsRead"]
    return median_ms(samples), commands, documents


async def main(creates: int) -> None:
    async with bench_app() as bench:
        enforced_ms, plain_ms = await create_cost(bench, creates)
        small = await seed_things(bench, "bench-small", 10)
        large = await seed_things(bench, "bench-large", 10_000)
        small_ms, small_cmds, small_docs = await group_quotas_cost(bench, small, 50)
        large_ms, large_cmds, large_docs = await group_quotas_cost(bench, large, 50)
    print(f"single create, median of {creates}:")
    print(f"  with quota enforcement    {enforced_ms:8.2f} ms")
    print(f"  plain counter $inc        {plain_ms:8.2f} ms")
    print(f"  ratio                     {enforced_ms / plain_ms:8.3f}  (target <= 1.25)")
    print("groupQuotas, median of 50 (server-side ms from extensions.cost):")
    print(f"  10 things       {small_ms:8.2f} ms  {small_cmds} commands  {small_docs} documents")
    print(f"  10,000 things   {large_ms:8.2f} ms  {large_cmds} commands  {large_docs} documents")
    print(f"  ratio           {large_ms / small_ms:8.3f}  (target: same cost at both sizes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=300)
    asyncio.run(main(parser.parse_args().creates))
