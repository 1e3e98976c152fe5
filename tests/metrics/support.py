"""A hand-built data set with known revenue, followers, content and weekly events.

Dates are in 2031: the server's TTL monitor runs on the real clock, and every
counter here must outlive the test (minute counters are kept two hours).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.app import create_app
from ontology.config import Settings
from ontology.connections.models import NewConnection
from ontology.db.client import Document
from ontology.events.service import NewEvent
from ontology.groups.models import Plan
from ontology.ledger.counters import CountDelta
from ontology.ledger.events import new_event
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import Api, SettableClock, Tenant, make_tenant

SETUP = datetime(2031, 10, 9, 12, 0, tzinfo=UTC)  # things and connections are created
NOW = datetime(2031, 11, 18, 10, 30, tzinfo=UTC)  # the moment the tests read


@dataclass
class Dataset:
    tenant: Tenant
    rival: Tenant
    things: dict[str, ObjectId]
    rival_things: dict[str, ObjectId]


# (name, type)
THINGS = [
    ("Ada", "creator"),
    ("Bob", "creator"),
    ("m1", "audience_member"),
    ("m2", "audience_member"),
    ("m3", "audience_member"),
    ("p1", "blog_post"),
    ("p2", "blog_post"),
    ("v1", "video"),
    ("c1", "course"),
]
# (from, to, type)
CONNECTIONS = [
    ("m1", "Ada", "following"),
    ("m2", "Ada", "following"),
    ("m3", "Ada", "following"),
    ("m1", "Bob", "following"),
    ("Ada", "p1", "authored"),
    ("Ada", "p2", "authored"),
    ("v1", "Ada", "created_by"),
    ("Bob", "v1", "authored"),
    ("m1", "c1", "enrolled_in"),
    ("m2", "c1", "enrolled_in"),
]
# (when, type, actor, target, amount)
EVENTS: list[tuple[datetime, str, str, str, float | None]] = [
    (datetime(2031, 10, 20, 9, 0, tzinfo=UTC), "payment_processed", "Ada", "p1", 100),
    (datetime(2031, 11, 9, 15, 0, tzinfo=UTC), "payment_processed", "Ada", "p1", 30),
    (datetime(2031, 11, 10, 8, 0, tzinfo=UTC), "content_event", "m1", "p1", None),
    (datetime(2031, 11, 16, 11, 0, tzinfo=UTC), "payment_processed", "Ada", "p2", 20),
    (datetime(2031, 11, 18, 9, 45, tzinfo=UTC), "payment_processed", "Ada", "p2", 10.5),
    (datetime(2031, 11, 18, 10, 5, tzinfo=UTC), "payment_processed", "Bob", "v1", 5),
    (datetime(2031, 11, 18, 10, 20, tzinfo=UTC), "content_event", "m2", "p2", None),
    (datetime(2031, 11, 18, 10, 29, tzinfo=UTC), "content_event", "m1", "v1", None),
]


async def build_things(runtime: Runtime, group_id: ObjectId) -> dict[str, ObjectId]:
    services = runtime.services
    ids: dict[str, ObjectId] = {}
    for name, thing_type in THINGS:
        doc = await services.things.create(
            group_id, NewThing(type=thing_type, name=name, properties={}, status="active")
        )
        ids[name] = doc["_id"]
    for source, target, connection_type in CONNECTIONS:
        await services.connections.create(
            group_id, NewConnection(from_id=ids[source], to_id=ids[target], type=connection_type)
        )
    return ids


async def log(
    runtime: Runtime,
    group_id: ObjectId,
    ids: dict[str, ObjectId],
    event_type: str,
    actor: str,
    target: str,
    amount: float | None = None,
) -> None:
    await runtime.services.events.log(
        group_id,
        NewEvent(
            type=event_type,
            actor_id=ids[actor],
            target_id=ids[target],
            actor_given=True,
            target_given=True,
            metadata={"amount": amount, "currency": "USD"} if amount is not None else {},
        ),
    )


async def build_dataset(runtime: Runtime, clock: SettableClock) -> Dataset:
    """The data set, each event logged at its own time (the clock moves), then NOW."""
    clock.set(SETUP)
    tenant = await make_tenant(runtime, "acme")
    rival = await make_tenant(runtime, "rival")
    things = await build_things(runtime, tenant.id)
    rival_things = await build_things(runtime, rival.id)
    for when, event_type, actor, target, amount in EVENTS:
        clock.set(when)
        await log(runtime, tenant.id, things, event_type, actor, target, amount)
    # the rival's own events at the same moments never show in acme's metrics
    clock.set(datetime(2031, 11, 18, 10, 10, tzinfo=UTC))
    await log(runtime, rival.id, rival_things, "payment_processed", "Ada", "p1", 1000)
    await log(runtime, rival.id, rival_things, "content_event", "m3", "p1")
    clock.set(NOW)
    return Dataset(tenant=tenant, rival=rival, things=things, rival_things=rival_things)


@asynccontextmanager
async def api_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    """Another app on the same database with some settings changed."""
    app = create_app(settings.model_copy(update=changes))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client=client, runtime=app.state.runtime)


# -- volume: many creators and events, written fast through the repositories ------------

VOLUME_NOW = datetime(2031, 11, 20, 12, 0, 59, tzinfo=UTC)
CREATORS = 110
CHUNK = 10_000


async def seed_creators(runtime: Runtime, slug: str) -> tuple[ObjectId, list[ObjectId], str]:
    """An enterprise group with 110 creators (one batch); its id, their ids, a user key."""
    tenant = await make_tenant(runtime, slug, Plan.ENTERPRISE)
    items = [NewThing("creator", f"C{i:03d}", {}, "active") for i in range(CREATORS)]
    result = await runtime.services.batches.insert_things(tenant.id, items)
    assert result.failed == 0
    cursor = runtime.database.collection("things").find({"groupId": tenant.id}, {"_id": 1})
    return tenant.id, [doc["_id"] async for doc in cursor], tenant.user


async def insert_events(
    runtime: Runtime, group_id: ObjectId, actors: list[ObjectId], count: int
) -> None:
    """``count`` events at VOLUME_NOW: 60 per 1,000 in the last hour's 60 minutes (every
    60th event a payment of 10), the rest spread over the 13 days before. Written through
    the events repository (so every counter is kept) in transactions of 10,000."""
    recent = 60 * max(1, count // 1000)
    this_minute = VOLUME_NOW.replace(second=0)
    docs = []
    for n in range(count):
        if n < recent:
            when = this_minute - timedelta(minutes=n % 60) + timedelta(seconds=n // 60 % 60)
        else:
            back = timedelta(hours=1, seconds=(n * 7919) % (13 * 86400))
            when = this_minute - back
        payment = n % 60 == 0
        docs.append(
            new_event(
                group_id,
                "payment_processed" if payment else "content_event",
                timestamp=when,
                actor_id=actors[n % len(actors)],
                target_id=actors[(n + 1) % len(actors)],
                metadata={"amount": 10} if payment else {},
            )
        )
    for start in range(0, count, CHUNK):
        chunk = docs[start : start + CHUNK]
        delta = CountDelta().events(len(chunk), sum(d["sizeBytes"] for d in chunk))

        async def write(
            session: AsyncClientSession, chunk: list[Document] = chunk, delta: CountDelta = delta
        ) -> None:
            await runtime.repos.accounts.apply_counts(group_id, delta, session)
            await runtime.repos.log.append(group_id, chunk, session)

        await runtime.database.in_transaction(write)
