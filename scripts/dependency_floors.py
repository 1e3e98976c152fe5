#!/usr/bin/env python3
"""Print ``name==floor`` for every dependency pyproject.toml declares (runtime, embedded, dev).

``.ci/lowest`` resolves the project with these lines as constraints, so every
declared floor is exactly what gets installed there (transitive dependencies take
their newest versions that fit); a floor that cannot be installed together with
the others, or on which the smoke tests fail, is a floor that lies.

Every requirement must carry exactly one ``>=`` lower bound: the script exits 1
naming any that has none. ``--check-lock FILE`` exits 1 unless FILE (the resolved
lowest set) pins every dependency at its floor.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The extras a development install pulls in ("bench" and "server" are not tested at
# their floors; "server" only adds uvicorn's own [standard] extra).
EXTRAS = ("embedded", "otel", "dev")
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def declared(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings of the runtime dependencies and of ``EXTRAS``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in EXTRAS:
        requirements += project["optional-dependencies"][extra]
    own = project["name"]
    return [r for r in requirements if split(r)[0] != own]


def split(requirement: str) -> tuple[str, list[str]]:
    """The normalized distribution name and its version clauses (``[">=1.2", "<2"]``)."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise ValueError(f"cannot read requirement {requirement!r}")
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    clauses = [c.strip() for c in match.group(3).split(",") if c.strip()]
    return name, clauses


def floors(requirements: list[str]) -> dict[str, str]:
    """Each distribution's ``>=`` version; ValueError naming those without exactly one."""
    found: dict[str, str] = {}
    missing = []
    for requirement in requirements:
        name, clauses = split(requirement)
        lower = [c[2:].strip() for c in clauses if c.startswith(">=")]
        if len(lower) != 1:
            missing.append(requirement)
            continue
        found[name] = lower[0]
    if missing:
        raise ValueError("no single >= floor: " + ", ".join(missing))
    return found


def _release(version: str) -> tuple[str, ...]:
    """``1.36`` and ``1.36.0`` are the same release."""
    parts = version.split(".")
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return tuple(parts)


def pins(lock_text: str) -> dict[str, str]:
    """``name==version`` lines of a requirements/constraints file, names normalized."""
    found = {}
    for line in lock_text.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def not_at_floor(wanted: dict[str, str], lock_text: str) -> dict[str, str | None]:
    """The distributions whose locked version is not their floor (None: not locked)."""
    locked = pins(lock_text)
    return {
        name: locked.get(name)
        for name, floor in sorted(wanted.items())
        if name not in locked or _release(locked[name]) != _release(floor)
    }


def main(argv: list[str]) -> int:
    try:
        wanted = floors(declared())
    except ValueError as error:
        print(f"pyproject.toml: {error}", file=sys.stderr)
        return 1
    if argv[:1] == ["--check-lock"] and len(argv) == 2:
        wrong = not_at_floor(wanted, Path(argv[1]).read_text())
        if wrong:
            listed = ", ".join(f"{n} {wrong[n]} (floor {wanted[n]})" for n in wrong)
            print(f"{argv[1]}: not at the declared floor: {listed}", file=sys.stderr)
            return 1
        print(f"{len(wanted)} dependencies at their declared floors")
        return 0
    if argv:
        print("usage: dependency_floors.py [--check-lock FILE]", file=sys.stderr)
        return 2
    for name, version in sorted(wanted.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
