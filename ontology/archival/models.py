"""Archive objects, manifests and run summaries.

An archive object holds one group's events of one UTC day, oldest first, as
gzip-compressed JSON Lines in canonical Extended JSON: every field keeps its
BSON type (ObjectIds, dates, 32/64-bit integers, doubles), so a restored event
is byte-for-byte the document that was archived.

A manifest (collection ``archive_manifests``) records an object before it is
written (status ``pending``): its key, checksum, the events' ids and time span.
Once the object is verified and the ids deleted from the hot collection, in one
transaction, the manifest is ``done``. ``restored`` marks a manifest whose
events were put back into the hot collection.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId, json_util
from bson.json_util import JSONMode, JSONOptions

from ontology.archival.documents import ManifestDocument
from ontology.archival.sinks import sha256_hex
from ontology.db.client import Document
from ontology.ledger.events import EventDocument

# Canonical mode: every BSON type explicit, so decoding gives back the same types.
EXTENDED_JSON = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True, tzinfo=UTC)


class ManifestStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    RESTORED = "restored"


def group_prefix(group_id: ObjectId) -> str:
    return f"events/group={group_id}/"


def day_prefix(group_id: ObjectId, day: date) -> str:
    return f"{group_prefix(group_id)}date={day.isoformat()}/"


def object_key(group_id: ObjectId, day: date, run_id: ObjectId, seq: int) -> str:
    """``events/group=<id>/date=YYYY-MM-DD/part-<run>-<seq>.jsonl.gz``; sorts by day, run, seq."""
    return f"{day_prefix(group_id, day)}part-{run_id}-{seq:06d}.jsonl.gz"


def encode_events(events: Sequence[EventDocument]) -> bytes:
    """Gzip JSON Lines, one canonical Extended JSON document per line.

    ``mtime=0`` keeps the bytes a function of the events alone.
    """
    lines = "".join(json_util.dumps(event, json_options=EXTENDED_JSON) + "\n" for event in events)
    return gzip.compress(lines.encode(), compresslevel=6, mtime=0)


def decode_events(data: bytes) -> Iterator[EventDocument]:
    for line in gzip.decompress(data).decode().splitlines():
        if line:
            document: EventDocument = json_util.loads(line, json_options=EXTENDED_JSON)
            yield document


@dataclass(frozen=True)
class ArchiveObject:
    """One batch ready to upload: the object bytes and the manifest that describes them."""

    key: str
    data: bytes
    manifest: ManifestDocument


def new_manifest(
    group_id: ObjectId, run_id: ObjectId, seq: int, events: Sequence[EventDocument], now: datetime
) -> ArchiveObject:
    day = events[0]["timestamp"].date()
    key = object_key(group_id, day, run_id, seq)
    data = encode_events(events)
    manifest: ManifestDocument = {
        "_id": ObjectId(),
        "groupId": group_id,
        "runId": run_id,
        "key": key,
        "date": day.isoformat(),
        "count": len(events),
        "ids": [event["_id"] for event in events],
        "types": sorted({event["type"] for event in events}),
        "checksum": sha256_hex(data),
        "objectBytes": len(data),
        "eventBytes": sum(int(event.get("sizeBytes", 0)) for event in events),
        "minTimestamp": events[0]["timestamp"],
        "maxTimestamp": events[-1]["timestamp"],
        # The events are one run of the group's sortKey order: the commit deletes
        # this range once it has checked that it holds exactly ``ids``.
        "firstSortKey": events[0]["sortKey"],
        "lastSortKey": events[-1]["sortKey"],
        "status": ManifestStatus.PENDING.value,
        "createdAt": now,
        "doneAt": None,
    }
    return ArchiveObject(key, data, manifest)


@dataclass
class GroupArchiveResult:
    """What one group's archival moved (or, in a dry run, would move)."""

    group_id: ObjectId
    slug: str
    cutoff: datetime | None
    events: int = 0
    objects: int = 0
    object_bytes: int = 0
    event_bytes: int = 0
    resumed: int = 0
    dropped: int = 0
    complete: bool = True
    # the group's run failed: its RunErrorCode (what it moved before the error is counted)
    error_code: str | None = None


@dataclass(frozen=True)
class GroupFailure:
    """A group whose archival failed in a run over every group (the run went on)."""

    group_id: ObjectId
    slug: str
    run_id: ObjectId
    code: str
    error: str  # details for operators: never shown to clients

    def as_document(self) -> Document:
        """As listed in the parent run's ``failedGroups`` (no details: those are in the
        group's own run and the log)."""
        return {
            "groupId": self.group_id,
            "slug": self.slug,
            "runId": self.run_id,
            "code": self.code,
        }


@dataclass
class RunSummary:
    groups: list[GroupArchiveResult] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False
    failures: list[GroupFailure] = field(default_factory=list)
    # groups of the run's plan it never started (its time budget ended first)
    unreached: list[ObjectId] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(g.events for g in self.groups)

    @property
    def objects(self) -> int:
        return sum(g.objects for g in self.groups)

    @property
    def object_bytes(self) -> int:
        return sum(g.object_bytes for g in self.groups)

    @property
    def complete(self) -> bool:
        """Nothing is left for a follow-up run (a failed group waits for the next daily run)."""
        return not self.unreached and all(g.complete for g in self.groups)

    def as_json(self) -> dict[str, Any]:
        return {
            "groups": len(self.groups),
            "eventsMoved": self.events,
            "objects": self.objects,
            "bytes": self.object_bytes,
            "seconds": round(self.seconds, 3),
            "dryRun": self.dry_run,
            "complete": self.complete,
            "failedGroups": [
                {"group": f.slug, "code": f.code, "runId": str(f.run_id), "error": f.error}
                for f in self.failures
            ],
            "perGroup": [
                {
                    "group": g.slug,
                    "cutoff": g.cutoff.isoformat() if g.cutoff else None,
                    "events": g.events,
                    "objects": g.objects,
                    "bytes": g.object_bytes,
                    "resumedManifests": g.resumed,
                    "complete": g.complete,
                    "errorCode": g.error_code,
                }
                for g in self.groups
            ],
        }
