"""Load the vocabulary data file and answer questions about it.

The file lists thing types (each with an optional JSON Schema for its
``properties``), connection types with the thing types allowed at each end, and
event types. A rule end may name a type, a type set (``@agents``) or ``*``.

Event types come in two lists: ``eventTypes``, which clients log, and
``systemEventTypes``, which only the system writes (``logEvent`` refuses them,
so a client cannot forge a ``thing_deleted`` or a ``quota_exceeded``). Both can
be read back with ``events(type:)``. The types the code itself writes are
system types whatever a replacement file says (``WRITTEN_BY_THE_SYSTEM``), so
a file that predates the split, or forgets one, cannot make them forgeable.
"""

from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, model_validator

THING_STATUSES = ("draft", "active", "published", "inactive", "archived")
ANY = "*"

# Every event type a service writes (tests/vocabulary/test_system_event_types.py reads
# the code to keep this list complete). ``events_archived`` is reserved for
# archival although no run logs it yet.
WRITTEN_BY_THE_SYSTEM = frozenset(
    {
        "thing_created",
        "thing_updated",
        "thing_deleted",
        "connection_created",
        "connection_deleted",
        "batch_imported",
        "connections_batch_created",
        "things_batch_updated",
        "quota_exceeded",
        "quota_alert",
        "subscription_event",
        "events_archived",
    }
)


class ThingTypeDef(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    properties_schema: dict[str, Any] | None = Field(default=None, alias="propertiesSchema")


class ConnectionTypeDef(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str
    from_types: list[str] = Field(alias="from")
    to_types: list[str] = Field(alias="to")
    allow_self: bool = Field(default=False, alias="allowSelf")


class VocabularyFile(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    description: str = ""
    type_sets: dict[str, list[str]] = Field(default_factory=dict, alias="typeSets")
    thing_types: list[ThingTypeDef] = Field(alias="thingTypes")
    connection_types: list[ConnectionTypeDef] = Field(alias="connectionTypes")
    event_types: list[str] = Field(alias="eventTypes")
    system_event_types: list[str] = Field(default_factory=list, alias="systemEventTypes")

    @model_validator(mode="after")
    def _references_resolve(self) -> VocabularyFile:
        known = {t.name for t in self.thing_types}
        for rule in self.connection_types:
            for end in (*rule.from_types, *rule.to_types):
                if end == ANY:
                    continue
                if end.startswith("@"):
                    if end[1:] not in self.type_sets:
                        raise ValueError(f"connection type {rule.name}: unknown type set {end}")
                elif end not in known:
                    raise ValueError(f"connection type {rule.name}: unknown thing type {end}")
        for set_name, members in self.type_sets.items():
            unknown = set(members) - known
            if unknown:
                raise ValueError(f"type set {set_name}: unknown thing types {sorted(unknown)}")
        for thing_type in self.thing_types:
            if thing_type.properties_schema is not None:
                Draft202012Validator.check_schema(thing_type.properties_schema)
        return self


class Vocabulary:
    """The types and rules one deployment uses."""

    def __init__(self, source: VocabularyFile) -> None:
        self.source = source
        self.thing_types = {t.name: t for t in source.thing_types}
        # Written only by the system: logEvent refuses them, reads accept them.
        self.system_event_types = frozenset(source.system_event_types) | WRITTEN_BY_THE_SYSTEM
        # Every type an event may have (what logEvent accepts is this minus the above).
        self.event_types = frozenset(source.event_types) | self.system_event_types
        self.connection_types = {c.name: c for c in source.connection_types}
        self._ends = {
            rule.name: (self._expand(rule.from_types), self._expand(rule.to_types))
            for rule in source.connection_types
        }

    def _expand(self, ends: list[str]) -> frozenset[str] | None:
        """The allowed thing types, or ``None`` for any."""
        if ANY in ends:
            return None
        expanded: set[str] = set()
        for end in ends:
            expanded.update(self.source.type_sets[end[1:]] if end.startswith("@") else [end])
        return frozenset(expanded)

    def type_set(self, name: str) -> frozenset[str]:
        """The thing types of a named set (``content``, ``people``…); empty when undefined."""
        return frozenset(self.source.type_sets.get(name, ()))

    def allows_connection(self, connection_type: str, from_type: str, to_type: str) -> bool:
        allowed_from, allowed_to = self._ends[connection_type]
        return (allowed_from is None or from_type in allowed_from) and (
            allowed_to is None or to_type in allowed_to
        )

    def allows_self_loop(self, connection_type: str) -> bool:
        return self.connection_types[connection_type].allow_self

    @cached_property
    def _validators(self) -> dict[str, Draft202012Validator]:
        return {
            name: Draft202012Validator(t.properties_schema)
            for name, t in self.thing_types.items()
            if t.properties_schema is not None
        }

    def schema_errors(self, thing_type: str, properties: dict[str, Any]) -> list[tuple[str, str]]:
        """(dotted path inside ``properties``, message) for each JSON Schema violation."""
        validator = self._validators.get(thing_type)
        if validator is None:
            return []
        return [
            (".".join(str(p) for p in error.absolute_path), error.message)
            for error in validator.iter_errors(properties)
        ]


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """The vocabulary in ``path``, or the default one shipped in the package."""
    if path is None:
        text = resources.files("ontology.vocabulary").joinpath("default.json").read_text()
    else:
        text = path.read_text()
    return Vocabulary(VocabularyFile.model_validate(json.loads(text)))
