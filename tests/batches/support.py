"""Shared pieces of the batch tests: operations, expected shapes, raw reads, the truth.

Everything here reads the database directly or goes through the HTTP API; nothing
mocks MongoDB. Expected values are built by the helpers below so each test states
the exact payload it expects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from bson import ObjectId

from ontology.app import create_app
from ontology.batches.models import request_fingerprint
from ontology.config import Settings
from ontology.kit.ids import parse_global_id, to_global_id
from ontology.runtime import Runtime
from ontology.things.models import NewThing
from tests.factories import Api, group_documents

# Far in the future on purpose: idempotency keys (and quota marks) carry TTL indexes,
# and a record whose expiresAt is already past by the server's clock may vanish mid-test.
T0 = datetime(2040, 3, 1, 12, 0, tzinfo=UTC)

ERROR_FIELDS = "index path code message quota { metric current requested limit available }"
PAYLOAD = f"""
    results {{ index id status errors {{ {ERROR_FIELDS} }} }}
    errors {{ {ERROR_FIELDS} }}
    summary {{ total succeeded failed successRate }}
    batchEventId
"""
INSERT = f"""
mutation($input: BatchInsertThingsInput!) {{
  batchInsertThings(input: $input) {{ {PAYLOAD} }}
}}
"""
CONNECT = f"""
mutation($input: BatchCreateConnectionsInput!) {{
  batchCreateConnections(input: $input) {{ {PAYLOAD} }}
}}
"""
UPDATE = f"""
mutation($input: BatchUpdateThingsInput!) {{
  batchUpdateThings(input: $input) {{ {PAYLOAD} }}
}}
"""
FIELD = {
    INSERT: "batchInsertThings",
    CONNECT: "batchCreateConnections",
    UPDATE: "batchUpdateThings",
}
ITEMS = {INSERT: "things", CONNECT: "connections", UPDATE: "updates"}

THING_FIELDS = """
id type name properties status version
connectionCounts { inbound outbound byType { type inbound outbound count } }
"""
NODES = f"""
query($ids: [ID!]!) {{
  nodes(ids: $ids) {{
    id
    ... on Thing {{ {THING_FIELDS} }}
    ... on Connection {{ type fromId toId }}
  }}
}}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Event { type metadata targetId } } }"
DELETE_THING = """
mutation($id: ID!) { deleteThing(input: {id: $id}) { deletedId errors { code } } }
"""

REJECT_EVERYTHING = "REJECT_EVERYTHING"
REJECT_FAILED_ROWS = "REJECT_FAILED_ROWS"
KEY_RULE = "keys match ^[A-Za-z_][A-Za-z0-9_]*$ (no '$', no '.')."
COLLECTIONS = ("things", "connections", "events", "counters", "idempotency_keys")


# -- calling the batch mutations ---------------------------------------------------------


def batch_input(
    operation: str, items: list[dict[str, Any]], policy: str | None = None, key: str | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {ITEMS[operation]: items}
    if policy is not None:
        value["errorPolicy"] = policy
    if key is not None:
        value["idempotencyKey"] = key
    return {"input": value}


async def run_batch(
    api: Api,
    key: str,
    operation: str,
    items: list[dict[str, Any]],
    policy: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The full body (``data``, ``extensions``) of a batch call without top-level errors."""
    body = await api.gql(key, operation, batch_input(operation, items, policy, idempotency_key))
    assert "errors" not in body, body["errors"]
    return body


async def batch(
    api: Api,
    key: str,
    operation: str,
    items: list[dict[str, Any]],
    policy: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """The ``BatchPayload`` of a batch call."""
    body = await run_batch(api, key, operation, items, policy, idempotency_key)
    payload: dict[str, Any] = body["data"][FIELD[operation]]
    return payload


def db_commands(body: dict[str, Any]) -> int:
    commands: int = body["extensions"]["cost"]["dbCommands"]
    return commands


# -- expected shapes ---------------------------------------------------------------------


def error(
    index: int | None, path: str, code: str, message: str, quota: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"index": index, "path": path, "code": code, "message": message, "quota": quota}


def item(
    index: int, status: str, id: str | None = None, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"index": index, "id": id, "status": status, "errors": errors or []}


def summary(total: int, succeeded: int, failed: int) -> dict[str, Any]:
    rate = round(succeeded / total, 4) if total else 0.0
    return {"total": total, "succeeded": succeeded, "failed": failed, "successRate": rate}


def payload(
    results: list[dict[str, Any]],
    total: int | None = None,
    batch_event_id: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A whole ``BatchPayload``: errors default to the items' errors in input order."""
    succeeded = sum(r["status"] in ("CREATED", "UPDATED", "UNCHANGED") for r in results)
    failed = sum(r["status"] == "FAILED" for r in results)
    return {
        "results": results,
        "errors": [e for r in results for e in r["errors"]] if errors is None else errors,
        "summary": summary(len(results) if total is None else total, succeeded, failed),
        "batchEventId": batch_event_id,
    }


def rejected(total: int, code: str, message: str, path: str) -> dict[str, Any]:
    """A batch refused as a whole: one error, no results."""
    return {
        "results": [],
        "errors": [error(None, path, code, message)],
        "summary": summary(total, 0, 0),
        "batchEventId": None,
    }


def quota_error(
    index: int, path: str, metric: str, current: int, requested: int, limit: int
) -> dict[str, Any]:
    available = max(0, limit - current)
    message = (
        f"Quota exceeded for {metric}: {current} used, {requested} requested, "
        f"limit {limit}, {available} available."
    )
    details = {
        "metric": metric,
        "current": current,
        "requested": requested,
        "limit": limit,
        "available": available,
    }
    return error(index, path, "QUOTA_EXCEEDED", message, details)


def ids_of(result: dict[str, Any]) -> list[str | None]:
    return [r["id"] for r in result["results"]]


def thing(thing_type: str = "creator", name: str = "Ada", **more: Any) -> dict[str, Any]:
    """A ``CreateThingInput``; ``properties`` and ``status`` default to ``{}`` and active."""
    value: dict[str, Any] = {"type": thing_type, "name": name, "properties": {}, "status": "active"}
    value.update(more)
    return value


def nested(levels: int) -> dict[str, Any]:
    """An object ``levels`` deep counting itself as level 1: ``{"a": {"a": ... {}}}``."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def oid(global_id: str | None, type_name: str = "Thing") -> ObjectId:
    assert global_id is not None
    object_id = parse_global_id(global_id, type_name)
    assert object_id is not None, global_id
    return object_id


def missing_id(type_name: str = "Thing") -> str:
    """A well-formed global id of an object that never existed."""
    return to_global_id(type_name, ObjectId())


# -- raw reads ---------------------------------------------------------------------------


async def stored(runtime: Runtime, collection: str, query: dict[str, Any]) -> list[Any]:
    cursor = runtime.database.collection(collection).find(query, sort=[("_id", 1)])
    return [doc async for doc in cursor]


async def settled_documents(runtime: Runtime, *group_ids: ObjectId) -> dict[str, Any]:
    """``group_documents`` of these groups in the batch collections, without what a
    released reservation leaves behind by design (so a refused batch compares equal)."""
    state: dict[str, Any] = {}
    for group_id in group_ids:
        docs = await group_documents(runtime, group_id, COLLECTIONS)
        (group,) = docs.pop("groups") or [{}]
        # ``newest``/``oldest`` tell where a list's first page starts; a batch's reservation
        # raises them with its ids, and its release, when the batch fails, leaves them so:
        # a page then starts at a key nothing holds and reads on (ontology.db.windows)
        group = {k: v for k, v in group.items() if k not in ("newest", "oldest")}
        # likewise a release of a counter by key the batch created (a thing's new status
        # in ``thingsByStatus``) leaves it at 0, which every reader takes as absent
        if group.get("counts") is not None:
            group["counts"] = {
                k: {key: n for key, n in v.items() if n} if isinstance(v, dict) else v
                for k, v in group["counts"].items()
            }
        state |= {f"{group_id}/{name}": found for name, found in docs.items()}
        state[f"{group_id}/group"] = group
    return state


async def count(runtime: Runtime, collection: str, query: dict[str, Any]) -> int:
    return await runtime.database.collection(collection).count_documents(query)


async def events_of_type(runtime: Runtime, group_id: ObjectId, event_type: str) -> list[Any]:
    return await stored(runtime, "events", {"groupId": group_id, "type": event_type})


async def counters(runtime: Runtime, group_id: ObjectId) -> dict[str, Any]:
    """The group's counters with the per-type maps stripped of zero entries."""
    counts = await runtime.repos.groups.counts(group_id)
    return {
        key: {k: v for k, v in value.items() if v} if isinstance(value, dict) else value
        for key, value in counts.items()
    }


async def nodes(api: Api, key: str, ids: Sequence[str | None]) -> list[Any]:
    data = await api.data(key, NODES, {"ids": list(ids)})
    found: list[Any] = data["nodes"]
    return found


# -- idempotency -------------------------------------------------------------------------


def insert_fingerprint(things: list[dict[str, Any]], policy: str = REJECT_EVERYTHING) -> str:
    """The fingerprint ``BatchService._once`` computes for a batchInsertThings request."""
    items = [
        dataclasses.asdict(
            NewThing(type=t["type"], name=t["name"], properties=t["properties"], status=t["status"])
        )
        for t in things
    ]
    return request_fingerprint("batchInsertThings", {"items": items, "policy": policy})


# -- a second process on the same database -------------------------------------------------


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Api]:
    """Another app (its own runtime and client) on ``settings``' database; not dropped after."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client=client, runtime=app.state.runtime)


# -- fail points -------------------------------------------------------------------------


@asynccontextmanager
async def fail_point(
    runtime: Runtime, commands: list[str], *, skip: int = 0, times: int = 1
) -> AsyncIterator[None]:
    """Fail ``times`` of ``commands`` (after ``skip`` of them pass) with a non-transient
    error (BadValue); the commands after them pass again."""
    admin = runtime.database.client.admin
    mode: dict[str, int] = {"skip": skip, "times": times} if skip else {"times": times}
    await admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": mode,
            "data": {"failCommands": commands, "errorCode": 2},
        }
    )
    try:
        yield
    finally:
        await admin.command({"configureFailPoint": "failCommand", "mode": "off"})
