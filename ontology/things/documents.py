"""The stored shape of a thing (the ``things`` collection), declared once.

``ThingRepository`` takes and returns these; a misspelt key is a mypy error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict

from bson import ObjectId


class DirectionCounts(TypedDict, total=False):
    """One connection type's counts (``$inc`` creates only the direction it writes)."""

    inbound: int
    outbound: int


class ConnectionCounts(TypedDict):
    """A thing's connections per direction, and per connection type and direction."""

    inbound: int
    outbound: int
    byType: dict[str, DirectionCounts]


class NewestKeys(TypedDict, total=False):
    """The newest connection id per direction (``$max``; absent until one is written)."""

    inbound: ObjectId
    outbound: ObjectId


class NewestConnection(NewestKeys, total=False):
    byType: dict[str, NewestKeys]


class ThingDocument(TypedDict):
    _id: ObjectId
    groupId: ObjectId
    type: str
    name: str
    properties: Any  # a JSON object (checked on write)
    status: str
    version: int
    createdAt: datetime
    updatedAt: datetime
    deletedAt: datetime | None
    connectionCounts: ConnectionCounts
    # the BSON size without this field (``ontology.ledger.counters.document_size``)
    sizeBytes: int
    # written with the thing's first connection
    newestConnection: NotRequired[NewestConnection]


class InboundCount(TypedDict):
    inbound: int


class ThingInbound(TypedDict):
    """A thing's type and inbound count (``ThingRepository.inbound_counts``)."""

    _id: ObjectId
    type: str
    connectionCounts: InboundCount
