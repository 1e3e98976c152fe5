"""ontology jobs: run a scheduled job by hand."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ontology.cli.common import emit, fail, run_with_runtime
from ontology.jobs.registry import registered
from ontology.runtime import Runtime

app = typer.Typer(
    help="Run scheduled jobs by hand.\n\nExamples:\n\n  ontology jobs run snapshots",
    no_args_is_help=True,
)


@app.command("run")
def jobs_run(
    job: Annotated[
        str,
        typer.Argument(
            help="The job to run: "
            + "; ".join(f"{spec.id}: {spec.help.rstrip('.')}" for spec in registered()),
            show_default=False,
        ),
    ],
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

    The job's lease (job:<name>) is held while it runs: when another process holds
    it, the command does nothing and exits 0. Exit 1 when it fails, or when a run is
    partial (an archival run where some groups failed).

    Examples:

      ontology jobs run archival

      ontology jobs run queued-runs

      ontology jobs run snapshots --since 2026-11-20 --json
    """
    from ontology.runs.leases import holding_job_lease

    jobs = {spec.id: spec for spec in registered()}
    spec = jobs.get(job)
    if spec is None:
        raise fail(f"No job {job!r}; the jobs are: {', '.join(jobs)}.")
    start = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since

    async def work(runtime: Runtime) -> dict[str, Any]:
        started = time.monotonic()
        async with holding_job_lease(
            runtime.repos.leases, spec.id, runtime.settings.lease_seconds
        ) as held:
            if not held:
                lease = await runtime.repos.leases.get(f"job:{spec.id}") or {}
                return {"job": spec.id, "skipped": True, "heldBy": lease.get("owner")}
            result = await spec.run(runtime, {"since": start})
        return {"job": spec.id, **result, "seconds": round(time.monotonic() - started, 3)}

    result = run_with_runtime(work)
    if result.get("skipped"):
        emit(
            as_json,
            result,
            f"{spec.id}: skipped, running elsewhere (lease held by {result['heldBy']})",
        )
        return
    emit(as_json, result, spec.describe(result))
    if result.get("status") == "partial":
        raise typer.Exit(1)
