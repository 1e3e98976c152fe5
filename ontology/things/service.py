"""Writing things: create, update and soft delete, each with its event and counters.

Each write runs in one transaction with the event it logs and the group's
denormalized counters, so counts always equal what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import WriteLimits
from ontology.kit.pagination import PageRequest
from ontology.ledger.counters import CountDelta, document_size
from ontology.ledger.events import new_event
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.things.documents import ThingDocument
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

NOT_FOUND = ItemError(ErrorCode.NOT_FOUND, "No such thing.", "id")


class Detach(Protocol):
    """What a thing's deletion removes with it, in its transaction: its connections
    (``ConnectionService.detach``), counted into ``delta``; how many were removed."""

    async def __call__(
        self,
        group_id: ObjectId,
        thing: ThingDocument,
        delta: CountDelta,
        session: AsyncClientSession,
    ) -> int: ...


class ThingService:
    def __init__(
        self,
        things: ThingRepository,
        ledger: Ledger,
        vocabulary: Vocabulary,
        limits: WriteLimits,
        detach: Detach,
    ) -> None:
        self.things = things
        self.detach = detach
        self.ledger = ledger
        self.vocabulary = vocabulary
        self.limits = limits

    # -- reads (the GraphQL lists and loaders) ----------------------------------------

    async def page(
        self, group_id: ObjectId, thing_type: str | None, status: str | None, page: PageRequest
    ) -> list[ThingDocument]:
        """A page of the group's live things (of a type, a status), newest first."""
        return await self.things.page(group_id, thing_type, status, page)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[ThingDocument]:
        """The group's live things with these ids."""
        return await self.things.by_ids(group_id, ids)

    # -- writes ------------------------------------------------------------------------

    async def create(self, group_id: ObjectId, thing: NewThing) -> ThingDocument:
        thing, errors = check_new_thing(self.vocabulary, self.limits, thing)
        if errors:
            raise RejectedError(errors)
        now = utcnow()
        doc = new_thing_document(group_id, thing, now)
        event = new_event(
            group_id,
            "thing_created",
            timestamp=now,
            target_id=doc["_id"],
            metadata={"type": doc["type"], "name": doc["name"]},
        )
        delta = CountDelta().things(doc["type"], 1, doc["sizeBytes"], status=doc["status"])
        delta.created("things", [doc])

        async def write(w: TenantWrite) -> None:
            await w.count(delta, [event])  # reserve first
            await self.things.insert(group_id, doc, w.session)

        await self.ledger.write(group_id, write, together=True)
        return doc

    async def update(
        self, group_id: ObjectId, thing_id: ObjectId | None, changes: ThingChanges
    ) -> ThingDocument:
        """Apply ``changes``; a no-op update returns the thing unchanged, with no event."""
        found = await self.things.by_ids(group_id, [thing_id]) if thing_id else []
        if not found:
            raise RejectedError([NOT_FOUND])
        current = found[0]
        changes, errors = check_changes(self.vocabulary, self.limits, current["type"], changes)
        if changes.expected_version is not None and changes.expected_version != current["version"]:
            errors.append(
                ItemError(
                    ErrorCode.CONFLICT,
                    f"Expected version {changes.expected_version}, "
                    f"but the thing is at version {current['version']}.",
                    "expectedVersion",
                )
            )
        if errors:
            raise RejectedError(errors)
        diff = changed_fields(current, changes)
        if not diff:
            return current
        now = utcnow()
        fields = {name: change["new"] for name, change in diff.items()}
        fields["updatedAt"] = now
        fields["sizeBytes"] = document_size({**current, **fields})
        event = new_event(
            group_id,
            "thing_updated",
            timestamp=now,
            target_id=current["_id"],
            metadata={"changes": diff},
        )
        delta = CountDelta().add("storageBytes", fields["sizeBytes"] - current["sizeBytes"])
        delta.status_changed(current["status"], str(fields.get("status", current["status"])))

        async def write(w: TenantWrite) -> ThingDocument:
            updated = await self.things.update(
                group_id, current["_id"], current["version"], fields, w.session
            )
            if updated is None:
                raise RejectedError(
                    [ItemError(ErrorCode.CONFLICT, "The thing changed concurrently; retry.", "id")]
                )
            await w.count(delta, [event])
            return updated

        return await self.ledger.write(group_id, write, together=True)

    async def delete(self, group_id: ObjectId, thing_id: ObjectId | None) -> ThingDocument:
        """Soft-delete a thing and remove its connections (both directions)."""
        if thing_id is None:
            raise RejectedError([NOT_FOUND])
        now = utcnow()

        async def write(w: TenantWrite) -> ThingDocument:
            session = w.session
            deleted = await self.things.soft_delete(group_id, thing_id, now, session)
            if deleted is None:
                raise RejectedError([NOT_FOUND])
            delta = CountDelta().things(
                deleted["type"], -1, -deleted["sizeBytes"], status=deleted["status"]
            )
            removed = await self.detach(group_id, deleted, delta, session)
            event = new_event(
                group_id,
                "thing_deleted",
                timestamp=now,
                target_id=thing_id,
                metadata={
                    "type": deleted["type"],
                    "name": deleted["name"],
                    "connectionsRemoved": removed,
                },
            )
            await w.count(delta, [event], enforce=False)
            return {**deleted, "deletedAt": now}

        return await self.ledger.write(group_id, write, together=True)
