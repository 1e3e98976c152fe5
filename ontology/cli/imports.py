"""ontology import: bulk-load things from a file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ontology.batches.importer import (
    ImportFormat,
    RowError,
    chunked,
    count_rows,
    detect_format,
    read_rows,
)
from ontology.batches.models import ErrorPolicy
from ontology.cli.common import emit, err, fail, run_with_runtime
from ontology.config import Settings
from ontology.runtime import Runtime
from ontology.things.models import NewThing


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
