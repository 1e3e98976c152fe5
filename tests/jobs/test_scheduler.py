"""Two ``ontology scheduler`` processes: one runs the jobs; kill it and the other takes over."""

from __future__ import annotations

import json
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


def scheduler_env(
    settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path, archive_cron: str
) -> dict[str, str]:
    """Settings of scheduler processes on the test database: short lease, quick polls."""
    return {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": (tmp_path / "archive").as_uri(),
        "ONTOLOGY_LEASE_SECONDS": str(LEASE_SECONDS),
        "ONTOLOGY_SCHEDULER_POLL_SECONDS": "0.2",
        "ONTOLOGY_ARCHIVE_PAUSE_MS": "0",
        "ONTOLOGY_LOG_LEVEL": "INFO",
        "ONTOLOGY_ARCHIVE_CRON": archive_cron,
    }


async def test_only_the_lease_holder_runs_jobs_and_a_survivor_takes_over(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    # given a group with old events and two scheduler processes on the same database
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 3)
    # the daily run's last fire 12 hours ago, beyond the catch-up grace (6 hours): a
    # process taking the lease over must not archive before the queued runs do
    env = scheduler_env(settings, mongo_server, tmp_path, f"0 {(utcnow().hour + 12) % 24} * * *")
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


def lease_lines(log: Path) -> list[dict[str, Any]]:
    """The scheduler's "took the scheduler lease" log lines (JSON)."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("message") == "took the scheduler lease"]


async def test_a_daily_run_missed_while_no_process_ran_is_caught_up_once_at_the_take_over(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    # given a group with old events, and the daily archival due an hour ago (inside the
    # six hours' grace) with no run of it recorded: no scheduler was running then
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    other = await make_tenant(runtime, "other", Plan.STARTER)
    await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 3)
    due = utcnow() - timedelta(hours=1)
    env = scheduler_env(settings, mongo_server, tmp_path, f"{due.minute} {due.hour} * * *")
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_server.uri, tz_aware=True)
    db = client[settings.db_name]
    processes: list[subprocess.Popen[bytes]] = []

    def scheduled_runs() -> list[dict[str, Any]]:
        return list(db.job_runs.find({"job": "archival", "groupId": None}))

    try:
        # when a scheduler starts, it takes the lease and runs the missed day's archival
        first_log = tmp_path / "first.log"
        processes.append(start_scheduler(env, first_log))
        assert wait_for(lambda: lease_lines(first_log), "the first lease")[0]["caughtUp"] == [
            "archival",
            "snapshots",
        ]
        wait_for(
            lambda: [r for r in scheduled_runs() if r["status"] == "succeeded"], "the caught-up run"
        )
        assert [r["counts"]["eventsMoved"] for r in scheduled_runs()] == [3]
        assert await raw_events(runtime, acme.id) == {}

        # when it dies and another scheduler takes over (with new old events waiting)
        await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 2)
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait()
        second_log = tmp_path / "second.log"
        processes.append(start_scheduler(env, second_log))

        # then it does not run that day's archival again: its run is recorded already
        # (the hourly snapshots may be due again if an hour turned meanwhile)
        taken = wait_for(lambda: lease_lines(second_log), "the take-over")[0]
        assert "archival" not in taken["caughtUp"]
        # (a queued run completing shows the survivor is running jobs)
        queued = await runtime.services.runs.queue("archival", other.id, {})
        wait_for(
            lambda: db.job_runs.find_one({"_id": queued["_id"], "status": "succeeded"}),
            "the queued run",
        )
        assert [r["counts"]["eventsMoved"] for r in scheduled_runs()] == [3]
        assert len(await raw_events(runtime, acme.id)) == 2
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        client.close()
