"""ontology groups: create groups and set their limits."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ontology.cli.common import emit, fail, run_with_runtime
from ontology.groups.models import Plan
from ontology.ledger.plans import Metric
from ontology.runtime import Runtime

app = typer.Typer(
    help="Create and inspect groups (tenants).\n\n"
    "Examples:\n\n"
    '  ontology groups create --slug acme --name "Acme" --plan pro',
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
