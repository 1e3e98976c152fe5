"""Batch inserts, connections and updates.

Every item is validated first and every error collected with its index and
path. Then, under ``REJECT_EVERYTHING``, any error means nothing is written;
under ``REJECT_FAILED_ROWS`` the valid items are written. The write is one
transaction holding the quota reservation for exactly the items written, the
documents (one ``insert_many`` or bulk write), the counters, the events and
the idempotency record, so a failure at any point leaves the whole batch or
nothing. Lookups are batched (one query for all ids), so the commands a batch
sends grow with items / thousands, never with items. The per-item loops run in
turns (``ontology.kit.turns``), so a batch's CPU work on the event loop comes
in slices of a few milliseconds and other tenants' requests run between them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError

from ontology.batches.errors import BatchErrorCode
from ontology.batches.idempotency import MAX_KEY_LENGTH, IdempotencyRepository
from ontology.batches.models import (
    BatchResult,
    ErrorPolicy,
    ItemResult,
    ItemStatus,
    request_fingerprint,
)
from ontology.connections.documents import ConnectionDocument
from ontology.connections.models import (
    NewConnection,
    check_new_connection,
    count_changes,
    new_connection_document,
)
from ontology.connections.repository import ConnectionRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, PayloadErrorCode, RejectedError
from ontology.kit.ids import to_global_id
from ontology.kit.limits import WriteLimits
from ontology.kit.metrics import Metrics
from ontology.kit.turns import in_turns
from ontology.ledger.counters import CountDelta, document_size
from ontology.ledger.events import EventDocument, new_event
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.things.documents import ThingDocument
from ontology.things.engagement import EngagementLedger
from ontology.things.models import (
    NewThing,
    ThingChanges,
    changed_fields,
    check_changes,
    check_new_thing,
    new_thing_document,
)
from ontology.things.repository import ThingRepository
from ontology.vocabulary.registry import Vocabulary

DUPLICATE_KEY = 11000
MAX_ATTEMPTS = 3


class ConcurrentChangeError(Exception):
    """A thing changed between validation and write; the batch is validated again."""


@dataclasses.dataclass(frozen=True)
class ThingUpdate:
    """One item of ``batchUpdateThings``; ``thing_id`` is None for an id that did not decode."""

    thing_id: ObjectId | None
    changes: ThingChanges


class BatchService:
    def __init__(
        self,
        things: ThingRepository,
        connections: ConnectionRepository,
        ledger: Ledger,
        idempotency: IdempotencyRepository,
        vocabulary: Vocabulary,
        limits: WriteLimits,
        metrics: Metrics,
        engagement: EngagementLedger,
    ) -> None:
        self.things = things
        self.engagement = engagement
        self.connections = connections
        self.ledger = ledger
        self.idempotency = idempotency
        self.vocabulary = vocabulary
        self.limits = limits
        self.metrics = metrics

    # -- the three batches -------------------------------------------------

    async def insert_things(
        self,
        group_id: ObjectId,
        items: list[NewThing],
        policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
        key: str | None = None,
    ) -> BatchResult:
        async def run() -> BatchResult:
            return await self._insert_things(group_id, items, policy, key)

        return await self._once(group_id, key, "batchInsertThings", items, policy, run, "things")

    async def create_connections(
        self,
        group_id: ObjectId,
        items: list[NewConnection],
        policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
        key: str | None = None,
    ) -> BatchResult:
        async def run() -> BatchResult:
            return await self._create_connections(group_id, items, policy, key)

        return await self._once(
            group_id, key, "batchCreateConnections", items, policy, run, "connections"
        )

    async def update_things(
        self,
        group_id: ObjectId,
        items: list[ThingUpdate],
        policy: ErrorPolicy = ErrorPolicy.REJECT_EVERYTHING,
        key: str | None = None,
    ) -> BatchResult:
        async def run() -> BatchResult:
            for _ in range(MAX_ATTEMPTS - 1):
                try:
                    return await self._update_things(group_id, items, policy, key)
                except ConcurrentChangeError:
                    continue  # validate again against what is stored now
            return await self._update_things(group_id, items, policy, key)

        return await self._once(group_id, key, "batchUpdateThings", items, policy, run, "updates")

    # -- shared flow -------------------------------------------------------

    async def _once(
        self,
        group_id: ObjectId,
        key: str | None,
        operation: str,
        items: Sequence[Any],
        policy: ErrorPolicy,
        run: Callable[[], Awaitable[BatchResult]],
        items_path: str,
    ) -> BatchResult:
        """Size check, then the idempotency protocol around ``run``."""
        if len(items) > self.limits.batch_max_items:
            return _rejected_batch(
                BatchErrorCode.BATCH_TOO_LARGE,
                f"{len(items)} items; a batch takes at most {self.limits.batch_max_items}.",
                items_path,
            )
        if key is None:
            return self._counted(operation, await run())
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            return _rejected_batch(
                ErrorCode.INVALID_INPUT,
                f"idempotencyKey must be 1-{MAX_KEY_LENGTH} characters.",
                "idempotencyKey",
            )
        request = [dataclasses.asdict(item) async for item in in_turns(items)]
        fingerprint = request_fingerprint(operation, {"items": request, "policy": policy.value})
        now = utcnow()
        existing = await self.idempotency.claim(group_id, key, fingerprint, now)
        if existing is not None:
            if existing.get("fingerprint") != fingerprint:
                return _rejected_batch(
                    BatchErrorCode.IDEMPOTENCY_KEY_REUSED,
                    "This idempotency key was used for a different request.",
                    "idempotencyKey",
                )
            if existing.get("status") == "done":
                replay = BatchResult.from_document(existing["result"])
                replay.replayed = True
                return replay
            if not await self.idempotency.take_over(group_id, key, now):
                return _rejected_batch(
                    ErrorCode.CONFLICT,
                    "A request with this idempotency key is still running; retry later.",
                    "idempotencyKey",
                )
        try:
            result = await run()
        except BaseException:
            await self.idempotency.release(group_id, key)
            raise
        if result.batch_event_id is None:
            # Nothing was written (every item failed, or the batch was rejected):
            # record the answer outside a write transaction.
            await self.idempotency.complete(group_id, key, result.to_document())
        return self._counted(operation, result)

    def _counted(self, operation: str, result: BatchResult) -> BatchResult:
        """Add the items this (not replayed) batch created or changed to the metrics."""
        if result.batch_event_id is None:
            return result  # nothing was written
        written = sum(r.status in (ItemStatus.CREATED, ItemStatus.UPDATED) for r in result.results)
        if written:
            self.metrics.batch_items_written.labels(operation).inc(written)
        return result

    async def _write(
        self,
        group_id: ObjectId,
        key: str | None,
        result: BatchResult,
        write: Callable[[TenantWrite], Awaitable[None]],
        counts: tuple[CountDelta, list[EventDocument]] | None = None,
    ) -> None:
        """Run ``write`` and complete the idempotency key in one transaction; with
        ``counts`` (its delta and events), reserved first in a short transaction of their
        own, so the group's other writes go on while the batch writes
        (``Ledger.write_reserved``)."""

        async def work(w: TenantWrite) -> None:
            await write(w)
            if key is not None:
                await self.idempotency.complete(group_id, key, result.to_document(), w.session)

        if counts is None:
            await self.ledger.write(group_id, work)
        else:
            await self.ledger.write_reserved(group_id, *counts, work)

    # -- batchInsertThings -------------------------------------------------

    async def _insert_things(
        self, group_id: ObjectId, items: list[NewThing], policy: ErrorPolicy, key: str | None
    ) -> BatchResult:
        now = utcnow()
        results: list[ItemResult] = []
        docs: list[ThingDocument] = []
        async for index, item in in_turns(enumerate(items)):
            normalized, errors = check_new_thing(
                self.vocabulary, self.limits, item, f"things.{index}.", index
            )
            if errors:
                results.append(ItemResult(index, ItemStatus.FAILED, errors=errors))
                continue
            doc = new_thing_document(group_id, normalized, now)
            docs.append(doc)
            results.append(
                ItemResult(index, ItemStatus.CREATED, id=to_global_id("Thing", doc["_id"]))
            )
        result = _result(results)
        if not docs or (result.errors and policy is ErrorPolicy.REJECT_EVERYTHING):
            return _not_written(result)
        event = new_event(
            group_id,
            "batch_imported",
            timestamp=now,
            metadata={"count": len(items), "created": len(docs), "failed": result.failed},
        )
        delta = CountDelta().created("things", docs)
        async for doc in in_turns(docs):
            delta.things(doc["type"], 1, doc["sizeBytes"], status=doc["status"])
        result.batch_event_id = to_global_id("Event", event["_id"])

        async def write(w: TenantWrite) -> None:
            await self.things.insert_many(group_id, docs, w.session)

        try:
            await self._write(group_id, key, result, write, (delta, [event]))
        except RejectedError as refused:
            return _refused(result, refused, "things")
        return result

    # -- batchCreateConnections --------------------------------------------

    async def _create_connections(
        self,
        group_id: ObjectId,
        items: list[NewConnection],
        policy: ErrorPolicy,
        key: str | None,
    ) -> BatchResult:
        ends = {i for item in items for i in (item.from_id, item.to_id) if i is not None}
        things = {t["_id"]: t for t in await self.things.by_ids(group_id, list(ends))}
        from_ids = list({i for item in items if (i := item.from_id) is not None and i in things})
        stored = await self.connections.existing_keys(group_id, from_ids) if from_ids else set()
        now = utcnow()
        results: list[ItemResult] = []
        docs: list[ConnectionDocument] = []
        positions: list[int] = []
        seen: dict[tuple[Any, Any, str], int] = {}
        async for index, item in in_turns(enumerate(items)):
            prefix = f"connections.{index}."
            errors = check_new_connection(self.vocabulary, self.limits, item, things, prefix, index)
            triple = (item.from_id, item.to_id, item.type)
            if not errors and triple in stored:
                errors.append(
                    ItemError(
                        ErrorCode.DUPLICATE,
                        f"A {item.type} connection between these things exists.",
                        f"{prefix}type",
                        index,
                    )
                )
            elif not errors and triple in seen:
                errors.append(
                    ItemError(
                        ErrorCode.DUPLICATE,
                        f"The same connection is item {seen[triple]} of this batch.",
                        f"{prefix}type",
                        index,
                    )
                )
            if errors:
                results.append(ItemResult(index, ItemStatus.FAILED, errors=errors))
                continue
            seen[triple] = index
            doc = new_connection_document(group_id, item, now)
            docs.append(doc)
            positions.append(index)
            results.append(
                ItemResult(index, ItemStatus.CREATED, id=to_global_id("Connection", doc["_id"]))
            )
        result = _result(results)
        for _ in range(MAX_ATTEMPTS):
            if not docs or (result.errors and policy is ErrorPolicy.REJECT_EVERYTHING):
                return _not_written(result)
            try:
                return await self._write_connections(group_id, key, result, docs, len(items))
            except BulkWriteError as failure:
                # A connection stored concurrently since the check: fail that item.
                index = positions[_duplicate_position(failure)]
                results[index] = ItemResult(
                    index,
                    ItemStatus.FAILED,
                    errors=[
                        ItemError(
                            ErrorCode.DUPLICATE,
                            f"A {items[index].type} connection between these things exists.",
                            f"connections.{index}.type",
                            index,
                        )
                    ],
                )
                kept = [p != index for p in positions]
                docs = [d for d, keep in zip(docs, kept, strict=True) if keep]
                positions = [p for p, keep in zip(positions, kept, strict=True) if keep]
                result = _result(results)
            except RejectedError as refused:
                return _refused(result, refused, "connections")
        return _not_written(result)

    async def _write_connections(
        self,
        group_id: ObjectId,
        key: str | None,
        result: BatchResult,
        docs: list[ConnectionDocument],
        total: int,
    ) -> BatchResult:
        now = utcnow()
        event = new_event(
            group_id,
            "connections_batch_created",
            timestamp=now,
            metadata={"count": total, "created": len(docs), "failed": result.failed},
        )
        delta = CountDelta().created("connections", docs)
        count_updates = []
        async for doc in in_turns(docs):
            delta.connections(doc["type"], 1, doc["sizeBytes"])
            count_updates += count_changes(doc, 1)
        result.batch_event_id = to_global_id("Event", event["_id"])

        async def write(w: TenantWrite) -> None:
            await w.count(delta, [event])
            await self.connections.insert_many(group_id, docs, w.session)
            await self.engagement.record(group_id, count_updates, w.session, created=docs)

        try:
            await self._write(group_id, key, result, write)
        except BaseException:
            result.batch_event_id = None
            raise
        return result

    # -- batchUpdateThings -------------------------------------------------

    async def _update_things(
        self,
        group_id: ObjectId,
        items: list[ThingUpdate],
        policy: ErrorPolicy,
        key: str | None,
    ) -> BatchResult:
        ids = list({item.thing_id for item in items if item.thing_id is not None})
        current = {t["_id"]: t for t in await self.things.by_ids(group_id, ids)} if ids else {}
        now = utcnow()
        results: list[ItemResult] = []
        writes: list[tuple[ObjectId, int, dict[str, Any]]] = []
        events: list[EventDocument] = []
        storage = 0
        seen: dict[ObjectId, int] = {}
        async for index, item in in_turns(enumerate(items)):
            prefix = f"updates.{index}."
            thing = current.get(item.thing_id) if item.thing_id is not None else None
            if thing is None:
                error = ItemError(ErrorCode.NOT_FOUND, "No such thing.", f"{prefix}id", index)
                results.append(ItemResult(index, ItemStatus.FAILED, errors=[error]))
                continue
            if thing["_id"] in seen:
                error = ItemError(
                    ErrorCode.DUPLICATE,
                    f"The same thing is item {seen[thing['_id']]} of this batch.",
                    f"{prefix}id",
                    index,
                )
                results.append(ItemResult(index, ItemStatus.FAILED, errors=[error]))
                continue
            seen[thing["_id"]] = index
            changes, errors = check_changes(
                self.vocabulary, self.limits, thing["type"], item.changes, prefix, index
            )
            expected = changes.expected_version
            if expected is not None and expected != thing["version"]:
                errors.append(
                    ItemError(
                        ErrorCode.CONFLICT,
                        f"Expected version {expected}, but the thing is at version "
                        f"{thing['version']}.",
                        f"{prefix}expectedVersion",
                        index,
                    )
                )
            global_id = to_global_id("Thing", thing["_id"])
            if errors:
                results.append(ItemResult(index, ItemStatus.FAILED, id=global_id, errors=errors))
                continue
            diff = changed_fields(thing, changes)
            if not diff:
                results.append(ItemResult(index, ItemStatus.UNCHANGED, id=global_id))
                continue
            fields: dict[str, Any] = {name: change["new"] for name, change in diff.items()}
            fields["updatedAt"] = now
            fields["sizeBytes"] = document_size({**thing, **fields})
            storage += fields["sizeBytes"] - thing["sizeBytes"]
            writes.append((thing["_id"], thing["version"], fields))
            events.append(
                new_event(
                    group_id,
                    "thing_updated",
                    timestamp=now,
                    target_id=thing["_id"],
                    metadata={"changes": diff},
                )
            )
            results.append(ItemResult(index, ItemStatus.UPDATED, id=global_id))
        result = _result(results)
        if result.errors and policy is ErrorPolicy.REJECT_EVERYTHING:
            return _not_written(result)
        if not writes:
            return result  # nothing changed: UNCHANGED items keep their ids, no event
        summary = new_event(
            group_id,
            "things_batch_updated",
            timestamp=now,
            metadata={
                "count": len(items),
                "updated": len(writes),
                "unchanged": sum(r.status is ItemStatus.UNCHANGED for r in results),
                "failed": result.failed,
            },
        )
        events.append(summary)
        delta = CountDelta().add("storageBytes", storage)
        for thing_id, _, fields in writes:
            if "status" in fields:
                delta.status_changed(current[thing_id]["status"], fields["status"])
        result.batch_event_id = to_global_id("Event", summary["_id"])

        async def write(w: TenantWrite) -> None:
            matched = await self.things.update_many_versions(group_id, writes, w.session)
            if matched != len(writes):
                raise ConcurrentChangeError()

        try:
            await self._write(group_id, key, result, write, (delta, events))
        except RejectedError as refused:
            return _refused(result, refused, "updates")
        return result


# -- result helpers ----------------------------------------------------------


def _result(results: list[ItemResult]) -> BatchResult:
    return BatchResult(results=results, errors=[e for r in results for e in r.errors])


def _not_written(result: BatchResult) -> BatchResult:
    """Nothing was written: valid items become NOT_WRITTEN (and keep no id)."""
    for item in result.results:
        if item.status is not ItemStatus.FAILED:
            item.status = ItemStatus.NOT_WRITTEN
            item.id = None
    result.batch_event_id = None
    return result


def _rejected_batch(code: PayloadErrorCode, message: str, path: str) -> BatchResult:
    return BatchResult(results=[], errors=[ItemError(code, message, path)])


def _refused(result: BatchResult, refused: RejectedError, items_path: str) -> BatchResult:
    """The quota refused the reservation: every item that would have been written fails."""
    [error] = refused.errors
    for item in result.results:
        if item.status is ItemStatus.FAILED:
            continue
        item.status = ItemStatus.FAILED
        item.id = None
        item.errors = [
            dataclasses.replace(error, path=f"{items_path}.{item.index}", index=item.index)
        ]
    result.errors = [e for r in result.results for e in r.errors]
    result.batch_event_id = None
    return result


def _duplicate_position(failure: BulkWriteError) -> int:
    for error in failure.details.get("writeErrors", []):
        if error.get("code") == DUPLICATE_KEY:
            return int(error["index"])
    raise failure
