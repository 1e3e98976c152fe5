"""Seeding events, reading what archival left behind, and sinks that crash on purpose."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
from bson import ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from ontology.archival.faults import FaultPoint
from ontology.archival.models import ManifestStatus, decode_events
from ontology.archival.service import ArchivalService
from ontology.archival.sinks import FileSink, ObjectInfo, S3Sink, Sink, s3_client, sha256_hex
from ontology.config import Settings
from ontology.db.client import Document
from ontology.kit.retry import Backoff
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.runtime import Runtime

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Crash(Exception):
    """An injected crash (the process would have died here)."""


class CrashAt:
    """A fault hook that crashes the ``on_batch``-th time (by default the second) the run
    reaches ``point``."""

    def __init__(self, point: FaultPoint, on_batch: int = 2) -> None:
        self.point = point
        self.on_batch = on_batch
        self.seen = 0

    async def __call__(self, point: FaultPoint, manifest: Document) -> None:
        if point is self.point:
            self.seen += 1
            if self.seen == self.on_batch:
                raise Crash(point)


def s3_settings(endpoint: str, **extra: Any) -> Settings:
    return Settings(s3_endpoint_url=endpoint, s3_max_attempts=1, **extra)


def s3_sink(endpoint: str, bucket: str, prefix: str = "cold", cls: type[S3Sink] = S3Sink) -> S3Sink:
    return cls(s3_client(s3_settings(endpoint)), bucket, f"{prefix}/", f"s3://{bucket}/{prefix}")


def file_sink(tmp_path: Path, cls: type[FileSink] = FileSink) -> FileSink:
    return cls(tmp_path / "archive")


def archival(runtime: Runtime, sink: Sink, **changes: Any) -> ArchivalService:
    """The runtime's archival service on ``sink``, with no pauses or backoff waits."""
    options: dict[str, Any] = {
        "sink_factory": lambda: sink,
        "pause_seconds": 0,
        "backoff": Backoff(base_seconds=0.001, cap_seconds=0.01, retries=10),
    }
    options.update(changes)
    return runtime.services.archival.with_options(**options)


def with_archival(runtime: Runtime, service: ArchivalService) -> Runtime:
    """The runtime with this archival service, and archive reads on the same sink."""
    archived = dataclasses.replace(
        runtime.services.archived, sink_factory=service.sink_factory, backoff=service.backoff
    )
    return dataclasses.replace(
        runtime,
        services=dataclasses.replace(runtime.services, archival=service, archived=archived),
    )


async def seed_events(
    runtime: Runtime, group_id: ObjectId, timestamps: Sequence[datetime], **fields: Any
) -> list[ObjectId]:
    """Insert events at these times (with their counters), as the application stores them."""
    events = [
        new_event(
            group_id,
            "content_event" if n % 3 else "payment_processed",
            timestamp=moment,
            metadata={"n": n, "amount": 12.5, "big": 2**40, "nested": {"ok": True}, **fields},
        )
        for n, moment in enumerate(timestamps)
    ]
    delta = CountDelta().events(len(events), sum(e["sizeBytes"] for e in events))

    async def work(session: Any) -> None:
        await runtime.repos.log.append(group_id, events, session)
        await runtime.repos.accounts.apply_counts(group_id, delta, session)

    await runtime.database.in_transaction(work)
    return [e["_id"] for e in events]


def days_ago(*days: float) -> list[datetime]:
    return [NOW - timedelta(days=d) for d in days]


async def raw_events(runtime: Runtime, group_id: ObjectId) -> dict[ObjectId, bytes]:
    """The group's hot events as stored (raw BSON), by id."""
    raw = runtime.database.collection("events").with_options(
        codec_options=CodecOptions(document_class=RawBSONDocument)
    )
    found: dict[ObjectId, bytes] = {}
    async for doc in raw.find({"groupId": group_id}):
        found[doc["_id"]] = bytes(doc.raw)
    return found


async def manifests(runtime: Runtime, group_id: ObjectId) -> list[Document]:
    cursor = runtime.database.collection("archive_manifests").find({"groupId": group_id})
    return await cursor.sort("key", 1).to_list()


async def archived_events(
    runtime: Runtime, sink: Sink, group_id: ObjectId
) -> list[tuple[ObjectId, bytes]]:
    """(id, BSON) of every event in the group's done manifests' objects, checked against them."""
    found = []
    for manifest in await manifests(runtime, group_id):
        if manifest["status"] != ManifestStatus.DONE.value:
            continue
        data = await sink.get(manifest["key"])
        assert sha256_hex(data) == manifest["checksum"]
        events = list(decode_events(data))
        assert [e["_id"] for e in events] == manifest["ids"]
        found += [(e["_id"], bson.encode(e)) for e in events]
    return found


async def assert_exactly_once(
    runtime: Runtime, sink: Sink, group_id: ObjectId, original: dict[ObjectId, bytes]
) -> tuple[int, int]:
    """Hot and archived events together are the original set, byte for byte, each once;
    the group's counters equal what is hot. Returns (hot, archived)."""
    hot = await raw_events(runtime, group_id)
    archived = await archived_events(runtime, sink, group_id)
    archived_ids = [event_id for event_id, _ in archived]
    assert len(archived_ids) == len(set(archived_ids))
    assert not set(hot) & set(archived_ids)
    assert {**hot, **dict(archived)} == original
    counts = await runtime.repos.groups.counts(group_id)
    hot_bytes = sum(bson.decode(raw)["sizeBytes"] for raw in hot.values())
    assert (counts["events"], counts["storageBytes"]) == (len(hot), hot_bytes)
    return len(hot), len(archived)


async def sink_keys(sink: Sink) -> dict[str, ObjectInfo | None]:
    return {key: await sink.head(key) for key in await sink.list_keys("")}


class CrashingUploadFileSink(FileSink):
    """Dies part-way through writing: a partial temporary file, no object."""

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        # the temporary file an interrupted upload leaves beside the object's path
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp").write_bytes(data[: len(data) // 2])
        raise Crash("mid-upload")


class CorruptingFileSink(FileSink):
    """Stores other bytes than it was given (what HEAD verification must catch)."""

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        corrupted = data[:-1] + bytes([data[-1] ^ 0xFF])
        return await super().put_if_absent(key, corrupted, sha256_hex(corrupted))


class CrashingUploadS3Sink(S3Sink):
    """Dies part-way through a multipart upload: parts sent, never completed, no object."""

    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))
        self.client.upload_part(
            Bucket=self.bucket,
            Key=self._key(key),
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=data[: len(data) // 2],
        )
        raise Crash("mid-upload")


class CorruptingS3Sink(S3Sink):
    async def put_if_absent(self, key: str, data: bytes, checksum: str) -> bool:
        corrupted = data[:-1] + bytes([data[-1] ^ 0xFF])
        return await super().put_if_absent(key, corrupted, sha256_hex(corrupted))
