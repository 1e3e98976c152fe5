"""Keyset pagination: opaque cursors over one indexed sort key, newest first.

Lists are ordered by a single field (``_id`` for creation order, or a combined
string key such as events' ``sortKey``), so a page is one index range plus a
limit: never skip/offset and never ``$or`` (planned as a collection scan on the
embedded server). We read one item more than asked to know whether another
page exists.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from bson import ObjectId
from bson.errors import InvalidId

from ontology.kit.errors import ClientError, RequestErrorCode

T = TypeVar("T")
SortKey = ObjectId | str


def encode_cursor(key: SortKey) -> str:
    raw = f"o:{key}" if isinstance(key, ObjectId) else f"s:{key}"
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        kind, _, value = raw.partition(":")
        if kind == "o":
            return ObjectId(value)
        if kind == "s" and value:
            return value
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidId):
        pass
    raise ClientError(f"Invalid cursor {cursor[:40]!r}.", code=RequestErrorCode.INVALID_CURSOR)


@dataclass(frozen=True)
class PageRequest:
    """``first``/``after`` pages towards older items, ``last``/``before`` towards newer."""

    size: int
    after: SortKey | None = None
    before: SortKey | None = None
    backward: bool = False
    # What the group's counters tell of the listed range, when they do: the most
    # documents it holds (a range that small is read in one command), and the newest
    # and oldest keys written to it, where a first page starts (``ontology.db.windows``).
    at_most: int | None = None
    newest: SortKey | None = None
    oldest: SortKey | None = None

    def known(
        self, at_most: int | None, newest: SortKey | None, oldest: SortKey | None = None
    ) -> PageRequest:
        return replace(self, at_most=at_most, newest=newest, oldest=oldest)

    @classmethod
    def parse(
        cls,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        max_size: int,
    ) -> PageRequest:
        # The API checks these while validating a document (``api/validation.py``);
        # this guards every other caller.
        if first is None and last is None:
            raise ClientError("Pass `first` or `last`.", code=RequestErrorCode.INVALID_PAGINATION)
        if first is not None and last is not None:
            raise ClientError(
                "Pass either `first` or `last`, not both.", code=RequestErrorCode.INVALID_PAGINATION
            )
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 1 <= value <= max_size:
                raise ClientError(
                    f"`{name}` must be between 1 and {max_size}, got {value}.",
                    code=RequestErrorCode.INVALID_PAGINATION,
                )
        size = last if last is not None else first
        assert size is not None
        return cls(
            size=size,
            after=decode_cursor(after) if after else None,
            before=decode_cursor(before) if before else None,
            backward=last is not None,
        )

    def key_range(self) -> dict[str, SortKey]:
        """The range on the sort key: newest first, so ``after`` means smaller keys."""
        bounds: dict[str, SortKey] = {}
        if self.after is not None:
            bounds["$lt"] = self.after
        if self.before is not None:
            bounds["$gt"] = self.before
        return bounds

    @property
    def sort_direction(self) -> int:
        return 1 if self.backward else -1

    @property
    def limit(self) -> int:
        return self.size + 1

    def apply(self, query: dict[str, Any], sort_field: str) -> dict[str, Any]:
        """``query`` with the key range on ``sort_field`` added."""
        bounds = self.key_range()
        return {**query, sort_field: bounds} if bounds else dict(query)

    def slice(self, items: Sequence[T], key_of: Any) -> Page[T]:
        """Cut the ``limit`` items read (in query order) into the page, newest first."""
        more = len(items) > self.size
        kept = list(items[: self.size])
        if self.backward:
            kept.reverse()
        keys = [key_of(item) for item in kept]
        return Page(
            items=kept,
            cursors=[encode_cursor(k) for k in keys],
            has_next_page=more if not self.backward else self.before is not None,
            has_previous_page=more if self.backward else self.after is not None,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None
