"""The weekly counter check: recounts every group's counters and reports drift.

It repairs nothing: a drift means a bug or a hand edit, which an operator
should look at before ``ontology counters check --repair`` corrects it. What it
found goes to the log (one warning per group with drift, from the service), to
``/metrics`` (``ontology_counter_drifts``, ``ontology_counter_drift_groups``) and
to the run's ``job_runs`` record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from ontology.counters.service import GroupCheck
from ontology.jobs.registry import JobReport, job, recorded_run

if TYPE_CHECKING:
    from ontology.runtime import Runtime

COUNTERS_JOB = "counters"


async def check_counters(runtime: Runtime) -> list[GroupCheck]:
    """Recount every group's counters, recorded in ``job_runs``; the checks."""
    async with recorded_run(runtime, COUNTERS_JOB) as run:
        checked = await runtime.services.counter_check.check()
        drifted = [c for c in checked if c.drifts]
        counts = {
            "groups": len(checked),
            "groupsWithDrift": len(drifted),
            "drifts": sum(len(c.drifts) for c in checked),
        }
        runtime.metrics.set_counter_drift(counts["groupsWithDrift"], counts["drifts"])
        run.counts = {**counts, "drifted": [c.slug for c in drifted[:100]]}
    return checked


@job(
    COUNTERS_JOB,
    # weekly, Sunday 03:00 UTC; report only: a missed week is not caught up
    trigger=lambda settings: CronTrigger(day_of_week="sun", hour=3, minute=0, timezone=UTC),
    describe=lambda r: (
        f"counters: {r['groups']} groups, {r['drifts']} drifts in "
        f"{r['groupsWithDrift']} groups, {r['seconds']} s"
    ),
)
async def counters_job(runtime: Runtime, options: Mapping[str, Any]) -> JobReport:
    """Recount every group's counters and report drift (no repair)."""
    checked = await check_counters(runtime)
    return {
        "groups": len(checked),
        "groupsWithDrift": sum(1 for c in checked if c.drifts),
        "drifts": sum(len(c.drifts) for c in checked),
    }
