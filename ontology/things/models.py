"""Thing inputs, their validation, and thing documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from ontology.kit.errors import ItemError
from ontology.kit.limits import WriteLimits, check_name, quoted
from ontology.ledger.counters import document_size
from ontology.things.documents import ThingDocument
from ontology.things.errors import ThingErrorCode
from ontology.vocabulary.errors import VocabularyErrorCode
from ontology.vocabulary.registry import THING_STATUSES, Vocabulary

DEFAULT_STATUS = "draft"


@dataclass(frozen=True)
class NewThing:
    type: str
    name: str
    properties: Any  # checked: must be a JSON object
    status: str = DEFAULT_STATUS


@dataclass(frozen=True)
class ThingChanges:
    """An update; ``None`` leaves a field as it is."""

    name: str | None = None
    properties: Any = None
    status: str | None = None
    expected_version: int | None = None


def _check_status(status: str, path: str, index: int | None) -> list[ItemError]:
    if status in THING_STATUSES:
        return []
    message = f"Unknown status {quoted(status)}; expected one of {', '.join(THING_STATUSES)}."
    return [ItemError(ThingErrorCode.INVALID_STATUS, message, path, index)]


def _check_properties(
    vocabulary: Vocabulary,
    limits: WriteLimits,
    thing_type: str,
    properties: Any,
    path: str,
    index: int | None,
) -> list[ItemError]:
    errors = limits.check_object(properties, path, index)
    if errors or thing_type not in vocabulary.thing_types:
        return errors
    return [
        ItemError(
            VocabularyErrorCode.SCHEMA_MISMATCH,
            message,
            f"{path}.{where}" if where else path,
            index,
        )
        for where, message in vocabulary.schema_errors(thing_type, properties)
    ]


def check_new_thing(
    vocabulary: Vocabulary,
    limits: WriteLimits,
    thing: NewThing,
    prefix: str = "",
    index: int | None = None,
) -> tuple[NewThing, list[ItemError]]:
    """The normalized thing and every validation error, each with its path."""
    errors: list[ItemError] = []
    if thing.type not in vocabulary.thing_types:
        errors.append(
            ItemError(
                VocabularyErrorCode.UNKNOWN_TYPE,
                f"Unknown thing type {quoted(thing.type)}.",
                f"{prefix}type",
                index,
            )
        )
    name, name_errors = check_name(thing.name, f"{prefix}name", index)
    errors += name_errors
    errors += _check_status(thing.status, f"{prefix}status", index)
    errors += _check_properties(
        vocabulary, limits, thing.type, thing.properties, f"{prefix}properties", index
    )
    normalized = NewThing(
        type=thing.type, name=name, properties=thing.properties, status=thing.status
    )
    return normalized, errors


def check_changes(
    vocabulary: Vocabulary,
    limits: WriteLimits,
    thing_type: str,
    changes: ThingChanges,
    prefix: str = "",
    index: int | None = None,
) -> tuple[ThingChanges, list[ItemError]]:
    errors: list[ItemError] = []
    name = changes.name
    if name is not None:
        name, name_errors = check_name(name, f"{prefix}name", index)
        errors += name_errors
    if changes.status is not None:
        errors += _check_status(changes.status, f"{prefix}status", index)
    if changes.properties is not None:
        errors += _check_properties(
            vocabulary, limits, thing_type, changes.properties, f"{prefix}properties", index
        )
    normalized = ThingChanges(
        name=name,
        properties=changes.properties,
        status=changes.status,
        expected_version=changes.expected_version,
    )
    return normalized, errors


def new_thing_document(group_id: ObjectId, thing: NewThing, now: datetime) -> ThingDocument:
    doc: ThingDocument = {
        "_id": ObjectId(),
        "groupId": group_id,
        "type": thing.type,
        "name": thing.name,
        "properties": thing.properties,
        "status": thing.status,
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
        "deletedAt": None,
        "connectionCounts": {"inbound": 0, "outbound": 0, "byType": {}},
        "sizeBytes": 0,  # set below: the size of the rest
    }
    doc["sizeBytes"] = document_size(doc)
    return doc


def changed_fields(current: ThingDocument, changes: ThingChanges) -> dict[str, dict[str, Any]]:
    """``{field: {"old": ..., "new": ...}}`` for the fields the update really changes."""
    diff: dict[str, dict[str, Any]] = {}
    for field, old, new in (
        ("name", current["name"], changes.name),
        ("properties", current["properties"], changes.properties),
        ("status", current["status"], changes.status),
    ):
        if new is not None and old != new:
            diff[field] = {"old": old, "new": new}
    return diff
