"""Single writes go first: a bulk write's next command waits while a single write runs.

On the embedded server a statement of one transaction waits for the statement in
flight of every other (``ontology.db.writes``), and both share one interpreter. While
one tenant imports a batch, its chunk commands run back to back, so another
tenant's single write waits at each of its statements for a chunk of the batch, and
shares the server with it. So a write of more than one command (a batch's chunks)
gives way before each command after its first, for as long as a single write of
this process is in flight (``WriteLanes.single``), up to ``max_wait`` seconds per
command, so a batch still progresses under a steady stream of single writes. A
single write then finds the server between two chunks. Across processes nothing
is coordinated.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

MAX_WAIT_SECONDS = 0.05


class WriteLanes:
    def __init__(self, max_wait: float = MAX_WAIT_SECONDS) -> None:
        self.max_wait = max_wait
        self._single = 0
        # bulk commands waiting for the single writes to end (futures of the running
        # loop, made per wait: the lanes outlive any one event loop)
        self._waiting: list[asyncio.Future[None]] = []

    @contextlib.contextmanager
    def single(self) -> Iterator[None]:
        """A single write in flight: bulk commands wait while it runs."""
        self._single += 1
        try:
            yield
        finally:
            self._single -= 1
            if not self._single:
                waiting, self._waiting = self._waiting, []
                for waiter in waiting:
                    if not waiter.done():
                        waiter.set_result(None)

    async def bulk_turn(self) -> None:
        """Before a bulk write's next command: wait while single writes run (bounded)."""
        if not self._single:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(self.max_wait):
                await waiter
        except TimeoutError:
            pass
        finally:
            if waiter in self._waiting:
                self._waiting.remove(waiter)


# one per process: the single writes and the bulk writes of every runtime share it
lanes = WriteLanes()
