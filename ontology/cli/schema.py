"""ontology export-schema and ontology schema check."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

schema_group = typer.Typer(
    help="Compare the schema with a release baseline.\n\n"
    "Examples:\n\n  ontology schema check --against schema.baseline.graphql",
    no_args_is_help=True,
)


def export_schema() -> None:
    """Print the GraphQL schema (SDL).

    Examples:

      ontology export-schema > schema.graphql
    """
    from ontology.api.schema import export_sdl

    sys.stdout.write(export_sdl())


@schema_group.command("check")
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
