"""The process's one change stream, read into the hub.

The stream watches the database, filtered on the server to the collections
and operations subscriptions read (``changes.stream_pipeline``); updates come
with the document looked up (one read per change, whatever the number of
subscribers) and deletes with their pre-image where the collection keeps them
(``connections``, so a removed connection reaches both of its ends).

The stream is open only while someone can hear it: the first WebSocket to be
acknowledged opens it (``open``, which returns once the stream is open, so every
change committed after the acknowledgement reaches the socket), and it closes
``live_feed_linger_seconds`` after the last socket went (``release``). A process
no client listens to reads no change: on the embedded server, following the
stream costs the database a share of its time on every write (an update is
delivered with the document looked up), ~18 % of it during a bulk import.

After an error the feed resumes from the last resume token, retrying for up to
``live_resume_seconds``: no change is lost or repeated. If it cannot (the
history is gone, the database stays away), every socket is closed with
``RECONNECT`` (4503) so clients reconnect and resubscribe, and the feed starts
afresh: it never silently stops delivering. A stream reopened after it closed
for want of listeners starts afresh too: nobody was there to miss anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

from ontology.db.client import Database
from ontology.live.changes import Change, stream_pipeline
from ontology.live.closes import CloseCode
from ontology.live.hub import Hub

log = logging.getLogger("ontology.live")

# collections whose deletes subscriptions route by the deleted document's fields
PRE_IMAGE_COLLECTIONS = ("connections",)
# change-stream error codes after which a resume token is useless
HISTORY_LOST = frozenset({286, 280, 260})
AWAIT_MS = 500


# how long stopping waits for the stream's task to end
STOP_SECONDS = 2.0


class ChangeFeed:
    def __init__(
        self, database: Database, hub: Hub, *, resume_seconds: float, linger_seconds: float
    ) -> None:
        self.database = database
        self.hub = hub
        self.resume_seconds = resume_seconds
        self.linger_seconds = linger_seconds
        self.token: Mapping[str, Any] | None = None
        self.started = asyncio.Event()
        self._opened = False
        self._task: asyncio.Task[None] | None = None
        self._listeners = 0
        self._closing: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        """Whether the stream is being followed (open, or opening)."""
        return self._task is not None and not self._task.done()

    async def prepare(self) -> None:
        """Keep pre-images of the collections that need them (at start, before any
        stream opens: a stream sees the pre-images of changes made after this)."""
        await self._keep_pre_images()

    async def open(self) -> None:
        """One more listener: follow the stream (opening it if closed) and return once
        it is open, so a change committed from now on is delivered."""
        self._listeners += 1
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        if not self.running:
            self.token = None  # nobody listened meanwhile: start afresh
            self.started = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="ontology-change-feed")
        try:
            await self.started.wait()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """One listener fewer: the last one leaving closes the stream after the linger."""
        self._listeners -= 1
        if self._listeners == 0 and self.running:
            loop = asyncio.get_running_loop()
            self._closing = loop.call_later(self.linger_seconds, self._close_unheard)

    def _close_unheard(self) -> None:
        self._closing = None
        if self._listeners == 0 and self._task is not None:
            self._task.cancel()
            self._task = None  # a listener from now on opens a new stream

    async def stop(self) -> None:
        """Cancel the stream, waiting at most ``STOP_SECONDS``: closing a stream on a
        database that is gone waits for a server PyMongo cannot select (30 s)."""
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_SECONDS)

    async def _keep_pre_images(self) -> None:
        db = self.database.db
        existing = set(await db.list_collection_names())
        for name in PRE_IMAGE_COLLECTIONS:
            if name not in existing:
                with contextlib.suppress(OperationFailure):  # created concurrently
                    await db.create_collection(name)
            await db.command({"collMod": name, "changeStreamPreAndPostImages": {"enabled": True}})

    async def _run(self) -> None:
        failing_since: float | None = None
        delay = 0.05
        while True:
            self._opened = False
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except PyMongoError as error:
                now = time.monotonic()
                if self._opened or failing_since is None:
                    failing_since = now
                    delay = 0.05
                lost = isinstance(error, OperationFailure) and error.code in HISTORY_LOST
                if lost or now - failing_since >= self.resume_seconds:
                    self._lost(error)
                    failing_since = None
                    delay = 0.05
                else:
                    log.warning("change stream error; resuming", extra={"error": str(error)})
                    self.hub.metrics.stream_errors.labels("resumed").inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            except Exception:
                log.exception("change feed failed")
                self._lost(None)
                await asyncio.sleep(delay)

    def _lost(self, error: BaseException | str | None) -> None:
        """The stream cannot resume: close every socket with a retryable code, start anew."""
        log.error("change stream lost; closing live connections", extra={"error": str(error)})
        self.hub.metrics.stream_errors.labels("lost").inc()
        self.token = None
        self.hub.close_all(
            CloseCode.RECONNECT, "Live updates were interrupted; reconnect.", "stream_lost"
        )

    async def _follow(self) -> None:
        stream = await self.database.db.watch(
            stream_pipeline(),
            full_document="updateLookup",
            full_document_before_change="whenAvailable",
            resume_after=self.token,
            max_await_time_ms=AWAIT_MS,
        )
        async with stream:
            self.token = stream.resume_token
            self._opened = True
            self.started.set()
            while stream.alive:
                event = await stream.try_next()
                if event is not None:
                    self.hub.publish(Change.of(event))
                # the token moves on after idle batches too (postBatchResumeToken)
                self.token = stream.resume_token
        # invalidated (the database was dropped or renamed): nothing to resume after
        self._lost("the stream was invalidated")
