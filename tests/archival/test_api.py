"""Archival through GraphQL: status, queued runs, archived events from the archive, restore."""

from __future__ import annotations

import bson

from ontology.groups.models import Plan
from ontology.jobs.archival import run_queued
from ontology.kit.ids import to_global_id
from tests.archival.support import NOW, days_ago, raw_events, seed_events
from tests.factories import (
    Api,
    assert_forbidden,
    clock_at,
    group_counts,
    make_tenant,
    raw_count,
)

STATUS = """
{ archivalStatus { cutoff eligibleEvents archivedEvents archivedObjects
  lastRun { status eventsMoved objects error } nextRunAt } }
"""
ARCHIVE = """
mutation($days: Int) { archiveGroupEvents(olderThanDays: $days) {
  run { id status } errors { index path code message } } }
"""
ARCHIVED = """
query($from: Date!, $to: Date!, $type: String, $first: Int = 20, $after: String) {
  archivedEvents(from: $from, to: $to, type: $type, first: $first, after: $after) {
    edges { node { id type timestamp metadata } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""
RESTORE = """
mutation($from: Date!, $to: Date!) { restoreArchivedEvents(from: $from, to: $to) {
  restoredEvents alreadyHot objects errors { index path code message } } }
"""


async def test_queue_archive_read_and_restore_through_the_api(api: Api) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        # given a starter group with three events 100 days old and one 10 days old
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        other = await make_tenant(runtime, "other", Plan.STARTER)
        old = await seed_events(runtime, acme.id, days_ago(100.3, 100.2, 100.1))
        await seed_events(runtime, acme.id, days_ago(10))
        original = await raw_events(runtime, acme.id)
        counts_before = await group_counts(runtime, acme.id)

        before = await api.data(acme.user, STATUS)
        assert before["archivalStatus"] == {
            "cutoff": "2026-03-03T12:00:00+00:00",
            "eligibleEvents": 3,
            "archivedEvents": 0,
            "archivedObjects": 0,
            "lastRun": None,
            "nextRunAt": "2026-06-02T02:00:00+00:00",
        }

        # when an org_user tries to queue a run, then it is refused
        await assert_forbidden(
            api,
            acme.user,
            ARCHIVE,
            {},
            "archiveGroupEvents",
            "This operation needs the org_owner role; the key has org_user.",
        )
        # when the owner queues one and the scheduler's poller picks it up
        queued = await api.data(acme.owner, ARCHIVE, {})
        assert queued["archiveGroupEvents"]["run"]["status"] == "QUEUED"
        assert queued["archiveGroupEvents"]["errors"] == []
        await run_queued(runtime)

        # then the three old events are archived
        after = await api.data(acme.user, STATUS)
        assert after["archivalStatus"] | {"nextRunAt": None, "cutoff": None} == {
            "cutoff": None,
            "eligibleEvents": 0,
            "archivedEvents": 3,
            "archivedObjects": 1,
            "lastRun": {"status": "SUCCEEDED", "eventsMoved": 3, "objects": 1, "error": None},
            "nextRunAt": None,
        }
        # and read back from the archive, oldest first, page by page
        window = {"from": "2026-02-01", "to": "2026-03-01"}
        first = await api.data(acme.user, ARCHIVED, {**window, "first": 2})
        page = first["archivedEvents"]
        assert [e["node"]["id"] for e in page["edges"]] == [
            to_global_id("Event", i) for i in old[:2]
        ]
        assert page["pageInfo"]["hasNextPage"] is True
        assert page["edges"][0]["node"]["metadata"]["big"] == 2**40
        rest = await api.data(
            acme.user, ARCHIVED, {**window, "first": 2, "after": page["pageInfo"]["endCursor"]}
        )
        assert [e["node"]["id"] for e in rest["archivedEvents"]["edges"]] == [
            to_global_id("Event", old[2])
        ]
        assert rest["archivedEvents"]["pageInfo"]["hasNextPage"] is False
        payments = await api.data(acme.user, ARCHIVED, {**window, "type": "payment_processed"})
        assert [e["node"]["id"] for e in payments["archivedEvents"]["edges"]] == [
            to_global_id("Event", old[0])
        ]
        # another tenant sees none of it
        foreign = await api.data(other.owner, ARCHIVED, window)
        assert foreign["archivedEvents"]["edges"] == []
        nothing = await api.data(other.owner, RESTORE, window)
        assert nothing["restoreArchivedEvents"]["restoredEvents"] == 0

        # when restoring the range, twice
        restored = await api.data(acme.owner, RESTORE, window)
        again = await api.data(acme.owner, RESTORE, window)

        # then the events are back byte for byte, once, with their counters
        assert restored["restoreArchivedEvents"] == {
            "restoredEvents": 3,
            "alreadyHot": 0,
            "objects": 1,
            "errors": [],
        }
        assert again["restoreArchivedEvents"] == {
            "restoredEvents": 0,
            "alreadyHot": 0,
            "objects": 0,
            "errors": [],
        }
        assert await raw_events(runtime, acme.id) == original
        assert await group_counts(runtime, acme.id) == counts_before
        status = await api.data(acme.user, STATUS)
        assert status["archivalStatus"]["archivedEvents"] == 0
        assert (await api.data(acme.user, ARCHIVED, window))["archivedEvents"]["edges"] == []


async def test_restore_skips_events_that_are_hot_already(api: Api) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100.2, 100.1))
        original = await raw_events(runtime, acme.id)
        await api.data(acme.owner, ARCHIVE, {})
        await run_queued(runtime)
        # given one of the archived events was put back by hand (same document)
        first_id = next(iter(original))
        await runtime.database.collection("events").insert_one(bson.decode(original[first_id]))

        result = await api.data(acme.owner, RESTORE, {"from": "2026-02-21", "to": "2026-02-21"})

        assert result["restoreArchivedEvents"] == {
            "restoredEvents": 1,
            "alreadyHot": 1,
            "objects": 1,
            "errors": [],
        }
        assert await raw_events(runtime, acme.id) == original


async def test_invalid_arguments(api: Api) -> None:
    acme = await make_tenant(api.runtime, "acme", Plan.STARTER)
    negative = await api.data(acme.owner, ARCHIVE, {"days": -1})
    huge = await api.data(acme.owner, ARCHIVE, {"days": 2_147_483_647})
    backwards = await api.data(acme.owner, RESTORE, {"from": "2026-02-02", "to": "2026-02-01"})
    for refused in (negative, huge):
        assert refused["archiveGroupEvents"] == {
            "run": None,
            "errors": [
                {
                    "index": None,
                    "path": "olderThanDays",
                    "code": "INVALID_INPUT",
                    "message": "Must be from 0 to 36,500 days.",
                }
            ],
        }
    assert await raw_count(api.runtime, "job_runs", {}) == 0
    assert backwards["restoreArchivedEvents"]["errors"] == [
        {
            "index": None,
            "path": "to",
            "code": "INVALID_RANGE",
            "message": "to must not be before from.",
        }
    ]
