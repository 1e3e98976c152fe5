"""The archival job: records each run (and each group's) and calls the archival service."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from bson import ObjectId
from pymongo.errors import PyMongoError

from ontology.archival.models import GroupArchiveResult, RunSummary
from ontology.archival.service import BatchCallback, describe, failure_code
from ontology.db.client import Document
from ontology.jobs.registry import JobReport, RecordedRun, job, recorded_run
from ontology.ledger.documents import GroupPlan
from ontology.runs.service import JobRuns, RunStatus
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
            if run_id != self.run["_id"]:
                await self.runs.beat(self.run["_id"])

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


def plan_groups(groups: Sequence[GroupPlan], resume: Document | None) -> list[GroupPlan]:
    """The groups a run archives, in order, from every group in ``_id`` order.

    A fresh run takes every group. A run that continues a chain (``resume``, see
    ``next_resume``) takes the groups after ``after`` that its predecessors never
    reached (when ``forward``), then the ``then`` groups: those a predecessor's
    time budget ended inside, and those it did not reach of its own ``then``.
    """
    if resume is None:
        return list(groups)
    then_ids: list[ObjectId] = list(resume.get("then") or [])
    by_id = {g["_id"]: g for g in groups}
    forward: list[GroupPlan] = []
    if resume.get("forward"):
        after = resume.get("after")
        forward = [
            g for g in groups if (after is None or g["_id"] > after) and g["_id"] not in then_ids
        ]
    return forward + [by_id[i] for i in then_ids if i in by_id]


def next_resume(
    plan: Sequence[GroupPlan], resume: Document | None, summary: RunSummary
) -> Document:
    """Where the run that follows this one goes on (its ``params.resume``).

    ``plan`` is ``plan_groups``' answer for this run; the run started a prefix of
    it, and the last group it started may be incomplete (its budget ended inside).
    """
    then_before = set(resume.get("then") or []) if resume else set()
    forward = [g["_id"] for g in plan if g["_id"] not in then_before]
    unreached = set(summary.unreached)
    forward_left = [i for i in forward if i in unreached]
    then_left = [g["_id"] for g in plan if g["_id"] in then_before and g["_id"] in unreached]
    incomplete = [g.group_id for g in summary.groups if not g.complete and g.error_code is None]
    after = resume.get("after") if resume else None
    if forward_left:
        reached = len(forward) - len(forward_left)
        if reached:
            after = forward[reached - 1]
    return {"forward": bool(forward_left), "after": after, "then": then_left + incomplete}


async def run_archival(
    runtime: Runtime,
    *,
    group: GroupPlan | None = None,
    older_than_days: int | None = None,
    dry_run: bool = False,
    max_seconds: float | None = None,
    run: Document | None = None,
    on_batch: BatchCallback | None = None,
    chain: bool = False,
) -> tuple[Document, RunSummary]:
    """Archive one group (or every group), recorded in ``job_runs``.

    One group: a permanent error is recorded in the run and raised; the summary
    then holds what was moved before it.

    Every group: a group's failure is recorded on its own run and the run goes
    on; the run ends ``partial`` with ``failedGroups`` (``succeeded`` when none
    failed). It fails, and raises, only when it cannot go on at all: an unusable
    sink, or the store still unavailable after every retry for groups in a row.

    ``chain``: when ``max_seconds`` (the time budget) ends the run before its work
    is done, it queues the run that goes on (``continuedBy``), which the
    queued-runs poller starts within ``ONTOLOGY_SCHEDULER_POLL_SECONDS``.
    """
    runs = runtime.services.runs
    every_group = group is None
    summary = RunSummary(dry_run=dry_run)
    earlier: list[Document] = list((run or {}).get("failedGroups") or [])

    async def failed(record: RecordedRun, error: BaseException) -> None:
        record.counts = summary_counts(summary)
        await runs.finish(
            record.id,
            record.counts,
            describe(error),
            failure_code(error),
            fields=failed_groups_fields(earlier, summary) if every_group else None,
        )
        count_moved(runtime, record.document, summary)

    params = {"olderThanDays": older_than_days, "dryRun": dry_run, "maxSeconds": max_seconds}
    async with recorded_run(
        runtime,
        ARCHIVAL_JOB,
        group["_id"] if group else None,
        params,
        run=run,
        on_error=failed,
    ) as record:
        resume: Document | None = record.document["params"].get("resume")
        if group is not None:
            groups = [group]
        else:
            found = [doc async for doc in runtime.repos.groups.all_for_archival()]
            groups = plan_groups(found, resume)
        await runtime.services.archival.archive_groups(
            groups,
            ArchivalRunLog(runs, record.document),
            older_than_days=older_than_days,
            dry_run=dry_run,
            max_seconds=max_seconds,
            on_batch=on_batch,
            summary=summary,
            isolate=every_group,
        )
        record.counts = summary_counts(summary)
        if every_group:
            record.fields = failed_groups_fields(earlier, summary)
            if record.fields["failedGroups"]:
                record.status = RunStatus.PARTIAL
                record.outcome = "partial"
        if chain and not dry_run and not summary.complete:
            follow = await queue_follow_up(
                runtime, record.document, groups, resume, summary, record.fields
            )
            record.fields["continuedBy"] = follow["_id"]
        count_moved(runtime, record.document, summary)
    return record.document, summary


def failed_groups_fields(earlier: list[Document], summary: RunSummary) -> dict[str, Any]:
    """The run's ``failedGroups``: those of the runs it continues, then its own."""
    return {"failedGroups": earlier + [f.as_document() for f in summary.failures]}


async def queue_follow_up(
    runtime: Runtime,
    run: Document,
    plan: Sequence[GroupPlan],
    resume: Document | None,
    summary: RunSummary,
    fields: dict[str, Any],
) -> Document:
    """Queue the run that goes on where this one's budget ended (same job and parameters)."""
    params = {**run["params"], "continues": run["_id"]}
    if run["groupId"] is None:
        params["resume"] = next_resume(plan, resume, summary)
    follow = await runtime.services.runs.queue(
        ARCHIVAL_JOB,
        run["groupId"],
        params,
        fields={"failedGroups": fields.get("failedGroups")} if run["groupId"] is None else None,
    )
    log.info(
        "archival run continues in a queued run",
        extra={"runId": str(run["_id"]), "followUpRunId": str(follow["_id"])},
    )
    return follow


def count_moved(runtime: Runtime, run: Document, summary: RunSummary) -> None:
    """In /metrics: what the run moved and, for a run over every group, the groups that
    failed (the run's outcome and duration are counted by ``recorded_run``)."""
    if summary.dry_run:
        return
    runtime.metrics.events_archived.inc(summary.events)
    runtime.metrics.archived_bytes.inc(summary.object_bytes)
    if run["groupId"] is None:
        failed = list(run.get("failedGroups") or []) + [f.as_document() for f in summary.failures]
        runtime.metrics.record_archival_failures(
            [f.code for f in summary.failures], [(f["slug"], f["code"]) for f in failed]
        )


async def archive_on_schedule(runtime: Runtime) -> tuple[Document, RunSummary]:
    """The daily job: every group past its plan's retention, within the time budget
    (``ONTOLOGY_ARCHIVE_RUN_BUDGET_SECONDS``); what the budget did not reach goes on
    in a chain of queued runs."""
    budget = runtime.settings.archive_run_budget_seconds
    return await run_archival(runtime, max_seconds=budget or None, chain=True)


async def resume_archival(runtime: Runtime, run: Document) -> None:
    """Run a queued archival run (``archiveGroupEvents``, or a run whose budget ended),
    within the time budget; its own budget ending queues the next."""
    group = None
    if run["groupId"] is not None:
        group = await runtime.repos.groups.by_id(run["groupId"])
        if group is None:
            await runtime.services.runs.finish(run["_id"], {}, "The group no longer exists.")
            return
    budget = runtime.settings.archive_run_budget_seconds
    await run_archival(
        runtime,
        group=group,
        older_than_days=run["params"].get("olderThanDays"),
        max_seconds=run["params"].get("maxSeconds") or budget or None,
        run=run,
        chain=True,
    )


def describe_report(report: JobReport) -> str:
    follow = f"; continued by queued run {report['continuedBy']}" if report["continuedBy"] else ""
    failed = ", ".join(f"{f['group']} ({f['code']})" for f in report["failedGroups"])
    return (
        f"archival: run {report['runId']} {report['status']}: {report['groups']} groups, "
        f"{report['eventsMoved']} events in {report['objects']} objects, "
        f"{report['seconds']} s{follow}" + (f"; failed groups: {failed}" if failed else "")
    )


@job(
    ARCHIVAL_JOB,
    trigger=lambda settings: CronTrigger.from_crontab(settings.archive_cron, timezone=UTC),
    describe=describe_report,
    catch_up=True,
    resume=resume_archival,
)
async def archival_job(runtime: Runtime, options: Mapping[str, Any]) -> JobReport:
    """Archive every group's events past its plan's retention.

    Within ONTOLOGY_ARCHIVE_RUN_BUDGET_SECONDS; what the budget did not reach is
    queued for queued-runs. A run where some groups failed is partial.
    """
    run, summary = await archive_on_schedule(runtime)
    recorded = await runtime.services.runs.by_id(None, run["_id"]) or run
    continued_by = recorded.get("continuedBy")
    return {
        "runId": str(run["_id"]),
        "status": recorded["status"],
        "continuedBy": str(continued_by) if continued_by else None,
        **{k: v for k, v in summary.as_json().items() if k not in ("seconds", "perGroup")},
    }


async def refresh_failed_groups_metric(runtime: Runtime) -> None:
    """Set the failed-groups series of /metrics from the latest run over every group in
    ``job_runs`` (one indexed read), so every API process shows them, whichever process
    (a scheduler, ``ontology jobs run archival`` from cron) ran it. A database error
    keeps what the series said."""
    try:
        latest = await runtime.services.runs.latest(None, ARCHIVAL_JOB)
    except PyMongoError as error:
        log.warning("could not read the latest archival run", extra={"error": str(error)})
        return
    failed = (latest or {}).get("failedGroups") or []
    runtime.metrics.set_archival_failed_groups([(f["slug"], f["code"]) for f in failed])
