"""Query specifications that repositories build and run.

A repository describes a list query as a ``FindSpec`` (filter, sort, limit) so
the same object is both executed and, in tests, explained: the test proves the
query the application really sends uses an index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from ontology.db.client import Document

# Large enough that a page of related items arrives in one reply: the command
# count of an operation must not depend on how many items it returns.
UNION_BATCH_SIZE = 100_000


@dataclass(frozen=True)
class FindSpec:
    filter: dict[str, Any]
    sort: tuple[tuple[str, int], ...]
    limit: int

    def _cursor(self, collection: AsyncCollection[Document]) -> Any:
        return (
            collection.find(self.filter)
            .sort(list(self.sort))
            .limit(self.limit)
            .batch_size(self.limit + 1)
        )

    async def run(self, collection: AsyncCollection[Document]) -> list[Document]:
        return [doc async for doc in self._cursor(collection)]

    async def explain(self, collection: AsyncCollection[Document]) -> dict[str, Any]:
        result: dict[str, Any] = await self._cursor(collection).explain()
        return result


async def union_all(
    collection: AsyncCollection[Document], branches: Sequence[list[dict[str, Any]]]
) -> list[Document]:
    """Run several pipelines on one collection as a single ``aggregate`` command.

    DataLoaders use this to fetch a bounded page for each of many parents at
    once: every branch is an index range with its own ``$limit``.
    """
    if not branches:
        return []
    pipeline = list(branches[0])
    for branch in branches[1:]:
        pipeline.append({"$unionWith": {"coll": collection.name, "pipeline": branch}})
    cursor = await collection.aggregate(pipeline, batchSize=UNION_BATCH_SIZE)
    return [doc async for doc in cursor]
