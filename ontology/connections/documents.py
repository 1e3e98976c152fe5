"""The stored shape of a connection (the ``connections`` collection), declared once.

``ConnectionRepository`` takes and returns these; a misspelt key is a mypy error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from bson import ObjectId

from ontology.things.documents import ThingDocument


class ConnectionDocument(TypedDict):
    _id: ObjectId
    groupId: ObjectId
    fromId: ObjectId
    toId: ObjectId
    type: str
    metadata: Any  # a JSON object (checked on write)
    strength: float | None
    validFrom: datetime | None
    validTo: datetime | None
    createdAt: datetime
    updatedAt: datetime
    # the BSON size without this field (``ontology.ledger.counters.document_size``)
    sizeBytes: int


class RelatedConnection(ConnectionDocument):
    """A connection of a thing's page, with the live thing at its other end (or None),
    joined in the same command (``ConnectionRepository.for_things``)."""

    _other: ThingDocument | None


class ConnectionKey(TypedDict):
    """What ``ConnectionRepository.existing_keys`` projects."""

    _id: ObjectId
    fromId: ObjectId
    toId: ObjectId
    type: str
