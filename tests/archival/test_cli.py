"""``ontology archive run/status/list/restore`` as a user runs them: subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bson import json_util

from ontology.archival.models import EXTENDED_JSON
from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.ledger.plans import Metric
from ontology.runtime import Runtime
from tests.archival.support import raw_events, seed_events
from tests.factories import group_counts, make_tenant

ONTOLOGY = str(Path(sys.executable).parent / "ontology")


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONTOLOGY, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


async def test_run_status_list_and_restore_from_the_command_line(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    moment = (utcnow() - timedelta(days=100)).replace(hour=12, minute=0, second=0, microsecond=0)
    ids = await seed_events(runtime, acme.id, [moment, moment + timedelta(minutes=1)])
    original = await raw_events(runtime, acme.id)
    day = moment.date().isoformat()
    env = {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": (tmp_path / "archive").as_uri(),
    }

    dry = cli(env, "archive", "run", "--group", "acme", "--dry-run", "--json")
    ran = cli(env, "archive", "run", "--group", "acme", "--json")
    status = cli(env, "archive", "status", "--group", "acme", "--json")
    listed = cli(env, "archive", "list", "--group", "acme", "--from", day, "--to", day)
    restored = cli(env, "archive", "restore", "--group", "acme", "--from", day, "--to", day)
    again = cli(env, "archive", "restore", "--group", "acme", "--from", day, "--to", day)
    missing = cli(env, "archive", "status", "--group", "nope")

    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["eventsMoved"] == 2
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert (summary["groups"], summary["eventsMoved"], summary["objects"]) == (1, 2, 1)
    report = json.loads(status.stdout)
    assert report["groups"][0] | {"cutoff": None, "lastRun": None, "archivedBytes": 0} == {
        "group": "acme",
        "cutoff": None,
        "eligibleEvents": 0,
        "archivedEvents": 2,
        "archivedBytes": 0,
        "objects": 1,
        "lastRun": None,
    }
    assert report["groups"][0]["lastRun"]["id"] == summary["runId"]
    assert report["groups"][0]["lastRun"]["status"] == "succeeded"
    assert [
        json_util.loads(line, json_options=EXTENDED_JSON)["_id"]
        for line in listed.stdout.splitlines()
    ] == ids
    assert restored.stdout.strip() == "Restored 2 events from 1 objects (0 were already hot)."
    assert again.stdout.strip() == "Restored 0 events from 0 objects (0 were already hot)."
    assert await raw_events(runtime, acme.id) == original
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: No group with slug 'nope'.")


async def test_restore_past_the_storage_limit_fails_unless_forced(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    # given two archived events, then a storage limit lowered to 0 GiB
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    moment = (utcnow() - timedelta(days=100)).replace(hour=12, minute=0, second=0, microsecond=0)
    await seed_events(runtime, acme.id, [moment, moment + timedelta(minutes=1)])
    original = await raw_events(runtime, acme.id)
    archived_bytes = sum(
        [doc["sizeBytes"] async for doc in runtime.database.collection("events").find({})]
    )
    day = moment.date().isoformat()
    env = {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": (tmp_path / "archive").as_uri(),
    }
    assert cli(env, "archive", "run", "--group", "acme").returncode == 0
    assert await runtime.services.quotas.set_limit(acme.id, Metric.STORAGE_GB, 0)
    used = (await group_counts(runtime, acme.id))["storageBytes"]

    # when it is restored without --force, then it fails and restores nothing
    refused = cli(env, "archive", "restore", "--group", "acme", "--from", day, "--to", day)
    assert (refused.returncode, refused.stdout, refused.stderr.strip()) == (
        1,
        "",
        f"error: Quota exceeded for storage_gb: {used} used, {archived_bytes} requested, "
        "limit 0, 0 available. Nothing was restored; --force restores past the limit.",
    )
    # (the only hot events are the limit's quota_alert and the refusal's own record)
    assert [doc["type"] async for doc in runtime.database.collection("events").find({})] == [
        "quota_alert",
        "quota_exceeded",
    ]

    # when it is restored with --force, then the events are back
    forced = cli(
        env, "archive", "restore", "--group", "acme", "--from", day, "--to", day, "--force"
    )
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip() == "Restored 2 events from 1 objects (0 were already hot)."
    restored = await raw_events(runtime, acme.id)
    assert {k: v for k, v in restored.items() if k in original} == original
