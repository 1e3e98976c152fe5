"""Writing things: create, update and soft delete, each with its event and counters.

Each write runs in one transaction with the event it logs and the group's
denormalized counters, so counts always equal what is stored.
"""

from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.connections.models import count_changes
from ontology.connections.repository import ConnectionRepository
from ontology.db.client import Document
from ontology.events.models import new_event
from ontology.events.repository import EventRepository
from ontology.groups.models import CountDelta
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import WriteLimits
from ontology.quotas.service import QuotaService
from ontology.things.engagement import EngagementLedger
from ontology.things.models import (
    NewThing,
    ThingChanges,
    changed_fields,
    check_changes,
    check_new_thing,
    document_size,
    new_thing_document,
)
from ontology.things.repository import ThingRepository
from ontology.vocabulary.registry import Vocabulary

NOT_FOUND = ItemError(ErrorCode.NOT_FOUND, "No such thing.", "id")


class ThingService:
    def __init__(
        self,
        things: ThingRepository,
        connections: ConnectionRepository,
        events: EventRepository,
        quotas: QuotaService,
        vocabulary: Vocabulary,
        limits: WriteLimits,
        engagement: EngagementLedger,
    ) -> None:
        self.things = things
        self.engagement = engagement
        self.connections = connections
        self.events = events
        self.quotas = quotas
        self.vocabulary = vocabulary
        self.limits = limits

    async def create(self, group_id: ObjectId, thing: NewThing) -> Document:
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
        delta.logged([event])

        async def write(session: AsyncClientSession) -> None:
            await self.quotas.apply(group_id, delta, session)  # reserve first
            await self.things.insert(group_id, doc, session)
            await self.events.insert_many(group_id, [event], session)

        await self.quotas.write(group_id, write)
        return doc

    async def update(
        self, group_id: ObjectId, thing_id: ObjectId | None, changes: ThingChanges
    ) -> Document:
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
        delta.logged([event])

        async def write(session: AsyncClientSession) -> Document:
            updated = await self.things.update(
                group_id, current["_id"], current["version"], fields, session
            )
            if updated is None:
                raise RejectedError(
                    [ItemError(ErrorCode.CONFLICT, "The thing changed concurrently; retry.", "id")]
                )
            await self.events.insert_many(group_id, [event], session)
            await self.quotas.apply(group_id, delta, session)
            return updated

        return await self.quotas.write(group_id, write)

    async def delete(self, group_id: ObjectId, thing_id: ObjectId | None) -> Document:
        """Soft-delete a thing and remove its connections (both directions)."""
        if thing_id is None:
            raise RejectedError([NOT_FOUND])
        now = utcnow()

        async def write(session: AsyncClientSession) -> Document:
            deleted = await self.things.soft_delete(group_id, thing_id, now, session)
            if deleted is None:
                raise RejectedError([NOT_FOUND])
            removed = await self.connections.delete_touching(group_id, thing_id, session)
            delta = CountDelta().things(
                deleted["type"], -1, -deleted["sizeBytes"], status=deleted["status"]
            )
            count_updates = []
            for connection in removed:
                delta.connections(connection["type"], -1, -connection["sizeBytes"])
                count_updates += count_changes(connection, -1)
            await self.engagement.record(group_id, count_updates, session, deleted=deleted)
            event = new_event(
                group_id,
                "thing_deleted",
                timestamp=now,
                target_id=thing_id,
                metadata={
                    "type": deleted["type"],
                    "name": deleted["name"],
                    "connectionsRemoved": len(removed),
                },
            )
            delta.logged([event])
            await self.events.insert_many(group_id, [event], session)
            await self.quotas.apply(group_id, delta, session, enforce=False)
            return {**deleted, "deletedAt": now}

        return await self.quotas.write(group_id, write)
