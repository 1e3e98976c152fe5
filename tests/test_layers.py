"""The packages keep their layers (``[tool.importlinter]`` in pyproject.toml): no
package imports one above it, none imports another of its own layer when the
layer says they are independent, and the domain imports no GraphQL or HTTP code.
Imports inside functions count."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    found: list[dict[str, object]] = config["contracts"]
    return found


def test_the_code_keeps_every_contract() -> None:
    result = lint(ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_every_package_of_ontology_is_in_a_layer() -> None:
    (layers,) = [c["layers"] for c in contracts() if c["type"] == "layers"]
    assert isinstance(layers, list)
    listed = {name.strip() for layer in layers for name in layer.split("|")}
    packages = {
        f"ontology.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "ontology").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.name != "__init__.py")
    }
    assert packages == listed


def test_a_reversed_layer_is_reported(tmp_path: Path) -> None:
    # the contract can fail: with kit declared above the API, every import of kit by
    # the API breaks it
    config = tmp_path / "reversed.toml"
    config.write_text(
        '[tool.importlinter]\nroot_package = "ontology"\n\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "Reversed"\ntype = "layers"\nlayers = ["ontology.kit", "ontology.api"]\n'
    )
    result = lint(config)
    assert result.returncode == 1
    assert "Contracts: 0 kept, 1 broken." in result.stdout
    assert "ontology.api.base -> ontology.kit.errors" in result.stdout
