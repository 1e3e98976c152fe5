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

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from ontology.db.client import Document
from ontology.db.windows import Scan, scope_key

# Large enough that related items arrive in one reply: the command count of an
# operation must not depend on how many items it returns.
BATCH_SIZE = 100_000


@dataclass(frozen=True)
class FindSpec:
    """One page: ``filter`` matches ``index``; ``residual`` is checked after it.

    With a ``scan`` the page is read in bounded windows of its sort key
    (``ontology.db.windows``): ``filter`` then holds only the equalities, and
    each window adds its range on the scan's field. ``joins`` adds, after the
    limit, the documents of ``join_collection`` whose ``_id`` a field holds
    (field → field receiving a one-element list, or empty).
    """

    filter: dict[str, Any]
    sort: tuple[tuple[str, int], ...]
    limit: int  # 0: no limit (a range known to be bounded)
    index: str
    residual: dict[str, Any] = field(default_factory=dict)
    scan: Scan | None = None
    joins: dict[str, str] = field(default_factory=dict)
    join_collection: str = "things"
    projection: dict[str, Any] | None = None

    def windowed(self, lo: int | None, hi: int | None) -> dict[str, Any]:
        """The filter of one window (the whole filter without a scan)."""
        if self.scan is None:
            return self.filter
        bounds = self.scan.bounds(lo, hi)
        return {**self.filter, self.scan.field: bounds} if bounds else self.filter

    def pipeline(self, query: dict[str, Any] | None = None, limit: int = 0) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = [{"$match": self.filter if query is None else query}]
        if self.residual:
            stages.append({"$match": self.residual})
        if self.projection:
            stages.append({"$project": self.projection})
        stages.append({"$sort": dict(self.sort)})
        if limit or self.limit:
            stages.append({"$limit": limit or self.limit})
        stages += [
            {
                "$lookup": {
                    "from": self.join_collection,
                    "localField": local,
                    "foreignField": "_id",
                    "as": target,
                }
            }
            for local, target in self.joins.items()
        ]
        return stages

    async def _read(
        self, collection: AsyncCollection[Document], query: dict[str, Any], limit: int
    ) -> list[Document]:
        batch = limit + 1 if limit else BATCH_SIZE  # limit 0: every document, one reply
        if not self.residual and not self.joins:
            cursor = collection.find(query, self.projection).sort(list(self.sort)).limit(limit)
            return [doc async for doc in cursor.batch_size(batch)]
        result = await collection.aggregate(self.pipeline(query, limit), batchSize=batch)
        return [doc async for doc in result]

    async def run(self, collection: AsyncCollection[Document]) -> list[Document]:
        """The page: one command, or one per window with a scan."""
        if self.scan is None:
            return await self._read(collection, self.filter, self.limit)
        scope = scope_key(collection.name, self.filter)
        found: list[Document] = []
        walk = self.scan.windows(scope, self.limit)
        lo, hi, last = next(walk)
        while True:
            docs = await self._read(collection, self.windowed(lo, hi), self.limit - len(found))
            found += docs
            if len(found) >= self.limit or last:
                break
            lo, hi, last = walk.send(len(docs))
        self.scan.learn(scope, found, full=len(found) >= self.limit)
        return found

    async def explain(self, collection: AsyncCollection[Document]) -> dict[str, Any]:
        """The plan of the first command ``run`` sends."""
        query = self.filter
        if self.scan is not None:
            scope = scope_key(collection.name, self.filter)
            lo, hi, _last = next(iter(self.scan.windows(scope, self.limit)))
            query = self.windowed(lo, hi)
        if not self.residual and not self.joins:
            cursor = collection.find(query, self.projection).sort(list(self.sort)).limit(self.limit)
            result: dict[str, Any] = await cursor.explain()
            return result
        database = collection.database
        return await database.command(
            "explain",
            {"aggregate": collection.name, "pipeline": self.pipeline(query), "cursor": {}},
        )


# A parent with more documents in its page's range than this walks windows of
# its own; fewer share one command with the other parents (``pages_per_parent``).
SMALL_FAN_OUT = 64


async def pages_per_parent(
    collection: AsyncCollection[Document],
    parent_field: str,
    specs: dict[Any, FindSpec],
    counts: dict[Any, int | None] | None = None,
) -> dict[Any, list[Document]]:
    """Each parent's page (``specs``: parent → its page, all of one shape).

    Only an equality followed by one range is a bounded index range on the
    embedded server: ``$in`` on the parent plus a range on the sort key reads
    every document of every parent. So parents known to have many documents
    (``counts``: a counter of each parent's documents, when the caller has one;
    else ``KeyHints.fan_out``, as last seen) each walk their own windows,
    concurrently; parents with none cost nothing; the others share one command
    that reads all their documents in the page's range (at most
    ``SMALL_FAN_OUT`` each) and keeps each parent's first ``limit`` with
    ``$topN``, counting them to learn which parents are big. A parent without a
    counter, seen for the first time, is taken to be small: its first page
    costs what it holds, once per process.
    """
    scopes = {parent: scope_key(collection.name, spec.filter) for parent, spec in specs.items()}
    known = counts or {}
    fan_out = {
        p: c if (c := known.get(p)) is not None else _fan_out(specs[p], scopes[p]) for p in specs
    }
    big = [p for p in specs if fan_out[p] > SMALL_FAN_OUT]
    small = [p for p in specs if p not in big and known.get(p) != 0]
    shared, *walked = await asyncio.gather(
        _shared_page(collection, parent_field, specs, small, scopes),
        *(specs[parent].run(collection) for parent in big),
    )
    found: dict[Any, list[Document]] = {**shared, **dict(zip(big, walked, strict=True))}
    return {parent: page for parent, page in found.items() if page}


def _fan_out(spec: FindSpec, scope: Hashable) -> int:
    assert spec.scan is not None
    hint = spec.scan.hints.get(scope)
    return hint.fan_out if hint is not None else 0


async def _shared_page(
    collection: AsyncCollection[Document],
    parent_field: str,
    specs: dict[Any, FindSpec],
    parents: list[Any],
    scopes: dict[Any, Hashable],
) -> dict[Any, list[Document]]:
    """The pages of ``parents`` in one command: ``$in`` + ``$topN`` + a count per parent."""
    if not parents:
        return {}
    template = specs[parents[0]]
    assert template.scan is not None
    scan = template.scan
    sort_field, direction = template.sort[0]
    scope = {k: v for k, v in template.filter.items() if k != parent_field}
    stages: list[dict[str, Any]] = [{"$match": {**scope, parent_field: {"$in": parents}}}]
    key_range = scan.bounds(scan.lo, scan.hi)
    if key_range:
        stages.append({"$match": {sort_field: key_range}})
    if template.residual:
        stages.append({"$match": template.residual})
    stages += [
        {
            "$group": {
                "_id": f"${parent_field}",
                "n": {"$sum": 1},
                "items": {
                    "$topN": {
                        "n": template.limit,
                        "sortBy": {sort_field: direction},
                        "output": "$$ROOT",
                    }
                },
            }
        },
        {"$unwind": "$items"},
    ]
    stages += [
        {
            "$lookup": {
                "from": template.join_collection,
                "localField": f"items.{local}",
                "foreignField": "_id",
                "as": f"items.{target}",
            }
        }
        for local, target in template.joins.items()
    ]
    stages.append({"$group": {"_id": "$_id", "n": {"$first": "$n"}, "items": {"$push": "$items"}}})
    cursor = await collection.aggregate(stages, batchSize=BATCH_SIZE)
    found = {group["_id"]: group async for group in cursor}
    pages: dict[Any, list[Document]] = {}
    for parent in parents:
        group = found.get(parent)
        items: list[Document] = group["items"] if group else []
        scan.hints.saw_fan_out(scopes[parent], group["n"] if group else 0)
        scan.learn(scopes[parent], items, full=len(items) >= template.limit)
        pages[parent] = items
    return pages


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


def live_thing_of(joined: list[Document], group_id: ObjectId) -> Document | None:
    """The joined thing if it is live and the group's own (tenant check of a ``$lookup``)."""
    for doc in joined:
        if doc.get("groupId") == group_id and doc.get("deletedAt") is None:
            return doc
    return None
