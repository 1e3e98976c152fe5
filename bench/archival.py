"""Archival throughput and memory against a raw baseline, side by side in one run.

Starts its own embedded database and a moto S3 server on loopback. For each sink
(file, S3) and each size (default 20,000 and 200,000 events of one group, all
older than its retention):

- baseline: one cursor over the same events in the same order, the same gzip
  JSON Lines objects written, no manifests, no verification, no deletes;
- baseline + deletes: the same on a second group seeded alike, each batch then
  deleted from the hot collection by its key range in a transaction, as the
  job does: the least any archival that deletes what it moved must do here;
- archival: ``ontology archive run --group bench`` as a subprocess (manifests,
  create-only writes, HEAD verification, one delete transaction per batch);
  its peak resident memory comes from ``wait4``.

Prints events/s of all three, the ratio of archival to the baseline (target
>= 0.5) and to baseline + deletes, and the job's peak memory at both sizes
(target: within 50 MB of each other).

Run: python bench/archival.py [--events 200000] [--small 20000] [--sinks file,s3]
     [--mongodb-uri mongodb://host/?replicaSet=rs0]  (another server than the embedded one)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ontology.archival.models import encode_events, object_key
from ontology.archival.sinks import FileSink, S3Sink, Sink, s3_client
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer, free_port
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.runtime import Runtime, open_runtime

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
BATCH = 1000


async def seed(runtime: Runtime, events: int, slug: str = "bench") -> Any:
    group = await runtime.services.groups.create(slug=slug, name=slug.title(), plan=Plan.STARTER)
    start = utcnow() - timedelta(days=200)
    step = timedelta(days=60) / events
    events_collection = runtime.database.collection("events")
    for offset in range(0, events, 10_000):
        chunk = [
            new_event(
                group["_id"],
                "content_event",
                timestamp=start + step * n,
                metadata={"n": n, "source": "bench", "amount": 12.5},
            )
            for n in range(offset, min(events, offset + 10_000))
        ]
        await events_collection.insert_many(chunk, ordered=False)
        delta = CountDelta().logged(chunk)
        await runtime.repos.accounts.apply_counts(group["_id"], delta)
    return group


async def baseline(
    runtime: Runtime, group: Any, sink: Sink, *, delete: bool = False
) -> tuple[int, float]:
    """Read with one cursor, write the same objects: no manifests, verification or deletes
    (with ``delete``: then delete each batch by its sortKey range, in a transaction)."""
    cutoff = utcnow() - timedelta(days=90)
    run_id = uuid.uuid4().hex[:24]
    started = time.perf_counter()
    cursor = runtime.repos.events.stream_older_than(group["_id"], cutoff, BATCH)
    batch: list[Any] = []
    seq = moved = 0
    events = runtime.database.collection("events")

    async def flush() -> None:
        nonlocal seq, moved, batch
        day = batch[0]["timestamp"].date()
        key = "baseline/" + object_key(group["_id"], day, run_id, seq)  # type: ignore[arg-type]
        data = encode_events(batch)
        if isinstance(sink, FileSink):
            path = sink.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(path.write_bytes, data)
        else:
            assert isinstance(sink, S3Sink)
            await asyncio.to_thread(
                sink.client.put_object, Bucket=sink.bucket, Key=sink.prefix + key, Body=data
            )
        if delete:
            query = {
                "groupId": group["_id"],
                "sortKey": {"$gte": batch[0]["sortKey"], "$lte": batch[-1]["sortKey"]},
            }

            async def work(session: Any) -> int:
                result = await events.delete_many(query, session=session)
                return result.deleted_count

            assert await runtime.database.in_transaction(work) == len(batch)
        moved += len(batch)
        seq += 1
        batch = []

    async for event in cursor:
        if batch and (
            len(batch) >= BATCH or event["timestamp"].date() != batch[0]["timestamp"].date()
        ):
            await flush()
        batch.append(event)
    if batch:
        await flush()
    return moved, time.perf_counter() - started


def archive_subprocess(env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, stdout) of ``ontology archive run`` on the bench group."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [ONTOLOGY, "archive", "run", "--group", "bench", "--json"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = process.communicate()
    _, status, usage = os.wait4(process.pid, 0) if process.returncode is None else (0, 0, None)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(err.decode()[-2000:])
    del status
    peak = (usage.ru_maxrss if usage else _children_maxrss()) / 1024
    return seconds, peak, out.decode()


def _children_maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


async def measure(
    mongodb_uri: str, kind: str, events: int, s3_endpoint: str, tmp: Path
) -> dict[str, Any]:
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    archive_url = (tmp / db_name).as_uri() if kind == "file" else f"s3://{bucket}/cold"
    settings = Settings(
        mongodb_uri=mongodb_uri,
        db_name=db_name,
        data_dir=tmp,
        archive_url=archive_url,
        s3_endpoint_url=s3_endpoint,
        log_level="WARNING",
    )
    if kind == "s3":
        s3_client(settings).create_bucket(Bucket=bucket)
    async with open_runtime(settings) as runtime:
        seeded = time.perf_counter()
        group = await seed(runtime, events)
        floor_group = await seed(runtime, events, "floor")
        seed_seconds = time.perf_counter() - seeded
        sink = runtime.services.archival.sink()
        moved, base_seconds = await baseline(runtime, group, sink)
        assert moved == events, (moved, events)
        moved, floor_seconds = await baseline(runtime, floor_group, sink, delete=True)
        assert moved == events, (moved, events)
    env = {
        "ONTOLOGY_MONGODB_URI": mongodb_uri,
        "ONTOLOGY_DB_NAME": db_name,
        "ONTOLOGY_ARCHIVE_URL": archive_url,
        "ONTOLOGY_S3_ENDPOINT_URL": s3_endpoint,
        "ONTOLOGY_ARCHIVE_PAUSE_MS": "0",
        "ONTOLOGY_LOG_LEVEL": "WARNING",
    }
    seconds, peak, out = archive_subprocess(env)
    assert f'"eventsMoved": {events}' in out, out
    return {
        "sink": kind,
        "events": events,
        "seed_s": seed_seconds,
        "baseline_eps": events / base_seconds,
        "floor_eps": events / floor_seconds,
        "archival_eps": events / seconds,
        "archival_s": seconds,
        "peak_mib": peak,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--sinks", default="file,s3")
    parser.add_argument(
        "--mongodb-uri",
        help="measure on this MongoDB (a replica set) instead of an embedded server",
    )
    args = parser.parse_args()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="ontology-bench-") as tmp:
            server = None if args.mongodb_uri else EmbeddedServer(Path(tmp) / "db")
            if server is not None:
                server.start()
            uri = args.mongodb_uri or server.uri  # type: ignore[union-attr]
            try:
                for kind in args.sinks.split(","):
                    for events in (args.small, args.events):
                        row = await measure(
                            uri, kind, events, f"http://127.0.0.1:{port}", Path(tmp)
                        )
                        rows.append(row)
                        print(
                            f"{kind:4} {events:>7} events: baseline {row['baseline_eps']:>8.0f}/s, "
                            f"baseline + deletes {row['floor_eps']:>7.0f}/s, "
                            f"archival {row['archival_eps']:>7.0f}/s "
                            f"({row['archival_s']:.1f} s); ratio to baseline "
                            f"{row['archival_eps'] / row['baseline_eps']:.2f}, "
                            f"to baseline + deletes "
                            f"{row['archival_eps'] / row['floor_eps']:.2f}; "
                            f"job peak RSS {row['peak_mib']:.0f} MiB "
                            f"(seeding both groups took {row['seed_s']:.1f} s)",
                            flush=True,
                        )
            finally:
                if server is not None:
                    server.stop()
    finally:
        moto.stop()
    for kind in args.sinks.split(","):
        small, large = [r for r in rows if r["sink"] == kind]
        print(
            f"{kind}: peak memory {small['peak_mib']:.0f} MiB at {small['events']} vs "
            f"{large['peak_mib']:.0f} MiB at {large['events']} events "
            f"(difference {large['peak_mib'] - small['peak_mib']:.0f} MiB; target < 50)"
        )


if __name__ == "__main__":
    asyncio.run(main())
