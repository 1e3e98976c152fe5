"""Writes over HTTP for the live tests (the way clients change data)."""

from __future__ import annotations

from typing import Any

from tests.live.client import Served

UPDATE_THING = """
mutation($input: UpdateThingInput!) {
  updateThing(input: $input) { thing { version } errors { code message } }
}
"""
DELETE_THING = """
mutation($id: ID!) { deleteThing(input: {id: $id}) { errors { code message } } }
"""
DELETE_CONNECTION = """
mutation($id: ID!) { deleteConnection(input: {id: $id}) { errors { code message } } }
"""
LOG_EVENT = """
mutation($input: LogEventInput!) {
  logEvent(input: $input) { event { id } errors { code message } }
}
"""


async def update(served: Served, key: str, thing_id: str, **fields: Any) -> None:
    data = await served.api.data(key, UPDATE_THING, {"input": {"id": thing_id, **fields}})
    assert data["updateThing"]["errors"] == [], data


async def delete_thing(served: Served, key: str, thing_id: str) -> None:
    data = await served.api.data(key, DELETE_THING, {"id": thing_id})
    assert data["deleteThing"]["errors"] == [], data


async def delete_connection(served: Served, key: str, connection_id: str) -> None:
    data = await served.api.data(key, DELETE_CONNECTION, {"id": connection_id})
    assert data["deleteConnection"]["errors"] == [], data


async def log_event(served: Served, key: str, event_type: str, **fields: Any) -> str:
    data = await served.api.data(key, LOG_EVENT, {"input": {"type": event_type, **fields}})
    assert data["logEvent"]["errors"] == [], data
    event_id: str = data["logEvent"]["event"]["id"]
    return event_id


def wakeups(served: Served, kind: str) -> float:
    value: float = served.live.hub.metrics.wakeups.labels(kind)._value.get()
    return value
