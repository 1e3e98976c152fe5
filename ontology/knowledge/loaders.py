"""Per-request loaders for knowledge."""

from __future__ import annotations

from bson import ObjectId

from ontology.kit.loaders import ByIdLoader
from ontology.knowledge.repository import KnowledgeRepository


class KnowledgeByIdLoader(ByIdLoader):
    def __init__(self, knowledge: KnowledgeRepository, group_id: ObjectId) -> None:
        super().__init__(knowledge.by_ids, group_id)
