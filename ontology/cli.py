"""The ``ontology`` command line."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from bson import ObjectId
from bson.errors import InvalidId
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ontology.archival.models import GroupArchiveResult
from ontology.archival.service import ArchivalError
from ontology.archival.sinks import SinkError
from ontology.batches.importer import (
    ImportFormat,
    RowError,
    chunked,
    count_rows,
    detect_format,
    read_rows,
)
from ontology.batches.models import ErrorPolicy
from ontology.config import Settings
from ontology.db.client import Database
from ontology.db.embedded import EmbeddedServer, EmbeddedServerError
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, RejectedError
from ontology.quotas.models import Metric
from ontology.runtime import Runtime, open_runtime
from ontology.things.models import NewThing

T = TypeVar("T")

app = typer.Typer(
    help="Ontology: a multi-tenant graph ontology backend (GraphQL over MongoDB).\n\n"
    "Examples:\n\n"
    "  ontology serve --demo\n\n"
    "  ontology --debug keys create --group acme --role org_user",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
groups_app = typer.Typer(
    help="Create and inspect groups (tenants).\n\n"
    "Examples:\n\n"
    '  ontology groups create --slug acme --name "Acme" --plan pro',
    no_args_is_help=True,
)
keys_app = typer.Typer(
    help="Issue and revoke API keys.\n\n"
    "Examples:\n\n"
    "  ontology keys create --group acme --role org_owner",
    no_args_is_help=True,
)
app.add_typer(groups_app, name="groups")
app.add_typer(keys_app, name="keys")
archive_app = typer.Typer(
    help="Archive old events to cold storage and back.\n\n"
    "Examples:\n\n"
    "  ontology archive run --group acme --dry-run",
    no_args_is_help=True,
)
app.add_typer(archive_app, name="archive")
jobs_app = typer.Typer(
    help="Run scheduled jobs by hand.\n\nExamples:\n\n  ontology jobs run snapshots",
    no_args_is_help=True,
)
app.add_typer(jobs_app, name="jobs")
schema_app = typer.Typer(
    help="Compare the schema with a release baseline.\n\n"
    "Examples:\n\n  ontology schema check --against schema.baseline.graphql",
    no_args_is_help=True,
)
app.add_typer(schema_app, name="schema")

out = Console()
err = Console(stderr=True)


class CliState:
    debug = False


@app.callback()
def main_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
) -> None:
    CliState.debug = debug


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def run_with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run ``work`` against the configured database, with clean one-line errors."""

    async def main() -> T:
        async with open_runtime(Settings()) as runtime:
            return await work(runtime)

    try:
        return asyncio.run(main())
    except RejectedError as rejected:
        raise fail(
            "; ".join(f"{e.path}: {e.message}" if e.path else e.message for e in rejected.errors)
        ) from None
    except (SinkError, ArchivalError) as error:
        raise fail(str(error)) from None


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        out.print(text, highlight=False)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


async def _check_database(uri: str, name: str) -> None:
    """Fail before serving, with one clear line, when the database is unusable."""
    database = Database(uri, name)
    try:
        await database.check_transactions()
    finally:
        await database.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [ONTOLOGY_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [ONTOLOGY_PORT].")] = None,
    demo: Annotated[bool, typer.Option(help="Seed a demo tenant and print an API key.")] = False,
    scheduler: Annotated[
        bool, typer.Option(help="Run the scheduled jobs in this process (under the lease).")
    ] = True,
) -> None:
    """Run the API (and, without ONTOLOGY_MONGODB_URI, the embedded database).

    Examples:

      ontology serve --demo

      ONTOLOGY_MONGODB_URI=mongodb://db:27017/?replicaSet=rs0 ontology serve --host 0.0.0.0
    """
    import uvicorn

    from ontology.app import create_app
    from ontology.demo.seed import seed_demo

    settings = Settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    if not _port_free(settings.host, settings.port):
        raise fail(
            f"Port {settings.port} on {settings.host} is taken. "
            "Stop what uses it, or pass --port (or set ONTOLOGY_PORT)."
        )
    embedded: EmbeddedServer | None = None
    if settings.mongodb_uri is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedServer(settings.data_dir)
        try:
            embedded.start()
        except EmbeddedServerError as error:
            raise fail(str(error)) from None
        settings.mongodb_uri = embedded.uri
        err.print(
            f"Embedded database (SecantusDB) on port {embedded.port}, "
            f"data in {embedded.storage_path.resolve()}",
            highlight=False,
        )
    try:
        asyncio.run(_check_database(settings.mongodb_uri, settings.db_name))
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    base_url = f"http://{settings.host}:{settings.port}"

    async def on_ready(runtime: Runtime) -> None:
        tenant = await seed_demo(runtime) if demo else None
        # What startup allocated (modules, the schema, the runtime) lives as long as the
        # process: out of the collector's sight, a full collection during a 10,000-item
        # batch pauses the event loop for ~10 ms instead of ~100 ms.
        gc.collect()
        gc.freeze()
        if tenant is None:
            return
        counts = tenant.group.get("counts", {})
        seeded = "seeded" if tenant.created else "already seeded"
        out.print(
            f"\n[bold]Demo tenant[/bold] '{tenant.group['slug']}' ({seeded}: "
            f"{counts.get('things', 0)} things, {counts.get('connections', 0)} connections, "
            f"{counts.get('events', 0)} events)\n"
            f"API key (org_owner, shown once): [bold]{tenant.secret}[/bold]\n"
            f"GraphiQL: {base_url}/graphql  (add the header "
            f'{{"Authorization": "Bearer {tenant.secret}"}})\n'
            f"Try: curl -s {base_url}/graphql -H 'Authorization: Bearer {tenant.secret}' "
            "-H 'Content-Type: application/json' "
            '-d \'{"query": "{ viewer { role group { slug counts { things } } } }"}\'\n',
            highlight=False,
            soft_wrap=True,
        )

    # uvicorn re-raises SIGTERM once it has shut down; turning it into SystemExit
    # lets the `finally` below stop the embedded database cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            create_app(settings, on_ready=on_ready, run_scheduler=scheduler),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
    finally:
        if embedded is not None:
            embedded.stop()


@groups_app.command("create")
def groups_create(
    slug: Annotated[str, typer.Option(help="URL-safe unique name, e.g. acme.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    plan: Annotated[Plan, typer.Option(help="Quota plan.")] = Plan.STARTER,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Create a group (a tenant) on a plan.

    Examples:

      ontology groups create --slug acme --name "Acme" --plan pro

      ontology groups create --slug acme --name "Acme" --json
    """

    async def work(runtime: Runtime) -> dict[str, Any]:
        return await runtime.services.groups.create(slug=slug, name=name, plan=plan)

    group = run_with_runtime(work)
    emit(
        as_json,
        {
            "id": str(group["_id"]),
            "slug": group["slug"],
            "name": group["name"],
            "plan": group["plan"],
        },
        f"Created group {group['slug']} ({group['plan']}), id {group['_id']}",
    )


@groups_app.command("set-limit")
def groups_set_limit(
    group: Annotated[str, typer.Option(help="The group's slug.")],
    metric: Annotated[Metric, typer.Option(help="The quota metric.")],
    value: Annotated[
        int | None,
        typer.Option(help="The limit (-1 = unlimited; storage_gb in GiB); omit to use the plan's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Override one quota limit for a group (an enterprise deal).

    Examples:

      ontology groups set-limit --group acme --metric entities_total --value 250000

      ontology groups set-limit --group acme --metric entities_total   (back to the plan's)
    """

    async def work(runtime: Runtime) -> None:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        await runtime.services.quotas.set_limit(found["_id"], metric, value)

    run_with_runtime(work)
    shown = "the plan's" if value is None else ("unlimited" if value < 0 else str(value))
    emit(
        as_json,
        {"group": group, "metric": metric.value, "limit": value},
        f"{metric.value} of {group}: {shown}",
    )


@keys_app.command("create")
def keys_create(
    group: Annotated[str, typer.Option(help="The group's slug.")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Issue a key; the secret is printed once and only its SHA-256 is stored.

    Examples:

      ontology keys create --group acme --role org_owner --name "ops laptop"

      ontology keys create --group acme --role customer --json
    """

    async def work(runtime: Runtime) -> tuple[dict[str, Any], str]:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        return await runtime.services.keys.create(found["_id"], role, name=name)

    key, secret = run_with_runtime(work)
    emit(
        as_json,
        {"id": str(key["_id"]), "group": group, "role": key["role"], "secret": secret},
        f"Key {key['_id']} ({key['role']} of {group}):\n{secret}\n"
        "Store it now: it is not shown again.",
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys create`).")],
    group: Annotated[str, typer.Option(help="The group's slug.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Revoke a key; requests with it fail from now on.

    Examples:

      ontology keys revoke 6650c0ffee0000000000abcd --group acme
    """
    try:
        object_id = ObjectId(key_id)
    except InvalidId:
        raise fail(f"{key_id!r} is not a key id.") from None

    async def work(runtime: Runtime) -> bool:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        return await runtime.services.keys.revoke(found["_id"], object_id)

    if not run_with_runtime(work):
        raise fail(f"No active key {key_id} in group {group!r}.")
    emit(as_json, {"id": key_id, "revoked": True}, f"Revoked key {key_id}.")


@app.command("import")
def import_things(
    file: Annotated[Path, typer.Argument(help="CSV, JSON (an array) or JSON Lines file.")],
    group: Annotated[str, typer.Option(help="The group's slug.")],
    thing_type: Annotated[
        str | None, typer.Option("--type", help="Type for rows that name none.")
    ] = None,
    fmt: Annotated[
        ImportFormat | None, typer.Option("--format", help="Default: from the file's extension.")
    ] = None,
    chunk: Annotated[
        int, typer.Option(min=1, help="Rows per batch (one transaction each).")
    ] = 1000,
    idempotency_prefix: Annotated[
        str | None,
        typer.Option(help="Key prefix: re-running with the same prefix imports nothing twice."),
    ] = None,
    errors_file: Annotated[
        Path | None,
        typer.Option("--errors", help="Where to write rejected rows (default FILE.errors.jsonl)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import things in chunks through the batch service, with a progress bar.

    Valid rows are written, invalid ones reported (row, path, code, message) in
    the errors file; the summary ends the run.

    Examples:

      ontology import creators.csv --group acme --type creator --idempotency-prefix creators-2026-11

      ontology import things.jsonl --group acme --chunk 500 --json
    """
    if not file.is_file():
        raise fail(f"No such file: {file}.")
    chosen = fmt or detect_format(file)
    if chunk > Settings().batch_max_items:
        raise fail(f"--chunk is at most {Settings().batch_max_items} (ONTOLOGY_BATCH_MAX_ITEMS).")
    report_path = errors_file or file.with_name(file.name + ".errors.jsonl")

    async def work(runtime: Runtime) -> dict[str, Any]:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        started = time.monotonic()
        summary: dict[str, Any] = {
            "rows": 0,
            "created": 0,
            "alreadyImported": 0,
            "failed": 0,
            "chunks": 0,
        }
        report: list[dict[str, Any]] = []
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=as_json,
        )
        with progress:
            task = progress.add_task("rows", total=count_rows(file, chosen))
            rows = read_rows(file, chosen, thing_type)
            for number, rows_chunk in enumerate(chunked(rows, chunk)):
                things = [(n, r) for n, r in rows_chunk if isinstance(r, NewThing)]
                for n, r in rows_chunk:
                    if isinstance(r, RowError):
                        report.append(
                            {"row": n, "path": "", "code": "INVALID_INPUT", "message": r.message}
                        )
                key = f"{idempotency_prefix}-{number}" if idempotency_prefix else None
                result = await runtime.services.batches.insert_things(
                    found["_id"],
                    [r for _, r in things],
                    ErrorPolicy.REJECT_FAILED_ROWS,
                    key,
                )
                for item in result.results:
                    row = things[item.index][0]
                    report += [
                        {
                            "row": row,
                            # "things.<i>.name" -> "name": the report speaks of file rows
                            "path": e.path.split(".", 2)[2] if e.path.count(".") >= 2 else "",
                            "code": e.code.value,
                            "message": e.message,
                        }
                        for e in item.errors
                    ]
                created = result.succeeded
                summary["alreadyImported" if result.replayed else "created"] += created
                summary["failed"] += len(rows_chunk) - created
                summary["rows"] += len(rows_chunk)
                summary["chunks"] += 1
                progress.advance(task, len(rows_chunk))
        summary["seconds"] = round(time.monotonic() - started, 2)
        if report:
            with report_path.open("w") as handle:
                handle.writelines(json.dumps(line) + "\n" for line in report)
            summary["errorsFile"] = str(report_path)
        return summary

    try:
        summary = run_with_runtime(work)
    except (ValueError, UnicodeDecodeError) as error:
        raise fail(f"Cannot read {file}: {error}") from None
    text = (
        f"{summary['rows']} rows in {summary['chunks']} chunks, {summary['seconds']} s: "
        f"{summary['created']} created, {summary['alreadyImported']} already imported, "
        f"{summary['failed']} rejected"
    )
    if "errorsFile" in summary:
        text += f" (see {summary['errorsFile']})"
    emit(as_json, summary, text)


async def _group_by_slug(runtime: Runtime, slug: str) -> dict[str, Any]:
    found = await runtime.services.groups.by_slug(slug)
    if found is None:
        raise fail(f"No group with slug {slug!r}.")
    return found


@archive_app.command("run")
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
        found = await _group_by_slug(runtime, group) if group else None
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


@archive_app.command("status")
def archive_status(
    group: Annotated[str | None, typer.Option(help="Only this group (slug).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Eligible and archived events per group, last and next run.

    Example: ontology archive status --group acme --json
    """

    async def work(runtime: Runtime) -> dict[str, Any]:
        if group:
            groups = [await _group_by_slug(runtime, group)]
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


@archive_app.command("list")
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
        found = await _group_by_slug(runtime, group)
        async for _, event in runtime.services.archived.iterate(
            found["_id"], from_day.date(), to_day.date(), event_type=event_type
        ):
            sys.stdout.write(json_util.dumps(event, json_options=EXTENDED_JSON) + "\n")

    run_with_runtime(work)


@archive_app.command("restore")
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
        found = await _group_by_slug(runtime, group)
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
                    if error.code is ErrorCode.QUOTA_EXCEEDED
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


@app.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduled jobs (daily archival, queued runs) until SIGTERM or Ctrl-C.

    Several processes may run it: a lease in MongoDB lets one run jobs at a time.

    Examples:

      ontology scheduler

      ONTOLOGY_LEASE_SECONDS=30 ontology scheduler
    """
    from ontology.jobs.scheduler import run_scheduler
    from ontology.kit.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with open_runtime(settings) as runtime:
            await run_scheduler(runtime, stop)

    try:
        asyncio.run(main())
    except EmbeddedServerError as error:
        raise fail(str(error)) from None


class JobName(StrEnum):
    """The scheduler's jobs (``job_specs`` in ``ontology/jobs/scheduler.py``; a test keeps
    the two lists equal)."""

    ARCHIVAL = "archival"
    SNAPSHOTS = "snapshots"
    QUEUED_RUNS = "queued-runs"


@jobs_app.command("run")
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
    ended. The job's lease (job:<name>) is held while it runs: when another process
    holds it, the command does nothing and exits 0. Exit 1 when it fails, or when an
    archival run is partial (some groups failed).

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
    from ontology.jobs.archival import run_queued

    return {"runs": await run_queued(runtime)}


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL).

    Examples:

      ontology export-schema > schema.graphql
    """
    from ontology.api.schema import export_sdl

    sys.stdout.write(export_sdl())


@schema_app.command("check")
def schema_check(
    against: Annotated[Path, typer.Option(help="Baseline SDL: the schema of the last release.")],
    changelog: Annotated[
        Path,
        typer.Option(help="Breaking changes recorded under its '## Unreleased' heading pass."),
    ] = Path("CHANGELOG.md"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Report breaking and dangerous changes from a baseline SDL to the current schema.

    Exits 1 when a breaking change is not recorded in the changelog: a line of its
    '## Unreleased' section must hold the change's description, e.g.
    "- BREAKING: Field Thing.legacy was removed." Dangerous changes are reported
    and pass.

    Examples:

      ontology schema check --against schema.baseline.graphql

      ontology schema check --against old.graphql --changelog CHANGELOG.md --json
    """
    from ontology.api.schema import export_sdl
    from ontology.api.schema_gate import check_files

    if not against.is_file():
        sys.stderr.write(f"error: --against {against} is not a file.\n")
        raise typer.Exit(1)
    result = check_files(against, export_sdl(), changelog)
    if as_json:
        payload = {
            "passed": result.passed,
            "breaking": [dataclasses.asdict(c) for c in result.breaking],
            "dangerous": [dataclasses.asdict(c) for c in result.dangerous],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        for change in result.changes:
            print(change.line())
        verdict = "passed" if result.passed else "FAILED"
        print(
            f"schema check {verdict}: {len(result.breaking)} breaking "
            f"({len(result.unrecorded)} not recorded in {changelog}), "
            f"{len(result.dangerous)} dangerous, against {against}"
        )
    if not result.passed:
        raise typer.Exit(1)


@app.command("settings-reference")
def settings_reference(
    write: Annotated[
        Path | None,
        typer.Option(help="Replace the table between the markers in this file instead."),
    ] = None,
) -> None:
    """Print the configuration reference (every ONTOLOGY_ setting) as a markdown table.

    Examples:

      ontology settings-reference

      ontology settings-reference --write README.md
    """
    from ontology.settings_reference import MarkersMissingError, settings_table, write_table

    if write is None:
        sys.stdout.write(settings_table())
        return
    try:
        changed = write_table(write)
    except MarkersMissingError as error:
        raise fail(f"{write} has no settings-reference markers. {error}") from None
    err.print(
        f"{write}: {'updated' if changed else 'already up to date'}",
        highlight=False,
        soft_wrap=True,
    )


def main() -> None:
    """The console script: a failing command prints one line (``--debug``: the traceback)."""
    try:
        app()
    except Exception as error:
        if CliState.debug:
            raise
        from ontology.cli_errors import one_line

        err.print(f"[red]error:[/red] {one_line(error)}", highlight=False, soft_wrap=True)
        sys.exit(1)
