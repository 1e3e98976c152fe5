"""Connection inputs, their validation, and connection documents."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bson import ObjectId

from ontology.connections.documents import ConnectionDocument
from ontology.connections.errors import ConnectionErrorCode
from ontology.kit.errors import ErrorCode, ItemError
from ontology.kit.limits import WriteLimits, quoted
from ontology.ledger.counters import document_size
from ontology.things.documents import ThingDocument
from ontology.vocabulary.errors import VocabularyErrorCode
from ontology.vocabulary.registry import Vocabulary


@dataclass(frozen=True)
class NewConnection:
    """``from_id``/``to_id`` are ``None`` when the given id did not decode (not found)."""

    from_id: ObjectId | None
    to_id: ObjectId | None
    type: str
    metadata: Any = field(default_factory=dict)  # checked: must be a JSON object
    strength: float | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


def check_new_connection(
    vocabulary: Vocabulary,
    limits: WriteLimits,
    connection: NewConnection,
    things: dict[ObjectId, ThingDocument],
    prefix: str = "",
    index: int | None = None,
) -> list[ItemError]:
    """Every validation error; ``things`` are the caller's live things by id."""
    errors: list[ItemError] = []
    known_type = connection.type in vocabulary.connection_types
    if not known_type:
        errors.append(
            ItemError(
                VocabularyErrorCode.UNKNOWN_TYPE,
                f"Unknown connection type {quoted(connection.type)}.",
                f"{prefix}type",
                index,
            )
        )
    ends: list[ThingDocument] = []
    for name, thing_id in (("fromId", connection.from_id), ("toId", connection.to_id)):
        thing = things.get(thing_id) if thing_id is not None else None
        if thing is None:
            errors.append(
                ItemError(ErrorCode.NOT_FOUND, "No such thing.", f"{prefix}{name}", index)
            )
        else:
            ends.append(thing)
    if known_type and len(ends) == 2:
        from_thing, to_thing = ends
        if from_thing["_id"] == to_thing["_id"] and not vocabulary.allows_self_loop(
            connection.type
        ):
            errors.append(
                ItemError(
                    ConnectionErrorCode.SELF_LOOP,
                    f"A {connection.type} connection cannot connect a thing to itself.",
                    f"{prefix}toId",
                    index,
                )
            )
        elif not vocabulary.allows_connection(
            connection.type, from_thing["type"], to_thing["type"]
        ):
            errors.append(
                ItemError(
                    ConnectionErrorCode.CONNECTION_NOT_ALLOWED,
                    f"{connection.type} is not allowed from {from_thing['type']} "
                    f"to {to_thing['type']}.",
                    f"{prefix}type",
                    index,
                )
            )
    naive = False
    for name, moment in (("validFrom", connection.valid_from), ("validTo", connection.valid_to)):
        if moment is not None and moment.tzinfo is None:
            naive = True
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT, f"{name} needs a time zone.", f"{prefix}{name}", index
                )
            )
    if (
        not naive
        and connection.valid_from is not None
        and connection.valid_to is not None
        and connection.valid_from > connection.valid_to
    ):
        errors.append(
            ItemError(
                ErrorCode.INVALID_RANGE,
                "validFrom must not be after validTo.",
                f"{prefix}validFrom",
                index,
            )
        )
    if connection.strength is not None and not math.isfinite(connection.strength):
        errors.append(
            ItemError(
                ErrorCode.INVALID_INPUT,
                "strength must be a finite number.",
                f"{prefix}strength",
                index,
            )
        )
    errors += limits.check_object(connection.metadata, f"{prefix}metadata", index)
    return errors


def new_connection_document(
    group_id: ObjectId, connection: NewConnection, now: datetime
) -> ConnectionDocument:
    # checked: both ends are the group's live things
    assert connection.from_id is not None and connection.to_id is not None
    doc: ConnectionDocument = {
        "_id": ObjectId(),
        "groupId": group_id,
        "fromId": connection.from_id,
        "toId": connection.to_id,
        "type": connection.type,
        "metadata": connection.metadata,
        "strength": connection.strength,
        "validFrom": connection.valid_from,
        "validTo": connection.valid_to,
        "createdAt": now,
        "updatedAt": now,
        "sizeBytes": 0,  # set below: the size of the rest
    }
    doc["sizeBytes"] = document_size(doc)
    return doc


def count_changes(doc: ConnectionDocument, delta: int) -> list[tuple[ObjectId, str, str, int]]:
    """The per-thing connection count changes of adding (+1) or removing (-1) ``doc``."""
    return [
        (doc["fromId"], "outbound", doc["type"], delta),
        (doc["toId"], "inbound", doc["type"], delta),
    ]
