"""The transaction of a tenant write.

Every write of a group's data, from a single ``createThing`` to a 10,000-item
batch, an archival run, a restore or a plan change, runs as::

    async def work(w: TenantWrite) -> Document:
        await w.count(delta, events=[event])          # reserve quota
        await things.insert(group_id, doc, w.session)  # write the data
        return doc                                     # (then the events are logged)

    doc = await ledger.write(group_id, work)

``write`` runs ``work`` in one multi-document transaction (retried on transient
errors), and turns a refused reservation into a typed ``QUOTA_EXCEEDED`` error
after the transaction has aborted, so nothing of the write is stored.
``TenantWrite.count`` applies the counter increments of a ``CountDelta`` to the
group document in one update, refusing it atomically past any limit
(``ontology.ledger.reservation``); once ``work`` has written its data, ``write``
appends the write's events with their metric counters (``ontology.ledger.log``),
in the same transaction. Single writes that wait together are committed in one
transaction (``write(..., together=True)``), counted on this process's counter shard
of the group, paid from a quota lease, and folded into the group within
``fold_seconds`` (``ontology.ledger.shards``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db import deadline
from ontology.db.client import Database, Document
from ontology.db.lanes import lanes
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.lru import LruMap
from ontology.kit.metrics import Metrics
from ontology.ledger import alerts
from ontology.ledger.accounts import GroupAccounts
from ontology.ledger.counters import CountDelta
from ontology.ledger.documents import GroupDocument
from ontology.ledger.errors import QuotaErrorCode
from ontology.ledger.events import EventDocument, new_event
from ontology.ledger.log import EventLog, group_buckets
from ontology.ledger.periods import hour_start
from ontology.ledger.plans import (
    COUNTED,
    LEASED_OF_COUNTER,
    METRIC_OF_COUNTER,
    Metric,
    PlanBook,
)
from ontology.ledger.reservation import reservation_pipeline
from ontology.ledger.reservations import ReservationRepository
from ontology.ledger.shards import LEASE_BATCHES, LEASE_SHARE, STALE, ShardRepository, folded
from ontology.ledger.usage import UsageRepository

T = TypeVar("T")

log = logging.getLogger("ontology.ledger")


class QuotaExceededError(Exception):
    """A write would pass a limit; raised inside the transaction, which then aborts."""

    def __init__(self, metric: Metric, current: int, requested: int, limit: int) -> None:
        self.metric = metric
        self.current = current
        self.requested = requested
        self.limit = limit
        self.available = max(0, limit - current)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return (
            f"Quota exceeded for {self.metric.value}: {self.current} used, "
            f"{self.requested} requested, limit {self.limit}, {self.available} available."
        )

    def item_error(self, path: str, index: int | None = None) -> ItemError:
        return ItemError(
            QuotaErrorCode.QUOTA_EXCEEDED,
            self.message,
            path,
            index,
            details={
                "metric": self.metric.value,
                "current": self.current,
                "requested": self.requested,
                "limit": self.limit,
                "available": self.available,
            },
        )


class ReservationLapsedError(Exception):
    """A long write ran past its reservation's lifetime; its transaction aborts."""


class TenantWrite:
    """One tenant write inside its transaction: ``session`` for the data it writes,
    ``count`` for its counters and events."""

    def __init__(
        self,
        ledger: Ledger,
        group_id: ObjectId,
        session: AsyncClientSession,
        *,
        deferred: bool = False,
    ) -> None:
        self.ledger = ledger
        self.group_id = group_id
        self.session = session
        self.events: list[EventDocument] = []
        # Writes committed together (``Ledger.write(..., together=True)``) share one
        # TenantWrite that gathers their counts, reserved once after every work ran.
        self.deferred = deferred
        self.delta = CountDelta()
        self.enforce = False

    async def count(
        self,
        delta: CountDelta,
        events: Sequence[EventDocument] = (),
        *,
        enforce: bool = True,
    ) -> None:
        """Apply ``delta`` and the counts of ``events`` to the group's counters now,
        refusing them past any limit (``enforce=False``: deletes, which must always be
        possible), and append ``events`` to the log once the write's data is written.
        Call it before writing data that it reserves room for, so a refusal costs
        nothing more."""
        # a copy: a transaction retried after a transient error counts its write again
        counted = CountDelta().merge(delta).logged(events)
        if self.deferred:
            self.delta.merge(counted)
            self.enforce = self.enforce or enforce
        else:
            await self.ledger.reserve(self.group_id, counted, self.session, enforce=enforce)
        self.append(events)

    def append(self, events: Sequence[EventDocument]) -> None:
        """Append ``events`` to the log, when the write's data is written, without counting
        them (a restore counts what it puts back itself, in one reservation)."""
        self.events.extend(events)


class Ledger:
    def __init__(
        self,
        database: Database,
        book: PlanBook,
        accounts: GroupAccounts,
        log: EventLog,
        usage: UsageRepository,
        metrics: Metrics,
        reservations: ReservationRepository,
        shards: ShardRepository | None = None,
        *,
        coalesce: int = 64,
        reservation_seconds: float = 600.0,
        fold_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.book = book
        self.accounts = accounts
        self.log = log
        self.usage = usage
        self.metrics = metrics
        self.reservations = reservations
        # the most writes of one group committed in one transaction (1: each alone)
        self.coalesce = coalesce
        # how long a long write may run before its reservation is released
        self.reservation_seconds = reservation_seconds
        self._queues: dict[ObjectId, _GroupQueue] = {}
        # this process's counter shard of each group it commits writes together for
        # (``ontology.ledger.shards``): folded at most ``fold_seconds`` after a write
        self.shards = shards or ShardRepository(database)
        self.fold_seconds = fold_seconds
        self._shards: dict[ObjectId, _Shard] = {}
        # groups whose transactions conflicted with another process's lately: until when
        self._contended: LruMap[ObjectId, float] = LruMap(REMEMBERED_SHARDS)
        # told of every write's quota_alert events, in its transaction (the webhook outbox)
        self.alert_subscribers: list[alerts.AlertSubscriber] = []

    async def write(
        self,
        group_id: ObjectId,
        work: Callable[[TenantWrite], Awaitable[T]],
        *,
        index: int | None = None,
        together: bool = False,
    ) -> T:
        """Run ``work`` in one transaction; a refused reservation becomes QUOTA_EXCEEDED
        (reported at item ``index`` of a batch, when given).

        ``together``: ``work`` may share its transaction with other writes of the group
        that wait while the group's previous transaction runs (group commit: one
        reservation, one append of their events and one commit for all of them). For
        short single writes; each still gets its own result or error.
        """
        if not together:
            return await self._alone(group_id, work, index)
        # a single write: other writes' bulk commands give way while it runs
        with lanes.single():
            if self.coalesce > 1:
                return await self._together(group_id, work)
            return await self._alone(group_id, work, index)

    async def _alone(
        self,
        group_id: ObjectId,
        work: Callable[[TenantWrite], Awaitable[T]],
        index: int | None = None,
    ) -> T:
        attempts = 0

        async def transaction(session: AsyncClientSession) -> T:
            nonlocal attempts
            attempts += 1
            write = TenantWrite(self, group_id, session)
            result = await work(write)
            await self.log.append(group_id, write.events, session)
            return result

        try:
            return await self.database.in_transaction(transaction, serialize_on=group_id)
        except QuotaExceededError as refused:
            await self.record_refusal(group_id, refused)
            raise RejectedError(
                [refused.item_error(COUNTED[refused.metric].refusal_path, index)]
            ) from None
        finally:
            if attempts > 1:
                # another process's transaction wrote the group's documents meanwhile: for
                # a while, the group's single writes count on this process's shard too
                self._contended.put(group_id, time.monotonic() + CONTENDED_SECONDS)

    # -- group commit -------------------------------------------------------------

    async def _together(self, group_id: ObjectId, work: Callable[[TenantWrite], Awaitable[T]]) -> T:
        """Queue ``work`` with the group's other waiting writes; the first in the queue
        commits what has gathered (while the group's previous transaction ran) in one
        transaction, then hands over to the next."""
        queue = self._queues.setdefault(group_id, _GroupQueue())
        me = _Queued(work, asyncio.get_running_loop().create_future())
        queue.waiting.append(me)
        if not queue.busy:
            queue.busy = True
            me.wake.set_result(LEAD)
        try:
            async with asyncio.timeout(deadline.remaining()):
                woken = await asyncio.shield(me.wake)
        except TimeoutError:
            if me.wake.done():
                woken = me.wake.result()
            elif me in queue.waiting:  # not taken yet: give up, as a lock wait would
                queue.waiting.remove(me)
                raise deadline.DeadlineExceeded(
                    "The deadline passed while waiting for the group's other writes."
                ) from None
            else:
                woken = await me.wake  # taken into a transaction: its outcome is coming
        except asyncio.CancelledError:
            if me in queue.waiting:
                queue.waiting.remove(me)
            if me.wake.done() and me.wake.result() is LEAD:
                self._hand_over(group_id, queue)
            raise
        if woken is not LEAD:
            return cast(T, me.outcome())
        batch = queue.waiting[: self.coalesce]
        del queue.waiting[: len(batch)]
        try:
            # shielded: a caller that goes away does not abort the others' transaction
            await asyncio.shield(self._commit_together(group_id, batch))
            shard = self._shards.get(group_id)
            if shard is not None and shard.due(self.fold_seconds):
                await asyncio.shield(self._fold_own(group_id, shard))
        finally:
            self._hand_over(group_id, queue)
        return cast(T, me.outcome())

    def _hand_over(self, group_id: ObjectId, queue: _GroupQueue) -> None:
        """Wake the next waiting write to commit the queue, or mark the group idle."""
        if queue.waiting:
            queue.waiting[0].wake.set_result(LEAD)
        else:
            queue.busy = False
            self._queues.pop(group_id, None)

    async def _commit_together(self, group_id: ObjectId, batch: list[_Queued]) -> None:
        """Commit ``batch`` in one transaction: each work in turn, then one append of all
        their events and one reservation for all their counts. When anything fails
        (a refused reservation, one work's error), nothing of it is stored and each
        work is run again in a transaction of its own, so each gets its own answer."""
        contended = (self._contended.get(group_id) or 0.0) > time.monotonic()
        if len(batch) > 1 or contended:
            shard = self._shards.get(group_id) or self._new_shard(group_id)
            # the shard's lease after the transaction, or None: it went to the group
            left: dict[str, int] | None = None

            async def transaction(session: AsyncClientSession) -> list[Any]:
                nonlocal left
                shared = TenantWrite(self, group_id, session, deferred=True)
                results = [await queued.work(shared) for queued in batch]
                left = await self._to_shard(group_id, shard, shared, session)
                if left is None:
                    # The documents every writer of the group updates (the metric
                    # counters, the group's) last, just before the commit: another
                    # process's transaction conflicts with this one only while it
                    # holds them.
                    await self.log.append(group_id, shared.events, session)
                    await self.reserve(group_id, shared.delta, session, enforce=shared.enforce)
                return results

            try:
                results = await self.database.in_transaction(transaction, serialize_on=group_id)
            except Exception:
                self.metrics.group_commits.labels("split").inc()
            else:
                self.metrics.group_commits.labels("together").inc()
                self.metrics.group_commit_writes.inc(len(batch))
                shard.committed(left, self.fold_seconds)
                if shard.dirty and shard.timer is None:
                    shard.timer = asyncio.create_task(self._fold_later(group_id, shard))
                for queued, result in zip(batch, results, strict=True):
                    queued.settle(result=result)
                return
        for queued in batch:
            try:
                result = await self._alone(group_id, queued.work)
            except Exception as error:
                queued.settle(error=error)
            else:
                queued.settle(result=result)

    # -- counter shards (``ontology.ledger.shards``) ---------------------------------

    def _new_shard(self, group_id: ObjectId) -> _Shard:
        """A shard for the group; past ``REMEMBERED_SHARDS`` groups, the idle ones are
        forgotten first (their documents, empty, are swept once stale)."""
        if len(self._shards) >= REMEMBERED_SHARDS:
            for idle in [g for g, shard in self._shards.items() if shard.idle()]:
                del self._shards[idle]
        shard = self._shards[group_id] = _Shard()
        return shard

    async def _to_shard(
        self,
        group_id: ObjectId,
        shard: _Shard,
        shared: TenantWrite,
        session: AsyncClientSession,
    ) -> dict[str, int] | None:
        """Count the writes committed together on this process's shard of the group,
        paying what they add to enforced counters from its lease (leasing more from the
        group document first when it holds too little); the lease left, or None when the
        group refuses a lease (it is near a limit) or the shard was folded by another
        process meanwhile: the caller counts them on the group document then."""
        spent = {
            field: amount
            for field, amount in shared.delta.fields.items()
            if field in METRIC_OF_COUNTER and amount > 0
        }
        now = utcnow()
        short = {field: n for field, n in spent.items() if shard.lease.get(field, 0) < n}
        if short:
            if time.monotonic() < shard.no_lease_until:
                return None
            wanted = {field: n * LEASE_BATCHES for field, n in short.items()}
            if not await self.accounts.lease(group_id, wanted, LEASE_SHARE, session):
                shard.no_lease_until = time.monotonic() + self.fold_seconds
                return None
            await self.shards.grant(shard.id, group_id, wanted, now, session)
        buckets = group_buckets(shared.events, now)
        left = await self.shards.spend(
            shard.id, group_id, shared.delta, spent, buckets, now, session
        )
        if left is not None:
            await self.log.append(group_id, shared.events, session, group_buckets=False)
        return left

    async def _fold_own(self, group_id: ObjectId, shard: _Shard) -> None:
        """Fold this process's shard of the group into the group document (errors are
        logged: the shard stays, and is folded later)."""

        async def transaction(session: AsyncClientSession) -> None:
            held = await self.shards.take(shard.id, group_id, session)
            if held is not None:
                await self._fold(group_id, held, session)

        try:
            await self.database.in_transaction(transaction, serialize_on=group_id)
        except Exception:
            log.exception("folding a counter shard failed")
        else:
            shard.folded()

    async def _fold_later(self, group_id: ObjectId, shard: _Shard) -> None:
        """Fold the shard ``fold_seconds`` after its first unfolded write, when no write of
        the group is committing in this process (one that is folds it when done)."""
        try:
            while shard.dirty:
                wait = shard.fold_at - time.monotonic()
                if wait > 0 or group_id in self._queues:
                    # a write committing meanwhile folds the shard when done, if due
                    await asyncio.sleep(max(wait, 0.05))
                    continue
                queue = self._queues[group_id] = _GroupQueue()
                queue.busy = True
                try:
                    await self._fold_own(group_id, shard)
                finally:
                    self._hand_over(group_id, queue)
                if shard.dirty:  # the fold failed: try again after the same wait
                    shard.fold_at = time.monotonic() + self.fold_seconds
        finally:
            shard.timer = None

    async def _fold(self, group_id: ObjectId, held: Document, session: AsyncClientSession) -> None:
        """Add what a shard ``held`` to its group: counters, list keys and standing
        (with the quota alerts they cross), the leases back, the time buckets."""
        delta, buckets = folded(held)
        await self.reserve(group_id, delta, session, enforce=False)
        await self.log.add(group_id, buckets, session)

    async def fold_all(self) -> None:
        """Fold every shard of this process now."""
        for group_id, shard in list(self._shards.items()):
            if shard.dirty or shard.lease:
                await self._fold_own(group_id, shard)

    async def close(self) -> None:
        """At shutdown: what this process counted on its shards reaches the groups now."""
        for shard in self._shards.values():
            if shard.timer is not None:
                shard.timer.cancel()
        await self.fold_all()

    async def fold_stale(self) -> int:
        """Fold the shards of processes that stopped writing ``STALE`` ago (killed ones,
        whose counts and leases would otherwise stay out of their groups); how many."""
        count = 0
        while True:

            async def transaction(session: AsyncClientSession) -> bool:
                held = await self.shards.take_stale(utcnow() - STALE, session)
                if held is not None:
                    await self._fold(held["groupId"], held, session)
                return held is not None

            if not await self.database.in_transaction(transaction):
                return count
            count += 1

    # -- long writes ----------------------------------------------------------------

    async def write_reserved(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        events: Sequence[EventDocument],
        work: Callable[[TenantWrite], Awaitable[T]],
        *,
        index: int | None = None,
    ) -> T:
        """A long write (a batch): reserve ``delta`` and the counts of ``events`` first,
        in a short transaction of its own with a reservation record, then run ``work``
        and append ``events`` in a second transaction that does not touch the group's
        counters and does not hold the group's other writes: single writes of the group
        go on meanwhile. The data transaction deletes the reservation record, so either
        both the data and its counts are stored, or the reservation is released (at once
        when the write fails; by ``release_expired`` after ``reservation_seconds`` when
        the process died). ``work`` writes data only: its counts are ``delta``."""
        reservation = await self.reserve_ahead(group_id, delta, events, index=index)

        async def data(session: AsyncClientSession) -> T:
            result = await work(TenantWrite(self, group_id, session))
            await self.log.append(group_id, events, session, group_buckets=False)
            if not await self.reservations.settle(group_id, reservation["_id"], session):
                raise ReservationLapsedError(
                    "The write outlived its reservation, which was released; retry it."
                )
            return result

        try:
            return await self.database.in_transaction(data)
        except BaseException:
            # shielded: a caller that goes away still gets its reservation released
            await asyncio.shield(self.release(group_id, reservation))
            raise

    async def reserve_ahead(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        events: Sequence[EventDocument],
        *,
        index: int | None = None,
    ) -> Document:
        """Reserve ``delta`` and the counts of ``events`` (on the group's counters and its
        time buckets) in a short transaction, with the record of the reservation
        (``ledger_reservations``); the record."""
        counted = CountDelta().merge(delta).logged(events)
        reservation: Document = {
            "_id": ObjectId(),
            "groupId": group_id,
            "fields": counted.fields,
            "expiresAt": utcnow() + timedelta(seconds=self.reservation_seconds),
        }

        async def reserve(w: TenantWrite) -> None:
            await self.reserve(group_id, counted, w.session)
            reservation["buckets"] = await self.log.reserve_buckets(group_id, events, w.session)
            await self.reservations.insert(reservation, w.session)

        await self.write(group_id, reserve, index=index)
        return reservation

    async def release(self, group_id: ObjectId, reservation: Document) -> bool:
        """Give back a reservation whose write did not commit (no-op when it did, or when
        it was released already); whether this call released it."""

        async def work(w: TenantWrite) -> bool:
            if not await self.reservations.settle(group_id, reservation["_id"], w.session):
                return False
            back = CountDelta()
            for field, amount in reservation["fields"].items():
                back.add_field(field, -amount)
            await self.reserve(group_id, back, w.session, enforce=False)
            await self.log.release_buckets(group_id, reservation.get("buckets", []), w.session)
            return True

        return await self.write(group_id, work)

    async def release_expired(self, limit: int = 1000) -> int:
        """Release the reservations of writes that should have ended (their process died);
        how many were released."""
        released = 0
        async for reservation in self.reservations.expired(utcnow(), limit):
            if await self.release(reservation["groupId"], reservation):
                released += 1
        return released

    async def release_expired_forever(self, interval: float = 60.0) -> None:
        """``release_expired`` and ``fold_stale`` now and every ``interval`` seconds (an API
        process runs it)."""
        while True:
            try:
                await self.release_expired()
                await self.fold_stale()
            except Exception:
                log.exception("releasing expired reservations failed")
            await asyncio.sleep(interval)

    async def reserve(
        self,
        group_id: ObjectId,
        delta: CountDelta,
        session: AsyncClientSession,
        *,
        enforce: bool = True,
    ) -> None:
        """Apply ``delta`` to the group's counters, refusing it past any limit
        (``QuotaExceededError``, which aborts the transaction)."""
        if not delta:
            return
        guarded = enforce and any(
            amount > 0 and field in METRIC_OF_COUNTER for field, amount in delta.fields.items()
        )
        # An update of a quota counter returns the group as it was (the same one command),
        # so the levels it crosses are known without a read (``ontology.ledger.alerts``).
        if not guarded:
            if any(field in METRIC_OF_COUNTER for field in delta.fields):
                # a metered counter changes: the same update recomputes the standing
                pipeline = reservation_pipeline(
                    delta.fields, delta.newest, delta.oldest, enforce=False
                )
                before = await self.accounts.update_with_pipeline_returning(
                    group_id, pipeline, alerts.PROJECTION, session
                )
                await self.record_crossings(
                    group_id, alerts.crossings(before or {}, delta.fields), session
                )
            else:
                await self.accounts.apply_counts(group_id, delta, session)
            return
        pipeline = reservation_pipeline(delta.fields, delta.newest, delta.oldest)
        before = await self.accounts.update_with_pipeline_returning(
            group_id, pipeline, alerts.PROJECTION, session
        )
        if before is not None and alerts.reserved(before, delta.fields):
            await self.record_crossings(group_id, alerts.crossings(before, delta.fields), session)
            return
        # Refused: read (in the same snapshot) which limit, to say so precisely.
        group = await self.accounts.by_id(group_id, session)
        if group is None:
            raise RejectedError([ItemError(ErrorCode.NOT_FOUND, "No such group.", "")])
        for field, amount in delta.fields.items():
            metric = METRIC_OF_COUNTER.get(field)
            limit = self.book.limit_in_counter_unit(group, metric) if metric else None
            if metric is not None and limit is not None and amount > 0:
                # what processes leased is used until they fold it back (``shards``)
                current = dotted(group, field) + dotted(group, LEASED_OF_COUNTER[field])
                if current + amount > limit:
                    raise QuotaExceededError(metric, current, amount, limit)
        raise RuntimeError("A reservation was refused but no limit is exceeded.")

    async def record_crossings(
        self, group_id: ObjectId, crossed: list[alerts.Crossing], session: AsyncClientSession
    ) -> None:
        """Log a ``quota_alert`` event per crossing, count it, and hand the events to the
        alert subscribers, in the crossing write's transaction."""
        if not crossed:
            return
        events = alerts.alert_events(group_id, crossed, utcnow())
        await self.log.append(group_id, events, session)
        # their counts (storage among them: the same update recomputes the standing)
        counted = CountDelta().logged(events)
        pipeline = reservation_pipeline(
            counted.fields, counted.newest, counted.oldest, enforce=False
        )
        await self.accounts.update_with_pipeline(group_id, pipeline, session)
        for subscriber in self.alert_subscribers:
            await subscriber(group_id, events, session)

    async def record_limit_crossings(
        self, group: GroupDocument, new_quota: dict[str, int], session: AsyncClientSession
    ) -> None:
        """Log the crossings of a plan change or limit override of ``group`` (as read in
        the change's transaction) to the enforced limits ``new_quota``."""
        crossed = alerts.limit_crossings(group, group.get("quota") or {}, new_quota)
        await self.record_crossings(group["_id"], crossed, session)

    async def record_refusal(self, group_id: ObjectId, refused: QuotaExceededError) -> None:
        """Count the refusal, and log a ``quota_exceeded`` event at most once per metric
        per hour per group."""
        self.metrics.quota_refusals.labels(refused.metric.value).inc()
        now = utcnow()
        bucket = hour_start(now)
        first = await self.usage.mark_once(
            group_id, refused.metric.value, bucket, bucket + timedelta(hours=2)
        )
        if not first:
            return
        event = new_event(
            group_id,
            "quota_exceeded",
            timestamp=now,
            metadata={
                "metric": refused.metric.value,
                "current": refused.current,
                "requested": refused.requested,
                "limit": refused.limit,
            },
        )

        async def log_it(w: TenantWrite) -> None:
            await w.count(CountDelta(), [event], enforce=False)

        await self.write(group_id, log_it)


def dotted(doc: Mapping[str, Any], path: str) -> int:
    """The integer at a dotted ``path`` of ``doc`` (0 when absent)."""
    value: Any = doc
    for part in path.split("."):
        value = value.get(part, 0) if isinstance(value, dict) else 0
    return int(value or 0)


REMEMBERED_SHARDS = 1000
"""Groups whose shard a process keeps track of before it forgets the idle ones."""

CONTENDED_SECONDS = 10.0
"""How long after a conflict with another process a group's single writes go to shards."""

LEAD = object()
"""What wakes the first write of a group's queue: it commits the queue's writes."""


class _Queued:
    """A write waiting in its group's queue: woken to lead, or with its outcome."""

    def __init__(self, work: Callable[[TenantWrite], Awaitable[Any]], wake: asyncio.Future[Any]):
        self.work = work
        self.wake = wake
        self._result: Any = None
        self._error: BaseException | None = None

    def settle(self, *, result: Any = None, error: BaseException | None = None) -> None:
        self._result, self._error = result, error
        if not self.wake.done():
            self.wake.set_result(None)

    def outcome(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._result


class _Shard:
    """This process's counter shard of a group, as far as this process knows it."""

    def __init__(self) -> None:
        self.id = ObjectId()
        # the room of each enforced counter leased and not spent (what the shard holds,
        # unless another process folded it meanwhile: spending checks the shard)
        self.lease: dict[str, int] = {}
        self.dirty = False  # holds writes not folded yet
        self.fold_at = 0.0  # when they are folded (time.monotonic)
        self.no_lease_until = 0.0  # a lease was refused: not asked again before then
        self.timer: asyncio.Task[None] | None = None

    def committed(self, left: dict[str, int] | None, fold_seconds: float) -> None:
        """A transaction of writes committed, on the shard (``left``: its lease) or not."""
        if left is None:  # what this process knew of the shard's lease did not hold
            self.lease = {}
            return
        self.lease = left
        if not self.dirty:
            self.dirty = True
            self.fold_at = time.monotonic() + fold_seconds

    def idle(self) -> bool:
        return not self.dirty and not self.lease and self.timer is None

    def due(self, fold_seconds: float) -> bool:
        return self.dirty and time.monotonic() >= self.fold_at

    def folded(self) -> None:
        self.lease = {}
        self.dirty = False


class _GroupQueue:
    def __init__(self) -> None:
        self.waiting: list[_Queued] = []
        self.busy = False
