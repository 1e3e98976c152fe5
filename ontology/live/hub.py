"""The fan-out index: topic -> subscribers, each with a bounded queue.

``publish`` is called by the feed for every change, in commit order, on the
event loop: it looks the change's topics up in the index and offers the change
to those subscribers only (a wake-up each, counted in
``ontology_live_wakeups``). Nothing here awaits, so one slow subscriber never
holds the others back: when a subscriber's queue is full its connection is
closed with ``SLOW_CONSUMER`` instead of growing memory.

Connections register their key, so a revoked key (an ``api_keys`` update the
stream carries) closes every socket of that key as soon as the change arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from bson import ObjectId

from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.live.changes import Change, Topic
from ontology.live.closes import CloseCode
from ontology.live.metrics import LiveMetrics

log = logging.getLogger("ontology.live")

Accept = Callable[[Change], bool]


class Closable(Protocol):
    def close(self, code: int, reason: str) -> None:
        """Close the connection (at once; the socket's close frame follows)."""


class SubscriberClosed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Subscriber:
    """One subscription's place in the index: its topic, filter and queue of changes."""

    def __init__(
        self,
        hub: Hub,
        topic: Topic,
        kind: str,
        group_id: ObjectId,
        key_id: ObjectId,
        capacity: int,
        accept: Accept | None,
        connection: Closable,
    ) -> None:
        self.hub = hub
        self.topic = topic
        self.kind = kind
        self.group_id = group_id
        self.key_id = key_id
        self.accept = accept
        self.connection = connection
        self.queue: asyncio.Queue[Change] = asyncio.Queue(capacity)
        self.closed: SubscriberClosed | None = None

    def offer(self, change: Change) -> bool:
        """Queue ``change`` if this subscriber reads it; whether it was woken."""
        if self.closed is not None or (self.accept is not None and not self.accept(change)):
            return False
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.hub.close_connection(
                self.connection,
                CloseCode.SLOW_CONSUMER,
                f"Slow consumer: more than {self.queue.maxsize} changes not yet delivered.",
                "slow_consumer",
            )
            return False
        return True

    async def next(self) -> Change:
        """The next change (waits); raises ``SubscriberClosed`` once the subscriber is shut."""
        if self.closed is not None:
            raise self.closed
        return await self.queue.get()

    def pending(self) -> list[Change]:
        """The queued changes, removed from the queue (without waiting)."""
        found: list[Change] = []
        while not self.queue.empty():
            found.append(self.queue.get_nowait())
        return found


class Hub:
    def __init__(
        self,
        metrics: LiveMetrics,
        *,
        per_key: int,
        per_group: int,
        capacity: int,
    ) -> None:
        self.metrics = metrics
        self.per_key = per_key
        self.per_group = per_group
        self.capacity = capacity
        self.index: dict[Topic, set[Subscriber]] = {}
        self.by_key: Counter[ObjectId] = Counter()
        self.by_group: Counter[ObjectId] = Counter()
        self.connections: dict[ObjectId, set[Closable]] = {}
        self.subscribers_of: dict[int, set[Subscriber]] = {}

    # -- connections ---------------------------------------------------------

    def add_connection(self, key_id: ObjectId, connection: Closable) -> None:
        self.connections.setdefault(key_id, set()).add(connection)
        self.metrics.connections.inc()

    def remove_connection(self, key_id: ObjectId, connection: Closable) -> None:
        known = self.connections.get(key_id)
        if known is None or connection not in known:
            return
        known.discard(connection)
        if not known:
            del self.connections[key_id]
        self.metrics.connections.dec()
        for subscriber in list(self.subscribers_of.get(id(connection), ())):
            self.unsubscribe(subscriber)

    def close_connection(
        self, connection: Closable, code: CloseCode, reason: str, label: str
    ) -> None:
        """Shut the connection's subscribers and close it with ``code``."""
        for subscriber in list(self.subscribers_of.get(id(connection), ())):
            subscriber.closed = SubscriberClosed(code, reason)
            self.unsubscribe(subscriber)
        self.metrics.closes.labels(label).inc()
        connection.close(code, reason)

    def close_all(self, code: CloseCode, reason: str, label: str) -> int:
        """Close every connection (the stream is lost); how many."""
        every = [c for connections in self.connections.values() for c in connections]
        for connection in every:
            self.close_connection(connection, code, reason, label)
        return len(every)

    # -- subscribers ---------------------------------------------------------

    def subscribe(
        self,
        topic: Topic,
        kind: str,
        *,
        group_id: ObjectId,
        key_id: ObjectId,
        connection: Closable,
        accept: Accept | None = None,
    ) -> Subscriber:
        """Enter a subscriber in the index, within the key's and the group's limits."""
        if self.by_key[key_id] >= self.per_key:
            raise ClientError(
                f"This API key already runs {self.per_key} subscriptions (the most allowed).",
                RequestErrorCode.SUBSCRIPTION_LIMIT,
            )
        if self.by_group[group_id] >= self.per_group:
            raise ClientError(
                f"This group already runs {self.per_group} subscriptions (the most allowed).",
                RequestErrorCode.SUBSCRIPTION_LIMIT,
            )
        subscriber = Subscriber(
            self, topic, kind, group_id, key_id, self.capacity, accept, connection
        )
        self.index.setdefault(topic, set()).add(subscriber)
        self.subscribers_of.setdefault(id(connection), set()).add(subscriber)
        self.by_key[key_id] += 1
        self.by_group[group_id] += 1
        self.metrics.subscriptions.labels(kind).inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self.index.get(subscriber.topic)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self.index[subscriber.topic]
        of_connection = self.subscribers_of.get(id(subscriber.connection))
        if of_connection is not None:
            of_connection.discard(subscriber)
            if not of_connection:
                del self.subscribers_of[id(subscriber.connection)]
        for counter, name in (
            (self.by_key, subscriber.key_id),
            (self.by_group, subscriber.group_id),
        ):
            counter[name] -= 1
            if counter[name] <= 0:
                del counter[name]
        self.metrics.subscriptions.labels(subscriber.kind).dec()

    def count(self, topic: Topic | None = None) -> int:
        """Subscribers of ``topic`` (all of them without one)."""
        if topic is not None:
            return len(self.index.get(topic, ()))
        return sum(len(subscribers) for subscribers in self.index.values())

    # -- changes -------------------------------------------------------------

    def publish(self, change: Change) -> int:
        """Offer ``change`` to the subscribers of its topics; the wake-ups."""
        self.metrics.changes.labels(change.collection).inc()
        woken = 0
        for topic in change.topics():
            if topic[0] == "key":
                self._revoked(topic)
                continue
            for subscriber in list(self.index.get(topic, ())):
                if subscriber.offer(change):
                    woken += 1
                    self.metrics.wakeups.labels(subscriber.kind).inc()
        return woken

    def _revoked(self, topic: Topic) -> None:
        for connection in list(self.connections.get(topic[1], ())):
            self.close_connection(
                connection, CloseCode.UNAUTHENTICATED, "The API key was revoked.", "revoked"
            )
