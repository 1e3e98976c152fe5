"""Writing connections: create and delete, with per-thing and group counters."""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from ontology.connections.documents import ConnectionDocument, RelatedConnection
from ontology.connections.models import (
    NewConnection,
    check_new_connection,
    count_changes,
    new_connection_document,
)
from ontology.connections.repository import ConnectionRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import WriteLimits
from ontology.kit.pagination import PageRequest
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.things.documents import ThingDocument
from ontology.things.engagement import EngagementLedger
from ontology.things.repository import ThingRepository
from ontology.vocabulary.registry import Vocabulary


class ConnectionService:
    def __init__(
        self,
        connections: ConnectionRepository,
        things: ThingRepository,
        ledger: Ledger,
        vocabulary: Vocabulary,
        limits: WriteLimits,
        engagement: EngagementLedger,
    ) -> None:
        self.connections = connections
        self.engagement = engagement
        self.things = things
        self.ledger = ledger
        self.vocabulary = vocabulary
        self.limits = limits

    # -- reads (the GraphQL lists and loaders) ----------------------------------------

    async def page(
        self, group_id: ObjectId, connection_type: str | None, page: PageRequest
    ) -> list[ConnectionDocument]:
        """A page of the group's connections (of ``connection_type``), newest first."""
        return await self.connections.page(group_id, connection_type, page)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[ConnectionDocument]:
        return await self.connections.by_ids(group_id, ids)

    async def for_things(
        self,
        group_id: ObjectId,
        direction: str,
        connection_type: str | None,
        things: dict[ObjectId, tuple[int | None, ObjectId | None]],
        page: PageRequest,
    ) -> dict[ObjectId, list[RelatedConnection]]:
        """Each thing's page of connections in one direction (``ConnectionRepository``)."""
        return await self.connections.for_things(group_id, direction, connection_type, things, page)

    # -- writes ------------------------------------------------------------------------

    async def create(self, group_id: ObjectId, connection: NewConnection) -> ConnectionDocument:
        ids = [i for i in (connection.from_id, connection.to_id) if i is not None]
        things = {t["_id"]: t for t in await self.things.by_ids(group_id, ids)} if ids else {}
        errors = check_new_connection(self.vocabulary, self.limits, connection, things)
        if errors:
            raise RejectedError(errors)
        now = utcnow()
        doc = new_connection_document(group_id, connection, now)
        event = new_event(
            group_id,
            "connection_created",
            timestamp=now,
            actor_id=doc["fromId"],
            target_id=doc["toId"],
            metadata={"connectionId": str(doc["_id"]), "type": doc["type"]},
        )
        delta = CountDelta().connections(doc["type"], 1, doc["sizeBytes"])
        delta.created("connections", [doc])

        async def write(w: TenantWrite) -> None:
            await w.count(delta, [event])  # reserve first
            await self.connections.insert(group_id, doc, w.session)
            await self.engagement.record(group_id, count_changes(doc, 1), w.session, created=[doc])

        try:
            await self.ledger.write(group_id, write, together=True)
        except DuplicateKeyError:
            raise RejectedError(
                [
                    ItemError(
                        ErrorCode.DUPLICATE,
                        f"A {connection.type} connection between these things exists.",
                        "type",
                    )
                ]
            ) from None
        return doc

    async def delete(
        self, group_id: ObjectId, connection_id: ObjectId | None
    ) -> ConnectionDocument:
        not_found = RejectedError([ItemError(ErrorCode.NOT_FOUND, "No such connection.", "id")])
        if connection_id is None:
            raise not_found
        now = utcnow()

        async def write(w: TenantWrite) -> ConnectionDocument:
            doc = await self.connections.delete_one(group_id, connection_id, w.session)
            if doc is None:
                raise not_found
            event = new_event(
                group_id,
                "connection_deleted",
                timestamp=now,
                actor_id=doc["fromId"],
                target_id=doc["toId"],
                metadata={"connectionId": str(doc["_id"]), "type": doc["type"]},
            )
            delta = CountDelta().connections(doc["type"], -1, -doc["sizeBytes"])
            await self.engagement.record(group_id, count_changes(doc, -1), w.session)
            await w.count(delta, [event], enforce=False)
            return doc

        return await self.ledger.write(group_id, write, together=True)

    async def detach(
        self,
        group_id: ObjectId,
        thing: ThingDocument,
        delta: CountDelta,
        session: AsyncClientSession,
    ) -> int:
        """Remove the connections of ``thing``, being deleted (both directions), counted
        into ``delta``, and update the engagement counters; how many were removed."""
        removed = await self.connections.delete_touching(group_id, thing["_id"], session)
        count_updates = []
        for connection in removed:
            delta.connections(connection["type"], -1, -connection["sizeBytes"])
            count_updates += count_changes(connection, -1)
        await self.engagement.record(group_id, count_updates, session, deleted=thing)
        return len(removed)
