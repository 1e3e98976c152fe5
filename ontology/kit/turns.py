"""Long loops on the event loop, in turns.

The API serves every tenant from one event loop, so a loop over 10,000 items
(validating a batch, building its documents, completing its results) holds
every other request for as long as it runs. ``in_turns`` gives the event loop a
turn every ``TURN`` items: the same work in the same order, in slices of a few
milliseconds, so another tenant's request waits for one slice, not the loop.

Some of that work is one call that cannot be sliced (decoding a request's JSON,
graphql-core's coercion of its variables): ``off_loop`` runs it in a worker
thread when the request is large. The thread still holds the interpreter's lock
while it works, but it hands it over every few milliseconds (the switch
interval), so the event loop keeps serving the other requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

# Items between two turns: a few milliseconds of the heaviest per-item work (a batch item's
# validation and document) and a negligible share of the loop's time in turns.
TURN = 200

# From this size on, a request body is decoded and its variables coerced in a worker
# thread: several milliseconds of work at this size (a batch of ~600 items), against
# ~0.1 ms for the thread's round trip.
LARGE_REQUEST_BYTES = 64 * 1024


async def in_turns(items: Iterable[T], size: int = TURN) -> AsyncIterator[T]:
    """``items`` in order, with a turn of the event loop before every ``size``-th one."""
    for count, item in enumerate(items):
        if count and count % size == 0:
            await asyncio.sleep(0)
        yield item


async def off_loop(large: bool, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)``: in a worker thread when ``large``, else right here."""
    if large:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)
