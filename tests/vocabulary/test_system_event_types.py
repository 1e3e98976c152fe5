"""System event types: every type the code writes is one, and logEvent cannot forge them."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import ontology
from ontology.vocabulary.registry import WRITTEN_BY_THE_SYSTEM, load_vocabulary

PACKAGE = Path(ontology.__file__).parent
# The one call whose type comes from a client: logEvent, which checks it.
CLIENT_TYPED = {("events/service.py", "event.type")}


def event_types_written_by_the_code() -> tuple[set[str], list[str]]:
    """The literal type of every ``new_event(group, "<type>", ...)`` call in the package,
    and where a call passes something else (which this test could not check)."""
    written: set[str] = set()
    unchecked: list[str] = []
    for source in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "new_event"
            ):
                continue
            where = str(source.relative_to(PACKAGE))
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                written.add(str(node.args[1].value))
            elif len(node.args) < 2 or (where, ast.unparse(node.args[1])) not in CLIENT_TYPED:
                unchecked.append(f"{where}:{node.lineno}")
    return written, unchecked


def test_every_event_type_the_code_writes_is_a_system_type() -> None:
    # given
    default = json.loads(
        resources.files("ontology.vocabulary").joinpath("default.json").read_text()
    )

    # when
    written, unchecked = event_types_written_by_the_code()

    # then: events_archived is reserved for archival, which logs no event yet
    assert unchecked == []
    assert written == WRITTEN_BY_THE_SYSTEM - {"events_archived"}
    assert set(default["systemEventTypes"]) == WRITTEN_BY_THE_SYSTEM
    assert set(default["eventTypes"]) & WRITTEN_BY_THE_SYSTEM == set()
    vocabulary = load_vocabulary()
    assert vocabulary.system_event_types == WRITTEN_BY_THE_SYSTEM
    assert vocabulary.event_types == set(default["eventTypes"]) | WRITTEN_BY_THE_SYSTEM


def test_a_replacement_file_declares_its_own_system_types_and_cannot_free_the_codes(
    tmp_path: Path,
) -> None:
    # given: a file that lists thing_created as a client type and adds one system type
    path = tmp_path / "vocabulary.json"
    path.write_text(
        json.dumps(
            {
                "thingTypes": [{"name": "creator"}],
                "connectionTypes": [],
                "eventTypes": ["user_login", "thing_created"],
                "systemEventTypes": ["audit_logged"],
            }
        )
    )

    # when
    vocabulary = load_vocabulary(path)

    # then
    assert vocabulary.system_event_types == WRITTEN_BY_THE_SYSTEM | {"audit_logged"}
    assert vocabulary.event_types == WRITTEN_BY_THE_SYSTEM | {"audit_logged", "user_login"}
