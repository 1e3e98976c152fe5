"""A run over every group: one group's failure is its own, and a time budget chains runs.

The failure is real: the failing group's prefix in the local-disk archive is
blocked by a stray file where its directory should be, so writing its objects
fails with ENOTDIR (a permanent store error), as a corrupt archive tree would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bson import ObjectId

from ontology.archival.faults import FaultPoint
from ontology.archival.models import group_prefix
from ontology.config import Settings
from ontology.db.client import Document
from ontology.db.embedded import EmbeddedServer
from ontology.groups.models import Plan
from ontology.jobs.archival import next_resume, plan_groups, run_archival
from ontology.jobs.queued import run_queued
from ontology.keys.models import Role
from ontology.kit.errors import RUN_ERROR_MESSAGES, RunErrorCode
from ontology.kit.ids import to_global_id
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    archival,
    assert_exactly_once,
    days_ago,
    file_sink,
    manifests,
    raw_events,
    seed_events,
    with_archival,
)
from tests.archival.test_cli import cli
from tests.factories import Api, clock_at, make_tenant

SCHEDULED = """
{ archivalStatus { lastScheduledRun { id status groups eventsMoved complete continues
    continuedBy failedGroups { groupId slug runId error { code message } } error { code } } } }
"""
STATUS = "{ archivalStatus { lastRun { id status eventsMoved error { code message } } } }"


def metric_lines(runtime: Runtime, *names: str) -> list[str]:
    text = runtime.metrics.render().decode()
    return sorted(line for line in text.splitlines() if line.split("{")[0].split(" ")[0] in names)


async def test_a_failing_group_between_two_healthy_ones_is_recorded_and_skipped(
    api: Api, settings: Settings, mongo_server: EmbeddedServer, tmp_path: Path
) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        # given three starter groups with old events, created in this order
        first = await make_tenant(runtime, "first", Plan.STARTER)
        bad = await make_tenant(runtime, "bad", Plan.STARTER)
        last = await make_tenant(runtime, "last", Plan.STARTER)
        for tenant in (first, bad, last):
            await seed_events(runtime, tenant.id, days_ago(100.2, 100.1, 10))
        originals = {t.id: await raw_events(runtime, t.id) for t in (first, bad, last)}
        sink = file_sink(tmp_path)
        # and the middle group's prefix in the archive blocked by a stray file
        blocker = sink.root / group_prefix(bad.id).rstrip("/")
        blocker.parent.mkdir(parents=True)
        blocker.write_bytes(b"not a directory")
        rt = with_archival(runtime, archival(runtime, sink))

        # when the run over every group runs
        run, summary = await run_archival(rt)

        # then the healthy groups are archived exactly, before and after the failing one
        assert [(g.slug, g.events, g.error_code) for g in summary.groups] == [
            ("first", 2, None),
            ("bad", 0, "ARCHIVE_STORE_ERROR"),
            ("last", 2, None),
        ]
        assert await assert_exactly_once(runtime, sink, first.id, originals[first.id]) == (1, 2)
        assert await assert_exactly_once(runtime, sink, last.id, originals[last.id]) == (1, 2)
        # the failing group lost and archived nothing: its batch's manifest is pending
        # (the next run drops it), its events all hot
        assert await raw_events(runtime, bad.id) == originals[bad.id]
        assert [m["status"] for m in await manifests(runtime, bad.id)] == ["pending"]
        assert await sink.list_keys(group_prefix(bad.id)) == []
        # its own run has the code and the details; the parent ends partial, listing it
        child = await runtime.services.runs.latest(bad.id, "archival")
        assert child is not None
        assert (child["status"], child["errorCode"], child["parentRunId"]) == (
            "failed",
            "ARCHIVE_STORE_ERROR",
            run["_id"],
        )
        assert child["error"].startswith(f"Cannot write {blocker.resolve()}/date=2026-02-21/part-")
        parent = await runtime.services.runs.by_id(None, run["_id"])
        assert parent is not None
        assert (parent["status"], parent["error"], parent["errorCode"]) == ("partial", None, None)
        assert parent["failedGroups"] == [
            {"groupId": bad.id, "slug": "bad", "runId": child["_id"], "code": "ARCHIVE_STORE_ERROR"}
        ]
        assert parent["counts"] == {
            "groups": 3,
            "eventsMoved": 4,
            "objects": 2,
            "bytes": summary.object_bytes,
            "complete": True,
        }

        # and staff see it in archivalStatus, with the safe message only
        _, staff = await runtime.services.keys.create(first.id, Role.PLATFORM_OWNER)
        seen = (await api.data(staff, SCHEDULED))["archivalStatus"]["lastScheduledRun"]
        assert seen == {
            "id": str(run["_id"]),
            "status": "PARTIAL",
            "groups": 3,
            "eventsMoved": 4,
            "complete": True,
            "continues": None,
            "continuedBy": None,
            "failedGroups": [
                {
                    "groupId": to_global_id("Group", bad.id),
                    "slug": "bad",
                    "runId": str(child["_id"]),
                    "error": {
                        "code": "ARCHIVE_STORE_ERROR",
                        "message": RUN_ERROR_MESSAGES[RunErrorCode.ARCHIVE_STORE_ERROR],
                    },
                }
            ],
            "error": None,
        }
        # the failing tenant sees its own run failed, without paths; the others succeeded
        assert (await api.data(bad.user, STATUS))["archivalStatus"]["lastRun"] == {
            "id": str(child["_id"]),
            "status": "FAILED",
            "eventsMoved": 0,
            "error": {
                "code": "ARCHIVE_STORE_ERROR",
                "message": "The archive store refused an operation.",
            },
        }
        assert (await api.data(first.user, STATUS))["archivalStatus"]["lastRun"]["status"] == (
            "SUCCEEDED"
        )

        # and /metrics lists the failed group
        assert metric_lines(
            runtime,
            "ontology_archival_failed_group",
            "ontology_archival_failed_groups",
            "ontology_archival_group_failures_total",
            "ontology_job_runs_total",
        ) == [
            "ontology_archival_failed_groups 1.0",
            'ontology_archival_failed_group{code="ARCHIVE_STORE_ERROR",group="bad"} 1.0',
            'ontology_archival_group_failures_total{code="ARCHIVE_STORE_ERROR"} 1.0',
            'ontology_job_runs_total{job="archival",outcome="partial"} 1.0',
        ]
        # as every API process does at each scrape, read from job_runs (whichever process
        # ran the run: a scheduler, `ontology jobs run archival` from cron)
        runtime.metrics.set_archival_failed_groups([])
        response = await api.client.get("/metrics")
        assert response.status_code == 200
        assert "ontology_archival_failed_groups 1.0" in response.text.splitlines()
        assert (
            'ontology_archival_failed_group{code="ARCHIVE_STORE_ERROR",group="bad"} 1.0'
            in response.text.splitlines()
        )

    # and `ontology archive status` shows the run, the group and the details
    env = {
        "ONTOLOGY_MONGODB_URI": mongo_server.uri,
        "ONTOLOGY_DB_NAME": settings.db_name,
        "ONTOLOGY_ARCHIVE_URL": sink.root.as_uri(),
    }
    status = cli(env, "archive", "status", "--json")
    assert status.returncode == 0, status.stderr
    scheduled = json.loads(status.stdout)["lastScheduledRun"]
    assert (scheduled["id"], scheduled["status"], scheduled["continuedBy"]) == (
        str(run["_id"]),
        "partial",
        None,
    )
    assert scheduled["failedGroups"] == [
        {
            "group": "bad",
            "groupId": str(bad.id),
            "runId": str(child["_id"]),
            "errorCode": "ARCHIVE_STORE_ERROR",
            "error": child["error"],
        }
    ]
    text = cli({**env, "COLUMNS": "200"}, "archive", "status")
    assert f"Last run over every group: {run['_id']} partial" in text.stdout
    assert f"  failed: bad ARCHIVE_STORE_ERROR (run {child['_id']}): Cannot write" in text.stdout

    with clock_at(NOW):
        # when the blocker is removed and the next run goes over every group
        blocker.unlink()
        again, second = await run_archival(rt)

        # then the failed group is archived exactly (its stale manifest dropped), nothing
        # else moves, the run succeeds and the failed-group series are gone
        assert [(g.slug, g.events, g.dropped) for g in second.groups] == [
            ("first", 0, 0),
            ("bad", 2, 1),
            ("last", 0, 0),
        ]
        assert await assert_exactly_once(runtime, sink, bad.id, originals[bad.id]) == (1, 2)
        recorded = await runtime.services.runs.by_id(None, again["_id"])
        assert recorded is not None
        assert (recorded["status"], recorded["failedGroups"]) == ("succeeded", [])
        assert metric_lines(runtime, "ontology_archival_failed_group") == []
        assert metric_lines(runtime, "ontology_archival_failed_groups") == [
            "ontology_archival_failed_groups 0.0"
        ]


class BudgetClock:
    """The archival service's timer; a fault hook moves it past the budget."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_budget_that_ends_mid_group_is_continued_by_a_queued_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    with clock_at(NOW):
        # given three starter groups: a small one, a big one (7 old events: 4 batches of
        # at most 2) and another small one
        small = await make_tenant(runtime, "small", Plan.STARTER)
        big = await make_tenant(runtime, "big", Plan.STARTER)
        later = await make_tenant(runtime, "later", Plan.STARTER)
        await seed_events(runtime, small.id, days_ago(100.2, 100.1))
        await seed_events(runtime, big.id, days_ago(*(100 + n / 100 for n in range(7, 0, -1))))
        await seed_events(runtime, later.id, days_ago(100.3, 100.2, 100.1, 5))
        originals = {t.id: await raw_events(runtime, t.id) for t in (small, big, later)}
        clock = BudgetClock()
        big_batches = 0

        async def budget_ends_after_the_second_big_batch(
            point: FaultPoint, manifest: Document
        ) -> None:
            nonlocal big_batches
            if point is FaultPoint.AFTER_VERIFY and manifest["groupId"] == big.id:
                big_batches += 1
                if big_batches == 2:
                    clock.now += 3600  # past the run's 600 s budget

        sink = file_sink(tmp_path)
        service = archival(
            runtime,
            sink,
            batch_size=2,
            timer=clock,
            faults=budget_ends_after_the_second_big_batch,
        )
        rt = with_archival(runtime, service)

        # when the scheduled run's budget ends inside the big group
        run, summary = await run_archival(rt, max_seconds=600, chain=True)

        # then it archived the small group and two batches of the big one, never started
        # the last group, and queued the run that goes on
        assert [(g.slug, g.events, g.complete) for g in summary.groups] == [
            ("small", 2, True),
            ("big", 4, False),
        ]
        assert summary.unreached == [later.id]
        first = await runtime.services.runs.by_id(None, run["_id"])
        assert first is not None
        follow_id = first["continuedBy"]
        assert (first["status"], first["counts"]["complete"], first["failedGroups"]) == (
            "succeeded",
            False,
            [],
        )
        queued = await runtime.services.runs.by_id(None, follow_id)
        assert queued is not None
        assert queued["status"] == "queued"
        assert queued["params"] == {
            "olderThanDays": None,
            "dryRun": False,
            "maxSeconds": 600,
            "continues": run["_id"],
            "resume": {"forward": True, "after": big.id, "then": [big.id]},
        }
        assert len(await raw_events(runtime, big.id)) == 3
        assert await raw_events(runtime, later.id) == originals[later.id]

        # when the queued-runs poller picks it up
        assert await run_queued(rt) == 1

        # then it archived the group not reached first, then the rest of the big one,
        # and queued nothing more
        done = await runtime.services.runs.by_id(None, follow_id)
        assert done is not None
        assert (done["status"], done["counts"], done.get("continuedBy")) == (
            "succeeded",
            {
                "groups": 2,
                "eventsMoved": 6,
                "objects": 4,
                "bytes": done["counts"]["bytes"],
                "complete": True,
            },
            None,
        )
        children = (
            await runtime.database.collection("job_runs")
            .find({"parentRunId": follow_id})
            .sort("_id", 1)
            .to_list()
        )
        assert [(c["groupId"], c["counts"]["eventsMoved"]) for c in children] == [
            (later.id, 3),
            (big.id, 3),
        ]
        # nothing lost, nothing twice: every old event archived once, byte for byte, in the
        # objects the manifests name, and only the recent one still hot
        assert await assert_exactly_once(runtime, sink, small.id, originals[small.id]) == (0, 2)
        assert await assert_exactly_once(runtime, sink, big.id, originals[big.id]) == (0, 7)
        assert await assert_exactly_once(runtime, sink, later.id, originals[later.id]) == (1, 3)
        big_runs = [m["runId"] for m in await manifests(runtime, big.id)]
        big_child = await runtime.services.runs.latest(big.id, "archival")
        assert big_child is not None
        first_child = big_runs[0]
        assert big_runs == [first_child, first_child, big_child["_id"], big_child["_id"]]
        keys = await sink.list_keys(group_prefix(big.id))
        assert keys == sorted(m["key"] for m in await manifests(runtime, big.id))
        assert len(keys) == 4
        # and a further run finds nothing to do
        assert await run_queued(rt) == 0
        _, nothing = await run_archival(rt, max_seconds=600, chain=True)
        assert (nothing.events, nothing.complete) == (0, True)


def ids(*names: str) -> dict[str, ObjectId]:
    return {name: ObjectId(f"{n:024x}") for n, name in enumerate(names, start=1)}


def test_a_chain_goes_on_with_the_groups_not_reached_then_the_unfinished_ones() -> None:
    from ontology.archival.models import GroupArchiveResult, RunSummary

    g = ids("a", "b", "c", "d", "e")
    groups: list[dict[str, Any]] = [{"_id": i, "slug": s} for s, i in g.items()]

    def after_run(plan: list[dict[str, Any]], reached: int, resume: Any) -> dict[str, Any]:
        """The budget ended inside the ``reached``-th group of the plan."""
        summary = RunSummary()
        for n, group in enumerate(plan[:reached]):
            result = GroupArchiveResult(group["_id"], group["slug"], None)
            result.complete = n < reached - 1
            summary.groups.append(result)
        summary.unreached = [group["_id"] for group in plan[reached:]]
        return next_resume(plan, resume, summary)

    # a fresh run takes every group; its budget ends inside b
    plan = plan_groups(groups, None)
    assert [p["slug"] for p in plan] == ["a", "b", "c", "d", "e"]
    resume = after_run(plan, 2, None)
    assert resume == {"forward": True, "after": g["b"], "then": [g["b"]]}
    # the next goes on with c, d, e, then b; its budget ends inside d
    plan = plan_groups(groups, resume)
    assert [p["slug"] for p in plan] == ["c", "d", "e", "b"]
    resume = after_run(plan, 2, resume)
    assert resume == {"forward": True, "after": g["d"], "then": [g["b"], g["d"]]}
    # the next: e, then b, then d; its budget ends inside b
    plan = plan_groups(groups, resume)
    assert [p["slug"] for p in plan] == ["e", "b", "d"]
    resume = after_run(plan, 2, resume)
    assert resume == {"forward": False, "after": g["d"], "then": [g["d"], g["b"]]}
    # the next: d (never starved by b), then b
    plan = plan_groups(groups, resume)
    assert [p["slug"] for p in plan] == ["d", "b"]
    # a group deleted meanwhile is skipped
    assert [p["slug"] for p in plan_groups(groups[:3], resume)] == ["b"]
