"""Long loops on the event loop, in turns.

The API serves every tenant from one event loop, so a loop over 10,000 items
(validating a batch, building its documents, completing its results) holds
every other request for as long as it runs. ``in_turns`` gives the event loop a
turn every ``TURN`` items: the same work in the same order, in slices of a few
milliseconds, so another tenant's request waits for one slice, not the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")

# Items between two turns: a few milliseconds of the heaviest per-item work (a batch item's
# validation and document) and a negligible share of the loop's time in turns.
TURN = 200


async def in_turns(items: Iterable[T], size: int = TURN) -> AsyncIterator[T]:
    """``items`` in order, with a turn of the event loop before every ``size``-th one."""
    for count, item in enumerate(items):
        if count and count % size == 0:
            await asyncio.sleep(0)
        yield item
