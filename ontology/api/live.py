"""What every subscription resolver shares: the connection, fresh loaders per message.

A subscription enters the hub before it reads anything (so a change made while
it reads is queued, not missed), then waits for the changes of its topic. Each
message is built with loaders of its own (a DataLoader caches: the previous
message's documents would be stale), primed with the document the change
carried where there is one, so a plain selection costs no command.
"""

from __future__ import annotations

import asyncio
import time

import strawberry

from ontology.api.context import Context, Loaders
from ontology.kit.errors import ClientError
from ontology.live.changes import Change
from ontology.live.connection import LiveConnection
from ontology.live.hub import Subscriber

Info = strawberry.Info[Context, None]


def connection_of(info: Info) -> LiveConnection:
    """The operation's WebSocket connection (subscriptions run over graphql-transport-ws)."""
    live = info.context.live
    if live is None:
        raise ClientError("Subscriptions run over a WebSocket (graphql-transport-ws on /graphql).")
    return live


def renew_loaders(info: Info) -> Loaders:
    """Fresh loaders for the next message (the fields of what is yielded use them)."""
    context = info.context
    context.loaders = Loaders(context.runtime, context.group_id)
    return context.loaders


async def coalesced(subscriber: Subscriber, last_sent: float | None, every: float) -> list[Change]:
    """The next changes, waiting for one, then until ``every`` seconds after ``last_sent``:
    whatever arrived meanwhile is one message, so a busy group costs one a second."""
    changes = [await subscriber.next()]
    if last_sent is not None:
        wait = last_sent + every - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
    return changes + subscriber.pending()
