"""ontology jobs: run a scheduled job by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from ontology.cli.common import emit, run_with_runtime
from ontology.runtime import Runtime

app = typer.Typer(
    help="Run scheduled jobs by hand.\n\nExamples:\n\n  ontology jobs run snapshots",
    no_args_is_help=True,
)


class JobName(StrEnum):
    """The scheduler's jobs (``job_specs`` in ``ontology/jobs/scheduler.py``; a test keeps
    the two lists equal)."""

    ARCHIVAL = "archival"
    SNAPSHOTS = "snapshots"
    QUEUED_RUNS = "queued-runs"
    COUNTERS = "counters"
    WEBHOOKS = "webhooks"


@app.command("run")
def jobs_run(
    job: Annotated[JobName, typer.Argument(help="The job to run.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            help="snapshots: re-roll from this UTC time (default: the start of yesterday; "
            "hour counters are kept 8 days, day counters 35)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run a job once, now, as the scheduler would; safe to re-run.

    archival: every group past its retention, within ONTOLOGY_ARCHIVE_RUN_BUDGET_SECONDS
    (what it did not reach is queued for queued-runs); snapshots: roll counters up;
    queued-runs: the archival runs queued by archiveGroupEvents or by a run whose budget
    ended; counters: recount every group's counters and report drift (no repair);
    webhooks: deliver the due webhook deliveries (retries included). The
    job's lease (job:<name>) is held while it runs: when another process holds it, the
    command does nothing and exits 0. Exit 1 when it fails, or when an archival run is
    partial (some groups failed).

    Examples:

      ontology jobs run archival

      ontology jobs run queued-runs

      ontology jobs run snapshots --since 2026-11-20 --json
    """
    from ontology.jobs.leases import holding_job_lease

    start = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since

    async def work(runtime: Runtime) -> dict[str, Any]:
        started = time.monotonic()
        async with holding_job_lease(
            runtime.repos.leases, job.value, runtime.settings.lease_seconds
        ) as held:
            if not held:
                lease = await runtime.repos.leases.get(f"job:{job.value}") or {}
                return {"job": job.value, "skipped": True, "heldBy": lease.get("owner")}
            result = await _run_job(runtime, job, start)
        return {"job": job.value, **result, "seconds": round(time.monotonic() - started, 3)}

    result = run_with_runtime(work)
    if result.get("skipped"):
        emit(
            as_json,
            result,
            f"{job.value}: skipped, running elsewhere (lease held by {result['heldBy']})",
        )
        return
    if job is JobName.SNAPSHOTS:
        text = (
            f"snapshots: {result['groups']} groups, {result['hourlySnapshots']} hourly and "
            f"{result['dailySnapshots']} daily snapshots in {result['seconds']} s"
        )
    elif job is JobName.ARCHIVAL:
        follow = (
            f"; continued by queued run {result['continuedBy']}" if result["continuedBy"] else ""
        )
        failed = ", ".join(f"{f['group']} ({f['code']})" for f in result["failedGroups"])
        text = (
            f"archival: run {result['runId']} {result['status']}: {result['groups']} groups, "
            f"{result['eventsMoved']} events in {result['objects']} objects, "
            f"{result['seconds']} s{follow}" + (f"; failed groups: {failed}" if failed else "")
        )
    elif job is JobName.WEBHOOKS:
        text = (
            f"webhooks: {result['delivered']} delivered, {result['retried']} to retry, "
            f"{result['failed']} failed in {result['seconds']} s"
        )
    elif job is JobName.COUNTERS:
        text = (
            f"counters: {result['groups']} groups, {result['drifts']} drifts in "
            f"{result['groupsWithDrift']} groups, {result['seconds']} s"
        )
    else:
        text = f"queued-runs: {result['runs']} runs in {result['seconds']} s"
    emit(as_json, result, text)
    if result.get("status") == "partial":
        raise typer.Exit(1)


async def _run_job(runtime: Runtime, job: JobName, since: datetime | None) -> dict[str, Any]:
    if job is JobName.SNAPSHOTS:
        from ontology.jobs.snapshots import roll_up_snapshots

        run, rolled = await roll_up_snapshots(runtime, since)
        return {
            "runId": str(run["_id"]),
            "groups": rolled.groups,
            "hourlySnapshots": rolled.hourly,
            "dailySnapshots": rolled.daily,
        }
    if job is JobName.ARCHIVAL:
        from ontology.jobs.archival import archive_on_schedule

        run, summary = await archive_on_schedule(runtime)
        recorded = await runtime.services.runs.by_id(None, run["_id"]) or run
        continued_by = recorded.get("continuedBy")
        return {
            "runId": str(run["_id"]),
            "status": recorded["status"],
            "continuedBy": str(continued_by) if continued_by else None,
            **{k: v for k, v in summary.as_json().items() if k not in ("seconds", "perGroup")},
        }
    if job is JobName.WEBHOOKS:
        from ontology.jobs.webhooks import deliver_webhooks

        return (await deliver_webhooks(runtime)).as_json()
    if job is JobName.COUNTERS:
        from ontology.jobs.counters import check_counters

        checked = await check_counters(runtime)
        return {
            "groups": len(checked),
            "groupsWithDrift": sum(1 for c in checked if c.drifts),
            "drifts": sum(len(c.drifts) for c in checked),
        }
    from ontology.jobs.archival import run_queued

    return {"runs": await run_queued(runtime)}
