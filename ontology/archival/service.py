"""Archiving a group's old events, crash-safe (DESIGN.md section 9).

Per batch (at most ``batch_size`` events of one UTC day, oldest first):

1. record the manifest, status ``pending`` (key, checksum, ids, time span);
2. write the object create-only, with its SHA-256;
3. read it back (HEAD: size and checksum) and compare;
4. in ONE transaction: mark the manifest ``done``, delete exactly its ids
   (never the age predicate again: the batch's sortKey range once the
   transaction has read that the range holds exactly those ids, else id by id)
   and take the events and their bytes off the group's counters.

The manifest is recorded before the upload rather than after it, so no object
is ever written without a manifest naming it: an interrupted run leaves at most
pending manifests, and every run starts by finishing them (object there and
verified: step 4; object missing or different: the manifest is dropped and the
events, still hot, are archived again later under a new key). A crash at any
point therefore leaves each event hot or archived-and-verified, never both
and never neither. An existing object is never overwritten.

Events are read through one cursor per group (``batch_size`` per fetch), never
re-queried per batch, and at most one batch is held in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.triggers.cron import CronTrigger
from bson import ObjectId
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError

from ontology.archival.documents import ManifestDocument
from ontology.archival.faults import FaultHook, FaultPoint, no_faults
from ontology.archival.models import (
    GroupArchiveResult,
    GroupFailure,
    ManifestStatus,
    RunSummary,
    new_manifest,
)
from ontology.archival.repository import ArchivalProgressRepository, ManifestRepository
from ontology.archival.sinks import (
    ObjectConflictError,
    Sink,
    SinkAccessDeniedError,
    SinkError,
    TransientSinkError,
)
from ontology.db.client import Database
from ontology.events.repository import EventRepository
from ontology.groups.repository import GroupRepository
from ontology.kit.clock import EPOCH, utcnow
from ontology.kit.errors import RunErrorCode
from ontology.kit.pagination import PageRequest
from ontology.kit.retry import Backoff
from ontology.ledger.counters import CountDelta
from ontology.ledger.documents import GroupPlan
from ontology.ledger.events import EventDocument
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.ledger.plans import Metric, PlanBook

log = logging.getLogger("ontology.archival")

BatchCallback = Callable[[GroupArchiveResult, int], None]
AsyncBatchCallback = Callable[[GroupArchiveResult, int], Awaitable[None]]


class ArchivalError(Exception):
    """A permanent failure: the run stops; every event is hot or archived and verified."""


class VerificationError(ArchivalError):
    """The stored object is not what was written (size or checksum differ)."""


class _StaleManifestError(Exception):
    """Some of the manifest's events are gone already (archived by a concurrent run)."""


class _ManifestNotPendingError(Exception):
    """The manifest was completed or dropped by someone else meanwhile."""


def is_transient(error: BaseException) -> bool:
    """Throttling, timeouts and transient MongoDB errors: worth a retry after a pause."""
    if isinstance(error, TransientSinkError):
        return True
    if isinstance(error, ConnectionFailure):
        return True
    if isinstance(error, PyMongoError) and (
        error.has_error_label("TransientTransactionError")
        or error.has_error_label("RetryableWriteError")
    ):
        return True
    return isinstance(error, OperationFailure) and error.code in _TRANSIENT_MONGO_CODES


# A run over every group stops when this many groups in a row still failed with
# transient errors after every retry: the store itself is down, not one group's prefix
# (S3 throttles per prefix, and each group has its own), and going on would only
# spend the retries again on every group.
UNAVAILABLE_STREAK = 2

# WriteConflict, ExceededTimeLimit, LockTimeout, NotWritablePrimary, PrimarySteppedDown,
# InterruptedDueToReplStateChange, NetworkTimeout, ShutdownInProgress.
_TRANSIENT_MONGO_CODES = {112, 50, 24, 10107, 189, 11602, 89, 91}


class RunLog(Protocol):
    """Where a run's per-group outcomes are recorded (``job_runs``)."""

    async def group_started(self, group_id: ObjectId) -> ObjectId:
        """The run id the group's objects are named after."""

    async def batch_done(self, run_id: ObjectId, result: GroupArchiveResult) -> None:
        """After every batch (a heartbeat; may be throttled)."""

    async def group_finished(
        self, run_id: ObjectId, result: GroupArchiveResult, error: BaseException | None
    ) -> None:
        """The group's outcome; ``error`` is what stopped it (see ``describe`` and
        ``failure_code``)."""


@dataclass(frozen=True)
class ArchivalStatus:
    cutoff: datetime | None
    eligible_events: int
    archived_events: int
    archived_event_bytes: int
    objects: int
    object_bytes: int


@dataclass(frozen=True)
class ArchivalService:
    database: Database
    book: PlanBook
    groups: GroupRepository
    events: EventRepository
    manifests: ManifestRepository
    progress: ArchivalProgressRepository
    ledger: Ledger
    sink_factory: Callable[[], Sink]
    cron: str = "0 2 * * *"
    batch_size: int = 1000
    pause_seconds: float = 0.05
    backoff: Backoff = dataclasses.field(default_factory=Backoff)
    # awaited at each FaultPoint of a batch; tests inject crashes there (archival.faults)
    faults: FaultHook = no_faults
    # the clock of time limits and budgets (tests move it to end a budget at a chosen batch)
    timer: Callable[[], float] = time.monotonic

    def with_options(self, **changes: Any) -> ArchivalService:
        """A copy with other settings (a sink, a batch size, a fault hook)."""
        return dataclasses.replace(self, **changes)

    def sink(self) -> Sink:
        return self.sink_factory()

    # -- cutoffs and status --------------------------------------------------

    def cutoff(
        self, group: GroupPlan, older_than_days: int | None, now: datetime
    ) -> datetime | None:
        """Events strictly older than this are archived; None: the group keeps its events.

        ``older_than_days`` (a manual run) wins over the plan's ``events_retention_days``
        (after the group's overrides); unlimited retention (enterprise) never archives.
        """
        days = older_than_days
        if days is None:
            days = self.book.limit(group, Metric.EVENTS_RETENTION_DAYS)
        if days is None:
            return None
        # a retention longer than the time since 1970 (a huge override) keeps everything:
        # no event is older than the epoch, and the subtraction cannot overflow
        return max(now - timedelta(days=min(days, (now - EPOCH).days + 1)), EPOCH)

    async def status(self, group: GroupPlan) -> ArchivalStatus:
        cutoff = self.cutoff(group, None, utcnow())
        eligible = 0 if cutoff is None else await self.events.count_older_than(group["_id"], cutoff)
        progress = await self.progress.get(group["_id"]) or {}
        return ArchivalStatus(
            cutoff=cutoff,
            eligible_events=eligible,
            archived_events=int(progress.get("archivedEvents", 0)),
            archived_event_bytes=int(progress.get("archivedEventBytes", 0)),
            objects=int(progress.get("objects", 0)),
            object_bytes=int(progress.get("objectBytes", 0)),
        )

    async def archivable(self, group: GroupPlan, page: PageRequest) -> list[EventDocument]:
        """A page of the events the next run would move (older than the group's cutoff now),
        oldest first, as it moves them; none when the plan keeps every event."""
        cutoff = self.cutoff(group, None, utcnow())
        if cutoff is None:
            return []
        return await self.events.older_than_page(group["_id"], cutoff, page)

    def next_run_at(self, now: datetime) -> datetime | None:
        """When the scheduled archival fires next (``ONTOLOGY_ARCHIVE_CRON``, UTC)."""
        trigger = CronTrigger.from_crontab(self.cron, timezone=UTC)
        fire: datetime | None = trigger.get_next_fire_time(None, now)
        return fire

    # -- runs ---------------------------------------------------------------

    async def archive_groups(
        self,
        groups: Sequence[GroupPlan],
        run_log: RunLog,
        *,
        older_than_days: int | None = None,
        dry_run: bool = False,
        max_seconds: float | None = None,
        on_batch: BatchCallback | None = None,
        summary: RunSummary | None = None,
        isolate: bool = False,
    ) -> RunSummary:
        """Archive each group in turn, until the time limit.

        The sink is checked first: an unreachable or misconfigured one fails the
        run before anything is read or deleted. ``summary`` (filled in as batches
        complete) lets a caller report what was moved when an error stops the run.

        Without ``isolate`` (a run of one group) an error stops the run and is
        raised. With it (a run over every group), a group's permanent error is
        recorded on that group's run and in ``summary.failures``, and the run goes
        on with the next group; a transient error still failing after every retry
        is recorded the same way, but when it happens to ``UNAVAILABLE_STREAK``
        groups in a row the store itself is down: the run stops and raises it.
        Groups the time limit kept the run from starting are in ``summary.unreached``.
        """
        started = self.timer()
        deadline = None if max_seconds is None else started + max_seconds
        summary = summary if summary is not None else RunSummary(dry_run=dry_run)
        sink = self.sink()
        await self.backoff.run(sink.check, "check sink", is_transient)
        unavailable_streak = 0
        for position, group in enumerate(groups):
            # the first group always starts (and moves at least one batch), so a chain of
            # budget-ended runs always gets on
            if position and deadline is not None and self.timer() >= deadline:
                summary.unreached = [g["_id"] for g in groups[position:]]
                break
            run_id = await run_log.group_started(group["_id"])
            result = GroupArchiveResult(group["_id"], group.get("slug", ""), None)
            summary.groups.append(result)

            async def batch_done(
                result: GroupArchiveResult, events: int, run_id: ObjectId = run_id
            ) -> None:
                await run_log.batch_done(run_id, result)
                if on_batch is not None:
                    on_batch(result, events)

            try:
                await self.archive_group_events(
                    group,
                    run_id,
                    result,
                    sink=sink,
                    older_than_days=older_than_days,
                    dry_run=dry_run,
                    deadline=deadline,
                    on_batch=batch_done,
                )
            except Exception as error:
                code = failure_code(error)
                result.error_code = code.value
                await run_log.group_finished(run_id, result, error)
                if not isolate:
                    summary.seconds = self.timer() - started
                    raise
                summary.failures.append(
                    GroupFailure(result.group_id, result.slug, run_id, code.value, describe(error))
                )
                unavailable_streak = unavailable_streak + 1 if is_transient(error) else 0
                if unavailable_streak >= UNAVAILABLE_STREAK:
                    summary.unreached = [g["_id"] for g in groups[position + 1 :]]
                    summary.seconds = self.timer() - started
                    raise
                continue
            unavailable_streak = 0
            await run_log.group_finished(run_id, result, None)
            if not result.complete:
                summary.unreached = [g["_id"] for g in groups[position + 1 :]]
                break
        summary.seconds = self.timer() - started
        return summary

    async def archive_group_events(
        self,
        group: GroupPlan,
        run_id: ObjectId,
        result: GroupArchiveResult,
        *,
        sink: Sink,
        older_than_days: int | None = None,
        dry_run: bool = False,
        deadline: float | None = None,
        on_batch: AsyncBatchCallback | None = None,
    ) -> GroupArchiveResult:
        """Finish the group's pending manifests, then archive its events older than the cutoff.

        ``result`` is filled in as batches complete, so a caller sees what was
        moved even when an error stops the run part-way.
        """
        group_id: ObjectId = group["_id"]
        now = utcnow()
        result.cutoff = self.cutoff(group, older_than_days, now)
        if not dry_run:
            await self.finish_pending(group_id, sink, result)
        if result.cutoff is None:
            return result
        cursor = self.events.stream_older_than(group_id, result.cutoff, self.batch_size)
        batch: list[EventDocument] = []
        seq = 0

        async def flush() -> None:
            nonlocal seq, batch
            if dry_run:
                manifest = new_manifest(group_id, run_id, seq, batch, now).manifest
                result.events += manifest["count"]
                result.objects += 1
                result.object_bytes += manifest["objectBytes"]
                result.event_bytes += manifest["eventBytes"]
            else:
                await self._archive_batch(group_id, run_id, seq, batch, sink, result)
            if on_batch is not None:
                await on_batch(result, len(batch))
            seq += 1
            batch = []

        try:
            async for event in cursor:
                if batch and (
                    len(batch) >= self.batch_size
                    or event["timestamp"].date() != batch[0]["timestamp"].date()
                ):
                    await flush()
                    if deadline is not None and self.timer() >= deadline:
                        result.complete = False
                        return result
                    if self.pause_seconds:
                        await asyncio.sleep(self.pause_seconds)
                batch.append(event)
            if batch:
                await flush()
        finally:
            await cursor.close()
        return result

    async def finish_pending(
        self, group_id: ObjectId, sink: Sink, result: GroupArchiveResult
    ) -> None:
        """Complete or drop the manifests an interrupted run left ``pending``."""
        for manifest in await self._retry(lambda: self.manifests.pending(group_id), "pending"):
            key = manifest["key"]
            stored = await self._retry(functools.partial(sink.head, key), f"HEAD {key}")
            if stored is None or (stored.size, stored.checksum) != (
                manifest["objectBytes"],
                manifest["checksum"],
            ):
                # Never written (or not what was meant): the events are still hot.
                if stored is not None:
                    log.warning(
                        "object differs from its manifest (left unchanged); manifest dropped",
                        extra={"key": key, "groupId": str(group_id)},
                    )
                await self._drop(group_id, manifest)
                result.dropped += 1
                continue
            if await self._commit(group_id, manifest):
                result.resumed += 1
                self._count(result, manifest)

    async def _archive_batch(
        self,
        group_id: ObjectId,
        run_id: ObjectId,
        seq: int,
        events: list[EventDocument],
        sink: Sink,
        result: GroupArchiveResult,
    ) -> None:
        archive = new_manifest(group_id, run_id, seq, events, utcnow())
        manifest, key = archive.manifest, archive.key
        await self.faults(FaultPoint.BEFORE_MANIFEST, manifest)
        await self._retry(lambda: self._insert_manifest(group_id, manifest), "manifest")
        await self.faults(FaultPoint.AFTER_MANIFEST, manifest)
        await self._retry(
            lambda: sink.put_if_absent(key, archive.data, manifest["checksum"]), f"PUT {key}"
        )
        await self.faults(FaultPoint.AFTER_UPLOAD, manifest)
        stored = await self._retry(lambda: sink.head(key), f"HEAD {key}")
        if stored is None or (stored.size, stored.checksum) != (
            manifest["objectBytes"],
            manifest["checksum"],
        ):
            # The events stay hot; the object (if any) is left as it is, unreferenced.
            await self._drop(group_id, manifest)
            found = "nothing" if stored is None else f"{stored.size} bytes, {stored.checksum}"
            raise VerificationError(
                f"{sink.url}/{key} did not verify: wrote {manifest['objectBytes']} bytes, "
                f"{manifest['checksum']}; found {found}. Nothing was deleted."
            )
        await self.faults(FaultPoint.AFTER_VERIFY, manifest)
        if await self._commit(group_id, manifest):
            self._count(result, manifest)

    async def _insert_manifest(self, group_id: ObjectId, manifest: ManifestDocument) -> None:
        try:
            await self.manifests.insert(group_id, manifest)
        except DuplicateKeyError:
            # A retry of an insert that had in fact succeeded.
            if await self.manifests.by_id(group_id, manifest["_id"]) is None:
                raise

    async def _commit(self, group_id: ObjectId, manifest: ManifestDocument) -> bool:
        """Delete the manifest's events and mark it done, in one transaction.

        False when the manifest turned out to be stale (dropped) or finished by
        someone else: nothing is deleted or counted twice.
        """
        ids: list[ObjectId] = manifest["ids"]

        async def work(w: TenantWrite) -> None:
            session = w.session
            now = utcnow()
            if not await self.manifests.change_status(
                group_id,
                manifest["_id"],
                ManifestStatus.PENDING,
                ManifestStatus.DONE,
                now,
                session,
            ):
                raise _ManifestNotPendingError
            deleted = await self.events.delete_run(
                group_id, ids, manifest.get("firstSortKey"), manifest.get("lastSortKey"), session
            )
            await self.faults(FaultPoint.DURING_DELETE, manifest)
            if deleted != len(ids):
                # Some were archived meanwhile (a concurrent run): abort, count nothing.
                raise _StaleManifestError
            delta = CountDelta().events(-deleted, -manifest["eventBytes"])
            await w.count(delta, enforce=False)
            await self.progress.record_batch(group_id, manifest, now, session)

        try:
            await self._retry(lambda: self.ledger.write(group_id, work), "commit")
        except _ManifestNotPendingError:
            return False
        except _StaleManifestError:
            log.warning(
                "manifest's events were archived meanwhile; manifest dropped",
                extra={"key": manifest["key"], "groupId": str(group_id)},
            )
            await self._drop(group_id, manifest)
            return False
        return True

    async def _drop(self, group_id: ObjectId, manifest: ManifestDocument) -> None:
        await self._retry(
            functools.partial(self.manifests.drop_pending, group_id, manifest["_id"]), "drop"
        )

    @staticmethod
    def _count(result: GroupArchiveResult, manifest: ManifestDocument) -> None:
        result.events += manifest["count"]
        result.objects += 1
        result.object_bytes += manifest["objectBytes"]
        result.event_bytes += manifest["eventBytes"]

    async def _retry(self, operation: Callable[[], Awaitable[Any]], what: str) -> Any:
        return await self.backoff.run(operation, what, is_transient)


def describe(error: BaseException) -> str:
    """A one-line account of a run's failure for operators (``job_runs.error``, the logs):
    it may name paths, buckets and exception text, so clients never see it."""
    if isinstance(error, SinkError | ArchivalError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def failure_code(error: BaseException) -> RunErrorCode:
    """The stable code of a run's failure, which clients see instead of ``describe``."""
    if isinstance(error, VerificationError):
        return RunErrorCode.CHECKSUM_MISMATCH
    if isinstance(error, ObjectConflictError):
        return RunErrorCode.OBJECT_CONFLICT
    if isinstance(error, SinkAccessDeniedError):
        return RunErrorCode.ARCHIVE_ACCESS_DENIED
    if isinstance(error, TransientSinkError):
        return RunErrorCode.ARCHIVE_UNAVAILABLE  # still failing after every retry
    if isinstance(error, SinkError):
        return RunErrorCode.ARCHIVE_STORE_ERROR
    return RunErrorCode.INTERNAL
