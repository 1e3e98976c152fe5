"""Per-request loaders for computed metrics."""

from __future__ import annotations

from typing import Any, Self

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.api.loaders import ByIdLoader
from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.metrics.registry import Source
from ontology.metrics.service import MetricsService
from ontology.runtime import Runtime


class ThingTotalsByIdLoader(ByIdLoader[Document]):
    """Things' running totals as actors (creator stats): one command per batch."""

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.metrics, group_id)

    def __init__(self, metrics: MetricsService, group_id: ObjectId) -> None:
        super().__init__(metrics.thing_totals, group_id, key="thingId")


class GroupSourcesLoader(DataLoader[Source, Any]):
    """The sources of the caller's group metrics, each read once per request."""

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.metrics, group_id)

    def __init__(self, metrics: MetricsService, group_id: ObjectId) -> None:
        self._metrics = metrics
        self._group_id = group_id
        super().__init__(load_fn=self._load)

    async def _load(self, sources: list[Source]) -> list[Any]:
        now = utcnow()
        return [await self._metrics.source(self._group_id, source, now) for source in sources]
