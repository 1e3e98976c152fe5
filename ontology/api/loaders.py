"""DataLoader building blocks.

Loaders are created per request (see ``ontology.api.context``). Each batch is one
query returning results in key order, so the commands an operation sends depend
on its shape, never on how many items a page holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from bson import ObjectId
from strawberry.dataloader import DataLoader

from ontology.kit.pagination import Page, PageRequest

D = TypeVar("D", bound=Mapping[str, Any])  # the stored document type (``ThingDocument``, …)


class ByIdLoader(DataLoader[ObjectId, D | None], Generic[D]):
    """Documents by id (``key``: the field holding it) within one group: one query per batch."""

    def __init__(
        self,
        fetch: Callable[[ObjectId, Sequence[ObjectId]], Awaitable[list[D]]],
        group_id: ObjectId,
        key: str = "_id",
    ) -> None:
        self._fetch = fetch
        self._group_id = group_id
        self._key = key
        super().__init__(load_fn=self._load)

    async def _load(self, ids: list[ObjectId]) -> list[D | None]:
        docs = await self._fetch(self._group_id, list(set(ids)))
        found = {doc[self._key]: doc for doc in docs}
        return [found.get(i) for i in ids]


def ids_by_page(keys: Sequence[tuple[ObjectId, PageRequest]]) -> dict[PageRequest, list[ObjectId]]:
    """Group a batch of (thing, page) keys by page: one query per page shape."""
    grouped: dict[PageRequest, list[ObjectId]] = {}
    for thing_id, page in keys:
        grouped.setdefault(page, []).append(thing_id)
    return grouped


def merge_pages(page: PageRequest, sources: Sequence[Sequence[D]], sort_key: str) -> Page[D]:
    """One page from several sorted sources (outbound and inbound, actor and target).

    Merged in the page's order and de-duplicated by ``_id``, so a self-loop or an
    event where a thing is both actor and target appears once.
    """
    unique: dict[ObjectId, D] = {}
    for source in sources:
        for doc in source:
            unique[doc["_id"]] = doc
    items = sorted(unique.values(), key=lambda d: d[sort_key], reverse=page.sort_direction < 0)
    return page.slice(items, lambda d: d[sort_key])
