"""The shapes ``EventRepository`` reads. An event as stored, ``EventDocument``, is
declared in the ledger, which appends every event (``ontology.ledger.events``)."""

from __future__ import annotations

from ontology.ledger.events import EventDocument
from ontology.things.documents import ThingDocument

__all__ = ["EventDocument", "RelatedEvent"]


class RelatedEvent(EventDocument):
    """An event of a thing's activity page, with the live things that are its actor and
    its target (or None), joined in the same command
    (``EventRepository.by_actor_or_target``)."""

    _actor: ThingDocument | None
    _target: ThingDocument | None
