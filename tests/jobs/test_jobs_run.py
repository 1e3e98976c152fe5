"""``ontology jobs run <name>`` as the units in ``jobs/`` run it: once, under the job's lease."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from ontology.config import Settings
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.kit.clock import utcnow
from ontology.runtime import Runtime
from tests.archival.support import raw_events, seed_events
from tests.archival.test_cli import cli
from tests.factories import make_tenant


async def test_a_job_runs_once_and_skips_while_another_process_holds_its_lease(
    runtime: Runtime, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    await seed_events(runtime, acme.id, [utcnow() - timedelta(days=100)] * 3)
    env = {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": (tmp_path / "archive").as_uri(),
    }

    # when cron runs the daily archival
    ran = cli(env, "jobs", "run", "archival", "--json")

    # then it archived every group within its budget, and released the job's lease
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert {k: result[k] for k in ("job", "status", "continuedBy", "groups", "eventsMoved")} == {
        "job": "archival",
        "status": "succeeded",
        "continuedBy": None,
        "groups": 1,
        "eventsMoved": 3,
    }
    assert await raw_events(runtime, acme.id) == {}
    lease = await runtime.repos.leases.get("job:archival")
    assert lease is not None and lease["expiresAt"] <= utcnow()

    # when another process holds the job's lease (a run on another host)
    await runtime.database.collection("leases").update_one(
        {"_id": "job:archival"},
        {"$set": {"owner": "elsewhere:1", "expiresAt": utcnow() + timedelta(minutes=5)}},
    )
    skipped = cli(env, "jobs", "run", "archival", "--json")
    queued = cli(env, "jobs", "run", "queued-runs", "--json")

    # then this copy does nothing and exits 0; other jobs are not held by it
    assert skipped.returncode == 0, skipped.stderr
    assert json.loads(skipped.stdout) == {
        "job": "archival",
        "skipped": True,
        "heldBy": "elsewhere:1",
    }
    assert await runtime.services.runs.latest(None, "archival") is not None
    assert queued.returncode == 0, queued.stderr
    assert {k: v for k, v in json.loads(queued.stdout).items() if k != "seconds"} == {
        "job": "queued-runs",
        "runs": 0,
    }
