"""The schema gate: what changed between a baseline SDL (the last release) and the schema.

Breaking and dangerous changes are graphql-core's (``find_breaking_changes``,
``find_dangerous_changes``), each with its type (``FIELD_REMOVED``…) and its
description (``Field Thing.legacy was removed.``). A breaking change passes the gate only
when it is *recorded*: its description appears verbatim on a line of the
``## Unreleased`` section of the changelog, e.g.::

    ## Unreleased

    - BREAKING: Field Thing.legacy was removed.

Dangerous changes (a new enum value, an argument default changed…) are reported and
pass. A removed field or enum value that the baseline did not deprecate is flagged
(fields are deprecated in one release and removed in a later one), but recording it
is enough to pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

UNRELEASED = re.compile(r"^##\s+\[?Unreleased\]?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    kind: str  # BREAKING or DANGEROUS
    type: str  # graphql-core's change type, e.g. FIELD_REMOVED
    description: str
    recorded: bool = False
    undeprecated: bool = False  # removed without a deprecation in the baseline

    def line(self) -> str:
        notes = []
        if self.kind == "BREAKING":
            notes.append("recorded in the changelog" if self.recorded else "NOT recorded")
        if self.undeprecated:
            notes.append("was not deprecated in the baseline")
        suffix = f" [{'; '.join(notes)}]" if notes else ""
        return f"{self.kind} {self.type}: {self.description}{suffix}"


@dataclass
class GateResult:
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "BREAKING"]

    @property
    def dangerous(self) -> list[Change]:
        return [c for c in self.changes if c.kind == "DANGEROUS"]

    @property
    def unrecorded(self) -> list[Change]:
        return [c for c in self.breaking if not c.recorded]

    @property
    def passed(self) -> bool:
        return not self.unrecorded


def unreleased_lines(changelog: str) -> list[str]:
    """The lines of the ``## Unreleased`` section (up to the next ``## `` heading)."""
    lines: list[str] = []
    inside = False
    for line in changelog.splitlines():
        if line.startswith("## ") or line.startswith("##\t"):
            if inside:
                break
            inside = bool(UNRELEASED.match(line.strip()))
            continue
        if inside:
            lines.append(line)
    return lines


def _was_deprecated(baseline: GraphQLSchema, change_type: str, description: str) -> bool:
    """Whether the removed field or enum value named by ``description`` was deprecated."""
    match = re.match(r"^(?:Field |Enum value )?(\w+)\.(\w+) was removed\.$", description)
    if match is None:
        return True  # not a removal this check knows how to look up
    type_name, member = match.groups()
    named = baseline.get_type(type_name)
    if change_type == BreakingChangeType.VALUE_REMOVED_FROM_ENUM.name and isinstance(
        named, GraphQLEnumType
    ):
        value = named.values.get(member)
        return value is not None and value.deprecation_reason is not None
    if isinstance(named, GraphQLInputObjectType):
        return True  # input fields are removed for callers, not deprecated for readers
    fields = getattr(named, "fields", None)
    if fields is None or member not in fields:
        return True
    return fields[member].deprecation_reason is not None


def compare(baseline_sdl: str, current_sdl: str, changelog: str = "") -> GateResult:
    """The breaking and dangerous changes from ``baseline_sdl`` to ``current_sdl``."""
    baseline = build_schema(baseline_sdl)
    current = build_schema(current_sdl)
    recorded_text = "\n".join(unreleased_lines(changelog))
    removals = {
        BreakingChangeType.FIELD_REMOVED.name,
        BreakingChangeType.VALUE_REMOVED_FROM_ENUM.name,
    }
    result = GateResult()
    for breaking in find_breaking_changes(baseline, current):
        kind = breaking.type.name
        result.changes.append(
            Change(
                "BREAKING",
                kind,
                breaking.description,
                recorded=breaking.description in recorded_text,
                undeprecated=kind in removals
                and not _was_deprecated(baseline, kind, breaking.description),
            )
        )
    for dangerous in find_dangerous_changes(baseline, current):
        result.changes.append(Change("DANGEROUS", dangerous.type.name, dangerous.description))
    return result


def check_files(baseline: Path, current_sdl: str, changelog: Path | None) -> GateResult:
    text = changelog.read_text() if changelog is not None and changelog.exists() else ""
    return compare(baseline.read_text(), current_sdl, text)
