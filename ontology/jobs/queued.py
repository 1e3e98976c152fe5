"""The queued-runs poller: runs what was queued in ``job_runs``, by the job that queued it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from ontology.jobs.registry import JobReport, job, registered
from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")


async def run_queued(runtime: Runtime) -> int:
    """Run the queued runs, oldest first, each by its job's ``resume`` (a run's budget
    ending may queue its follow-up, which this loop picks up in turn); failures are
    recorded in the runs, not raised. Returns how many runs it claimed."""
    resumes = {spec.id: spec.resume for spec in registered() if spec.resume is not None}
    claimed = 0
    while (run := await runtime.services.runs.claim_queued()) is not None:
        claimed += 1
        resume = resumes.get(run["job"])
        if resume is None:
            await runtime.services.runs.finish(run["_id"], {}, f"Unknown job {run['job']!r}.")
            continue
        try:
            await resume(runtime, run)
        except Exception:  # recorded in the run by the job
            log.exception("queued run failed", extra={"job": run["job"], "runId": str(run["_id"])})
    return claimed


@job(
    "queued-runs",
    trigger=lambda settings: IntervalTrigger(seconds=settings.scheduler_poll_seconds, timezone=UTC),
    describe=lambda r: f"queued-runs: {r['runs']} runs in {r['seconds']} s",
    misfire_grace_seconds=None,
)
async def queued_runs_job(runtime: Runtime, options: Mapping[str, Any]) -> JobReport:
    """Run the archival runs queued by archiveGroupEvents or by a run whose budget ended."""
    return {"runs": await run_queued(runtime)}
