"""Plain factory functions for tests: tenants with keys, GraphQL calls, raw reads."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId

from ontology.db.client import Database
from ontology.groups.models import Plan
from ontology.keys.models import Role
from ontology.kit.clock import set_clock
from ontology.kit.ids import to_global_id
from ontology.runtime import Runtime


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: Runtime

    async def post(
        self,
        key: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.client.post("/graphql", json=body, headers=sent)

    async def gql(
        self,
        key: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The full response body of a 200 response (``data``, ``errors``, ``extensions``)."""
        response = await self.post(key, query, variables, headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, key: str | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """``data`` of a response that must have no top-level errors."""
        body = await self.gql(key, query, variables)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result


@dataclass
class Tenant:
    group: dict[str, Any]
    keys: dict[Role, str] = field(default_factory=dict)
    key_ids: dict[Role, ObjectId] = field(default_factory=dict)

    @property
    def id(self) -> ObjectId:
        group_id = self.group["_id"]
        assert isinstance(group_id, ObjectId)
        return group_id

    @property
    def owner(self) -> str:
        return self.keys[Role.ORG_OWNER]

    @property
    def user(self) -> str:
        return self.keys[Role.ORG_USER]

    @property
    def customer(self) -> str:
        return self.keys[Role.CUSTOMER]


async def make_tenant(runtime: Runtime, slug: str, plan: Plan = Plan.PRO) -> Tenant:
    """A group with one key of each tenant role (not platform_owner)."""
    group = await runtime.services.groups.create(slug=slug, name=slug.title(), plan=plan)
    tenant = Tenant(group=group)
    for role in (Role.ORG_OWNER, Role.ORG_USER, Role.CUSTOMER):
        key, secret = await runtime.services.keys.create(group["_id"], role)
        tenant.keys[role] = secret
        tenant.key_ids[role] = key["_id"]
    return tenant


GROUP_HEADER = "X-Ontology-Group"


async def make_staff_key(runtime: Runtime, slug: str = "staff") -> str:
    """A platform_owner key of a group of its own; it acts on others with ``GROUP_HEADER``."""
    group = await runtime.services.groups.create(slug=slug, name=slug.title())
    _, secret = await runtime.services.keys.create(group["_id"], Role.PLATFORM_OWNER)
    return secret


CREATE_THING = """
mutation($input: CreateThingInput!) {
  createThing(input: $input) {
    thing { id type name properties status version }
    errors { index path code message }
  }
}
"""

CREATE_CONNECTION = """
mutation($input: CreateConnectionInput!) {
  createConnection(input: $input) {
    connection { id type fromId toId }
    errors { index path code message }
  }
}
"""


async def create_thing(
    api: Api,
    key: str,
    thing_type: str = "creator",
    name: str = "Ada",
    properties: dict[str, Any] | None = None,
    status: str = "active",
) -> str:
    """Create a thing through the API; its global id."""
    data = await api.data(
        key,
        CREATE_THING,
        {
            "input": {
                "type": thing_type,
                "name": name,
                "properties": properties or {},
                "status": status,
            }
        },
    )
    payload = data["createThing"]
    assert payload["errors"] == [], payload["errors"]
    thing_id: str = payload["thing"]["id"]
    return thing_id


async def connect(api: Api, key: str, from_id: str, to_id: str, connection_type: str) -> str:
    data = await api.data(
        key,
        CREATE_CONNECTION,
        {"input": {"fromId": from_id, "toId": to_id, "type": connection_type}},
    )
    payload = data["createConnection"]
    assert payload["errors"] == [], payload["errors"]
    connection_id: str = payload["connection"]["id"]
    return connection_id


def global_id(type_name: str, object_id: ObjectId) -> str:
    return to_global_id(type_name, object_id)


async def group_counts(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    return await runtime.repos.groups.counts(group_id)


async def raw_count(runtime: Runtime, collection: str, query: dict[str, Any]) -> int:
    """Count documents directly in the database (tests only: the app never counts)."""
    return await runtime.database.collection(collection).count_documents(query)


class SettableClock:
    """A clock tests move by hand, installed with ``ontology.kit.clock.set_clock``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return moment

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@contextmanager
def clock_at(start: datetime) -> Iterator[SettableClock]:
    """Stop time at ``start`` for the block (tests move it with set/advance)."""
    clock = SettableClock(start)
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(None)


def payload_error(path: str, code: str, message: str, index: int | None = None) -> dict[str, Any]:
    """One entry of a mutation payload's ``errors`` list."""
    return {"index": index, "path": path, "code": code, "message": message}


async def assert_forbidden(
    api: Api,
    key: str,
    query: str,
    variables: dict[str, Any],
    field: str,
    message: str = "This operation needs the org_user role; the key has customer.",
) -> None:
    """The operation was refused with exactly one top-level FORBIDDEN error at ``field``."""
    body = await api.gql(key, query, variables)
    assert body["data"] is None
    assert [
        {
            "message": e["message"],
            "path": e["path"],
            "code": (e.get("extensions") or {}).get("code"),
        }
        for e in body["errors"]
    ] == [{"message": message, "path": [field], "code": "FORBIDDEN"}]


# Collections a refused write must leave untouched.
WRITTEN_COLLECTIONS = (
    "things",
    "connections",
    "events",
    "counters",
    "people",
    "knowledge",
    "thing_knowledge",
)


def lasting(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents the server's TTL monitor will not remove during a test.

    It runs on the real clock, so counters written under a clock set in the past
    (tests) expire at any moment; a snapshot must leave them out. (Filtered
    here, not in a query: the embedded server's answer to an ``$or`` on the TTL
    field changed once the monitor had swept.)
    """
    soon = datetime.now(UTC) + timedelta(minutes=10)
    return [d for d in docs if "expiresAt" not in d or d["expiresAt"] > soon]


async def lasting_count(runtime: Runtime, collection: str) -> int:
    docs = [doc async for doc in runtime.database.collection(collection).find({})]
    return len(lasting(docs))


async def collection_sizes(
    runtime: Runtime, names: Sequence[str] = WRITTEN_COLLECTIONS
) -> dict[str, int]:
    """The number of documents in each collection (``counters``: those that last)."""
    return {
        name: await (
            lasting_count(runtime, name) if name == "counters" else raw_count(runtime, name, {})
        )
        for name in names
    }


async def sizes_and_counters(api: Api, tenant: Tenant) -> dict[str, Any]:
    """Every written collection's size and the group's counters (to show nothing was written)."""
    return {
        "counts": await group_counts(api.runtime, tenant.id),
        **await collection_sizes(api.runtime),
    }


async def group_documents(
    runtime: Runtime, group_id: ObjectId, collections: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every document of one group in these collections (``counters``: those that last),
    and its group document, read straight from the database (to show what was untouched)."""
    database = runtime.database
    state: dict[str, list[dict[str, Any]]] = {}
    for name in collections:
        cursor = database.collection(name).find({"groupId": group_id}, sort=[("_id", 1)])
        docs = [doc async for doc in cursor]
        # the TTL monitor runs on the real clock
        state[name] = lasting(docs) if name == "counters" else docs
    state["groups"] = [doc async for doc in database.collection("groups").find({"_id": group_id})]
    return state


async def true_counts(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    """What the group's counters must read, recounted from what is stored: the recount of
    ``ontology counters check`` (``ontology.counters.service.recount``), one implementation
    for the command and the tests (its own tests check it against hand-counted values)."""
    return await runtime.services.counter_check.true_counts(group_id)


async def stored_bytes(api: Api, group_id: ObjectId) -> int:
    """What ``counts.storageBytes`` must be: the sizes of the group's live things,
    connections, events, knowledge and knowledge links."""
    total = 0
    for name, live in (
        ("things", {"deletedAt": None}),
        ("connections", {}),
        ("events", {}),
        ("knowledge", {}),
        ("thing_knowledge", {}),
    ):
        cursor = api.runtime.database.collection(name).find({"groupId": group_id, **live})
        async for doc in cursor:
            total += doc["sizeBytes"]
    return total


@asynccontextmanager
async def server_blocks(
    database: Database, command: str, ms: int, *, skip: int = 0
) -> AsyncIterator[None]:
    """The server sleeps ``ms`` before the application's next ``command`` (after ``skip``
    of them), once: mongod's ``failCommand`` fail point, which the embedded server
    implements with ``--enable-test-commands``."""
    admin = database.client.admin
    await admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"skip": skip, "times": 1},
            "data": {
                "failCommands": [command],
                "blockConnection": True,
                "blockTimeMS": ms,
                "appName": "ontology",
            },
        }
    )
    try:
        yield
    finally:
        await admin.command({"configureFailPoint": "failCommand", "mode": "off"})


async def until(condition: Callable[[], object | Awaitable[object]], seconds: float = 5.0) -> None:
    """Return once ``condition()`` (awaited when it gives an awaitable) is truthy, polling
    every 10 ms; fail after ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"condition not reached within {seconds} s")
