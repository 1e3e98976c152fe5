"""GraphQL types for knowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from ontology.api.base import Node, UserError
from ontology.kit.ids import to_global_id
from ontology.knowledge.service import KnowledgeKind

KnowledgeKindEnum = strawberry.enum(KnowledgeKind, name="KnowledgeKind")


@strawberry.type(name="Knowledge", description="A label, document, chunk or vector.")
class KnowledgeType(Node):
    kind: KnowledgeKindEnum  # type: ignore[valid-type]
    text: str | None
    embedding: list[float] | None
    embedding_model: str | None
    labels: list[str]
    source_thing_id: strawberry.ID | None
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> KnowledgeType:
        source = doc.get("sourceThingId")
        return cls(
            id=strawberry.ID(to_global_id("Knowledge", doc["_id"])),
            kind=KnowledgeKind(doc["kind"]),
            text=doc.get("text"),
            embedding=doc.get("embedding"),
            embedding_model=doc.get("embeddingModel"),
            labels=doc.get("labels") or [],
            source_thing_id=strawberry.ID(to_global_id("Thing", source)) if source else None,
            created_at=doc["createdAt"],
        )


@strawberry.input
class AddKnowledgeInput:
    kind: KnowledgeKindEnum  # type: ignore[valid-type]
    text: str | None = None
    embedding: list[float] | None = None
    embedding_model: str | None = None
    labels: list[str] = strawberry.field(default_factory=list)
    thing_id: strawberry.ID | None = strawberry.field(
        default=None, description="Link the knowledge to this thing."
    )
    role: str = strawberry.field(
        default="about",
        description="The link's role: 1-64 letters, digits, _ or -, starting with a letter.",
    )


@strawberry.type
class KnowledgePayload:
    knowledge: KnowledgeType | None
    errors: list[UserError]
