"""Prometheus series of live updates, registered in the runtime's registry.

Labels are fixed sets (collections, topic kinds, close reasons): never a group,
key or document id.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class LiveMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.changes = Counter(
            "ontology_live_changes",
            "Change events read from the change stream, by collection.",
            ["collection"],
            registry=registry,
        )
        self.wakeups = Counter(
            "ontology_live_wakeups",
            "Subscriptions woken by a change (one per subscription per change), by kind.",
            ["kind"],
            registry=registry,
        )
        self.subscriptions = Gauge(
            "ontology_live_subscriptions",
            "Subscriptions open in this process, by kind.",
            ["kind"],
            registry=registry,
        )
        self.connections = Gauge(
            "ontology_live_connections",
            "Authenticated WebSocket connections open in this process.",
            registry=registry,
        )
        self.closes = Counter(
            "ontology_live_closes",
            "WebSockets closed by the server, by reason (slow_consumer, revoked, stream_lost).",
            ["reason"],
            registry=registry,
        )
        self.stream_errors = Counter(
            "ontology_live_stream_errors",
            "Change stream errors, by outcome (resumed, lost).",
            ["outcome"],
            registry=registry,
        )
