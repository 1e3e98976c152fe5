"""Pages read in bounded windows of their sort key.

On the embedded server a command costs what its index range holds, not what it
returns: it reads every document the range matches before the limit applies
(about 35 µs each). So a page never sends an open range. It walks its one sort
key in disjoint windows, each one command, newest first (oldest first when
paging back), until the page is full or the range is exhausted:

- A key is an integer in its ``KeySpace``: an ObjectId is its 96 bits (4 bytes
  of seconds, then 5 random bytes of the process, then a counter), an event's
  ``sortKey`` "<13-digit ms>:<24 hex>" is ``ms << 96 | ObjectId``. Window edges
  are converted back to keys of the same type, so a window is an ordinary
  ``$gte``/``$lt`` range on the index's last field.
- Windows widen along a ladder: 2⁴, 2⁷ … 2²² keys (ids made one after another by
  one process are consecutive integers, so a burst of writes is dense), never
  past the block they start in (the ids of one process in one second share all
  but their 3-byte counter; an empty window means the block's share has run
  out); from there, the space's time unit (one second of ObjectIds, one
  millisecond of events) times 1, 8, 64, …. A dense burst fills a page in the
  first window; one item a year is found in about twenty windows. Below the
  floor (the oldest key known; else a minute before the group's creation, or
  1970 for events, which may be backdated) one last open window reads the rest.
- Where the walk starts: at the cursor when there is one. Otherwise at the
  newest (oldest, paging back) key known of the range, with the first window
  open beyond it, so a stale key costs what was written since, never a wrong
  page. Known from the caller (``PageRequest.newest``/``oldest``: the keys the
  group's counters keep for its lists, a thing's newest connection ids) or
  from this process's ``KeyHints`` (an LRU of what it wrote and read); with
  neither, at the current time. The hints also keep how far apart the keys of
  the range's last full page were (the median gap), so a page starts on the
  narrowest rung that would hold it at that density.
- A range the caller knows to hold at most ``SMALL_RANGE`` documents (a group
  counter) is one window.

Commands per page: 1 in the common case (dense data, or a warm hint), at most
``8 + ⌈log₈(span / time unit)⌉ + 1`` for data spread over ``span``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

from bson import ObjectId

from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.lru import LruMap
from ontology.kit.pagination import PageRequest, SortKey
from ontology.kit.turns import in_turns

D = TypeVar("D", bound=Mapping[str, Any])  # a collection's stored document type

_BITS = 96
_MASK = (1 << _BITS) - 1
Window = tuple[int | None, int | None, bool]  # [lo, hi) (None: open), and whether it is the last
FINE_RUNGS = tuple(1 << bits for bits in range(4, 26, 3))  # 2^4 ... 2^25
# An ObjectId's last 3 bytes are its process's counter: the ids one process makes
# in one second share everything above them (a block).
BLOCK_BITS = 24
GROWTH_BITS = 3  # each coarse rung is 8 times as wide as the one before
# Below the group's creation time minus this, a walk reads one last open window;
# ids are made after their group, events may be backdated: both only cost more there.
FLOOR_MARGIN_SECONDS = 60  # clock skew between the processes making ids
MAX_HINTS = 65_536
# A range known to hold at most this many documents is read in one window.
SMALL_RANGE = 128


@dataclass(frozen=True)
class KeySpace:
    """A sort key as a non-negative integer, and back; ``second`` is one second of keys."""

    name: str
    second: int
    coarse: int  # the first coarse rung: the space's time unit
    to_int: Callable[[Any], int]
    from_int: Callable[[int], SortKey]
    accepts: Callable[[Any], bool]  # is this a key of the space (a cursor may be forged)
    backdated: bool = False  # keys may be older than their group (events' own timestamps)
    # the largest key the space can write: an exclusive upper bound past it is left open
    largest: int = _MASK

    def width(self, rung: int) -> int:
        if rung < len(FINE_RUNGS):
            return FINE_RUNGS[rung]
        return self.coarse << GROWTH_BITS * (rung - len(FINE_RUNGS))

    def at(self, seconds: float) -> int:
        """The smallest key of a moment (seconds since the epoch)."""
        return max(0, int(seconds * self.second))

    def key_of(self, doc: Mapping[str, Any], field: str) -> int:
        return self.to_int(doc[field])

    def cursor_int(self, key: SortKey) -> int:
        """A cursor's key; one of another list (or forged) is refused as INVALID_CURSOR."""
        if self.accepts(key):
            return self.to_int(key)
        raise ClientError("Invalid cursor for this list.", code=RequestErrorCode.INVALID_CURSOR)


def _oid_to_int(key: ObjectId) -> int:
    return int.from_bytes(key.binary, "big")


def _int_to_oid(value: int) -> ObjectId:
    return ObjectId(min(max(value, 0), _MASK).to_bytes(12, "big"))


_EVENT_KEY = re.compile(r"\d{13}:[0-9a-f]{24}")


def _event_key_to_int(key: str) -> int:
    millis, _, oid = key.partition(":")
    return int(millis) << _BITS | (int(oid, 16) if oid else 0)


def _int_to_event_key(value: int) -> str:
    value = max(value, 0)
    return f"{value >> _BITS:013d}:{value & _MASK:024x}"


OBJECT_IDS = KeySpace(
    "ObjectId", 1 << 64, 1 << 64, _oid_to_int, _int_to_oid, lambda key: isinstance(key, ObjectId)
)
EVENT_KEYS = KeySpace(
    "sortKey",
    1000 << _BITS,
    1 << _BITS,
    _event_key_to_int,
    _int_to_event_key,
    lambda key: isinstance(key, str) and _EVENT_KEY.fullmatch(key) is not None,
    backdated=True,
    largest=9_999_999_999_999 << _BITS | _MASK,
)


# Slugs (``[a-z0-9-]``, at most 64 characters) as base-38 numerals of 64 digits: 0 past
# the end, then '-', '0'-'9', 'a'-'z' in byte order, so the integers order as the strings.
_SLUG_SYMBOLS = "-0123456789abcdefghijklmnopqrstuvwxyz"
_SLUG_DIGIT = {symbol: digit for digit, symbol in enumerate(_SLUG_SYMBOLS, 1)}
_SLUG_LENGTH = 64
_SLUG_BASE = len(_SLUG_SYMBOLS) + 1


def _slug_to_int(slug: str) -> int:
    value = 0
    for symbol in slug.ljust(_SLUG_LENGTH, "\0")[:_SLUG_LENGTH]:
        value = value * _SLUG_BASE + _SLUG_DIGIT.get(symbol, 0)
    return value


def _int_to_slug(value: int) -> str:
    """The smallest string of the alphabet whose integer is at least ``value``: a window
    edge between two slugs' integers becomes the next slug-shaped string."""
    digits = []
    value = min(max(value, 0), _SLUG_BASE**_SLUG_LENGTH - 1)
    for _ in range(_SLUG_LENGTH):
        value, digit = divmod(value, _SLUG_BASE)
        digits.append(digit)
    digits.reverse()
    end = digits.index(0) if 0 in digits else _SLUG_LENGTH
    text = "".join(_SLUG_SYMBOLS[d - 1] for d in digits[:end])
    # digits after the end: the next string is one symbol longer
    return text + _SLUG_SYMBOLS[0] if any(digits[end:]) else text


_SLUG = re.compile(r"[a-z0-9-]{1,64}")
SLUG_KEYS = KeySpace(
    "slug",
    # not a time-ordered key: a "second" is four symbols, the coarse unit of a walk
    _SLUG_BASE ** (_SLUG_LENGTH - 4),
    _SLUG_BASE ** (_SLUG_LENGTH - 4),
    _slug_to_int,
    _int_to_slug,
    lambda key: isinstance(key, str) and _SLUG.fullmatch(key) is not None,
    largest=_SLUG_BASE**_SLUG_LENGTH - 1,
)


@dataclass
class Hint:
    newest: int | None = None
    oldest: int | None = None
    spacing: int = 1  # keys per item in the scope's last full page
    fan_out: int = 0  # documents in the range of the scope's last shared page


class KeyHints:
    """Where each index range's keys were last seen, in this process (a bounded LRU).

    Only the cost of a walk depends on a hint, never its result: a hint that is
    too old opens the first window on everything written since.
    """

    def __init__(self, size: int = MAX_HINTS) -> None:
        self._hints = LruMap[Hashable, Hint](size)

    def clear(self) -> None:
        """Forget every range, as a process that just started."""
        self._hints.clear()

    def get(self, scope: Hashable) -> Hint | None:
        return self._hints.get(scope)

    def _entry(self, scope: Hashable) -> Hint:
        hint = self._hints.get(scope)
        if hint is None:
            hint = Hint()
            self._hints.put(scope, hint)
        return hint

    def saw_newest(self, scope: Hashable, key: int | None) -> None:
        self._entry(scope).newest = key

    def saw_oldest(self, scope: Hashable, key: int | None) -> None:
        self._entry(scope).oldest = key

    def saw_spacing(self, scope: Hashable, spacing: int) -> None:
        self._entry(scope).spacing = spacing

    def saw_fan_out(self, scope: Hashable, count: int) -> None:
        self._entry(scope).fan_out = count

    def inserted(self, scope: Hashable, key: int) -> None:
        """A key written by this process: the scope's newest is at least ``key``."""
        hint = self._entry(scope)
        if hint.newest is None or key > hint.newest:
            hint.newest = key

    async def inserted_docs(
        self,
        collection: str,
        docs: Iterable[D],
        scopes: Callable[[D], Iterable[dict[str, Any]]],
        field: str,
        space: KeySpace,
    ) -> None:
        """Raise the newest key of every index range (``scopes(doc)``) the documents join
        (each range once, however many documents join it); in turns of the event loop
        (~90 ms for a batch of 10,000 things)."""
        newest: dict[Hashable, int] = {}
        async for doc in in_turns(docs):
            key = space.key_of(doc, field)
            for scope in scopes(doc):
                name = scope_key(collection, scope)
                if key > newest.get(name, -1):
                    newest[name] = key
        for name, key in newest.items():
            self.inserted(name, key)


def scope_key(collection: str, equalities: dict[str, Any]) -> Hashable:
    """The identity of an index range: the collection and the filter's equalities."""
    return (collection, tuple(sorted(equalities.items())))


@dataclass(frozen=True)
class Scan:
    """How a page walks its sort key: integer bounds ``[lo, hi)`` (None: open) and direction."""

    space: KeySpace
    field: str
    lo: int | None
    hi: int | None
    descending: bool
    # below ``floor`` (ascending: above ``ceiling``) one open window reads the rest: the
    # oldest key known, else the group's creation (0 for keys that may be backdated)
    floor: int
    ceiling: int
    hints: KeyHints
    # A page with a cursor starts at it; without one, at the hint (or now).
    from_cursor: bool
    at_most: int | None = None
    # the newest and oldest keys the group's counters saw written to the range
    newest: int | None = None
    oldest: int | None = None

    @classmethod
    def of(
        cls,
        page: PageRequest,
        space: KeySpace,
        field: str,
        group_id: ObjectId,
        hints: KeyHints,
        *,
        lo: int | None = None,
        hi: int | None = None,
    ) -> Scan:
        """The walk of ``page`` within ``[lo, hi)``, on a group created at ``group_id``'s time."""
        if page.after is not None:
            after = space.cursor_int(page.after)
            hi = after if hi is None else min(hi, after)
        if page.before is not None:
            before = space.cursor_int(page.before) + 1
            lo = before if lo is None else max(lo, before)
        created = group_id.generation_time.timestamp()
        oldest = space.to_int(page.oldest) if page.oldest is not None else None
        return cls(
            space=space,
            field=field,
            lo=lo,
            hi=hi,
            descending=not page.backward,
            floor=0 if space.backdated else space.at(created - FLOOR_MARGIN_SECONDS),
            ceiling=space.at(time.time() + FLOOR_MARGIN_SECONDS),
            hints=hints,
            from_cursor=(page.after if not page.backward else page.before) is not None,
            at_most=page.at_most,
            newest=space.to_int(page.newest) if page.newest is not None else None,
            oldest=oldest,
        )

    def bounds(self, lo: int | None, hi: int | None) -> dict[str, SortKey]:
        """A window ``[lo, hi)`` as a filter on the sort field."""
        condition: dict[str, SortKey] = {}
        if lo is not None and lo > 0:
            condition["$gte"] = self.space.from_int(lo)
        if hi is not None and hi <= self.space.largest:
            condition["$lt"] = self.space.from_int(hi)
        return condition

    def windows(self, scope: Hashable, limit: int) -> Generator[Window, int, None]:
        """Successive windows ``(lo, hi, last)``; send each one's number of documents.

        A range known to hold at most ``SMALL_RANGE`` documents is one window.
        Otherwise the first is the narrowest rung that holds ``limit`` items as far apart as
        in the scope's last full page (1 key apart when unknown). Fine windows stay
        within the block of ids they start in; an empty one means the block's ids
        of this second have run out, so the next window jumps past the block's
        start to the first coarse rung.
        """
        if self.at_most is not None and self.at_most <= SMALL_RANGE:
            yield self.lo, self.hi, True
            return
        hint = self.hints.get(scope)
        wanted = limit * (hint.spacing if hint is not None else 1)
        rung = 0
        while self.space.width(rung) < wanted:
            rung += 1
        if self.descending:
            yield from self._down(hint, rung)
        else:
            yield from self._up(hint, rung)

    def _down(self, hint: Hint | None, rung: int) -> Generator[Window, int, None]:
        fine = len(FINE_RUNGS)
        known = [k for k in (hint.newest if hint else None, self.newest) if k is not None]
        if self.hi is not None:
            start = self.hi
        elif known:
            start = max(known) + 1
        else:
            start = self.space.at(time.time())
            rung = max(rung, fine)  # no id starts a block at a whole second
        # at or below ``end``, the last window takes the rest of the range
        oldest = [k for k in (hint.oldest if hint else None, self.oldest) if k is not None]
        floor = min(oldest) if oldest else self.floor
        end = floor if self.lo is None else max(self.lo, floor)
        upper = self.hi
        while True:
            block = (start - 1) >> BLOCK_BITS << BLOCK_BITS
            lower = start - self.space.width(rung)
            if rung < fine:
                lower = max(lower, block)
            if lower <= end:
                yield self.lo, upper, True
                return
            found = yield lower, upper, False
            rung = fine if rung < fine and (lower == block or not found) else rung + 1
            upper = start = lower

    def _up(self, hint: Hint | None, rung: int) -> Generator[Window, int, None]:
        fine = len(FINE_RUNGS)
        known = [k for k in (hint.oldest if hint else None, self.oldest) if k is not None]
        if self.lo is not None:
            start = self.lo
        elif known:
            start = min(known)
        else:
            start = self.floor
            rung = max(rung, fine)
        end = self.ceiling if self.hi is None else min(self.hi, self.ceiling)
        lower = self.lo
        while True:
            block_end = ((start >> BLOCK_BITS) + 1) << BLOCK_BITS
            upper = start + self.space.width(rung)
            if rung < fine:
                upper = min(upper, block_end)
            if upper >= end:
                yield lower, self.hi, True
                return
            found = yield lower, upper, False
            rung = fine if rung < fine and (upper == block_end or not found) else rung + 1
            lower = start = upper

    def learn(self, scope: Hashable, docs: list[dict[str, Any]], full: bool) -> None:
        """Remember where this walk found its keys (only a page from an end knows that end)
        and, from a full page, how far apart they were: the median gap, so one jump
        between two bursts does not make the next page start wide."""
        if full and len(docs) > 1:
            keys = [self.space.key_of(doc, self.field) for doc in docs]
            gaps = sorted(abs(b - a) for a, b in pairwise(keys))
            self.hints.saw_spacing(scope, max(1, gaps[len(gaps) // 2]))
        # a walk that did not fill its page read its range to the end
        if not full and self.lo is None and self.descending:
            self.hints.saw_oldest(scope, self.space.key_of(docs[-1], self.field) if docs else None)
        if not full and self.hi is None and not self.descending:
            self.hints.saw_newest(scope, self.space.key_of(docs[-1], self.field) if docs else None)
        if self.from_cursor:
            return
        end = self.space.key_of(docs[0], self.field) if docs else None
        if self.descending and self.hi is None:
            self.hints.saw_newest(scope, end)
        elif not self.descending and self.lo is None:
            self.hints.saw_oldest(scope, end)
