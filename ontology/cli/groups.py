"""ontology groups: create groups and set their limits."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ontology.cli.common import emit, fail, out, run_with_runtime
from ontology.groups.models import Plan
from ontology.groups.repository import GroupListFilter, GroupOrder
from ontology.kit.pagination import PageRequest, decode_cursor
from ontology.ledger.documents import GroupDocument
from ontology.ledger.plans import Metric
from ontology.ledger.standing import QUOTA_STATUS
from ontology.overview.service import GroupOverview
from ontology.runtime import Runtime

app = typer.Typer(
    help="Create and inspect groups (tenants).\n\n"
    "Examples:\n\n"
    '  ontology groups create --slug acme --name "Acme" --plan pro\n\n'
    "  ontology groups list --near-limit",
    no_args_is_help=True,
)


@app.command("create")
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

    async def work(runtime: Runtime) -> GroupDocument:
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


@app.command("set-limit")
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


def _overview_json(item: GroupOverview) -> dict[str, Any]:
    group, run = item.group, item.last_archival_run
    counts = group.get("counts") or {}
    activity = item.last_activity_at
    return {
        "id": str(group["_id"]),
        "slug": group["slug"],
        "name": group["name"],
        "plan": group["plan"],
        "status": group["status"],
        "usagePercent": round(item.usage_percent, 4),
        "quotaStatus": item.quota_status,
        "counts": {
            name: counts.get(name, 0)
            for name in ("things", "connections", "events", "people", "knowledge", "storageBytes")
        },
        "quotas": [
            {
                "metric": report.metric.value,
                "current": report.current,
                "limit": report.limit,
                "percentUsed": report.percent_used,
                "status": report.status.value,
            }
            for report in item.reports
        ],
        "lastArchivalRun": None
        if run is None
        else {
            "id": str(run["_id"]),
            "status": run["status"],
            "queuedAt": run["queuedAt"].isoformat() if run.get("queuedAt") else None,
            "eventsMoved": int((run.get("counts") or {}).get("eventsMoved", 0)),
        },
        "lastActivityAt": activity.isoformat() if activity else None,
    }


@app.command("list")
def groups_list(
    near_limit: Annotated[
        bool,
        typer.Option(
            "--near-limit",
            help="Only groups using 80 % or more of a limit on their counters (users, storage, "
            "entities, connections), highest first.",
        ),
    ] = False,
    order: Annotated[GroupOrder, typer.Option(help="USAGE_DESC (highest first) or NAME.")] = (
        GroupOrder.USAGE_DESC
    ),
    plan: Annotated[Plan | None, typer.Option(help="Only groups on this plan.")] = None,
    page_size: Annotated[int, typer.Option(min=1, max=100, help="Groups read per page.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every group with its plan, usage, quota status, last archival run and last activity
    (the staff overview, as `platformGroups` pages it).

    Examples:

      ontology groups list

      ontology groups list --near-limit --json

      ontology groups list --order NAME --plan pro
    """
    if near_limit and order is not GroupOrder.USAGE_DESC:
        raise fail("--near-limit lists by usage: leave --order out.")

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        where = GroupListFilter(plan=plan.value if plan else None)
        listed: list[dict[str, Any]] = []
        after = None
        while True:
            page = await runtime.services.overview.page(
                order, where, PageRequest(size=page_size, after=after)
            )
            for item in page.items:
                # by usage, the groups near a limit come first: stop at the first that is not
                if near_limit and item.group.get(QUOTA_STATUS) == "HEALTHY":
                    return listed
                listed.append(_overview_json(item))
            if not page.has_next_page or page.end_cursor is None:
                return listed
            after = decode_cursor(page.end_cursor)

    groups = run_with_runtime(work)
    if as_json:
        emit(True, {"groups": groups}, "")
        return
    if not groups:
        out.print("No group is near a limit." if near_limit else "No group.", highlight=False)
        return
    table = Table("group", "plan", "usage", "quota", "things", "people", "last archival", "active")
    for row in groups:
        run = row["lastArchivalRun"]
        table.add_row(
            row["slug"],
            row["plan"],
            f"{row['usagePercent']:.1f} %",
            row["quotaStatus"],
            str(row["counts"]["things"]),
            str(row["counts"]["people"]),
            "none" if run is None else f"{run['status']} {(run['queuedAt'] or '')[:10]}",
            (row["lastActivityAt"] or "never")[:16],
        )
    out.print(table)
