"""ontology archive: run, inspect, list and restore the event archive."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ontology.archival.models import GroupArchiveResult
from ontology.cli.common import emit, err, group_by_slug, out, run_with_runtime
from ontology.kit.clock import utcnow
from ontology.kit.errors import RejectedError
from ontology.ledger.documents import GroupPlan
from ontology.ledger.errors import QuotaErrorCode
from ontology.runtime import Runtime

app = typer.Typer(
    help="Archive old events to cold storage and back.\n\n"
    "Examples:\n\n"
    "  ontology archive run --group acme --dry-run",
    no_args_is_help=True,
)


@app.command("run")
def archive_run(
    group: Annotated[str | None, typer.Option(help="Only this group (slug).")] = None,
    older_than_days: Annotated[
        int | None, typer.Option(min=0, help="Cutoff instead of the plan's retention.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would move; move nothing.")] = False,
    max_seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop after this long; the next run goes on.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Archive events older than each group's retention (crash-safe, resumable).

    Example: ontology archive run --group acme --older-than-days 30 --max-seconds 600
    """
    from ontology.jobs.archival import run_archival

    async def work(runtime: Runtime) -> dict[str, Any]:
        found = await group_by_slug(runtime, group) if group else None
        progress = Progress(
            TextColumn("archiving {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("events"),
            console=err,
            disable=as_json,
        )
        task = progress.add_task("", total=None)

        def advance(result: GroupArchiveResult, events: int) -> None:
            progress.update(task, description=result.slug, advance=events)

        with progress:
            run, summary = await run_archival(
                runtime,
                group=found,
                older_than_days=older_than_days,
                dry_run=dry_run,
                max_seconds=max_seconds,
                on_batch=advance,
            )
        return {"runId": str(run["_id"]), **summary.as_json()}

    summary = run_with_runtime(work)
    verb = "would move" if dry_run else "moved"
    stopped = "" if summary["complete"] else " (time limit reached; run again to go on)"
    failed = summary["failedGroups"]
    emit(
        as_json,
        summary,
        f"{summary['groups']} groups: {verb} {summary['eventsMoved']} events in "
        f"{summary['objects']} objects, {summary['bytes']} bytes, "
        f"{summary['seconds']} s{stopped}. Run {summary['runId']}.",
    )
    if failed:
        # partial: the other groups were archived; exit 1 so schedulers and scripts notice
        names = ", ".join(f"{f['group']} ({f['code']}: {f['error']})" for f in failed)
        err.print(f"[red]failed groups:[/red] {names}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@app.command("status")
def archive_status(
    group: Annotated[str | None, typer.Option(help="Only this group (slug).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Eligible and archived events per group, last and next run.

    Example: ontology archive status --group acme --json
    """

    async def work(runtime: Runtime) -> dict[str, Any]:
        groups: list[GroupPlan]
        if group:
            groups = [await group_by_slug(runtime, group)]
        else:
            groups = [g async for g in runtime.repos.groups.all_for_archival()]
        rows = []
        for found in groups:
            status = await runtime.services.archival.status(found)
            last = await runtime.services.runs.latest(found["_id"], "archival")
            rows.append(
                {
                    "group": found["slug"],
                    "cutoff": status.cutoff.isoformat() if status.cutoff else None,
                    "eligibleEvents": status.eligible_events,
                    "archivedEvents": status.archived_events,
                    "archivedBytes": status.object_bytes,
                    "objects": status.objects,
                    "lastRun": _run_json(last),
                }
            )
        next_run = runtime.services.archival.next_run_at(utcnow())
        scheduled = await runtime.services.runs.latest(None, "archival")
        return {
            "archive": runtime.settings.resolved_archive_url,
            "nextRunAt": next_run.isoformat() if next_run else None,
            "groups": rows,
            "lastScheduledRun": await _scheduled_run_json(runtime, scheduled),
        }

    report = run_with_runtime(work)
    if as_json:
        emit(True, report, "")
        return
    table = Table("group", "cutoff", "eligible", "archived", "bytes", "last run")
    for row in report["groups"]:
        last = row["lastRun"]
        table.add_row(
            row["group"],
            (row["cutoff"] or "never")[:10],
            str(row["eligibleEvents"]),
            str(row["archivedEvents"]),
            str(row["archivedBytes"]),
            f"{last['status']} {last['startedAt'][:19]}" if last else "-",
        )
    out.print(f"Archive: {report['archive']}   next run: {report['nextRunAt']}", highlight=False)
    out.print(table)
    scheduled = report["lastScheduledRun"]
    if scheduled is not None:
        follow = f", continued by {scheduled['continuedBy']}" if scheduled["continuedBy"] else ""
        out.print(
            f"Last run over every group: {scheduled['id']} {scheduled['status']} "
            f"{(scheduled['startedAt'] or '-')[:19]}{follow}",
            highlight=False,
        )
        for failure in scheduled["failedGroups"]:
            out.print(
                f"  failed: {failure['group']} {failure['errorCode']} (run {failure['runId']}): "
                f"{failure['error']}",
                highlight=False,
                soft_wrap=True,
            )


def _run_json(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    started = run.get("startedAt")
    finished = run.get("finishedAt")
    return {
        "id": str(run["_id"]),
        "status": run["status"],
        "startedAt": started.isoformat() if started else None,
        "finishedAt": finished.isoformat() if finished else None,
        "counts": run.get("counts") or {},
        # Operators see the details; clients get only the code (archivalStatus).
        "error": run.get("error"),
        "errorCode": run.get("errorCode"),
    }


async def _scheduled_run_json(
    runtime: Runtime, run: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The latest run over every group, with each failed group's details (its own run)."""
    if run is None:
        return None
    failed = []
    for failure in run.get("failedGroups") or []:
        child = await runtime.services.runs.by_id(failure["groupId"], failure["runId"])
        failed.append(
            {
                "group": failure.get("slug"),
                "groupId": str(failure["groupId"]),
                "runId": str(failure["runId"]),
                "errorCode": failure.get("code"),
                "error": child.get("error") if child else None,
            }
        )
    continues = (run.get("params") or {}).get("continues")
    continued_by = run.get("continuedBy")
    return {
        **(_run_json(run) or {}),
        "continues": str(continues) if continues else None,
        "continuedBy": str(continued_by) if continued_by else None,
        "failedGroups": failed,
    }


@app.command("list")
def archive_list(
    group: Annotated[str, typer.Option(help="The group's slug.")],
    from_day: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    to_day: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    event_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
) -> None:
    """Print archived events (Extended JSON lines) read from the archive, oldest first.

    Example: ontology archive list --group acme --from 2026-01-01 --to 2026-01-31
    """
    from bson import json_util

    from ontology.archival.models import EXTENDED_JSON

    async def work(runtime: Runtime) -> None:
        found = await group_by_slug(runtime, group)
        async for _, event in runtime.services.archived.iterate(
            found["_id"], from_day.date(), to_day.date(), event_type=event_type
        ):
            sys.stdout.write(json_util.dumps(event, json_options=EXTENDED_JSON) + "\n")

    run_with_runtime(work)


@app.command("restore")
def archive_restore(
    group: Annotated[str, typer.Option(help="The group's slug.")],
    from_day: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day.")],
    to_day: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day.")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even past the group's storage limit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Put archived events of these days back into the hot store (idempotent).

    Like the API, a restore that would pass the group's storage limit restores
    nothing and fails; --force restores it anyway (the group is then over its limit).

    Example: ontology archive restore --group acme --from 2026-01-01 --to 2026-01-31
    """

    async def work(runtime: Runtime) -> dict[str, Any]:
        found = await group_by_slug(runtime, group)
        try:
            result = await runtime.services.archived.restore(
                found["_id"], from_day.date(), to_day.date(), force=force
            )
        except RejectedError as rejected:
            raise RejectedError(
                [
                    dataclasses.replace(
                        error,
                        message=f"{error.message} Nothing was restored; --force restores "
                        "past the limit.",
                    )
                    if error.code is QuotaErrorCode.QUOTA_EXCEEDED
                    else error
                    for error in rejected.errors
                ]
            ) from None
        return {
            "objects": result.manifests,
            "restored": result.restored,
            "alreadyHot": result.already_hot,
        }

    result = run_with_runtime(work)
    emit(
        as_json,
        result,
        f"Restored {result['restored']} events from {result['objects']} objects "
        f"({result['alreadyHot']} were already hot).",
    )
