"""CLI polish: help with examples everywhere, one-line errors, ``--debug`` tracebacks,
the generated configuration reference."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer
from pymongo import MongoClient
from typer.testing import CliRunner

from ontology.cli import app
from ontology.db.embedded import EmbeddedServer, free_port
from ontology.settings_reference import END, START, settings_table, with_table

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = str(Path(sys.executable).parent / "ontology")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONTOLOGY, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, as argument paths (the root is ``()``)."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        paths.append(path)
        # typer vendors its own click: a group is whatever has sub-commands.
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


def test_the_operations_guide_shows_every_command() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()

    paths = [" ".join(p) for p in command_paths() if p]
    assert {"serve", "groups create", "keys create", "settings-reference"} <= set(paths)
    assert [p for p in paths if f"ontology {p}" not in guide] == []


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "ontology")
def test_every_command_has_help_with_examples(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)

    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    examples = result.output.split("Example", 1)[1]
    assert "ontology " in examples


def test_an_invalid_setting_is_one_line_and_debug_shows_the_traceback() -> None:
    env = {"ONTOLOGY_MAX_PAGE_SIZE": "lots"}

    plain = run_cli("groups", "create", "--slug", "acme", "--name", "Acme", env=env)
    debug = run_cli("--debug", "groups", "create", "--slug", "acme", "--name", "Acme", env=env)

    assert plain.returncode == 1
    assert plain.stderr == (
        "error: Invalid setting ONTOLOGY_MAX_PAGE_SIZE: Input should be a valid integer, "
        "unable to parse string as an integer. Fix the environment variable.\n"
    )
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "pydantic_core._pydantic_core.ValidationError" in debug.stderr


def test_an_unreachable_database_is_one_line_with_the_fix() -> None:
    uri = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=200&directConnection=true"

    result = run_cli(
        "keys", "create", "--group", "acme", "--role", "org_user", env={"ONTOLOGY_MONGODB_URI": uri}
    )

    assert result.returncode == 1
    assert result.stderr == (
        "error: Cannot reach MongoDB (no server answered in time). Check that it runs and "
        "that ONTOLOGY_MONGODB_URI names it, or unset it to use the embedded server.\n"
    )


def test_a_server_without_transactions_is_refused_at_start_in_one_line(
    mongo_server: EmbeddedServer,
) -> None:
    # given the server answers the start-up probe as a standalone mongod does (IllegalOperation)
    env = {"ONTOLOGY_MONGODB_URI": mongo_server.uri, "ONTOLOGY_DB_NAME": f"cli_{uuid.uuid4().hex}"}
    with MongoClient(mongo_server.uri, directConnection=True) as client:
        client.admin.command(
            {
                "configureFailPoint": "failCommand",
                "mode": {"times": 1},
                "data": {"failCommands": ["find"], "errorCode": 20, "appName": "ontology"},
            }
        )
        try:
            # when a command starts
            result = run_cli("groups", "create", "--slug", "acme", "--name", "Acme", env=env)
        finally:
            client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})

    # then it stops with the reason and the fix, having written nothing
    assert result.returncode == 1
    assert result.stderr == (
        f"error: MongoDB at {mongo_server.uri.split('//')[1].split('/')[0]} cannot run "
        "transactions (20: Failing command via 'failCommand' failpoint). Ontology writes in "
        "transactions, which need a replica set: run mongod with --replSet rs0 and call "
        "rs.initiate() once (a single node is enough), see docs/operations.md.\n"
    )


def test_the_readme_configuration_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text()

    assert START in readme and END in readme
    assert with_table(readme) == readme, (
        "The configuration reference in README.md is stale: "
        "run `ontology settings-reference --write README.md`"
    )


def test_the_reference_names_every_setting_with_its_default() -> None:
    table = settings_table()

    assert table.splitlines()[:3] == [
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
        "| `ONTOLOGY_MONGODB_URI` | str \\| None | unset | "
        "MongoDB connection string; unset starts the embedded server |",
    ]
    assert "| `ONTOLOGY_ENV` | `development` \\| `production` | `development` |" in table
    assert "| `ONTOLOGY_BATCH_MAX_ITEMS` | int | `10000` |" in table


def test_settings_reference_writes_between_the_markers(tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    target.write_text(f"# Doc\n\n{START}\nold table\n{END}\n\nafter\n")
    unmarked = tmp_path / "plain.md"
    unmarked.write_text("# Nothing here\n")

    first = run_cli("settings-reference", "--write", str(target), env={})
    second = run_cli("settings-reference", "--write", str(target), env={})
    missing = run_cli("settings-reference", "--write", str(unmarked), env={})

    assert first.returncode == 0 and first.stderr == f"{target}: updated\n"
    assert target.read_text() == f"# Doc\n\n{START}\n{settings_table()}{END}\n\nafter\n"
    assert second.stderr == f"{target}: already up to date\n"
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"error: {unmarked} has no settings-reference markers.")
