"""ontology settings-reference: the configuration table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ontology.cli.common import err, fail


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
