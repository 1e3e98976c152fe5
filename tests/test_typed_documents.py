"""The stored documents are typed: mypy reports a misspelt key, read or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

READ = """\
from ontology.things.documents import ThingDocument

def size(thing: ThingDocument) -> object:
    return thing["{key}"]
"""

WRITE = """\
from ontology.things.documents import DirectionCounts

counts: DirectionCounts = {{"inbound": 1, "{key}": 2}}
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this module's runs (the first one fills it)."""
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(source: str, cache: Path) -> tuple[list[str], int]:
    # strict, as the project's settings (which name the package to check instead)
    options = ["--config-file=", "--strict", f"--cache-dir={cache}", "--no-error-summary"]
    out, err, status = api.run([*options, "-c", source])
    assert err == ""
    return out.splitlines(), status


def test_a_misspelt_key_read_from_a_thing_is_an_error(cache: Path) -> None:
    assert mypy(READ.format(key="sizebytes"), cache) == (
        [
            '<string>:4: error: TypedDict "ThingDocument" has no key "sizebytes"  [typeddict-item]',
            '<string>:4: note: Did you mean "sizeBytes"?',
        ],
        1,
    )
    assert mypy(READ.format(key="sizeBytes"), cache) == ([], 0)


def test_a_misspelt_key_in_a_document_literal_is_an_error(cache: Path) -> None:
    assert mypy(WRITE.format(key="outbund"), cache) == (
        [
            '<string>:3: error: Extra key "outbund" for TypedDict "DirectionCounts"  '
            "[typeddict-unknown-key]",
        ],
        1,
    )
    assert mypy(WRITE.format(key="outbound"), cache) == ([], 0)
