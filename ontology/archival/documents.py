"""The stored shape of an archive manifest (the ``archive_manifests`` collection),
declared once. ``ManifestRepository`` takes and returns these."""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict

from bson import ObjectId


class ListedManifest(TypedDict):
    """A manifest as listed by day (``ManifestRepository.done_in_days``): without ``ids``."""

    _id: ObjectId
    groupId: ObjectId
    runId: ObjectId
    key: str  # events/group=<id>/date=YYYY-MM-DD/part-<run>-<seq>.jsonl.gz
    date: str  # the events' UTC day, ISO
    count: int
    types: list[str]  # the events' types, sorted
    checksum: str  # sha256 of the object, hex
    objectBytes: int
    eventBytes: int  # the events' sizeBytes
    minTimestamp: datetime
    maxTimestamp: datetime
    # the events' sortKey range; absent from manifests recorded by an earlier version
    firstSortKey: NotRequired[str]
    lastSortKey: NotRequired[str]
    status: str  # a ManifestStatus value
    createdAt: datetime
    doneAt: datetime | None
    # set when a restore puts the events back
    restoredAt: NotRequired[datetime]


class ManifestDocument(ListedManifest):
    """A manifest as stored."""

    ids: list[ObjectId]  # the events', in the object's order
