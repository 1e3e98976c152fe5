"""ontology counters: recount the denormalized counters, report and repair drift."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from ontology.cli.common import emit, err, group_by_slug, out, run_with_runtime
from ontology.counters.service import GroupCheck
from ontology.runtime import Runtime

app = typer.Typer(
    help="Check the denormalized counters against the collections, and repair them.\n\n"
    "Examples:\n\n"
    "  ontology counters check --group acme --repair",
    no_args_is_help=True,
)


@app.command("check")
def counters_check(
    group: Annotated[str | None, typer.Option(help="Only this group (slug).")] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Correct every drift found (transactionally).")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=10000, help="Documents per batch read.")
    ] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recount every counter of each group (things by type and status, connections,
    per-thing connection counts, events, people, knowledge, storage bytes, list keys,
    metric buckets after the archival cutoff) and report each drift: what, stored,
    true. Safe while the API runs: each group is recounted in one snapshot
    transaction; --repair applies the differences in it, holding the group's writes
    back meanwhile, so none is lost. Exit 1 when a drift was found and not repaired.

    Examples:

      ontology counters check

      ontology counters check --group acme --repair --json
    """

    async def work(runtime: Runtime) -> list[GroupCheck]:
        if group is not None:
            await group_by_slug(runtime, group)
        service = runtime.services.counter_check
        service.batch_size = batch_size
        progress = Progress(
            TextColumn("recounting {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("documents"),
            console=err,
            disable=as_json,
        )
        task = progress.add_task("", total=None)

        def on_group(slug: str) -> None:
            progress.update(task, description=slug, completed=0)

        def advance(documents: int) -> None:
            progress.update(task, advance=documents)

        with progress:
            return await service.check(group, repair=repair, progress=advance, on_group=on_group)

    checked = run_with_runtime(work)
    drifts = sum(len(c.drifts) for c in checked)
    result: dict[str, Any] = {
        "groups": [c.to_json() for c in checked],
        "drifts": drifts,
        "repaired": repair and drifts > 0,
    }
    if as_json:
        emit(True, result, "")
    else:
        _print(checked, repair)
    if drifts and not repair:
        raise typer.Exit(1)


def _print(checked: list[GroupCheck], repair: bool) -> None:
    drifted = [c for c in checked if c.drifts]
    if drifted:
        table = Table("group", "counter", "stored", "true")
        for check in drifted:
            for drift in check.drifts:
                row = drift.to_json()
                table.add_row(check.slug, row["what"], str(row["stored"]), str(row["true"]))
        out.print(table)
    total = sum(len(c.drifts) for c in checked)
    verb = "repaired" if repair else "found"
    out.print(
        f"{len(checked)} groups checked, {total} drifts {verb} in {len(drifted)} groups",
        highlight=False,
    )
