"""Bounded work at any size (issue #14): reads in a small and a big tenant, and a noisy neighbour.

Starts its own embedded database and one ``ontology serve`` process (development
mode, so responses carry ``extensions.cost``; ``--no-scheduler``, so no
scheduled job runs during the measurement) on loopback, and seeds through the
runtime's services (batches of 10,000 things and connections, people and
knowledge one by one; events through the events repository, 10,000 per
transaction with the group's counters, as bench/reads.py does), so every
denormalized counter is right (checked against counts of the stored documents
before measuring):

- a small tenant (``--small-things``, default 1,000) and a big tenant
  (``--big-things``, default 100,000), both on the enterprise plan; things are
  10% creators, 40% audience members, 50% content; one creator, the hub, has
  ``--small-hub`` / ``--big-hub`` connections (default 50 / 5,000; half inbound
  ``following``, half outbound ``authored``) and as many events as actor or
  target; people and knowledge are 1% of the things; 60 events in the last hour;
  ``--events-variant`` adds 1,000,000 events to the big tenant (slow: minutes);
- part 1, reads: each read over HTTP, small then big, one warm-up each, then
  ``--rounds`` (default 5) alternated pairs; median ms, big/small ratio (target
  <= 1.5) and ``extensions.cost`` (commands, documents read) in each tenant.
  ``archivedEvents`` is not measured (it needs an archival run first);
- part 2, noisy neighbour: tenant B sends ``--requests`` (default 150)
  sequential single writes (``createThing`` and ``logEvent`` alternately), one
  every ``--load-seconds``/N seconds (or right after the previous one when it
  took longer), first alone, then while tenant A sends ``batchInsertThings`` of
  10,000 items back to back from another process for ``--load-seconds``
  (default 30; neither starts a request after that, so under load B sends as
  many of its N requests as fit); B's p50/p95 idle vs under load (target <= 2x).
  ``--noisy-only`` seeds no small or big tenant and runs part 2 alone.

Prints both tables as Markdown, with the command line. Exit status 0 whether or
not the targets are met (it is a measurement); 1 only if something failed.

Run: python bench/scale.py [--quick] [--big-things N] [--events-variant] [--rounds R]
     python bench/scale.py --noisy-only [--load-seconds S] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.batches.models import ErrorPolicy
from ontology.config import Settings
from ontology.connections.models import NewConnection
from ontology.db.embedded import EmbeddedServer, free_port, port_accepts
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.kit.ids import to_global_id
from ontology.knowledge.service import KnowledgeKind, NewKnowledge
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.people.service import NewPerson
from ontology.runtime import Runtime, open_runtime
from ontology.things.models import NewThing

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
GRAPHQL = Path(__file__).resolve().parent.parent / "graphql"
BATCH = 10_000
CONTENT_TYPES = ("blog_post", "video", "podcast", "social_post", "email")
VARIANT_EVENTS = 1_000_000
REQUEST_TIMEOUT = 300.0

# -- the reads ----------------------------------------------------------------

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
THING_PAGE = f"totalCount {PAGE_INFO} edges {{ cursor node {{ id type name status }} }}"
RELATED = (
    f"totalCount {PAGE_INFO} "
    "edges { cursor direction connection { id type } node { id type name } }"
)
EVENT_NODE = "node { id type timestamp actor { id name } target { id name } }"
STATS = """
stats {
  totalRevenue totalFollowers contentCount averageEngagement lastActive totalEvents
  eventsByType { type count } isActive accountAge revenuePerContent lastComputed
}
"""
METRICS = """
viewer { group { metrics {
  userCount activeUsers totalEntities storageUsed { bytes megabytes gigabytes }
  apiCallsThisMonth revenueThisMonth eventsThisMonth eventsThisWeek
  topContentByEngagement { connectionCount thing { id type name } }
  averageEngagementPerContent avgEventsPerUser avgRevenuePerUser isActive trendingUp
} } }
"""
REALTIME = (
    "realtimeMetrics { eventsLastHour byType { type count } paymentsLastHour revenueLastHour }"
)

# (label, document); $id is the hub's global id, $after the end cursor of things' page 1.
READS: list[tuple[str, str]] = [
    ("`things(first: 10)`", f"{{ things(first: 10) {{ {THING_PAGE} }} }}"),
    (
        "`things(first: 10, after: <page 1 end>)`",
        f"query($after: String) {{ things(first: 10, after: $after) {{ {THING_PAGE} }} }}",
    ),
    ("`things(last: 10)`", f"{{ things(last: 10) {{ {THING_PAGE} }} }}"),
    (
        '`things(first: 10, type: "creator")`',
        f'{{ things(first: 10, type: "creator") {{ {THING_PAGE} }} }}',
    ),
    (
        "`thing.connections(first: 10)`",
        f"query($id: ID!) {{ thing(id: $id) {{ id connections(first: 10) {{ {RELATED} }} }} }}",
    ),
    (
        "`thing.connections(first: 10, direction: INBOUND)`",
        f"query($id: ID!) {{ thing(id: $id) {{ id "
        f"connections(first: 10, direction: INBOUND) {{ {RELATED} }} }} }}",
    ),
    (
        "`thing.activity(first: 10)`",
        f"query($id: ID!) {{ thing(id: $id) {{ id "
        f"activity(first: 10) {{ {PAGE_INFO} edges {{ cursor {EVENT_NODE} }} }} }} }}",
    ),
    (
        "`events(first: 10)`",
        f"{{ events(first: 10) {{ totalCount {PAGE_INFO} edges {{ cursor {EVENT_NODE} }} }} }}",
    ),
    (
        "`connections(first: 10)`",
        f"{{ connections(first: 10) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ "
        "id type from { id name } to { id name } } } } }",
    ),
    (
        "`people(first: 10)`",
        f"{{ people(first: 10) {{ totalCount {PAGE_INFO} "
        "edges { cursor node { id email name role } } } }",
    ),
    (
        "`knowledge(first: 10)`",
        f"{{ knowledge(first: 10) {{ totalCount {PAGE_INFO} "
        "edges { cursor node { id kind text labels } } } }",
    ),
    ("`thing.stats`", f"query($id: ID!) {{ thing(id: $id) {{ id {STATS} }} }}"),
    ("group metrics (all fields)", f"{{ {METRICS} }}"),
    ("`realtimeMetrics`", f"{{ {REALTIME} }}"),
]

CREATE_THING = (GRAPHQL / "CreateThing.graphql").read_text()
LOG_EVENT = (GRAPHQL / "LogEvent.graphql").read_text()
BATCH_INSERT = (GRAPHQL / "BatchInsertThings.graphql").read_text()


# -- sizes and tenants --------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    small_things: int
    big_things: int
    small_hub: int
    big_hub: int
    rounds: int
    load_seconds: float
    requests: int
    events_variant: bool
    noisy_only: bool = False


@dataclass
class Tenant:
    slug: str
    group_id: ObjectId
    key: str
    hub: str = ""  # global id of the thing with many connections and events
    hub_id: ObjectId | None = None
    page1_end: str = ""
    counts: dict[str, int] = field(default_factory=dict)


def when(n: int, now: datetime) -> datetime:
    """Event n's time: spread over the 13 days before the last hour (as bench/reads.py)."""
    return now - timedelta(hours=1, seconds=(n * 7919) % (13 * 86400))


def thing_type(n: int) -> str:
    """10% creators, 40% audience members, 50% content."""
    if n % 10 == 0:
        return "creator"
    if n % 10 < 5:
        return "audience_member"
    return CONTENT_TYPES[n % len(CONTENT_TYPES)]


async def write_events(runtime: Runtime, group_id: ObjectId, docs: list[Any]) -> None:
    """Through the events repository (so every counter is kept), 10,000 per transaction."""
    for start in range(0, len(docs), BATCH):
        chunk = docs[start : start + BATCH]
        delta = CountDelta().logged(chunk)

        async def write(session: Any, chunk: list[Any] = chunk, delta: CountDelta = delta) -> None:
            await runtime.repos.accounts.apply_counts(group_id, delta, session)
            await runtime.repos.log.append(group_id, chunk, session)

        await runtime.database.in_transaction(write)


async def seed_tenant(
    runtime: Runtime, slug: str, things: int, hub_links: int, extra_events: int
) -> Tenant:
    services = runtime.services
    group = await services.groups.create(slug=slug, name=slug.title(), plan=Plan.ENTERPRISE)
    group_id = group["_id"]
    for start in range(0, things, BATCH):
        items = [
            NewThing(thing_type(n), f"{slug} thing {n:06d}", {"n": n}, "active")
            for n in range(start, min(things, start + BATCH))
        ]
        result = await services.batches.insert_things(group_id, items)
        assert result.failed == 0, result.errors[:3]
    by_type: dict[str, list[ObjectId]] = {}
    cursor = runtime.database.collection("things").find(
        {"groupId": group_id}, {"_id": 1, "type": 1}, sort=[("_id", 1)]
    )
    async for doc in cursor:
        by_type.setdefault(doc["type"], []).append(doc["_id"])
    creators, audience = by_type["creator"], by_type["audience_member"]
    content = [i for t in CONTENT_TYPES for i in by_type.get(t, [])]
    hub = creators[len(creators) // 2]
    inbound = hub_links // 2
    assert inbound <= len(audience) and hub_links - inbound <= len(content), "too few things"
    links = [
        NewConnection(from_id=audience[n], to_id=hub, type="following") for n in range(inbound)
    ]
    links += [
        NewConnection(from_id=hub, to_id=content[n], type="authored")
        for n in range(hub_links - inbound)
    ]
    for start in range(0, len(links), BATCH):
        result = await services.batches.create_connections(
            group_id, links[start : start + BATCH], ErrorPolicy.REJECT_EVERYTHING
        )
        assert result.failed == 0, result.errors[:3]
    now = utcnow()
    docs = []
    for n in range(hub_links):  # the hub's activity: half as actor, half as target
        payment = n % 10 == 0
        as_actor = n % 2 == 0
        docs.append(
            new_event(
                group_id,
                "payment_processed" if payment else "content_event",
                timestamp=when(n, now),
                actor_id=hub if as_actor or payment else audience[n % len(audience)],
                target_id=content[n % len(content)] if as_actor or payment else hub,
                metadata={"amount": 10} if payment else {},
            )
        )
    await write_events(runtime, group_id, docs)
    everyone = [i for ids in by_type.values() for i in ids]
    actors = creators[:1000]
    for start in range(0, extra_events, 100_000):
        docs = [
            new_event(
                group_id,
                "content_event",
                timestamp=when(n, now),
                actor_id=actors[n % len(actors)],
                target_id=everyone[(n * 7) % len(everyone)],
            )
            for n in range(start, min(extra_events, start + 100_000))
        ]
        await write_events(runtime, group_id, docs)
        print(f"  {slug}: {start + len(docs):,} of {extra_events:,} extra events", flush=True)
    for n in range(max(1, things // 100)):
        await services.people.create(
            group_id, NewPerson(f"person{n}@{slug}.example", f"Person {n}", Role.ORG_USER)
        )
        await services.knowledge.add(
            group_id, NewKnowledge(KnowledgeKind.DOCUMENT, text=f"Note {n} of {slug}.")
        )
    _, secret = await services.keys.create(group_id, Role.ORG_USER)
    return Tenant(slug, group_id, secret, hub=to_global_id("Thing", hub), hub_id=hub)


async def add_last_hour(runtime: Runtime, tenant: Tenant) -> None:
    """One event in each of the last 60 minutes, for realtimeMetrics."""
    now = utcnow()
    docs = [
        new_event(tenant.group_id, "content_event", timestamp=now - timedelta(minutes=n))
        for n in range(60)
    ]
    await write_events(runtime, tenant.group_id, docs)


async def check_counters(runtime: Runtime, tenant: Tenant) -> None:
    """The group's denormalized counters equal counts of the stored documents."""
    db = runtime.database
    group = await db.collection("groups").find_one({"_id": tenant.group_id})
    assert group is not None
    scope = {"groupId": tenant.group_id}
    for name in ("things", "connections", "events", "people", "knowledge"):
        stored = await db.collection(name).count_documents(scope)
        assert group["counts"][name] == stored, (tenant.slug, name, group["counts"][name], stored)
        tenant.counts[name] = stored
    hub = await db.collection("things").find_one({"_id": tenant.hub_id})
    assert hub is not None
    for direction, end in (("inbound", "toId"), ("outbound", "fromId")):
        stored = await db.collection("connections").count_documents({**scope, end: hub["_id"]})
        assert hub["connectionCounts"][direction] == stored, (tenant.slug, direction)
        tenant.counts[f"hub {direction}"] = stored
    tenant.counts["hub events"] = await db.collection("events").count_documents(
        {**scope, "$or": [{"actorId": hub["_id"]}, {"targetId": hub["_id"]}]}
    )


async def seed(uri: str, db_name: str, data_dir: Path, sizes: Sizes) -> list[Tenant]:
    """The small, big, A and B tenants (``noisy_only``: A and B only)."""
    settings = Settings(mongodb_uri=uri, db_name=db_name, data_dir=data_dir, log_level="WARNING")
    async with open_runtime(settings) as runtime:
        noisy = await seed_noisy(runtime)
        if sizes.noisy_only:
            return noisy
        started = time.perf_counter()
        small = await seed_tenant(runtime, "small", sizes.small_things, sizes.small_hub, 0)
        print(f"  small tenant seeded in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        extra = VARIANT_EVENTS if sizes.events_variant else 0
        big = await seed_tenant(runtime, "big", sizes.big_things, sizes.big_hub, extra)
        print(f"  big tenant seeded in {time.perf_counter() - started:.0f} s", flush=True)
        for tenant in (small, big):
            await add_last_hour(runtime, tenant)
            await check_counters(runtime, tenant)
    return [small, big, *noisy]  # A and B last


async def seed_noisy(runtime: Runtime) -> list[Tenant]:
    """Tenants A (imports) and B (single writes about its one thing)."""
    noisy = []
    for slug in ("tenant-a", "tenant-b"):
        group = await runtime.services.groups.create(slug=slug, name=slug, plan=Plan.ENTERPRISE)
        _, secret = await runtime.services.keys.create(group["_id"], Role.ORG_USER)
        noisy.append(Tenant(slug, group["_id"], secret))
    result = await runtime.services.batches.insert_things(
        noisy[1].group_id, [NewThing("creator", "B's creator", {}, "active")]
    )
    noisy[1].hub = result.results[0].id or ""
    return noisy


# -- HTTP ---------------------------------------------------------------------


def post(
    client: httpx.Client, key: str, query: str, variables: dict[str, Any] | None = None
) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, str(body)[:500]
    return elapsed, body


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [ONTOLOGY, "serve", "--no-scheduler"],
        env={**env, "ONTOLOGY_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not port_accepts("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("ontology serve did not start")
        time.sleep(0.1)
    return process


# -- part 1: reads ------------------------------------------------------------


@dataclass
class ReadResult:
    label: str
    ms: dict[str, float]
    commands: dict[str, int]
    documents: dict[str, int]
    # the first time this server ran the read in each tenant: the server learns where
    # each range's keys are (ontology/db/windows.py) from its reads and its own writes,
    # and the tenants were seeded by this process, so these are cold
    first_ms: dict[str, float]


def measure_reads(
    client: httpx.Client, small: Tenant, big: Tenant, rounds: int
) -> list[ReadResult]:
    first_page: dict[str, float] = {}
    for tenant in (small, big):
        first_page[tenant.slug], body = post(client, tenant.key, READS[0][1])
        tenant.page1_end = body["data"]["things"]["pageInfo"]["endCursor"]
    results = []
    for label, query in READS:
        variables = {
            tenant.slug: {
                name: value
                for name, value in (("id", tenant.hub), ("after", tenant.page1_end))
                if f"${name}" in query
            }
            for tenant in (small, big)
        }
        samples: dict[str, list[float]] = {"small": [], "big": []}
        bodies: dict[str, Any] = {}
        first = dict(first_page) if label == READS[0][0] else {}
        for round_ in range(rounds + 1):  # round 0 warms up
            for tenant in (small, big):
                elapsed, bodies[tenant.slug] = post(
                    client, tenant.key, query, variables[tenant.slug]
                )
                if round_:
                    samples[tenant.slug].append(elapsed)
                else:
                    first.setdefault(tenant.slug, elapsed)
        cost = {slug: body["extensions"]["cost"] for slug, body in bodies.items()}
        results.append(
            ReadResult(
                label,
                {slug: statistics.median(s) * 1000 for slug, s in samples.items()},
                {slug: int(c["dbCommands"]) for slug, c in cost.items()},
                {slug: int(c["documentsRead"]) for slug, c in cost.items()},
                {slug: ms * 1000 for slug, ms in first.items()},
            )
        )
        r = results[-1]
        print(
            f"  {label}: {r.ms['small']:.1f} / {r.ms['big']:.1f} ms, "
            f"{r.commands['small']} / {r.commands['big']} commands",
            flush=True,
        )
    return results


# -- part 2: noisy neighbour --------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def tenant_b(
    client: httpx.Client, b: Tenant, count: int, interval: float, deadline: float, label: str
) -> dict[str, list[float]]:
    """``count`` single writes, createThing and logEvent alternately, paced ``interval`` apart."""
    times: dict[str, list[float]] = {"createThing": [], "logEvent": []}
    started = time.monotonic()
    for n in range(count):
        pause = started + n * interval - time.monotonic()
        if time.monotonic() + max(pause, 0) > deadline:
            break
        if pause > 0:
            time.sleep(pause)
        variables: dict[str, Any]
        if n % 2 == 0:
            variables = {"input": {"type": "creator", "name": f"B {label} {n}", "status": "active"}}
            elapsed, body = post(client, b.key, CREATE_THING, variables)
            assert body["data"]["createThing"]["errors"] == [], body
            times["createThing"].append(elapsed)
        else:
            variables = {"input": {"type": "content_event", "actorId": b.hub, "metadata": {}}}
            elapsed, body = post(client, b.key, LOG_EVENT, variables)
            assert body["data"]["logEvent"]["errors"] == [], body
            times["logEvent"].append(elapsed)
    return times


@dataclass
class Load:
    batches: list[float] = field(default_factory=list)
    error: str | None = None


def tenant_a(
    base_url: str, key: str, started: Any, stop: Any, deadline: float, results: Any
) -> None:
    """batchInsertThings of 10,000 items back to back until told to stop (or the deadline).

    Runs in its own process, as another tenant's client would: in a thread of this one it
    would share the interpreter with tenant B's client, and B's timings would include the
    waits for A's client to encode each 10,000-item request and decode its response.
    """
    things = [{"type": "blog_post", "name": f"A {n}", "properties": {"n": n}} for n in range(BATCH)]
    try:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                started.set()
                elapsed, body = post(client, key, BATCH_INSERT, {"input": {"things": things}})
                summary = body["data"]["batchInsertThings"]["summary"]
                assert summary["succeeded"] == BATCH, summary
                results.put(("batch", elapsed))
    except BaseException as error:
        results.put(("error", repr(error)))
    finally:
        started.set()
        results.put(("done", None))


def noisy_neighbour(
    client: httpx.Client, base_url: str, a: Tenant, b: Tenant, sizes: Sizes
) -> tuple[dict[str, list[float]], dict[str, list[float]], Load, float]:
    interval = sizes.load_seconds / sizes.requests
    for n in range(4):  # warm-up
        tenant_b(client, b, 2, 0, time.monotonic() + 60, f"warm-up {n}")
    idle_deadline = time.monotonic() + 2 * sizes.load_seconds
    idle = tenant_b(client, b, sizes.requests, interval, idle_deadline, "idle")
    spawn = multiprocessing.get_context("spawn")
    started, stop, results = spawn.Event(), spawn.Event(), spawn.Queue()
    started_at = time.monotonic()
    deadline = started_at + sizes.load_seconds  # neither starts a request after it
    process = spawn.Process(
        target=tenant_a, args=(base_url, a.key, started, stop, deadline, results)
    )
    process.start()
    load = Load()
    try:
        started.wait(60)
        time.sleep(0.2)  # A's first batch is on the server
        busy = tenant_b(client, b, sizes.requests, interval, deadline, "load")
    finally:
        stop.set()  # A finishes its batch in flight
        while (message := results.get(timeout=REQUEST_TIMEOUT))[0] != "done":
            if message[0] == "batch":
                load.batches.append(message[1])
            else:
                load.error = message[1]
        process.join(REQUEST_TIMEOUT)
    if load.error is not None:
        raise RuntimeError(f"tenant A's import failed: {load.error}")
    return idle, busy, load, time.monotonic() - started_at


# -- report -------------------------------------------------------------------


def reads_table(results: list[ReadResult]) -> list[str]:
    lines = [
        "| read | small ms | big ms | big/small | ≤ 1.5 | commands small / big "
        "| documents read small / big | first read small / big ms |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.ms["big"] / r.ms["small"]
        lines.append(
            f"| {r.label} | {r.ms['small']:,.1f} | {r.ms['big']:,.1f} | {ratio:.2f} "
            f"| {'yes' if ratio <= 1.5 else 'no'} | {r.commands['small']} / {r.commands['big']} "
            f"| {r.documents['small']:,} / {r.documents['big']:,} "
            f"| {r.first_ms['small']:,.1f} / {r.first_ms['big']:,.1f} |"
        )
    return lines


def noisy_table(idle: dict[str, list[float]], busy: dict[str, list[float]]) -> list[str]:
    lines = [
        "| tenant B request | requests idle / load | idle p50 ms | idle p95 ms "
        "| load p50 ms | load p95 ms | p50 ratio | p95 ratio | ≤ 2x |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in [*idle, "all"]:
        before = [t for k, v in idle.items() for t in v if name in ("all", k)]
        during = [t for k, v in busy.items() for t in v if name in ("all", k)]
        label = f"`{name}`" if name != "all" else "both"
        if not before or not during:  # none fitted in the window
            lines.append(f"| {label} | {len(before)} / {len(during)} | | | | | | | no data |")
            continue
        p = {
            (phase, q): percentile(samples, q) * 1000
            for phase, samples in (("idle", before), ("load", during))
            for q in (50, 95)
        }
        r50, r95 = p["load", 50] / p["idle", 50], p["load", 95] / p["idle", 95]
        lines.append(
            f"| {label} | {len(before)} / {len(during)} "
            f"| {p['idle', 50]:,.1f} | {p['idle', 95]:,.1f} | {p['load', 50]:,.1f} "
            f"| {p['load', 95]:,.1f} | {r50:.2f} | {r95:.2f} "
            f"| {'yes' if max(r50, r95) <= 2 else 'no'} |"
        )
    return lines


def main(sizes: Sizes, command: str) -> None:
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.start()
        api: subprocess.Popen[bytes] | None = None
        try:
            if sizes.noisy_only:
                print("seeding tenants A and B")
            else:
                print(f"seeding (small {sizes.small_things:,}, big {sizes.big_things:,} things)")
            started = time.perf_counter()
            *tenants, a, b = asyncio.run(seed(server.uri, "bench", Path(tmp), sizes))
            seed_seconds = time.perf_counter() - started
            print(f"seeded in {seed_seconds:.0f} s; counters equal the stored documents")
            port = free_port()
            env = {
                **os.environ,
                "ONTOLOGY_MONGODB_URI": server.uri,
                "ONTOLOGY_DB_NAME": "bench",
                "ONTOLOGY_DATA_DIR": tmp,
                "ONTOLOGY_ENV": "development",
                "ONTOLOGY_LOG_LEVEL": "WARNING",
            }
            api = start_server(env, port)
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
                reads = []
                if tenants:
                    print(f"reads, median of {sizes.rounds} alternated rounds after a warm-up:")
                    reads = measure_reads(client, *tenants, sizes.rounds)
                print(f"noisy neighbour ({sizes.requests} requests of B, idle then under load):")
                idle, busy, load, load_seconds = noisy_neighbour(client, base_url, a, b, sizes)
        finally:
            if api is not None:
                api.terminate()
                api.wait(60)
            server.stop()
    wall_seconds = time.perf_counter() - wall

    def sizes_line(t: Tenant) -> str:
        c = t.counts
        return (
            f"{c['things']:,} things, {c['connections']:,} connections, {c['events']:,} events, "
            f"{c['people']:,} people, {c['knowledge']:,} knowledge; the thing read has "
            f"{c['hub inbound']:,} inbound + {c['hub outbound']:,} outbound connections "
            f"and {c['hub events']:,} events"
        )

    print()
    print(
        f"Command: `{command}` (wall time {wall_seconds:.0f} s, "
        f"of which seeding {seed_seconds:.0f} s)"
    )
    print()
    if tenants:
        small, big = tenants
        print(
            f"Reads over HTTP, one `ontology serve` (development mode), median of {sizes.rounds} "
            "alternated small/big rounds after one warm-up; target big/small ≤ 1.5. "
            "'First read' is the warm-up: the server's first run of the read in each tenant, "
            "before it has seen where the range's keys are (the tenants were seeded by this "
            "process, not through the server)."
        )
        print(f"Small tenant: {sizes_line(small)}.")
        print(f"Big tenant: {sizes_line(big)}.")
        print("`archivedEvents` is not measured (it needs an archival run first).")
        print()
        print("\n".join(reads_table(reads)))
        print()
    batch_median = statistics.median(load.batches) if load.batches else 0.0
    print(
        f"Noisy neighbour: tenant B sends {sizes.requests} single writes sequentially "
        f"(`createThing` and `logEvent` alternately, one every "
        f"{sizes.load_seconds / sizes.requests * 1000:.0f} ms or right after the previous "
        "one), first alone, then while tenant A sends `batchInsertThings` of "
        f"{BATCH:,} items back to back from another process to the same server for "
        f"{sizes.load_seconds:.0f} s "
        "(neither starts a request after that; under load B sends what fits): "
        f"{len(load.batches)} batch(es) done in {load_seconds:.0f} s (median {batch_median:.1f} s "
        "each). Target: B under load ≤ 2x idle."
    )
    print()
    print("\n".join(noisy_table(idle, busy)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--small-things", type=int, default=None, help="default 1,000 (quick 200)")
    parser.add_argument(
        "--big-things", type=int, default=None, help="default 100,000 (quick 5,000)"
    )
    parser.add_argument("--small-hub", type=int, default=50, help="the small hub's connections")
    parser.add_argument("--big-hub", type=int, default=None, help="default 5,000 (quick 500)")
    parser.add_argument("--events-variant", action="store_true", help="1,000,000 events in big")
    parser.add_argument("--rounds", type=int, default=None, help="default 5 (quick 2)")
    parser.add_argument("--load-seconds", type=float, default=None, help="default 30 (quick 5)")
    parser.add_argument("--requests", type=int, default=None, help="default 150 (quick 30)")
    parser.add_argument(
        "--noisy-only", action="store_true", help="part 2 only (no small or big tenant)"
    )
    args = parser.parse_args()
    quick = args.quick

    def pick(value: Any, full: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if quick else full)

    chosen = Sizes(
        small_things=pick(args.small_things, 1_000, 200),
        big_things=pick(args.big_things, 100_000, 5_000),
        small_hub=args.small_hub,
        big_hub=pick(args.big_hub, 5_000, 500),
        rounds=pick(args.rounds, 5, 2),
        load_seconds=pick(args.load_seconds, 30.0, 5.0),
        requests=pick(args.requests, 150, 30),
        events_variant=args.events_variant,
        noisy_only=args.noisy_only,
    )
    main(chosen, " ".join(["python", "bench/scale.py", *sys.argv[1:]]))
