"""Two ``ontology scheduler`` processes: one runs the jobs; kill it and the other takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.runtime import Runtime
from tests.archival.support import raw_events, seed_events
from tests.factories import make_tenant

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
LEASE_SECONDS = 2.0
WAIT_LIMIT = 60.0


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    """Poll until ``condition()`` is truthy (a safety limit, not a timing assertion)."""
    give_up = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < give_up:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def start_scheduler(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [ONTOLOGY, "scheduler"], env={**os.environ, **env}, stdout=handle, stderr=handle
        )


async def test_only_the_lease_holder_runs_jobs_and_a_survivor_takes_over(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    # given a group with old events and two scheduler processes on the same database
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 3)
    env = {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": (tmp_path / "archive").as_uri(),
        "ONTOLOGY_LEASE_SECONDS": str(LEASE_SECONDS),
        "ONTOLOGY_SCHEDULER_POLL_SECONDS": "0.2",
        "ONTOLOGY_ARCHIVE_PAUSE_MS": "0",
    }
    processes = [start_scheduler(env, tmp_path / f"scheduler-{n}.log") for n in range(2)]
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_server.uri, tz_aware=True)
    db = client[settings.db_name]
    try:
        pids = {p.pid: p for p in processes}

        def holder() -> int | None:
            lease = db.leases.find_one({"_id": "scheduler"})
            if lease is None or lease["expiresAt"] < utcnow():
                return None
            pid = int(lease["owner"].rsplit(":", 1)[1])
            return pid if pid in pids else None

        first_pid = wait_for(holder, "a lease holder")

        # when a run is queued, then the holder runs it
        first_run = await runtime.services.runs.queue("archival", acme.id, {})
        done = wait_for(
            lambda: db.job_runs.find_one({"_id": first_run["_id"], "status": "succeeded"}),
            "the first run",
        )
        assert int(done["owner"].rsplit(":", 1)[1]) == first_pid
        assert done["counts"]["eventsMoved"] == 3
        assert await raw_events(runtime, acme.id) == {}

        # when the holder is killed
        pids[first_pid].send_signal(signal.SIGKILL)
        pids[first_pid].wait()
        survivor = next(pid for pid in pids if pid != first_pid)

        # then the survivor takes the lease over and runs what is queued next
        assert wait_for(lambda: holder() == survivor, "the take-over")
        await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 2)
        second_run = await runtime.services.runs.queue("archival", acme.id, {})
        done = wait_for(
            lambda: db.job_runs.find_one({"_id": second_run["_id"], "status": "succeeded"}),
            "the second run",
        )
        assert int(done["owner"].rsplit(":", 1)[1]) == survivor
        assert done["counts"]["eventsMoved"] == 2

        # and it stops cleanly on SIGTERM, releasing the lease
        pids[survivor].send_signal(signal.SIGTERM)
        assert pids[survivor].wait(timeout=30) == 0
        assert holder() is None
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        client.close()
