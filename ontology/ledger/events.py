"""Event documents.

``sortKey`` = ``"<timestamp ms, 13 digits>:<_id hex>"`` orders events by time
and breaks ties by id in one indexed string field, so keyset pages and time
ranges are single-field ranges even for back-dated events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import bson
from bson import ObjectId

from ontology.db.client import Document
from ontology.kit.clock import EPOCH


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
) -> Document:
    event_id = ObjectId()
    event: Document = {
        "_id": event_id,
        "groupId": group_id,
        "type": event_type,
        "actorId": actor_id,
        "targetId": target_id,
        "timestamp": timestamp,
        "sortKey": sort_key(timestamp, event_id),
        "metadata": metadata or {},
    }
    event["sizeBytes"] = len(bson.encode(event))
    return event
