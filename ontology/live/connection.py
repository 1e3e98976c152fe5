"""One authenticated WebSocket as the hub sees it: its caller, its subscriptions, its close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bson import ObjectId

from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.live.changes import Topic
from ontology.live.hub import Accept, Hub, Subscriber

log = logging.getLogger("ontology.live")

CloseSocket = Callable[[int, str], Awaitable[None]]


class LiveConnection:
    def __init__(
        self,
        hub: Hub,
        key_id: ObjectId,
        group_id: ObjectId,
        close_socket: CloseSocket,
        *,
        max_subscriptions: int,
    ) -> None:
        self.hub = hub
        self.key_id = key_id
        self.group_id = group_id
        self.max_subscriptions = max_subscriptions
        self._close_socket = close_socket
        self.subscribers: set[Subscriber] = set()
        self.closed_with: tuple[int, str] | None = None
        self._closing: asyncio.Task[None] | None = None

    def subscribe(self, topic: Topic, kind: str, accept: Accept | None = None) -> Subscriber:
        """Enter a subscriber for ``topic`` (the group's own: topics carry the caller's group)."""
        if self.closed_with is not None:
            raise ClientError("The connection is closing.", RequestErrorCode.SUBSCRIPTION_LIMIT)
        if topic[0] != "key" and topic[1] != self.group_id:
            raise ValueError("A topic of another group was passed to subscribe.")
        if len(self.subscribers) >= self.max_subscriptions:
            raise ClientError(
                f"This connection already runs {self.max_subscriptions} subscriptions "
                "(the most allowed).",
                RequestErrorCode.SUBSCRIPTION_LIMIT,
            )
        subscriber = self.hub.subscribe(
            topic, kind, group_id=self.group_id, key_id=self.key_id, connection=self, accept=accept
        )
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self.hub.unsubscribe(subscriber)

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` (once); the subscriptions stop at once."""
        if self.closed_with is not None:
            return
        self.closed_with = (code, reason)
        for subscriber in list(self.subscribers):
            self.unsubscribe(subscriber)
        self._closing = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await self._close_socket(code, reason)

    def __repr__(self) -> str:
        return f"LiveConnection(key={self.key_id}, subscribers={len(self.subscribers)})"
