"""``ontology schema check``: breaking changes against the release baseline fail unless recorded.

Each test writes a baseline as the last release would have had it (the current
schema plus or minus one thing) and runs the command on it, as CI does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ontology.api.schema import export_sdl
from ontology.api.schema_gate import compare, unreleased_lines

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = str(Path(sys.executable).parent / "ontology")
THING = "type Thing implements Node {\n  id: ID!\n"
CONNECTIONS_TYPE_ARG = "connections(direction: Direction! = BOTH, type: String = null, "
CHANGELOG_HEAD = "# Changelog\n\n## Unreleased\n\n"
RELEASED = "\n## 0.1.0 - 2026-11-30\n\n- First release.\n"


def schema_check(
    tmp_path: Path, baseline: str, changelog: str | None, *extra: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "baseline.graphql").write_text(baseline)
    arguments = ["schema", "check", "--against", str(tmp_path / "baseline.graphql")]
    if changelog is not None:
        (tmp_path / "CHANGELOG.md").write_text(changelog)
    arguments += ["--changelog", str(tmp_path / "CHANGELOG.md")]
    return subprocess.run(
        [ONTOLOGY, *arguments, *extra],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def with_legacy_field(deprecated: bool = False) -> str:
    """The baseline of a release whose Thing still had a ``legacy`` field."""
    sdl = export_sdl()
    directive = ' @deprecated(reason: "Use name.")' if deprecated else ""
    assert THING in sdl
    return sdl.replace(THING, f"{THING}  legacy: String{directive}\n", 1)


def test_the_schema_passes_the_gate_against_the_committed_baseline() -> None:
    result = subprocess.run(
        [ONTOLOGY, "schema", "check", "--against", "schema.baseline.graphql"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    # (dangerous changes since the release, such as an enum value added, are reported
    # and pass: one per line before the summary)
    assert (result.returncode, result.stderr) == (0, ""), result.stdout
    *dangerous, summary = result.stdout.splitlines()
    assert all(line.startswith("DANGEROUS ") for line in dangerous)
    assert summary == (
        f"schema check passed: 0 breaking (0 not recorded in CHANGELOG.md), "
        f"{len(dangerous)} dangerous, against schema.baseline.graphql"
    )


def test_no_change_passes(tmp_path: Path) -> None:
    result = schema_check(tmp_path, export_sdl(), None)

    assert result.returncode == 0
    assert result.stdout == (
        f"schema check passed: 0 breaking (0 not recorded in {tmp_path / 'CHANGELOG.md'}), "
        f"0 dangerous, against {tmp_path / 'baseline.graphql'}\n"
    )


def test_a_removed_field_fails(tmp_path: Path) -> None:
    result = schema_check(tmp_path, with_legacy_field(), CHANGELOG_HEAD + RELEASED)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "BREAKING FIELD_REMOVED: Field Thing.legacy was removed. "
        "[NOT recorded; was not deprecated in the baseline]",
        f"schema check FAILED: 1 breaking (1 not recorded in {tmp_path / 'CHANGELOG.md'}), "
        f"0 dangerous, against {tmp_path / 'baseline.graphql'}",
    ]


def test_a_removed_field_recorded_in_the_changelog_passes(tmp_path: Path) -> None:
    changelog = CHANGELOG_HEAD + "- BREAKING: Field Thing.legacy was removed.\n" + RELEASED

    result = schema_check(tmp_path, with_legacy_field(deprecated=True), changelog, "--json")

    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout) == {
        "passed": True,
        "breaking": [
            {
                "kind": "BREAKING",
                "type": "FIELD_REMOVED",
                "description": "Field Thing.legacy was removed.",
                "recorded": True,
                "undeprecated": False,
            }
        ],
        "dangerous": [],
    }


def test_a_record_under_a_released_heading_does_not_count(tmp_path: Path) -> None:
    changelog = (
        CHANGELOG_HEAD
        + "- Nothing yet.\n\n## 0.1.0\n\n- BREAKING: Field Thing.legacy was removed.\n"
    )

    result = schema_check(tmp_path, with_legacy_field(), changelog)

    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "BREAKING FIELD_REMOVED: Field Thing.legacy was removed. "
        "[NOT recorded; was not deprecated in the baseline]"
    )


def test_a_dangerous_change_is_reported_and_passes(tmp_path: Path) -> None:
    # the last release's Thing.connections had no optional `type` argument
    sdl = export_sdl()
    assert CONNECTIONS_TYPE_ARG in sdl
    baseline = sdl.replace(CONNECTIONS_TYPE_ARG, "connections(direction: Direction! = BOTH, ")

    result = schema_check(tmp_path, baseline, None)

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "DANGEROUS OPTIONAL_ARG_ADDED: An optional argument Thing.connections(type:) was added.",
        f"schema check passed: 0 breaking (0 not recorded in {tmp_path / 'CHANGELOG.md'}), "
        f"1 dangerous, against {tmp_path / 'baseline.graphql'}",
    ]


def test_a_missing_baseline_is_one_line_on_stderr(tmp_path: Path) -> None:
    result = subprocess.run(
        [ONTOLOGY, "schema", "check", "--against", str(tmp_path / "none.graphql")],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: --against {tmp_path / 'none.graphql'} is not a file.\n"


def test_only_the_unreleased_section_records_changes() -> None:
    changelog = (
        "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n- a\n- b\n\n## 0.2.0\n\n- c\n"
        "## Unreleased\n\n- d\n"
    )

    assert unreleased_lines(changelog) == ["", "- a", "- b", ""]
    assert unreleased_lines("# Changelog\n\n## 0.1.0\n\n- a\n") == []


def test_enum_value_removals_know_their_deprecation() -> None:
    baseline = 'type Query { e: E }\nenum E { A B @deprecated(reason: "gone") C }'

    result = compare(baseline, "type Query { e: E }\nenum E { A }")

    assert [change.line() for change in result.changes] == [
        "BREAKING VALUE_REMOVED_FROM_ENUM: Enum value E.B was removed. [NOT recorded]",
        "BREAKING VALUE_REMOVED_FROM_ENUM: Enum value E.C was removed. "
        "[NOT recorded; was not deprecated in the baseline]",
    ]
    assert result.passed is False
