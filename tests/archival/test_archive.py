"""Archival end to end on both sinks: what moves, where, in what form, and what stays."""

from __future__ import annotations

from pathlib import Path

import bson
import pytest

from ontology.archival.models import decode_events
from ontology.archival.sinks import Sink, SinkError
from ontology.db.indexes import INDEXES
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    archival,
    assert_exactly_once,
    days_ago,
    file_sink,
    manifests,
    raw_events,
    s3_sink,
    seed_events,
    with_archival,
)
from tests.factories import clock_at, make_tenant


@pytest.fixture(params=["file", "s3"])
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Sink:
    if request.param == "file":
        return file_sink(tmp_path)
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_sink(endpoint, request.getfixturevalue("bucket"))


async def test_old_events_move_to_day_objects_exactly_once(runtime: Runtime, sink: Sink) -> None:
    with clock_at(NOW):
        # given a starter group (90 days' retention) with old and recent events, another
        # starter group and an enterprise group (keeps everything)
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        other = await make_tenant(runtime, "other", Plan.STARTER)
        big = await make_tenant(runtime, "big", Plan.ENTERPRISE)
        old = await seed_events(
            runtime, acme.id, days_ago(120.5, 120.4, 120.3, 120.2, 120.1, 100, 91, 90.01)
        )
        recent = await seed_events(runtime, acme.id, days_ago(89.99, 10, 0))
        await seed_events(runtime, other.id, days_ago(100, 10))
        await seed_events(runtime, big.id, days_ago(400))
        originals = {g: await raw_events(runtime, g) for g in (acme.id, other.id, big.id)}
        rt = with_archival(runtime, archival(runtime, sink, batch_size=3))

        # when archiving acme
        run, summary = await run_archival(rt, group=acme.group)

        # then its events older than 90 days are in objects of one day each, at most 3 per
        # object, oldest first, under events/group=<id>/date=<day>/part-<run>-<seq>.jsonl.gz
        prefix = f"events/group={acme.id}"
        expected = [
            (f"{prefix}/date=2026-02-01/part-{run['_id']}-000000.jsonl.gz", old[0:3]),
            (f"{prefix}/date=2026-02-01/part-{run['_id']}-000001.jsonl.gz", old[3:5]),
            (f"{prefix}/date=2026-02-21/part-{run['_id']}-000002.jsonl.gz", old[5:6]),
            (f"{prefix}/date=2026-03-02/part-{run['_id']}-000003.jsonl.gz", old[6:7]),
            (f"{prefix}/date=2026-03-03/part-{run['_id']}-000004.jsonl.gz", old[7:8]),
        ]
        stored = await manifests(runtime, acme.id)
        assert [(m["key"], m["ids"], m["status"]) for m in stored] == [
            (key, ids, "done") for key, ids in expected
        ]
        assert await sink.list_keys("") == [key for key, _ in expected]
        for manifest in stored:
            data = await sink.get(manifest["key"])
            events = list(decode_events(data))
            # exactly as stored: every field and BSON type, byte for byte
            assert [bson.encode(e) for e in events] == [
                originals[acme.id][i] for i in manifest["ids"]
            ]
            assert manifest["count"] == len(events)
            assert manifest["objectBytes"] == len(data)
            assert manifest["minTimestamp"] == events[0]["timestamp"]
            assert manifest["maxTimestamp"] == events[-1]["timestamp"]
        # recent events, the other group and the enterprise group are untouched
        assert sorted(await raw_events(runtime, acme.id)) == sorted(recent)
        assert await raw_events(runtime, other.id) == originals[other.id]
        assert await raw_events(runtime, big.id) == originals[big.id]
        assert await assert_exactly_once(runtime, sink, acme.id, originals[acme.id]) == (3, 8)
        assert summary.as_json() | {"seconds": 0} == {
            "groups": 1,
            "eventsMoved": 8,
            "objects": 5,
            "bytes": sum(m["objectBytes"] for m in stored),
            "seconds": 0,
            "dryRun": False,
            "complete": True,
            "failedGroups": [],
            "perGroup": [
                {
                    "group": "acme",
                    "cutoff": "2026-03-03T12:00:00+00:00",
                    "events": 8,
                    "objects": 5,
                    "bytes": sum(m["objectBytes"] for m in stored),
                    "resumedManifests": 0,
                    "complete": True,
                    "errorCode": None,
                }
            ],
        }
        recorded = await runtime.services.runs.latest(acme.id, "archival")
        assert recorded is not None
        assert (recorded["_id"], recorded["status"], recorded["error"]) == (
            run["_id"],
            "succeeded",
            None,
        )
        assert recorded["counts"] == {
            "groups": 1,
            "eventsMoved": 8,
            "objects": 5,
            "bytes": summary.object_bytes,
            "complete": True,
        }

        # when running again, then nothing moves
        _, again = await run_archival(rt, group=acme.group)
        assert (again.events, again.objects) == (0, 0)
        assert len(await manifests(runtime, acme.id)) == 5

        # when the scheduled run covers every group, then only the other starter group moves
        everything_run, everything = await run_archival(rt)
        assert [(g.slug, g.events) for g in everything.groups] == [
            ("acme", 0),
            ("other", 1),
            ("big", 0),
        ]
        assert await raw_events(runtime, big.id) == originals[big.id]
        assert await assert_exactly_once(runtime, sink, other.id, originals[other.id]) == (1, 1)
        # one record per group, children of the run over all groups
        child = await runtime.services.runs.latest(other.id, "archival")
        assert child is not None and child["parentRunId"] == everything_run["_id"]
        assert child["counts"]["eventsMoved"] == 1


async def test_dry_run_and_manual_cutoff(runtime: Runtime, tmp_path: Path) -> None:
    with clock_at(NOW):
        # given an enterprise group (never archived by plan) with events 10 and 40 days old
        big = await make_tenant(runtime, "big", Plan.ENTERPRISE)
        await seed_events(runtime, big.id, days_ago(40, 10))
        original = await raw_events(runtime, big.id)
        sink = file_sink(tmp_path)
        rt = with_archival(runtime, archival(runtime, sink))

        # when running by plan, and dry-running with a 30-day cutoff
        _, by_plan = await run_archival(rt, group=big.group)
        _, dry = await run_archival(rt, group=big.group, older_than_days=30, dry_run=True)

        # then nothing moved, and the dry run says what would move
        assert (by_plan.events, dry.events, dry.objects, dry.dry_run) == (0, 1, 1, True)
        assert await raw_events(runtime, big.id) == original
        assert await sink.list_keys("") == []

        # when running with the 30-day cutoff, then the 40-day-old event moves
        _, manual = await run_archival(rt, group=big.group, older_than_days=30)
        assert manual.events == 1
        assert await assert_exactly_once(runtime, sink, big.id, original) == (1, 1)


async def test_an_unusable_sink_fails_the_run_and_deletes_nothing(
    runtime: Runtime, s3_endpoint: str
) -> None:
    with clock_at(NOW):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100))
        original = await raw_events(runtime, acme.id)
        sink = s3_sink(s3_endpoint, "no-such-bucket")
        rt = with_archival(runtime, archival(runtime, sink))

        with pytest.raises(SinkError) as raised:
            await run_archival(rt, group=acme.group)

        assert str(raised.value) == (
            "Archive bucket 'no-such-bucket' is not usable (404); check ONTOLOGY_ARCHIVE_URL "
            "(s3://no-such-bucket/cold) and the credentials."
        )
        assert await raw_events(runtime, acme.id) == original
        assert await manifests(runtime, acme.id) == []
        run = await runtime.services.runs.latest(acme.id, "archival")
        assert run is not None and (run["status"], run["error"]) == ("failed", str(raised.value))


async def test_the_batch_query_is_one_index_range(runtime: Runtime) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    query, sort = runtime.repos.events.older_than_query(acme.id, NOW)

    plan = await runtime.database.collection("events").find(query).sort(sort).explain()

    assert "events_group" in [spec.name for spec in INDEXES]
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"])
    assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"])
    assert "'indexName': 'events_group'" in str(plan["queryPlanner"]["winningPlan"])
