"""Writes that scale (issue #16): one tenant's writers across two API processes.

Starts its own embedded database and two ``ontology serve --no-scheduler``
processes on it, then measures, over HTTP, for each ``ONTOLOGY_GROUP_COMMIT_MAX``
given (default ``1`` — every write in a transaction of its own, as before group
commit — and ``64``, the default), side by side in one run:

- part 1, throughput: 1, 4 and 16 writers (``--writers``) of one tenant, half on
  each process, each sending ``logEvent`` back to back for ``--seconds``
  (default 15): events/s in all, p50/p95/p99 ms, and the ratio to one writer
  (target: 16 writers >= 4x one writer, p99 <= 500 ms);
- part 2, a batch and single writes of the same tenant: one client imports
  ``batchInsertThings`` of ``--batch`` (default 10,000) items back to back on
  process 1 while one writer sends ``logEvent`` and ``createThing`` in turn on
  process 2: the single writes' p50/p95 against the same writer idle (target:
  p95 <= 500 ms);
- part 3, the quota race: a fresh tenant allowed ``--limit`` things (default
  300); 32 writers across both processes create things (half single writes, half
  batches of 10) until refused: things stored must equal the limit exactly;
- at the end, every tenant's counters are compared with counts of the stored
  documents.

Prints Markdown tables and the command line. Exit status 0 whether or not the
targets are met (it is a measurement); 1 if something failed or a count is wrong.

Run: python bench/concurrency.py [--quick] [--seconds S] [--writers 1,4,16] [--coalesce 1,64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bson import ObjectId
from pymongo import MongoClient

from bench.scale import ONTOLOGY, percentile, start_server
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer, free_port
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.ledger.plans import Metric
from ontology.runtime import open_runtime

LOG = "mutation($t: String!) { logEvent(input: {type: $t}) { event { id } errors { code } } }"
CREATE = (
    'mutation($n: String!) { createThing(input: {type: "creator", name: $n}) '
    "{ thing { id } errors { code } } }"
)
BATCH = (
    "mutation($items: [CreateThingInput!]!) { batchInsertThings(input: {things: $items}) "
    "{ summary { succeeded } errors { code } } }"
)
TIMEOUT = 300.0


@dataclass
class Tenant:
    slug: str
    group_id: ObjectId
    key: str


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)


def call(client: httpx.Client, key: str, query: str, variables: dict[str, Any]) -> Any:
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(str(body)[:300])
    return body["data"]


def writer(base_url: str, key: str, until: float, samples: Samples, single: str = "log") -> None:
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            started = time.perf_counter()
            try:
                if single == "log" or (single == "mixed" and n % 2):
                    data = call(client, key, LOG, {"t": "content_event"})
                    errors = data["logEvent"]["errors"]
                else:
                    data = call(client, key, CREATE, {"n": f"w{threading.get_ident()}-{n}"})
                    errors = data["createThing"]["errors"]
            except Exception as error:
                samples.failures.append(str(error))
                continue
            if errors:
                samples.failures.append(str(errors))
                continue
            samples.add(time.perf_counter() - started)


def throughput(urls: list[str], key: str, writers: int, seconds: float) -> dict[str, float]:
    samples = Samples()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=writer, args=(urls[i % len(urls)], key, until, samples))
        for i in range(writers)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if samples.failures:
        raise RuntimeError(f"{len(samples.failures)} writes failed: {samples.failures[:3]}")
    ms = [s * 1000 for s in samples.latencies]
    return {
        "writes": len(ms),
        "per_second": len(ms) / elapsed,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
    }


def with_batches(urls: list[str], key: str, seconds: float, batch: int) -> dict[str, float]:
    """Single writes on process 2 while process 1 imports batches of the same tenant."""
    stop = time.monotonic() + seconds
    imported = [0]

    def importer() -> None:
        with httpx.Client(base_url=urls[0], timeout=TIMEOUT) as client:
            n = 0
            while time.monotonic() < stop:
                n += 1
                items = [{"type": "creator", "name": f"b{n}-{i}"} for i in range(batch)]
                data = call(client, key, BATCH, {"items": items})
                imported[0] += data["batchInsertThings"]["summary"]["succeeded"]

    samples = Samples()
    thread = threading.Thread(target=importer)
    thread.start()
    time.sleep(1.0)  # the first batch is under way
    writer(urls[-1], key, stop, samples, single="mixed")
    thread.join()
    if samples.failures:
        raise RuntimeError(f"{len(samples.failures)} writes failed: {samples.failures[:3]}")
    ms = [s * 1000 for s in samples.latencies]
    return {
        "writes": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "imported": imported[0],
    }


def quota_race(urls: list[str], key: str, writers: int) -> dict[str, int]:
    created = [0]
    refused = [0]
    lock = threading.Lock()

    def race(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=TIMEOUT) as client:
            n = 0
            while True:
                n += 1
                if i % 2:
                    items = [{"type": "creator", "name": f"q{i}-{n}-{j}"} for j in range(10)]
                    data = call(client, key, BATCH, {"items": items})["batchInsertThings"]
                    made, errors = data["summary"]["succeeded"], data["errors"]
                else:
                    data = call(client, key, CREATE, {"n": f"q{i}-{n}"})["createThing"]
                    made, errors = (0 if data["errors"] else 1), data["errors"]
                with lock:
                    created[0] += made
                if errors:
                    assert {e["code"] for e in errors} == {"QUOTA_EXCEEDED"}, errors
                    with lock:
                        refused[0] += 1
                    return

    threads = [threading.Thread(target=race, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"created": created[0], "refusals": refused[0]}


async def make_tenant(uri: str, db: str, data_dir: Path, slug: str, limit: int | None) -> Tenant:
    settings = Settings(mongodb_uri=uri, db_name=db, data_dir=data_dir, log_level="WARNING")
    async with open_runtime(settings) as runtime:
        group = await runtime.services.groups.create(slug=slug, name=slug, plan=Plan.ENTERPRISE)
        if limit is not None:
            await runtime.services.quotas.set_limit(group["_id"], Metric.ENTITIES_TOTAL, limit)
        _, secret = await runtime.services.keys.create(group["_id"], Role.ORG_USER)
    return Tenant(slug, group["_id"], secret)


def check_counts(uri: str, db: str, tenant: Tenant) -> dict[str, int]:
    """The group's counters against counts of the stored documents (must be equal)."""
    with MongoClient(uri) as client:
        database = client[db]
        group = database.groups.find_one({"_id": tenant.group_id}) or {}
        counts = group.get("counts", {})
        stored = {
            "things": database.things.count_documents(
                {"groupId": tenant.group_id, "deletedAt": None}
            ),
            "events": database.events.count_documents({"groupId": tenant.group_id}),
        }
    counted = {"things": counts.get("things", 0), "events": counts.get("events", 0)}
    if counted != stored:
        raise RuntimeError(f"{tenant.slug}: counters {counted} != stored {stored}")
    return stored


def run(args: argparse.Namespace, coalesce: int, tmp: Path, uri: str) -> dict[str, Any]:
    db = f"bench{coalesce}"
    data_dir = tmp / db
    data_dir.mkdir()
    env = {
        **os.environ,
        "ONTOLOGY_MONGODB_URI": uri,
        "ONTOLOGY_DB_NAME": db,
        "ONTOLOGY_DATA_DIR": str(data_dir),
        "ONTOLOGY_ENV": "development",
        "ONTOLOGY_LOG_LEVEL": "WARNING",
        "ONTOLOGY_GROUP_COMMIT_MAX": str(coalesce),
        # the bench measures the write path, not the per-key limits
        "ONTOLOGY_RATE_LIMIT_PER_KEY": "0",
        "ONTOLOGY_RATE_LIMIT_PER_GROUP": "0",
        "ONTOLOGY_BATCH_CONCURRENCY_PER_GROUP": "0",
    }
    tenant = asyncio.run(make_tenant(uri, db, data_dir, "writers", None))
    racer = asyncio.run(make_tenant(uri, db, data_dir, "racer", args.limit))
    ports = [free_port(), free_port()]
    servers = [start_server(env, port) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    result: dict[str, Any] = {"coalesce": coalesce}
    try:
        for writers in args.writers:
            result[f"w{writers}"] = throughput(urls, tenant.key, writers, args.seconds)
            print(f"  {coalesce=}: {writers} writers {result[f'w{writers}']}", flush=True)
        result["idle"] = throughput(urls[-1:], tenant.key, 1, min(args.seconds, 10))
        result["batch"] = with_batches(urls, tenant.key, args.seconds, args.batch)
        print(f"  {coalesce=}: with batches {result['batch']}", flush=True)
        result["race"] = quota_race(urls, racer.key, 32)
        print(f"  {coalesce=}: quota race {result['race']}", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait(60)
    result["stored"] = check_counts(uri, db, tenant)
    result["race_stored"] = check_counts(uri, db, racer)["things"]
    return result


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
        server = EmbeddedServer(Path(tmp))
        server.start()
        try:
            results = [run(args, c, Path(tmp), server.uri) for c in args.coalesce]
        finally:
            server.stop()
    print()
    print(f"`python bench/concurrency.py {' '.join(sys.argv[1:])}`".replace(" `", "`"))
    print()
    print("| group commit max | writers | events/s | x one writer | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        one = r[f"w{args.writers[0]}"]["per_second"]
        for writers in args.writers:
            w = r[f"w{writers}"]
            print(
                f"| {r['coalesce']} | {writers} | {w['per_second']:.0f} | "
                f"{w['per_second'] / one:.1f} | {w['p50']:.0f} | {w['p95']:.0f} | {w['p99']:.0f} |"
            )
    print()
    print(
        "| group commit max | single writes idle p50 / p95 ms | during batches of "
        f"{args.batch:,} p50 / p95 ms | items imported meanwhile |"
    )
    print("|---|---|---|---|")
    for r in results:
        idle, busy = r["idle"], r["batch"]
        print(
            f"| {r['coalesce']} | {idle['p50']:.0f} / {idle['p95']:.0f} | "
            f"{busy['p50']:.0f} / {busy['p95']:.0f} | {busy['imported']:,} |"
        )
    print()
    print("| group commit max | quota limit | things stored | over the limit | refusals |")
    print("|---|---|---|---|---|")
    failed = False
    for r in results:
        over = r["race_stored"] - args.limit
        failed = failed or over != 0
        print(
            f"| {r['coalesce']} | {args.limit} | {r['race_stored']} | {over} | "
            f"{r['race']['refusals']} |"
        )
    print()
    print("Counters equal the stored documents in every tenant of every run.")
    if failed:
        sys.exit(1)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s runs, batches of 2,000")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--coalesce", default="1,64")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args()
    args.writers = [int(w) for w in args.writers.split(",")]
    args.coalesce = [int(c) for c in args.coalesce.split(",")]
    args.seconds = args.seconds or (5.0 if args.quick else 15.0)
    args.batch = args.batch or (2_000 if args.quick else 10_000)
    return args


if __name__ == "__main__":
    assert Path(ONTOLOGY).exists(), ONTOLOGY
    main(parse())
