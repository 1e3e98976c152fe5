"""What every command shares: the root app, consoles, one-line failures, the runtime."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from ontology.archival.service import ArchivalError
from ontology.archival.sinks import SinkError
from ontology.config import Settings
from ontology.kit.errors import RejectedError
from ontology.ledger.documents import GroupDocument
from ontology.runtime import Runtime, open_runtime

T = TypeVar("T")

app = typer.Typer(
    help="Ontology: a multi-tenant graph ontology backend (GraphQL over MongoDB).\n\n"
    "Examples:\n\n"
    "  ontology serve --demo\n\n"
    "  ontology --debug keys create --group acme --role org_user",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

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


async def group_by_slug(runtime: Runtime, slug: str) -> GroupDocument:
    found = await runtime.services.groups.by_slug(slug)
    if found is None:
        raise fail(f"No group with slug {slug!r}.")
    return found
