"""GraphQL pieces every concept shares: ``Node``, Relay connections, payload errors.

The generic ``Connection[T]``/``Edge[T]`` are Relay list types; strawberry names
each use after its node type (``ThingConnection``, ``ThingEdge``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Generic, TypeVar

import strawberry

from ontology.kit.errors import ErrorCode, ItemError
from ontology.kit.pagination import Page

T = TypeVar("T")
D = TypeVar("D")

strawberry.enum(ErrorCode, description="Stable codes of expected failures.")


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a list, with keyset cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int | None = strawberry.field(
        description="All items matching the filter, from counters; null where none is kept."
    )

    @classmethod
    def of(
        cls, page: Page[D], to_node: Callable[[D], T], total_count: int | None = None
    ) -> Connection[T]:
        return cls(
            edges=[
                Edge(cursor=cursor, node=to_node(item))
                for item, cursor in zip(page.items, page.cursors, strict=True)
            ],
            page_info=page_info(page),
            total_count=total_count,
        )


def page_info(page: Page[D]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.start_cursor,
        end_cursor=page.end_cursor,
    )


@strawberry.type(description="What a refused write asked for against which limit.")
class QuotaRefusal:
    metric: str
    current: float
    requested: float
    limit: float
    available: float


@strawberry.type(description="An expected failure of one input item.")
class UserError:
    index: int | None = strawberry.field(description="The item's position in a batch.")
    path: str = strawberry.field(description="camelCase dotted path of the offending field.")
    code: ErrorCode
    message: str
    quota: QuotaRefusal | None = strawberry.field(
        default=None, description="Set when code is QUOTA_EXCEEDED."
    )

    @classmethod
    def from_items(cls, errors: Iterable[ItemError]) -> list[UserError]:
        return [
            cls(
                index=e.index,
                path=e.path,
                code=e.code,
                message=e.message,
                quota=QuotaRefusal(**e.details)
                if e.code is ErrorCode.QUOTA_EXCEEDED and e.details
                else None,
            )
            for e in errors
        ]


@strawberry.enum(description="Which connections of a thing to follow.")
class Direction(Enum):
    OUTBOUND = "OUTBOUND"
    INBOUND = "INBOUND"
    BOTH = "BOTH"
