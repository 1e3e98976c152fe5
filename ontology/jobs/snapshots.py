"""The snapshot roll-up job: rolls closed hours and days of counters up into snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from ontology.db.client import Document
from ontology.jobs.registry import JobReport, job, recorded_run
from ontology.kit.clock import utcnow
from ontology.metrics.service import RollUpSummary

if TYPE_CHECKING:
    from ontology.runtime import Runtime

SNAPSHOTS_JOB = "snapshots"


async def roll_up_snapshots(
    runtime: Runtime, since: datetime | None = None
) -> tuple[Document, RollUpSummary]:
    """Roll closed hours and days up into snapshots for every group, recorded in ``job_runs``."""
    async with recorded_run(runtime, SNAPSHOTS_JOB, params={"since": since}) as run:
        summary = await runtime.services.metrics.roll_up(utcnow(), since)
        run.counts = {
            "groups": summary.groups,
            "hourlySnapshots": summary.hourly,
            "dailySnapshots": summary.daily,
        }
    return run.document, summary


@job(
    SNAPSHOTS_JOB,
    # a few minutes past the hour, once the hour has closed
    trigger=lambda settings: CronTrigger(minute=5, timezone=UTC),
    describe=lambda r: (
        f"snapshots: {r['groups']} groups, {r['hourlySnapshots']} hourly and "
        f"{r['dailySnapshots']} daily snapshots in {r['seconds']} s"
    ),
    catch_up=True,
)
async def snapshots_job(runtime: Runtime, options: Mapping[str, Any]) -> JobReport:
    """Roll counters up into hourly and daily snapshots.

    ``since`` re-rolls from that UTC time (default: the start of yesterday; hour
    counters are kept 8 days, day counters 35).
    """
    run, rolled = await roll_up_snapshots(runtime, options.get("since"))
    return {
        "runId": str(run["_id"]),
        "groups": rolled.groups,
        "hourlySnapshots": rolled.hourly,
        "dailySnapshots": rolled.daily,
    }
