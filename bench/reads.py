"""Reads: the nested query through HTTP against hand-written PyMongo, side by side in one run.

Seeds one embedded database with a group of 1,000 creators, 20,000 connections
and 100,000 events (and a second group with 1,000 events), starts two
``ontology serve`` processes on it (loaders batched, and batching switched off
with ONTOLOGY_DATALOADER_BATCHING=false), then measures:

- the nested query (100 creators with connections, related things, counts and
  stats) over HTTP vs a script that fetches the same data with the fewest
  PyMongo calls and builds the same JSON (checked equal) — target <= 1.5x;
- the same query without batching: how much slower, how many more commands;
- realtimeMetrics + group metrics at 1,000 vs 100,000 events: commands and
  documents read (target: the same).

Run: python bench/reads.py [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId
from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.batches.models import ErrorPolicy
from ontology.config import Settings
from ontology.connections.models import NewConnection
from ontology.db.embedded import EmbeddedServer, free_port, port_accepts
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.kit.ids import to_global_id
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.runtime import Runtime, open_runtime
from ontology.things.models import NewThing

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
CREATORS, FOLLOWS, EVENTS, SMALL_EVENTS = 1_000, 20, 100_000, 1_000
NESTED = """
query($first: Int!) {
  things(first: $first, type: "creator") {
    edges {
      node {
        id
        name
        connectionCounts { inbound outbound }
        connections(first: 5) { edges { direction node { id name } } }
        stats { totalRevenue totalFollowers contentCount totalEvents }
      }
    }
  }
}
"""
METRICS = """
{
  realtimeMetrics { eventsLastHour byType { type count } paymentsLastHour revenueLastHour }
  viewer { group { metrics {
    userCount activeUsers totalEntities storageUsed { bytes } revenueThisMonth eventsThisMonth
    eventsThisWeek topContentByEngagement { connectionCount } averageEngagementPerContent
    avgEventsPerUser avgRevenuePerUser isActive trendingUp
  } } }
}
"""


def when(n: int, now: datetime) -> datetime:
    """Event n's time: spread over the 13 days before the last hour."""
    return now - timedelta(hours=1, seconds=(n * 7919) % (13 * 86400))


async def seed_group(
    runtime: Runtime, slug: str, events: int, follows: int
) -> tuple[Any, str, list[ObjectId]]:
    services = runtime.services
    group = await services.groups.create(slug=slug, name=slug.title(), plan=Plan.ENTERPRISE)
    group_id = group["_id"]
    items = [NewThing("creator", f"Creator {n:04d}", {"n": n}, "active") for n in range(CREATORS)]
    assert (await services.batches.insert_things(group_id, items)).failed == 0
    cursor = runtime.database.collection("things").find({"groupId": group_id}, {"_id": 1})
    ids = [doc["_id"] async for doc in cursor]
    links = [
        NewConnection(from_id=ids[n], to_id=ids[(n + 1 + k * 37) % CREATORS], type="following")
        for n in range(CREATORS)
        for k in range(follows)
    ]
    for start in range(0, len(links), 10_000):
        chunk = links[start : start + 10_000]
        result = await services.batches.create_connections(
            group_id, chunk, ErrorPolicy.REJECT_EVERYTHING
        )
        assert result.failed == 0
    now = utcnow()
    docs = []
    for n in range(events - 60):
        payment = n % 20 == 0
        docs.append(
            new_event(
                group_id,
                "payment_processed" if payment else "content_event",
                timestamp=when(n, now),
                actor_id=ids[n % CREATORS],
                target_id=ids[(n + 1) % CREATORS],
                metadata={"amount": 10} if payment else {},
            )
        )
    await write_events(runtime, group_id, docs)
    _, secret = await services.keys.create(group_id, Role.ORG_USER)
    return group_id, secret, ids


async def write_events(runtime: Runtime, group_id: ObjectId, docs: list[Any]) -> None:
    """Through the events repository (so every counter is kept), 10,000 per transaction."""
    for start in range(0, len(docs), 10_000):
        chunk = docs[start : start + 10_000]
        delta = CountDelta().logged(chunk)

        async def write(session: Any, chunk: list[Any] = chunk, delta: CountDelta = delta) -> None:
            await runtime.repos.accounts.apply_counts(group_id, delta, session)
            await runtime.repos.log.append(group_id, chunk, session)

        await runtime.database.in_transaction(write)


async def add_last_hour(runtime: Runtime, group_id: ObjectId, ids: list[ObjectId]) -> None:
    """One event in each of the last 60 minutes (the last 60 of the group's events), written
    just before measuring so both groups fill the same minute buckets."""
    now = utcnow()
    docs = [
        new_event(
            group_id,
            "content_event",
            timestamp=now - timedelta(minutes=n),
            actor_id=ids[n % CREATORS],
            target_id=ids[(n + 1) % CREATORS],
        )
        for n in range(60)
    ]
    await write_events(runtime, group_id, docs)


async def handwritten(db: Any, group_id: ObjectId) -> bytes:
    """The nested query's answer with the fewest PyMongo calls: 4 commands."""
    things = await (
        db.things.find({"groupId": group_id, "deletedAt": None, "type": "creator"})
        .sort("_id", -1)
        .limit(100)
        .to_list()
    )
    ids = [t["_id"] for t in things]
    sides: dict[str, dict[ObjectId, list[Any]]] = {}
    for end, other in (("fromId", "toId"), ("toId", "fromId")):
        cursor = await db.connections.aggregate(
            [
                {"$match": {"groupId": group_id, end: {"$in": ids}}},
                {
                    "$group": {
                        "_id": f"${end}",
                        "items": {"$topN": {"n": 5, "sortBy": {"_id": -1}, "output": "$$ROOT"}},
                    }
                },
                {"$unwind": "$items"},
                {
                    "$lookup": {
                        "from": "things",
                        "localField": f"items.{other}",
                        "foreignField": "_id",
                        "as": "items._other",
                    }
                },
                {"$group": {"_id": "$_id", "items": {"$push": "$items"}}},
            ]
        )
        sides[end] = {group["_id"]: group["items"] async for group in cursor}
    totals = {
        doc["thingId"]: doc
        async for doc in db.counters.find(
            {"groupId": group_id, "thingId": {"$in": ids}, "period": "total"}
        )
    }
    edges = []
    for thing in things:
        merged = sides["fromId"].get(thing["_id"], []) + sides["toId"].get(thing["_id"], [])
        newest = sorted({c["_id"]: c for c in merged}.values(), key=lambda c: c["_id"])[::-1][:5]
        counts = thing.get("connectionCounts") or {}
        by_type = counts.get("byType") or {}

        def n(kind: str, direction: str, by_type: dict[str, Any] = by_type) -> int:
            return int((by_type.get(kind) or {}).get(direction, 0))

        total = totals.get(thing["_id"]) or {}
        edges.append(
            {
                "node": {
                    "id": to_global_id("Thing", thing["_id"]),
                    "name": thing["name"],
                    "connectionCounts": {
                        "inbound": counts.get("inbound", 0),
                        "outbound": counts.get("outbound", 0),
                    },
                    "connections": {
                        "edges": [
                            {
                                "direction": "OUTBOUND"
                                if c["fromId"] == thing["_id"]
                                else "INBOUND",
                                "node": {
                                    "id": to_global_id("Thing", c["_other"][0]["_id"]),
                                    "name": c["_other"][0]["name"],
                                },
                            }
                            for c in newest
                        ]
                    },
                    "stats": {
                        "totalRevenue": float(total.get("revenue", 0)),
                        "totalFollowers": n("following", "inbound"),
                        "contentCount": n("authored", "outbound") + n("created_by", "inbound"),
                        "totalEvents": int(total.get("events", 0)),
                    },
                }
            }
        )
    return json.dumps({"data": {"things": {"edges": edges}}}).encode()


async def post(client: httpx.AsyncClient, key: str, query: str, variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, str(body)[:500]
    return body


def start_server(env: dict[str, str], port: int, **extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [ONTOLOGY, "serve"],
        env={**env, "ONTOLOGY_PORT": str(port), **extra},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not port_accepts("127.0.0.1", port):
        time.sleep(0.1)
    return process


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.start()
        env = {
            **os.environ,
            "ONTOLOGY_MONGODB_URI": server.uri,
            "ONTOLOGY_DB_NAME": "bench",
            "ONTOLOGY_LOG_LEVEL": "WARNING",
        }
        settings = Settings(mongodb_uri=server.uri, db_name="bench", data_dir=Path(tmp))
        started = time.perf_counter()
        async with open_runtime(settings) as runtime:
            big_id, big_key, big_ids = await seed_group(runtime, "reads", EVENTS, FOLLOWS)
            small_id, small_key, small_ids = await seed_group(runtime, "small", SMALL_EVENTS, 1)
            print(f"seeded in {time.perf_counter() - started:.0f} s")
            await add_last_hour(runtime, big_id, big_ids)
            await add_last_hour(runtime, small_id, small_ids)
        batched_port, unbatched_port = free_port(), free_port()
        batched = start_server(env, batched_port)
        unbatched = start_server(env, unbatched_port, ONTOLOGY_DATALOADER_BATCHING="false")
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(server.uri)
        try:
            async with (
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{batched_port}", timeout=600) as api,
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{unbatched_port}", timeout=600
                ) as naive,
            ):
                metrics = {
                    name: await post(api, key, METRICS, {})
                    for name, key in (("1,000", small_key), ("100,000", big_key))
                }
                variables = {"first": 100}
                ours = await post(api, big_key, NESTED, variables)
                script = json.loads(await handwritten(mongo.bench, big_id))
                assert ours["data"] == script["data"], "the script's answer differs"
                times: dict[str, list[float]] = {"api": [], "script": [], "naive": []}
                for _ in range(rounds):
                    t = time.perf_counter()
                    await post(api, big_key, NESTED, variables)
                    times["api"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await handwritten(mongo.bench, big_id)
                    times["script"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    naive_body = await post(naive, big_key, NESTED, variables)
                    times["naive"].append(time.perf_counter() - t)
                ms = {name: statistics.median(samples) * 1000 for name, samples in times.items()}
                commands = ours["extensions"]["cost"]["dbCommands"]
                naive_commands = naive_body["extensions"]["cost"]["dbCommands"]
        finally:
            await mongo.close()
            for process in (batched, unbatched):
                process.terminate()
                process.wait()
            server.stop()
    print(f"nested query, 100 creators (of {CREATORS:,}; {CREATORS * FOLLOWS:,} connections, ")
    print(f"{EVENTS:,} events), median of {rounds}:")
    print(f"  GraphQL over HTTP            {ms['api']:8.1f} ms  {commands} commands")
    print(f"  hand-written PyMongo + JSON  {ms['script']:8.1f} ms  4 commands")
    print(f"  ratio                        {ms['api'] / ms['script']:8.2f}  (target <= 1.5)")
    print(
        f"  loaders off (per item)       {ms['naive']:8.1f} ms  {naive_commands} commands: "
        f"{ms['naive'] / ms['api']:.1f}x slower, {naive_commands - commands} more commands"
    )
    print("realtimeMetrics + group metrics:")
    for name, body in metrics.items():
        cost = body["extensions"]["cost"]
        print(
            f"  {name:>7} events: {cost['dbCommands']} commands, "
            f"{cost['documentsRead']} documents read, {cost['ms']:.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    asyncio.run(main(parser.parse_args().rounds))
