"""The archival jobs: thin wrappers that record a run and call the archival service."""

from __future__ import annotations

import logging
import time
from typing import Any

from bson import ObjectId

from ontology.archival.models import GroupArchiveResult, RunSummary
from ontology.archival.service import BatchCallback, describe, failure_code
from ontology.db.client import Document
from ontology.jobs.runs import JobRuns
from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")

ARCHIVAL_JOB = "archival"
HEARTBEAT_SECONDS = 5.0


def result_counts(result: GroupArchiveResult) -> dict[str, Any]:
    return {
        "eventsMoved": result.events,
        "objects": result.objects,
        "bytes": result.object_bytes,
        "complete": result.complete,
    }


def summary_counts(summary: RunSummary) -> dict[str, Any]:
    return {
        "groups": len(summary.groups),
        "eventsMoved": summary.events,
        "objects": summary.objects,
        "bytes": summary.object_bytes,
        "complete": summary.complete,
    }


class ArchivalRunLog:
    """Records each group of a run: a run of one group is its own record; a run over
    all groups gets one child run per group (tenants see only their own)."""

    def __init__(self, runs: JobRuns, run: Document) -> None:
        self.runs = runs
        self.run = run
        self.beaten = time.monotonic()

    async def group_started(self, group_id: ObjectId) -> ObjectId:
        if self.run["groupId"] == group_id:
            run_id: ObjectId = self.run["_id"]
            return run_id
        child = await self.runs.start(
            ARCHIVAL_JOB, group_id, self.run["params"], parent_id=self.run["_id"]
        )
        child_id: ObjectId = child["_id"]
        return child_id

    async def batch_done(self, run_id: ObjectId, result: GroupArchiveResult) -> None:
        if time.monotonic() - self.beaten >= HEARTBEAT_SECONDS:
            self.beaten = time.monotonic()
            await self.runs.progress(run_id, result_counts(result))

    async def group_finished(
        self, run_id: ObjectId, result: GroupArchiveResult, error: BaseException | None
    ) -> None:
        if run_id == self.run["_id"]:
            return  # run_archival records the run itself
        if error is None:
            await self.runs.finish(run_id, result_counts(result))
        else:
            await self.runs.finish(
                run_id, result_counts(result), describe(error), failure_code(error)
            )


async def run_archival(
    runtime: Runtime,
    *,
    group: Document | None = None,
    older_than_days: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    run: Document | None = None,
    on_batch: BatchCallback | None = None,
) -> tuple[Document, RunSummary]:
    """Archive one group (or every group), recorded in ``job_runs``.

    A permanent error is recorded in the run and raised; the summary then
    holds what was moved before it.
    """
    runs = runtime.services.runs
    if run is None:
        params = {
            "olderThanDays": older_than_days,
            "dryRun": dry_run,
            "maxSeconds": max_seconds,
        }
        run = await runs.start(ARCHIVAL_JOB, group["_id"] if group else None, params)
    if group is not None:
        groups = [group]
    else:
        groups = [doc async for doc in runtime.repos.groups.all_for_archival()]
    summary = RunSummary(dry_run=dry_run)
    started = time.perf_counter()
    try:
        await runtime.services.archival.archive_groups(
            groups,
            ArchivalRunLog(runs, run),
            older_than_days=older_than_days,
            dry_run=dry_run,
            max_seconds=max_seconds,
            on_batch=on_batch,
            summary=summary,
        )
    except Exception as error:
        await runs.finish(run["_id"], summary_counts(summary), describe(error), failure_code(error))
        record_run(runtime, run, summary, "error", time.perf_counter() - started)
        raise
    await runs.finish(run["_id"], summary_counts(summary))
    record_run(runtime, run, summary, "ok", time.perf_counter() - started)
    return run, summary


def record_run(
    runtime: Runtime, run: Document, summary: RunSummary, outcome: str, seconds: float
) -> None:
    """The run's log line, and in /metrics its outcome, duration and what it moved."""
    log.info(
        "job run",
        extra={
            "job": ARCHIVAL_JOB,
            "runId": str(run["_id"]),
            "outcome": outcome,
            "seconds": round(seconds, 3),
            **summary_counts(summary),
        },
    )
    if not summary.dry_run:
        runtime.metrics.events_archived.inc(summary.events)
        runtime.metrics.archived_bytes.inc(summary.object_bytes)
    runtime.metrics.record_job_run(ARCHIVAL_JOB, outcome, seconds)


async def archive_on_schedule(runtime: Runtime) -> None:
    """The daily job: every group past its plan's retention."""
    await run_archival(runtime)


async def run_queued(runtime: Runtime) -> None:
    """Run what ``archiveGroupEvents`` queued, oldest first; failures are recorded, not raised."""
    while (run := await runtime.services.runs.claim_queued()) is not None:
        if run["job"] != ARCHIVAL_JOB:
            await runtime.services.runs.finish(run["_id"], {}, f"Unknown job {run['job']!r}.")
            continue
        group = await runtime.repos.groups.by_id(run["groupId"])
        if group is None:
            await runtime.services.runs.finish(run["_id"], {}, "The group no longer exists.")
            continue
        try:
            await run_archival(
                runtime,
                group=group,
                older_than_days=run["params"].get("olderThanDays"),
                run=run,
            )
        except Exception:  # recorded in the run by run_archival
            log.exception("queued archival run failed", extra={"runId": str(run["_id"])})
