"""The snapshot roll-up job: a thin wrapper that records the run and calls the metrics service."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.metrics.service import RollUpSummary
from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")

SNAPSHOTS_JOB = "snapshots"


async def roll_up_snapshots(
    runtime: Runtime, since: datetime | None = None
) -> tuple[Document, RollUpSummary]:
    """Roll closed hours and days up into snapshots for every group, recorded in ``job_runs``."""
    runs = runtime.services.runs
    run = await runs.start(SNAPSHOTS_JOB, None, {"since": since})
    started = time.perf_counter()
    try:
        summary = await runtime.services.metrics.roll_up(utcnow(), since)
    except Exception as error:
        seconds = time.perf_counter() - started
        await runs.finish(run["_id"], {}, f"{type(error).__name__}: {error}")
        runtime.metrics.record_job_run(SNAPSHOTS_JOB, "error", seconds)
        log.exception("job run", extra={"job": SNAPSHOTS_JOB, "outcome": "error"})
        raise
    seconds = time.perf_counter() - started
    counts = {
        "groups": summary.groups,
        "hourlySnapshots": summary.hourly,
        "dailySnapshots": summary.daily,
    }
    await runs.finish(run["_id"], counts)
    runtime.metrics.record_job_run(SNAPSHOTS_JOB, "ok", seconds)
    log.info(
        "job run",
        extra={"job": SNAPSHOTS_JOB, "outcome": "ok", "seconds": round(seconds, 3), **counts},
    )
    return run, summary


async def snapshots_on_schedule(runtime: Runtime) -> None:
    """The hourly job (a few minutes past the hour, once the hour has closed)."""
    await roll_up_snapshots(runtime)
