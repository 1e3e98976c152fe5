"""``kill -9`` of a running ``ontology archive run`` at random moments, then a re-run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

from ontology.archival.sinks import FileSink
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.runtime import Runtime
from tests.archival.support import assert_exactly_once, raw_events, seed_events
from tests.factories import make_tenant

ONTOLOGY = str(Path(sys.executable).parent / "ontology")
KILLS = 3
EVENTS = 2000


def kill_at_a_random_moment(
    env: dict[str, str], log: Path, manifests: Collection[Any], chooser: random.Random
) -> bool:
    """Start a run, wait until it writes a manifest, kill -9 it a random moment later.

    Whether it was still running when killed.
    """
    seen = manifests.count_documents({})
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [ONTOLOGY, "archive", "run", "--group", "acme", "--json"],
            env=env,
            stdout=handle,
            stderr=handle,
        )
    # A kill inside a commit leaves a transaction open; the server aborts it once it
    # has idled for its lifetime (60 s, like mongod's transactionLifetimeLimitSeconds),
    # and until then the next run waits.
    give_up = time.monotonic() + 150
    while manifests.count_documents({}) == seen and process.poll() is None:
        assert time.monotonic() < give_up, log.read_text()[-3000:]
        time.sleep(0.02)
    time.sleep(chooser.uniform(0, 0.5))
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def run_to_the_end(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONTOLOGY, "archive", "run", "--group", "acme", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_kill_9_at_random_moments_then_a_rerun(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    # given a group with 2,000 events older than its retention, over ten days
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    start = utcnow() - timedelta(days=110)
    await seed_events(runtime, acme.id, [start + timedelta(minutes=7 * n) for n in range(EVENTS)])
    original = await raw_events(runtime, acme.id)
    archive = tmp_path / "archive"
    env = {
        **os.environ,
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": archive.as_uri(),
        "ONTOLOGY_ARCHIVE_BATCH_SIZE": "50",
        "ONTOLOGY_ARCHIVE_PAUSE_MS": "0",
    }
    chooser = random.Random(os.getpid())
    manifests = MongoClient(mongo_server.uri)[settings.db_name]["archive_manifests"]
    killed_while_running = 0
    try:
        for _ in range(KILLS):
            # when a run is killed at a random moment after it started moving events
            if kill_at_a_random_moment(env, tmp_path / "run.log", manifests, chooser):
                killed_while_running += 1
            # then every event is hot or archived, exactly once, at every kill
            await assert_exactly_once(runtime, FileSink(archive), acme.id, original)

        # when running again to the end
        rerun = run_to_the_end(env)
        assert rerun.returncode == 0, rerun.stderr
    finally:
        manifests.database.client.close()

    # then all events are archived exactly once and no manifest is left pending
    assert killed_while_running >= 1
    assert await assert_exactly_once(runtime, FileSink(archive), acme.id, original) == (0, EVENTS)
    statuses = {m["status"] async for m in runtime.database.collection("archive_manifests").find()}
    assert statuses == {"done"}
