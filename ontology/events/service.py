"""Logging events from clients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from ontology.events.documents import RelatedEvent
from ontology.events.errors import EventErrorCode
from ontology.events.repository import EventFilter, EventRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import WriteLimits, quoted
from ontology.kit.pagination import PageRequest
from ontology.ledger.buckets import PAYMENT_EVENT, payment_amount
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import EventDocument, new_event
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.things.repository import ThingRepository
from ontology.vocabulary.errors import VocabularyErrorCode
from ontology.vocabulary.registry import Vocabulary

# Clients may back-date events (imports); a clock a little ahead is tolerated.
FUTURE_TOLERANCE = timedelta(minutes=5)
# A trillion per payment: sums of any number of them stay exact enough and finite
# (float64 reaches 1.8e308), so no revenue metric can become infinite.
MAX_PAYMENT_AMOUNT = 1_000_000_000_000


@dataclass(frozen=True)
class NewEvent:
    """``*_given`` tells an id that did not decode (not found) from an absent one."""

    type: str
    actor_id: ObjectId | None = None
    target_id: ObjectId | None = None
    actor_given: bool = False
    target_given: bool = False
    metadata: Any = field(default_factory=dict)  # checked: must be a JSON object
    timestamp: datetime | None = None


class EventService:
    def __init__(
        self,
        events: EventRepository,
        ledger: Ledger,
        things: ThingRepository,
        vocabulary: Vocabulary,
        limits: WriteLimits,
    ) -> None:
        self.events = events
        self.ledger = ledger
        self.things = things
        self.vocabulary = vocabulary
        self.limits = limits

    # -- reads (the GraphQL lists, loaders and subscription replays) -----------------

    async def page(
        self, group_id: ObjectId, event_filter: EventFilter, page: PageRequest
    ) -> list[EventDocument]:
        """A page of the group's events matching ``event_filter``, newest first."""
        return await self.events.page(group_id, event_filter, page)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[EventDocument]:
        return await self.events.by_ids(group_id, ids)

    async def by_actor_or_target(
        self, group_id: ObjectId, role: str, thing_ids: Sequence[ObjectId], page: PageRequest
    ) -> dict[ObjectId, list[RelatedEvent]]:
        """Each thing's page of events where it is ``role`` (actorId or targetId)."""
        return await self.events.by_actor_or_target(group_id, role, thing_ids, page)

    # -- writes ------------------------------------------------------------------------

    async def log(self, group_id: ObjectId, event: NewEvent) -> EventDocument:
        now = utcnow()
        errors: list[ItemError] = []
        if event.type in self.vocabulary.system_event_types:
            message = f"{event.type} is written by the system only; logEvent cannot log it."
            errors.append(ItemError(EventErrorCode.RESERVED_EVENT_TYPE, message, "type"))
        elif event.type not in self.vocabulary.event_types:
            errors.append(
                ItemError(
                    VocabularyErrorCode.UNKNOWN_TYPE,
                    f"Unknown event type {quoted(event.type)}.",
                    "type",
                )
            )
        ids = [i for i in (event.actor_id, event.target_id) if i is not None]
        found = {t["_id"] for t in await self.things.by_ids(group_id, ids)} if ids else set()
        for name, thing_id, given in (
            ("actorId", event.actor_id, event.actor_given),
            ("targetId", event.target_id, event.target_given),
        ):
            if given and thing_id not in found:
                errors.append(ItemError(ErrorCode.NOT_FOUND, "No such thing.", name))
        errors += self.limits.check_object(event.metadata, "metadata")
        if event.type == PAYMENT_EVENT and isinstance(event.metadata, dict):
            amount = payment_amount({"type": event.type, "metadata": event.metadata})
            if amount is None or not 0 <= amount <= MAX_PAYMENT_AMOUNT:
                message = (
                    "payment_processed needs metadata.amount, a number from 0 to "
                    f"{MAX_PAYMENT_AMOUNT:,}."
                )
                errors.append(ItemError(ErrorCode.INVALID_INPUT, message, "metadata.amount"))
        timestamp = event.timestamp or now
        if timestamp.tzinfo is None:
            errors.append(
                ItemError(ErrorCode.INVALID_INPUT, "timestamp needs a time zone.", "timestamp")
            )
        elif timestamp > now + FUTURE_TOLERANCE:
            errors.append(
                ItemError(ErrorCode.INVALID_INPUT, "timestamp is in the future.", "timestamp")
            )
        if errors:
            raise RejectedError(errors)
        timestamp = timestamp.replace(microsecond=timestamp.microsecond // 1000 * 1000)
        doc = new_event(
            group_id,
            event.type,
            timestamp=timestamp,
            actor_id=event.actor_id,
            target_id=event.target_id,
            metadata=event.metadata,
        )

        async def write(w: TenantWrite) -> None:
            await w.count(CountDelta(), [doc])

        await self.ledger.write(group_id, write, together=True)
        return doc
