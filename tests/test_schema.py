"""schema.graphql stays in sync, and every document in graphql/ is valid and runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from ontology.api.schema import create_schema, export_sdl
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from tests.factories import Api, make_tenant, raw_count

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted((ROOT / "graphql").glob("*.graphql"))


def test_schema_file_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == export_sdl(), "schema.graphql is stale: run `ontology export-schema`"


def test_there_are_documents() -> None:
    assert len(DOCUMENTS) == 43


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_document_is_valid_and_named_after_its_file(path: Path) -> None:
    document = parse(path.read_text())
    errors = validate(create_schema()._schema, document)
    assert errors == []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.name.value if op.name else None for op in operations] == [path.stem]


def load(name: str) -> str:
    return (ROOT / "graphql" / f"{name}.graphql").read_text()


async def run(api: Api, key: str, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    return await api.data(key, load(name), variables)


async def test_every_document_runs_against_the_api(api: Api) -> None:
    tenant = await make_tenant(api.runtime, "docs")
    key = tenant.owner

    ada = await run(api, key, "CreateThing", {"input": {"type": "creator", "name": "Ada"}})
    ada_id = ada["createThing"]["thing"]["id"]
    post = await run(
        api,
        key,
        "CreateThing",
        {"input": {"type": "blog_post", "name": "Notes", "status": "active"}},
    )
    post_id = post["createThing"]["thing"]["id"]
    updated = await run(
        api, key, "UpdateThing", {"input": {"id": post_id, "name": "Notes, revised"}}
    )
    assert updated["updateThing"]["thing"]["version"] == 2
    created = await run(
        api,
        key,
        "CreateConnection",
        {"input": {"fromId": ada_id, "toId": post_id, "type": "authored", "strength": 0.5}},
    )
    assert created["createConnection"]["errors"] == []
    connection_id = created["createConnection"]["connection"]["id"]
    logged = await run(
        api,
        key,
        "LogEvent",
        {"input": {"type": "content_event", "actorId": ada_id, "targetId": post_id}},
    )
    event_id = logged["logEvent"]["event"]["id"]
    person = await run(
        api, key, "CreatePerson", {"input": {"email": "Ada@Example.com", "name": "Ada"}}
    )
    assert person["createPerson"]["person"]["email"] == "ada@example.com"
    knowledge = await run(
        api,
        key,
        "AddKnowledge",
        {"input": {"kind": "DOCUMENT", "text": "Analytical engines", "thingId": ada_id}},
    )
    assert knowledge["addKnowledge"]["knowledge"]["sourceThingId"] == ada_id

    viewer = await run(api, key, "Viewer", {})
    assert viewer["viewer"]["group"]["counts"]["things"] == 2
    assert viewer["viewer"]["group"]["counts"]["connections"] == 1
    things = await run(api, key, "Things", {})
    assert [e["node"]["name"] for e in things["things"]["edges"]] == ["Notes, revised", "Ada"]
    backward = await run(api, key, "ThingsBackward", {"last": 1})
    assert [e["node"]["name"] for e in backward["things"]["edges"]] == ["Ada"]
    thing = await run(api, key, "Thing", {"id": ada_id})
    assert [e["node"]["name"] for e in thing["thing"]["connections"]["edges"]] == ["Notes, revised"]
    assert [e["node"]["type"] for e in thing["thing"]["activity"]["edges"]] == [
        "content_event",
        "connection_created",
        "thing_created",
    ]
    node = await run(api, key, "Node", {"id": event_id})
    assert node["node"]["__typename"] == "Event"
    nodes = await run(api, key, "Nodes", {"ids": [ada_id, "nonsense"]})
    assert [n and n["name"] for n in nodes["nodes"]] == ["Ada", None]
    connections = await run(api, key, "Connections", {"type": "authored"})
    assert connections["connections"]["totalCount"] == 1
    events = await run(api, key, "Events", {"actorId": ada_id})
    assert [e["node"]["type"] for e in events["events"]["edges"]] == [
        "content_event",
        "connection_created",
    ]
    people = await run(api, key, "People", {})
    assert people["people"]["totalCount"] == 1
    listed = await run(api, key, "Knowledge", {"kind": "DOCUMENT"})
    assert [e["node"]["text"] for e in listed["knowledge"]["edges"]] == ["Analytical engines"]

    creators = await run(api, key, "CreatorStats", {"first": 10})
    (creator,) = [e["node"] for e in creators["things"]["edges"]]
    assert (creator["name"], creator["stats"]["contentCount"]) == ("Ada", 1)
    assert creator["stats"]["eventsByType"] == [
        {"type": "connection_created", "count": 1},
        {"type": "content_event", "count": 1},
    ]
    assert [e["node"]["text"] for e in creator["knowledge"]["edges"]] == ["Analytical engines"]
    events_stored = await raw_count(api.runtime, "events", {"groupId": tenant.id})
    metrics = (await run(api, key, "GroupMetrics", {}))["viewer"]["group"]["metrics"]
    assert (metrics["totalEntities"], metrics["eventsThisMonth"]) == (2, events_stored)
    assert metrics["topContentByEngagement"] == [
        {
            "thing": {"id": post_id, "type": "blog_post", "name": "Notes, revised"},
            "connectionCount": 1,
        }
    ]
    realtime = await run(api, key, "RealtimeMetrics", {})
    assert realtime["realtimeMetrics"]["eventsLastHour"] == events_stored
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    history = await run(
        api,
        key,
        "MetricsHistory",
        {"from": hour.isoformat(), "to": (hour + timedelta(hours=2)).isoformat()},
    )
    assert history["metricsHistory"]["period"] == "HOURLY"
    assert [p["start"] for p in history["metricsHistory"]["points"]] == [
        hour.isoformat(),
        (hour + timedelta(hours=1)).isoformat(),
    ]

    quotas = await run(api, key, "GroupQuotas", {})
    assert quotas["groupQuotas"]["summary"] == {
        "allOk": True,
        "warningCount": 0,
        "criticalCount": 0,
        "exceededCount": 0,
    }
    status = await run(api, key, "QuotaStatus", {})
    assert status["quotaStatus"]["status"] == "HEALTHY"
    capacity = await run(api, key, "CheckCapacity", {"count": 9999, "bytes": 10.0})
    assert capacity["checkCanCreateEntities"]["availableSlots"] == 10_000 - 2
    assert capacity["checkCanStore"]["canStore"] is True
    pricing = await run(api, key, "UpgradePricing", {})
    assert pricing["upgradePricing"]["upgrades"] == [
        {"plan": "ENTERPRISE", "monthlyDifference": None, "annualDifference": None}
    ]
    changed = await run(api, key, "ChangePlan", {"plan": "STARTER"})
    assert changed["changePlan"]["group"]["plan"] == "STARTER"
    assert changed["changePlan"]["overLimit"] == []

    batch = await run(
        api,
        key,
        "BatchInsertThings",
        {
            "input": {
                "things": [{"type": "course", "name": "Graphs"}, {"type": "lesson", "name": "1"}]
            }
        },
    )
    assert batch["batchInsertThings"]["summary"] == {
        "total": 2,
        "succeeded": 2,
        "failed": 0,
        "successRate": 1.0,
    }
    course_id, lesson_id = (r["id"] for r in batch["batchInsertThings"]["results"])
    linked = await run(
        api,
        key,
        "BatchCreateConnections",
        {"input": {"connections": [{"fromId": lesson_id, "toId": course_id, "type": "part_of"}]}},
    )
    assert [r["status"] for r in linked["batchCreateConnections"]["results"]] == ["CREATED"]
    renamed = await run(
        api,
        key,
        "BatchUpdateThings",
        {"input": {"updates": [{"id": lesson_id, "name": "Lesson 1"}, {"id": course_id}]}},
    )
    assert [r["status"] for r in renamed["batchUpdateThings"]["results"]] == [
        "UPDATED",
        "UNCHANGED",
    ]

    queued = await run(api, key, "ArchiveGroupEvents", {"olderThanDays": 30})
    assert queued["archiveGroupEvents"]["run"]["status"] == "QUEUED"
    archival = await run(api, key, "ArchivalStatus", {})
    assert archival["archivalStatus"]["lastRun"]["id"] == queued["archiveGroupEvents"]["run"]["id"]
    _, staff = await api.runtime.services.keys.create(tenant.id, Role.PLATFORM_OWNER)
    scheduled = await run(api, staff, "ArchivalScheduledRun", {})
    assert scheduled == {"archivalStatus": {"lastScheduledRun": None}}
    archived = await run(api, key, "ArchivedEvents", {"from": "2026-01-01", "to": "2026-01-31"})
    assert archived["archivedEvents"]["edges"] == []
    restored = await run(
        api, key, "RestoreArchivedEvents", {"from": "2026-01-01", "to": "2026-01-31"}
    )
    assert restored["restoreArchivedEvents"] == {
        "restoredEvents": 0,
        "alreadyHot": 0,
        "objects": 0,
        "errors": [],
    }

    removed = await run(api, key, "DeleteConnection", {"input": {"id": connection_id}})
    assert removed["deleteConnection"] == {"deletedId": connection_id, "errors": []}
    deleted = await run(api, key, "DeleteThing", {"input": {"id": post_id}})
    assert deleted["deleteThing"] == {"deletedId": post_id, "errors": []}
