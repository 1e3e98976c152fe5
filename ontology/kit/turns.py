"""Long loops on the event loop, in turns.

The API serves every tenant from one event loop, so a loop over 10,000 items
(validating a batch, building its documents, completing its results) holds
every other request for as long as it runs. ``in_turns`` gives the event loop a
turn every ``TURN_SECONDS``: the same work in the same order, in slices of about
two milliseconds, so another tenant's request waits for one slice, not the loop.
The slices are timed, not counted: another request moves one step per turn (one
database reply read, one response sent), so each of a single write's ~20 steps
may wait for a slice, and 200 items of a batch's per-item work took 3-10 ms.

Some of that work is one call that cannot be sliced (decoding a request's JSON,
graphql-core's coercion of its variables): ``off_loop`` runs it in a worker
thread when the request is large. The thread still holds the interpreter's lock
while it works, but it hands it over every few milliseconds (the switch
interval), so the event loop keeps serving the other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

# How long a slice of work runs before the event loop gets a turn.
TURN_SECONDS = 0.002
# A list longer than this is completed in turns (``ontology.api.executor``).
TURN = 200

# From this size on, a request body is decoded and its variables coerced in a worker
# thread: several milliseconds of work at this size (a batch of ~600 items), against
# ~0.1 ms for the thread's round trip.
LARGE_REQUEST_BYTES = 64 * 1024


async def in_turns(items: Iterable[T]) -> AsyncIterator[T]:
    """``items`` in order, with a turn of the event loop whenever ``TURN_SECONDS`` have
    passed since the last one (the caller's work on each item included)."""
    turn_ends = time.perf_counter() + TURN_SECONDS
    for item in items:
        if time.perf_counter() >= turn_ends:
            await asyncio.sleep(0)
            turn_ends = time.perf_counter() + TURN_SECONDS
        yield item


async def off_loop(body_bytes: int, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on a request of ``body_bytes``: in a worker thread from
    ``LARGE_REQUEST_BYTES`` on, else right here."""
    if body_bytes >= LARGE_REQUEST_BYTES:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)
