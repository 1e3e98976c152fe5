"""Query specifications that repositories build and run.

A repository describes a list query as a ``FindSpec`` so the same object is
both executed and, in tests, explained: the test proves the query the
application really sends is an index scan on the index named in ``index``.

Planners differ, and we write for both. mongod picks among candidate indexes by
trial; the embedded server (SecantusDB) uses an index only when the filter's
equality fields are exactly a leading prefix of it, followed by at most one
range or ``$in`` field, and a hint makes it walk the whole index. So no query
sends a hint: each filter is shaped to match its index exactly, and equality
conditions the index does not hold go into ``residual``, a second ``$match``
that mongod merges with the first and the embedded server applies after the
index lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from ontology.db.client import Document

# Large enough that related items arrive in one reply: the command count of an
# operation must not depend on how many items it returns.
BATCH_SIZE = 100_000


@dataclass(frozen=True)
class FindSpec:
    """One page: ``filter`` matches ``index``; ``residual`` is checked after it."""

    filter: dict[str, Any]
    sort: tuple[tuple[str, int], ...]
    limit: int
    index: str
    residual: dict[str, Any] = field(default_factory=dict)

    def pipeline(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = [{"$match": self.filter}]
        if self.residual:
            stages.append({"$match": self.residual})
        stages += [{"$sort": dict(self.sort)}, {"$limit": self.limit}]
        return stages

    async def run(self, collection: AsyncCollection[Document]) -> list[Document]:
        if not self.residual:
            cursor = (
                collection.find(self.filter)
                .sort(list(self.sort))
                .limit(self.limit)
                .batch_size(self.limit + 1)
            )
            return [doc async for doc in cursor]
        result = await collection.aggregate(self.pipeline(), batchSize=self.limit + 1)
        return [doc async for doc in result]

    async def explain(self, collection: AsyncCollection[Document]) -> dict[str, Any]:
        if not self.residual:
            cursor = collection.find(self.filter).sort(list(self.sort)).limit(self.limit)
            result: dict[str, Any] = await cursor.explain()
            return result
        database = collection.database
        return await database.command(
            "explain",
            {"aggregate": collection.name, "pipeline": self.pipeline(), "cursor": {}},
        )


def top_per_parent(
    scope: dict[str, Any],
    parent_field: str,
    parents: Sequence[Any],
    sort_field: str,
    direction: int,
    limit: int,
    key_range: dict[str, Any],
    joins: dict[str, str] | None = None,
    join_collection: str = "things",
) -> list[dict[str, Any]]:
    """The pipeline giving each parent its first ``limit`` documents in ``sort_field`` order.

    ``scope`` + ``parent_field $in parents`` is one index range (groupId, parent,
    ...); the key range (a cursor) is applied after it, and ``$topN`` keeps the
    page of each parent. It reads every matching document of the page's
    parents: bounded by their fan-out, never by the collection. (One limited
    branch per parent under ``$unionWith`` would read less on mongod, but the
    embedded server plans ``$unionWith`` sub-pipelines as collection scans.)

    ``joins`` maps a field holding an id of ``join_collection`` (things by
    default) to the field that receives the document (a one-element list, or
    empty) by ``_id``, in the same command. Callers must check the joined
    documents' ``groupId`` (and things' ``deletedAt``).
    """
    stages: list[dict[str, Any]] = [{"$match": {**scope, parent_field: {"$in": list(parents)}}}]
    if key_range:
        stages.append({"$match": {sort_field: key_range}})
    stages.append(
        {
            "$group": {
                "_id": f"${parent_field}",
                "items": {
                    "$topN": {
                        "n": limit,
                        "sortBy": {sort_field: direction},
                        "output": "$$ROOT",
                    }
                },
            }
        }
    )
    if joins:
        stages.append({"$unwind": "$items"})
        stages += [
            {
                "$lookup": {
                    "from": join_collection,
                    "localField": f"items.{local}",
                    "foreignField": "_id",
                    "as": f"items.{target}",
                }
            }
            for local, target in joins.items()
        ]
        stages.append({"$group": {"_id": "$_id", "items": {"$push": "$items"}}})
    return stages


async def items_per_parent(
    collection: AsyncCollection[Document], pipeline: list[dict[str, Any]]
) -> dict[Any, list[Document]]:
    """Run a ``top_per_parent`` pipeline: one command."""
    cursor = await collection.aggregate(pipeline, batchSize=BATCH_SIZE)
    return {group["_id"]: group["items"] async for group in cursor}


async def find_by_keys(
    collection: AsyncCollection[Document],
    field: str,
    keys: Sequence[Any],
    scope: dict[str, Any],
    projection: dict[str, Any] | None = None,
    session: AsyncClientSession | None = None,
) -> list[Document]:
    """The documents whose ``field`` is one of ``keys`` and that match ``scope``: one command.

    Many keys are looked up one by one inside the server (``$documents`` +
    ``$lookup`` on ``field`` with ``scope``): each lookup is an equality on an
    index (``groupId`` + ``field``), targeted by the shard key on mongod, and
    the work stays linear in the number of keys on the embedded server, where a
    ``$in`` of thousands of values is quadratic.
    """
    if not keys:
        return []
    inner: list[dict[str, Any]] = [{"$match": scope}]
    if projection:
        inner.append({"$project": projection})
    pipeline: list[dict[str, Any]] = [
        {"$documents": [{"k": key} for key in dict.fromkeys(keys)]},
        {
            "$lookup": {
                "from": collection.name,
                "localField": "k",
                "foreignField": field,
                "pipeline": inner,
                "as": "found",
            }
        },
        {"$unwind": "$found"},
        {"$replaceWith": "$found"},
    ]
    cursor = await collection.database.aggregate(pipeline, batchSize=BATCH_SIZE, session=session)
    return [doc async for doc in cursor]
