"""Reading archived events straight from the archive, and restoring them.

Both go through the manifests: only ``done`` manifests count as archived, so
an object an interrupted run left behind is never read twice. Archived events
are listed oldest first, in object-key order (day, run, sequence) and line
order within an object; a cursor is ``<key>#<line>``.

Restoring puts the range's events back into the hot collection in one
transaction with the counters and the manifests' status (``restored``): only
the events not already there are inserted, so restoring twice creates no
duplicates. The storage the restore adds is reserved with the same atomic
conditional update as every other write, once for the whole range, so a
restore that does not fit under the group's limit (lowered since the events
were archived, say) restores nothing; only ``force`` (platform staff and the
CLI's ``--force``) restores past it. One transaction for the range is what
makes "nothing" true; it reads one object at a time, so memory stays one
object, but a very long range is better restored in parts on mongod, whose
transactions live at most ``transactionLifetimeLimitSeconds`` (60 s). A
restored event older than the retention is archived again, under a new key,
by a later run.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date

from bson import ObjectId

from ontology.archival.documents import ListedManifest
from ontology.archival.models import ManifestStatus, decode_events
from ontology.archival.repository import ArchivalProgressRepository, ManifestRepository
from ontology.archival.service import VerificationError, is_transient
from ontology.archival.sinks import Sink, sha256_hex
from ontology.db.client import Database
from ontology.events.repository import EventRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ClientError
from ontology.kit.pagination import decode_cursor, encode_cursor
from ontology.kit.retry import Backoff
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import EventDocument
from ontology.ledger.ledger import Ledger, TenantWrite

MANIFESTS_PER_READ = 20


@dataclass(frozen=True)
class ArchivedPosition:
    key: str
    line: int

    def cursor(self) -> str:
        return encode_cursor(f"{self.key}#{self.line}")

    @classmethod
    def parse(cls, cursor: str) -> ArchivedPosition:
        value = decode_cursor(cursor)
        key, hash_sign, line = str(value).rpartition("#")
        if not hash_sign or not line.isdigit():
            raise ClientError(f"Invalid cursor {cursor[:40]!r}.", code="INVALID_CURSOR")
        return cls(key, int(line))


@dataclass
class RestoreResult:
    manifests: int = 0
    restored: int = 0
    already_hot: int = 0
    days: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArchivedEventsService:
    database: Database
    events: EventRepository
    manifests: ManifestRepository
    progress: ArchivalProgressRepository
    ledger: Ledger
    sink_factory: Callable[[], Sink]
    backoff: Backoff = field(default_factory=Backoff)

    async def _read(self, sink: Sink, manifest: ListedManifest) -> list[EventDocument]:
        key = manifest["key"]
        data: bytes = await self.backoff.run(lambda: sink.get(key), f"GET {key}", is_transient)
        if sha256_hex(data) != manifest["checksum"]:
            raise VerificationError(f"{sink.url}/{key} does not match its manifest's checksum.")
        return list(decode_events(data))

    async def iterate(
        self,
        group_id: ObjectId,
        first_day: date,
        last_day: date,
        *,
        event_type: str | None = None,
        after: ArchivedPosition | None = None,
    ) -> AsyncIterator[tuple[ArchivedPosition, EventDocument]]:
        """The group's archived events of these days (UTC), oldest first, after ``after``."""
        sink = self.sink_factory()
        from_key = after.key if after else None
        while True:
            batch = await self.manifests.done_in_days(
                group_id,
                first_day.isoformat(),
                last_day.isoformat(),
                from_key=from_key,
                event_type=event_type,
                limit=MANIFESTS_PER_READ,
            )
            for manifest in batch:
                for line, event in enumerate(await self._read(sink, manifest)):
                    if after is not None and manifest["key"] == after.key and line <= after.line:
                        continue
                    if event_type is None or event["type"] == event_type:
                        yield ArchivedPosition(manifest["key"], line), event
            if len(batch) < MANIFESTS_PER_READ:
                return
            from_key = batch[-1]["key"] + "\x00"

    async def page(
        self,
        group_id: ObjectId,
        first_day: date,
        last_day: date,
        size: int,
        *,
        event_type: str | None = None,
        after: ArchivedPosition | None = None,
    ) -> tuple[list[tuple[ArchivedPosition, EventDocument]], bool]:
        """Up to ``size`` archived events and whether more follow."""
        found: list[tuple[ArchivedPosition, EventDocument]] = []
        async for item in self.iterate(
            group_id, first_day, last_day, event_type=event_type, after=after
        ):
            if len(found) == size:
                return found, True
            found.append(item)
        return found, False

    async def restore(
        self, group_id: ObjectId, first_day: date, last_day: date, *, force: bool = False
    ) -> RestoreResult:
        """Put the archived events of these days back into the hot collection (idempotent).

        All or nothing: past the storage limit it raises ``RejectedError``
        (QUOTA_EXCEEDED) having restored nothing, unless ``force``.
        """
        sink = self.sink_factory()
        manifests = await self.manifests.done_in_days(
            group_id, first_day.isoformat(), last_day.isoformat()
        )
        if not manifests:
            return RestoreResult()

        async def work(w: TenantWrite) -> RestoreResult:
            session = w.session
            result = RestoreResult()
            delta = CountDelta()
            for manifest in manifests:
                events = await self._read(sink, manifest)
                if not await self.manifests.change_status(
                    group_id,
                    manifest["_id"],
                    ManifestStatus.DONE,
                    ManifestStatus.RESTORED,
                    utcnow(),
                    session,
                ):
                    continue  # restored meanwhile by someone else
                present = await self.events.sizes_by_ids(
                    group_id, [e["_id"] for e in events], session
                )
                missing = [e for e in events if e["_id"] not in present]
                w.append(missing)
                delta.events(len(missing), sum(int(e.get("sizeBytes", 0)) for e in missing))
                delta.saw_events(missing)  # restored history lowers oldest.events
                await self.progress.record_restore(group_id, manifest, session)
                if missing or present:
                    result.manifests += 1
                    result.restored += len(missing)
                    result.already_hot += len(present)
                    if manifest["date"] not in result.days:
                        result.days.append(manifest["date"])
            # One reservation for the whole range: it all fits, or the transaction
            # aborts and nothing is restored.
            await w.count(delta, enforce=not force)
            return result

        restored: RestoreResult = await self.backoff.run(
            functools.partial(self.ledger.write, group_id, work), "restore", is_transient
        )
        return restored
