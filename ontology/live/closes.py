"""WebSocket close codes of live updates (4000-4999 is the application's range)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    # the key was missing, unknown or is revoked (at ``connection_init`` or later)
    UNAUTHENTICATED = 4401
    # the key may not act on the group named by ``X-Ontology-Group``
    FORBIDDEN = 4403
    # a subscription's queue filled up: the client reads slower than its data changes
    SLOW_CONSUMER = 4008
    # the change stream failed and could not resume: reconnect (and resubscribe) later
    RECONNECT = 4503


# Codes a client should reconnect after (with backoff); the others need a fix first.
RETRYABLE = frozenset({CloseCode.SLOW_CONSUMER, CloseCode.RECONNECT})
