"""The ``ontology`` command line: one module per command group, registered here.

Root commands (``serve``, ``import``, …) are plain functions of their modules;
each command group (``groups``, ``keys``, ``archive``, ``jobs``, ``schema``) is a
Typer app of its own module. To add either, write its module and list it below
(the order here is the order of ``ontology --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from ontology.cli import (
    archive,
    counters,
    documents,
    groups,
    imports,
    jobs,
    keys,
    schema,
    serve,
    settings,
)
from ontology.cli.common import CliState, app, err

__all__ = ["app", "main"]

COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("serve", serve.serve),
    ("import", imports.import_things),
    ("scheduler", serve.scheduler_command),
    ("export-schema", schema.export_schema),
    ("settings-reference", settings.settings_reference),
]
for command_name, command in COMMANDS:
    app.command(command_name)(command)

GROUPS: list[tuple[str, typer.Typer]] = [
    ("groups", groups.app),
    ("keys", keys.app),
    ("archive", archive.app),
    ("jobs", jobs.app),
    ("schema", schema.schema_group),
    ("documents", documents.app),
    ("counters", counters.app),
]
for name, group in GROUPS:
    app.add_typer(group, name=name)


def main() -> None:
    """The console script: a failing command prints one line (``--debug``: the traceback)."""
    try:
        app()
    except Exception as error:
        if CliState.debug:
            raise
        from ontology.cli.errors import one_line

        err.print(f"[red]error:[/red] {one_line(error)}", highlight=False, soft_wrap=True)
        sys.exit(1)
