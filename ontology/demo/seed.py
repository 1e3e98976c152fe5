"""Seed a small demo tenant through the real services (so counters are right).

Idempotent: the data is written once, when the ``demo`` group does not exist
yet; each call issues a fresh ``org_owner`` key, since secrets are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId

from ontology.connections.models import NewConnection
from ontology.events.service import NewEvent
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.ledger.documents import GroupDocument
from ontology.people.service import NewPerson
from ontology.runtime import Runtime
from ontology.things.models import NewThing

DEMO_SLUG = "demo"

CREATORS = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Torvalds"]
AUDIENCE = [f"Audience member {n}" for n in range(1, 11)]
COURSES = ["Graphs 101", "Distributed Systems", "GraphQL in Practice"]
POSTS = [f"Notes on ontologies, part {n}" for n in range(1, 9)]
PRODUCTS = [("Ontology handbook", 29.0), ("Office hours", 99.0), ("Sticker pack", 5.0)]


@dataclass(frozen=True)
class DemoTenant:
    group: GroupDocument
    secret: str
    created: bool


async def seed_demo(runtime: Runtime) -> DemoTenant:
    services = runtime.services
    group = await services.groups.by_slug(DEMO_SLUG)
    created = group is None
    if group is None:
        group = await services.groups.create(slug=DEMO_SLUG, name="Demo tenant", plan=Plan.PRO)
        await _seed_data(runtime, group["_id"])
        group = await services.groups.by_id(group["_id"]) or group
    _, secret = await services.keys.create(group["_id"], Role.ORG_OWNER, name="serve --demo")
    return DemoTenant(group=group, secret=secret, created=created)


async def _seed_data(runtime: Runtime, group_id: ObjectId) -> None:
    services = runtime.services

    async def thing(thing_type: str, name: str, **properties: Any) -> ObjectId:
        doc = await services.things.create(
            group_id, NewThing(type=thing_type, name=name, properties=properties, status="active")
        )
        return ObjectId(doc["_id"])

    async def connect(from_id: ObjectId, to_id: ObjectId, connection_type: str) -> None:
        await services.connections.create(
            group_id, NewConnection(from_id=from_id, to_id=to_id, type=connection_type)
        )

    creators = [await thing("creator", name) for name in CREATORS]
    audience = [await thing("audience_member", name) for name in AUDIENCE]
    courses = [await thing("course", name, level="beginner") for name in COURSES]
    posts = [await thing("blog_post", name, words=800 + 100 * n) for n, name in enumerate(POSTS)]
    products = [
        await thing("product", name, price=price, currency="USD") for name, price in PRODUCTS
    ]
    community = await thing("community", "Ontology builders")

    for n, member in enumerate(audience):
        await connect(member, creators[n % len(creators)], "following")
        await connect(member, community, "member_of")
        await connect(member, courses[n % len(courses)], "enrolled_in")
    for n, post in enumerate(posts):
        await connect(creators[n % len(creators)], post, "authored")
    for n, course in enumerate(courses):
        await connect(creators[n], course, "teaching")
    await connect(creators[0], creators[1], "collaborates_with")

    now = utcnow()
    for n, member in enumerate(audience):
        await services.events.log(
            group_id,
            NewEvent(
                type="payment_processed",
                actor_id=creators[n % len(creators)],
                target_id=products[n % len(products)],
                actor_given=True,
                target_given=True,
                metadata={"amount": PRODUCTS[n % len(PRODUCTS)][1], "currency": "USD"},
                timestamp=now - timedelta(days=n),
            ),
        )
        await services.events.log(
            group_id,
            NewEvent(
                type="course_enrolled",
                actor_id=member,
                target_id=courses[n % len(courses)],
                actor_given=True,
                target_given=True,
                timestamp=now - timedelta(days=n, hours=2),
            ),
        )
    await services.people.create(
        group_id, NewPerson(email="owner@demo.example", name="Demo owner", role=Role.ORG_OWNER)
    )
