"""Event documents.

``sortKey`` = ``"<timestamp ms, 13 digits>:<_id hex>"`` orders events by time
and breaks ties by id in one indexed string field, so keyset pages and time
ranges are single-field ranges even for back-dated events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypedDict

from bson import ObjectId

from ontology.kit.clock import EPOCH
from ontology.ledger.counters import document_size


class EventDocument(TypedDict):
    """An event as stored (the ``events`` collection), declared once: the ledger appends
    them (``EventLog``), ``EventRepository`` reads them."""

    _id: ObjectId
    groupId: ObjectId
    type: str
    actorId: ObjectId | None
    targetId: ObjectId | None
    timestamp: datetime
    sortKey: str
    metadata: dict[str, Any]
    # the BSON size of the rest (``new_event``)
    sizeBytes: int


def sort_key(timestamp: datetime, event_id: ObjectId) -> str:
    return f"{time_key(timestamp)}:{event_id}"


def time_key(timestamp: datetime) -> str:
    return f"{int(timestamp.timestamp() * 1000):013d}"


_MILLISECOND = timedelta(milliseconds=1)


def ceil_millisecond(moment: datetime) -> datetime:
    """``moment`` rounded up to a whole millisecond (stored dates have millisecond precision)."""
    return EPOCH - ((EPOCH - moment) // _MILLISECOND) * _MILLISECOND


def new_event(
    group_id: ObjectId,
    event_type: str,
    *,
    timestamp: datetime,
    actor_id: ObjectId | None = None,
    target_id: ObjectId | None = None,
    metadata: dict[str, Any] | None = None,
) -> EventDocument:
    event_id = ObjectId()
    event: EventDocument = {
        "_id": event_id,
        "groupId": group_id,
        "type": event_type,
        "actorId": actor_id,
        "targetId": target_id,
        "timestamp": timestamp,
        "sortKey": sort_key(timestamp, event_id),
        "metadata": metadata or {},
        "sizeBytes": 0,  # set below: the size of the rest
    }
    event["sizeBytes"] = document_size(event)
    return event
