"""Mutations for knowledge."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.knowledge.types import AddKnowledgeInput, KnowledgePayload, KnowledgeType
from ontology.kit.ids import parse_global_id
from ontology.knowledge.service import KnowledgeKind, NewKnowledge

Info = strawberry.Info[Context, None]


@strawberry.type
class KnowledgeMutations:
    @strawberry.mutation(description="Add knowledge, optionally linked to a thing.")
    async def add_knowledge(self, info: Info, input: AddKnowledgeInput) -> KnowledgePayload:
        context = info.context
        new = NewKnowledge(
            kind=KnowledgeKind(input.kind),
            text=input.text,
            embedding=input.embedding,
            embedding_model=input.embedding_model,
            labels=input.labels,
            thing_id=parse_global_id(input.thing_id, "Thing") if input.thing_id else None,
            thing_given=input.thing_id is not None,
            role=input.role,
        )
        return await payload(
            context.services.knowledge.add(context.group_id, new),
            lambda doc: KnowledgePayload(knowledge=KnowledgeType.from_doc(doc), errors=[]),
            lambda errors: KnowledgePayload(knowledge=None, errors=errors),
        )
