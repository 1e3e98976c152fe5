"""Adding knowledge, optionally linked to a thing."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bson import ObjectId

from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import WriteLimits
from ontology.kit.pagination import PageRequest
from ontology.knowledge.repository import KnowledgeRepository
from ontology.ledger.counters import CountDelta, document_size
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.things.repository import ThingRepository

# Text may be large (a document), so it is bounded generously and counted in
# storage; the other strings are names and must stay short.
MAX_TEXT_LENGTH = 1_000_000
MAX_EMBEDDING_DIMENSIONS = 8192
MAX_LABELS = 100
MAX_LABEL_LENGTH = 256
MAX_EMBEDDING_MODEL_LENGTH = 128
# A link's role names how the knowledge relates to the thing (about, summary…).
ROLE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


class KnowledgeKind(StrEnum):
    LABEL = "label"
    DOCUMENT = "document"
    CHUNK = "chunk"
    VECTOR_ONLY = "vector_only"


@dataclass(frozen=True)
class NewKnowledge:
    kind: KnowledgeKind
    text: str | None = None
    embedding: list[float] | None = None
    embedding_model: str | None = None
    labels: list[str] = field(default_factory=list)
    thing_id: ObjectId | None = None
    thing_given: bool = False
    role: str = "about"


class KnowledgeService:
    def __init__(
        self,
        knowledge: KnowledgeRepository,
        things: ThingRepository,
        ledger: Ledger,
        limits: WriteLimits,
    ) -> None:
        self.knowledge = knowledge
        self.things = things
        self.ledger = ledger
        self.limits = limits

    def _check(self, item: NewKnowledge) -> list[ItemError]:
        errors: list[ItemError] = []
        if item.kind is KnowledgeKind.VECTOR_ONLY:
            if not item.embedding:
                errors.append(
                    ItemError(
                        ErrorCode.INVALID_INPUT, "vector_only needs an embedding.", "embedding"
                    )
                )
        elif not (item.text or "").strip():
            errors.append(ItemError(ErrorCode.INVALID_INPUT, f"{item.kind} needs text.", "text"))
        if item.text is not None and len(item.text) > MAX_TEXT_LENGTH:
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    f"text is longer than {MAX_TEXT_LENGTH} characters.",
                    "text",
                )
            )
        if item.embedding is not None:
            if len(item.embedding) > MAX_EMBEDDING_DIMENSIONS:
                errors.append(
                    ItemError(
                        ErrorCode.INVALID_INPUT,
                        f"embedding has more than {MAX_EMBEDDING_DIMENSIONS} dimensions.",
                        "embedding",
                    )
                )
            elif not all(math.isfinite(x) for x in item.embedding):
                errors.append(
                    ItemError(
                        ErrorCode.INVALID_INPUT, "embedding values must be finite.", "embedding"
                    )
                )
        if item.embedding_model is not None and len(item.embedding_model) > (
            MAX_EMBEDDING_MODEL_LENGTH
        ):
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    f"embeddingModel is longer than {MAX_EMBEDDING_MODEL_LENGTH} characters.",
                    "embeddingModel",
                )
            )
        if len(item.labels) > MAX_LABELS or any(
            not 0 < len(x) <= MAX_LABEL_LENGTH for x in item.labels
        ):
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    f"At most {MAX_LABELS} labels of 1-{MAX_LABEL_LENGTH} characters.",
                    "labels",
                )
            )
        if not ROLE_PATTERN.fullmatch(item.role):
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    "role must be 1-64 letters, digits, _ or -, starting with a letter.",
                    "role",
                )
            )
        return errors

    # -- reads (the GraphQL lists and loaders) ----------------------------------------

    async def page(self, group_id: ObjectId, kind: str | None, page: PageRequest) -> list[Document]:
        """A page of the group's knowledge (of ``kind``), newest first."""
        return await self.knowledge.page(group_id, kind, page)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        return await self.knowledge.by_ids(group_id, ids)

    async def for_things(
        self, group_id: ObjectId, thing_ids: Sequence[ObjectId], page: PageRequest
    ) -> dict[ObjectId, list[Document]]:
        """Each thing's page of knowledge links, each with ``_knowledge`` joined."""
        return await self.knowledge.for_things(group_id, thing_ids, page)

    # -- writes ------------------------------------------------------------------------

    async def add(self, group_id: ObjectId, item: NewKnowledge) -> Document:
        errors = self._check(item)
        if item.thing_given:
            found = await self.things.by_ids(group_id, [item.thing_id]) if item.thing_id else []
            if not found:
                errors.append(ItemError(ErrorCode.NOT_FOUND, "No such thing.", "thingId"))
        if errors:
            raise RejectedError(errors)
        now = utcnow()
        doc: Document = {
            "_id": ObjectId(),
            "groupId": group_id,
            "kind": item.kind.value,
            "text": item.text,
            "embedding": item.embedding,
            "embeddingModel": item.embedding_model,
            "labels": item.labels,
            "sourceThingId": item.thing_id,
            "createdAt": now,
        }
        # Embeddings are counted at 8 bytes a float, whatever BSON uses.
        doc["sizeBytes"] = document_size({**doc, "embedding": None}) + 8 * len(item.embedding or [])
        link: Document | None = None
        if item.thing_id is not None:
            link = {
                "_id": ObjectId(),
                "groupId": group_id,
                "thingId": item.thing_id,
                "knowledgeId": doc["_id"],
                "role": item.role,
                "createdAt": now,
            }
            # The link is stored too, so it counts in storage like every document.
            link["sizeBytes"] = document_size(link)
        stored = doc["sizeBytes"] + (link["sizeBytes"] if link is not None else 0)
        delta = CountDelta().add("knowledge", 1).add("storageBytes", stored)
        delta.saw("knowledge", doc["_id"])

        async def write(w: TenantWrite) -> None:
            await w.count(delta)  # reserve first
            await self.knowledge.insert(group_id, doc, link, w.session)

        await self.ledger.write(group_id, write, together=True)
        return doc
