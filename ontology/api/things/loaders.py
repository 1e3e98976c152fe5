"""Per-request loaders for things."""

from __future__ import annotations

from typing import Self

from bson import ObjectId

from ontology.api.loaders import ByIdLoader
from ontology.runtime import Runtime
from ontology.things.documents import ThingDocument
from ontology.things.service import ThingService


class ThingsByIdLoader(ByIdLoader[ThingDocument]):
    """Live things of the caller's group by id; deleted and foreign ids load ``None``."""

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.things, group_id)

    def __init__(self, things: ThingService, group_id: ObjectId) -> None:
        super().__init__(things.by_ids, group_id)
