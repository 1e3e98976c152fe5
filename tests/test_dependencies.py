"""pyproject.toml declares what the code imports, with floors; constraints.txt locks them.

``.ci/lowest`` installs every floor and runs a smoke subset; these tests check the
files it relies on: every third-party import maps to a declared distribution, every
declaration has one ``>=`` floor, and constraints.txt pins each within its range.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# Type stubs a dev extra brings in through another distribution's extra.
PROVIDED_BY = {"mypy-boto3-s3": "boto3-stubs"}


def floors_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "dependency_floors", ROOT / "scripts" / "dependency_floors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict[str, object]:
    loaded: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return loaded


def declared(*extras: str) -> dict[str, Requirement]:
    meta = project()
    requirements = list(meta["dependencies"])  # type: ignore[call-overload]
    for extra in extras:
        requirements += meta["optional-dependencies"][extra]  # type: ignore[index]
    parsed = [Requirement(r) for r in requirements]
    return {normalized(r.name): r for r in parsed if r.name != "ontology"}


def imported_distributions(folder: str) -> set[str]:
    """Distributions of the third-party top-level modules imported under ``folder``."""
    modules = set()
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    local = {"ontology", "tests", "__future__"}
    third_party = modules - set(sys.stdlib_module_names) - local
    owners = packages_distributions()
    found = set()
    for module in third_party:
        assert module in owners, f"{module} (imported under {folder}/) is not installed"
        for distribution in owners[module]:
            name = normalized(distribution)
            found.add(PROVIDED_BY.get(name, name))
    return found


def test_every_distribution_the_package_imports_is_a_runtime_dependency() -> None:
    runtime = declared()
    # mypy-boto3-s3 is imported for type checking only (under TYPE_CHECKING)
    used = imported_distributions("ontology") - {"boto3-stubs"}
    # `opentelemetry` is a namespace package of several distributions: the otel extra's
    # (ontology.kit.tracing imports it only while tracing is on; tests/api/test_tracing.py
    # checks that everything else works without it)
    otel = {name for name in used if name.startswith("opentelemetry-")}

    assert otel - {"opentelemetry-semantic-conventions"} == set(declared("otel")) - set(runtime)
    assert used - otel - set(runtime) == set()
    assert {"cross-web", "graphql-core", "botocore", "pydantic-core"} <= used


def test_every_distribution_the_tests_import_is_declared_for_development() -> None:
    development = declared("embedded", "otel", "dev")
    # the namespace package `opentelemetry` also maps to the SDK's own dependency
    provided = {"opentelemetry-semantic-conventions"}

    assert imported_distributions("tests") - set(development) - provided == set()


def test_every_declaration_has_one_floor_and_internals_have_a_ceiling() -> None:
    floors = floors_script().floors(floors_script().declared())
    everything = declared("embedded", "otel", "dev")

    assert set(floors) == set(everything)
    assert {name: floors[name] for name in ("strawberry-graphql", "graphql-core", "moto")} == {
        "strawberry-graphql": "0.329",
        "graphql-core": "3.3.2",
        "moto": "5.0.15",
    }
    ceilings = {name: str(r.specifier) for name, r in everything.items() if "<" in str(r)}
    assert ceilings == {
        "strawberry-graphql": "<0.342,>=0.329",
        "graphql-core": "<3.4,>=3.3.2",
        "cross-web": "<0.10,>=0.6",
        "pymongo": "<5,>=4.13",
        "pydantic": "<3,>=2.7",
        "pydantic-settings": "<3,>=2.3",
        "apscheduler": "<4,>=3.11",
    }


def test_a_requirement_without_a_floor_is_refused() -> None:
    script = floors_script()

    with pytest.raises(ValueError) as raised:
        script.floors(["pytest>=8.2", "boto3-stubs[s3]", "rich<14"])

    assert str(raised.value) == "no single >= floor: boto3-stubs[s3], rich<14"


def test_the_lowest_lock_must_hold_every_floor() -> None:
    script = floors_script()
    wanted = {"boto3": "1.36", "moto": "5.0.15", "secantusdb": "0.7.0b3"}
    lock = "boto3==1.36.0\nmoto==5.2.5    # via ontology\nsecantusdb==0.7.0b3\n"

    assert script.not_at_floor(wanted, lock) == {"moto": "5.2.5"}
    assert script.not_at_floor(wanted, lock.replace("5.2.5", "5.0.15")) == {}
    assert script.not_at_floor(wanted, "boto3==1.36\n") == {"moto": None, "secantusdb": None}


def test_constraints_pin_every_declared_distribution_within_its_range() -> None:
    pins = floors_script().pins((ROOT / "constraints.txt").read_text())

    for name, requirement in declared("embedded", "otel", "dev", "server").items():
        assert name in pins, f"constraints.txt does not pin {name}: run scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {requirement.specifier}: "
            "run scripts/lock.sh"
        )


def test_ci_and_the_image_install_from_the_constraints() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()

    assert ".venv/bin/pip install --quiet -c constraints.txt -e '.[dev]'" in ci
    assert "COPY pyproject.toml README.md LICENSE constraints.txt ./" in dockerfile
    assert "/opt/ontology/bin/pip install -c constraints.txt '.[server,otel]'" in dockerfile
