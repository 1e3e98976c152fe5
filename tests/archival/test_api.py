"""Archival through GraphQL: status, queued runs, archived events from the archive, restore."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import bson
import pytest
from botocore.exceptions import ClientError

from ontology.archival.service import VerificationError, failure_code
from ontology.archival.sinks import (
    ObjectConflictError,
    SinkAccessDeniedError,
    SinkError,
    TransientSinkError,
    _translated,
)
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.jobs.queued import run_queued
from ontology.kit.errors import RunErrorCode
from ontology.kit.ids import to_global_id
from ontology.ledger.plans import Metric
from tests.archival.support import (
    NOW,
    CorruptingFileSink,
    archival,
    days_ago,
    file_sink,
    manifests,
    raw_events,
    seed_events,
    with_archival,
)
from tests.factories import (
    GROUP_HEADER,
    Api,
    Tenant,
    assert_forbidden,
    clock_at,
    group_counts,
    make_staff_key,
    make_tenant,
    raw_count,
)

STATUS = """
{ archivalStatus { cutoff eligibleEvents archivedEvents archivedObjects
  lastRun { status eventsMoved objects error { code message } } nextRunAt } }
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
mutation($from: Date!, $to: Date!, $force: Boolean = false) {
  restoreArchivedEvents(from: $from, to: $to, force: $force) {
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

        # when restoring the range, twice, into a group stored before its oldest event
        # key was kept
        groups = runtime.database.collection("groups")
        await groups.update_one({"_id": acme.id}, {"$unset": {"oldest": ""}})
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
        # and the group's oldest event key is the oldest restored one (where a walk
        # over its events ends)
        events = runtime.database.collection("events")
        oldest = await events.find_one({"groupId": acme.id}, sort=[("sortKey", 1)])
        group = await groups.find_one({"_id": acme.id})
        assert oldest is not None and group is not None
        assert group["oldest"]["events"] == oldest["sortKey"]
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


# -- restoring past the storage limit ---------------------------------------------------------

WINDOW = {"from": "2026-02-01", "to": "2026-03-01"}


async def archived_then_limited(api: Api) -> tuple[Tenant, dict[Any, bytes], int]:
    """A starter group whose three old events were archived, then whose storage limit
    was lowered to 0 GiB; the group, its hot events and the archived events' bytes."""
    runtime = api.runtime
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    old = await seed_events(runtime, acme.id, days_ago(100.3, 100.2, 100.1))
    await seed_events(runtime, acme.id, days_ago(10))
    sizes = {
        doc["_id"]: doc["sizeBytes"]
        async for doc in runtime.database.collection("events").find({"_id": {"$in": old}})
    }
    await api.data(acme.owner, ARCHIVE, {})
    await run_queued(runtime)
    assert await runtime.services.quotas.set_limit(acme.id, Metric.STORAGE_GB, 0)
    return acme, await raw_events(runtime, acme.id), sum(sizes.values())


async def test_a_restore_past_the_storage_limit_is_refused_and_restores_nothing(
    api: Api,
) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        # given three archived events and a storage limit lowered below usage
        acme, hot, archived_bytes = await archived_then_limited(api)
        counts = await group_counts(runtime, acme.id)
        done = await manifests(runtime, acme.id)

        # when the owner restores them
        refused = await api.data(acme.owner, RESTORE, WINDOW)

        # then the restore is refused as a quota refusal and nothing is restored
        message = (
            f"Quota exceeded for storage_gb: {counts['storageBytes']} used, "
            f"{archived_bytes} requested, limit 0, 0 available."
        )
        assert refused["restoreArchivedEvents"] == {
            "restoredEvents": 0,
            "alreadyHot": 0,
            "objects": 0,
            "errors": [{"index": None, "path": "", "code": "QUOTA_EXCEEDED", "message": message}],
        }
        assert await manifests(runtime, acme.id) == done
        # the only new event is the refusal's own quota_exceeded record
        [logged] = [
            doc
            async for doc in runtime.database.collection("events").find(
                {"groupId": acme.id, "_id": {"$nin": list(hot)}}
            )
        ]
        assert logged["type"] == "quota_exceeded"
        assert await group_counts(runtime, acme.id) == {
            **counts,
            "events": counts["events"] + 1,
            "storageBytes": counts["storageBytes"] + logged["sizeBytes"],
        }
        status = await api.data(acme.user, STATUS)
        assert status["archivalStatus"]["archivedEvents"] == 3


async def test_only_a_platform_owner_may_force_a_restore_past_the_storage_limit(
    api: Api,
) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        # given three archived events and a storage limit lowered below usage
        acme, hot, archived_bytes = await archived_then_limited(api)
        staff = await make_staff_key(runtime)
        counts = await group_counts(runtime, acme.id)

        # when the owner forces the restore, then it is refused and restores nothing
        await assert_forbidden(
            api,
            acme.owner,
            RESTORE,
            {**WINDOW, "force": True},
            "restoreArchivedEvents",
            "force needs the platform_owner role; the key has org_owner.",
        )
        assert await raw_events(runtime, acme.id) == hot
        assert await group_counts(runtime, acme.id) == counts

        # when a platform_owner forces it
        body = await api.gql(
            staff, RESTORE, {**WINDOW, "force": True}, headers={GROUP_HEADER: "acme"}
        )

        # then the events are restored past the limit, with their bytes counted
        assert "errors" not in body
        assert body["data"] == {
            "restoreArchivedEvents": {
                "restoredEvents": 3,
                "alreadyHot": 0,
                "objects": 1,
                "errors": [],
            }
        }
        # (the hot ones: the 10-day-old event, and the quota_alert of the lowered limit)
        assert len(hot) == 2
        assert len(await raw_events(runtime, acme.id)) == len(hot) + 3
        assert await group_counts(runtime, acme.id) == {
            **counts,
            "events": counts["events"] + 3,
            "storageBytes": counts["storageBytes"] + archived_bytes,
        }


# -- what a failed run shows ------------------------------------------------------------------


async def test_a_failed_run_shows_a_code_and_a_fixed_message_and_logs_the_details(
    api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = api.runtime
    with clock_at(NOW):
        # given a run that fails because the archive stored other bytes than it was sent
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100))
        failing = with_archival(runtime, archival(runtime, file_sink(tmp_path, CorruptingFileSink)))
        with (
            caplog.at_level(logging.ERROR, logger="ontology.jobs"),
            pytest.raises(VerificationError) as raised,
        ):
            await run_archival(failing, group=acme.group)

        # when a key of the group reads the archival status
        status = await api.data(acme.user, STATUS)

        # then it sees a stable code and a fixed message, no path or exception text
        assert status["archivalStatus"]["lastRun"] == {
            "status": "FAILED",
            "eventsMoved": 0,
            "objects": 0,
            "error": {
                "code": "CHECKSUM_MISMATCH",
                "message": "An archive object did not match what was written; nothing was deleted.",
            },
        }
        # and the run keeps the details for operators, and the log has them with the run id
        run = await runtime.services.runs.latest(acme.id, "archival")
        assert run is not None
        details = str(raised.value)
        assert str(tmp_path) in details
        assert (run["error"], run["errorCode"]) == (details, "CHECKSUM_MISMATCH")
        assert [
            (r.getMessage(), getattr(r, "runId", None), getattr(r, "errorCode", None), r.error)
            for r in caplog.records
            if r.getMessage() == "job run failed"
        ] == [("job run failed", str(run["_id"]), "CHECKSUM_MISMATCH", details)]


async def test_a_run_recorded_before_error_codes_shows_internal(api: Api) -> None:
    # given a failed run stored with only its details (as runs were before codes)
    acme = await make_tenant(api.runtime, "acme", Plan.STARTER)
    run = await api.runtime.services.runs.start("archival", acme.id, {})
    await api.runtime.database.collection("job_runs").update_one(
        {"_id": run["_id"]},
        {
            "$set": {"status": "failed", "error": "Cannot write /srv/archive/x: [Errno 28]"},
            "$unset": {"errorCode": ""},
        },
    )

    # when a key of the group reads it
    status = await api.data(acme.user, STATUS)

    # then the details stay hidden
    assert status["archivalStatus"]["lastRun"]["error"] == {
        "code": "INTERNAL",
        "message": "The run failed; the operators have the details.",
    }


def s3_error(code: str, status: int) -> SinkError:
    """A botocore failure of a PUT as the S3 sink translates it."""
    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return _translated(ClientError(response, "PutObject"), "PUT k")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(VerificationError("x"), RunErrorCode.CHECKSUM_MISMATCH, id="verification"),
        pytest.param(ObjectConflictError("x"), RunErrorCode.OBJECT_CONFLICT, id="conflict"),
        pytest.param(SinkAccessDeniedError("x"), RunErrorCode.ARCHIVE_ACCESS_DENIED, id="denied"),
        pytest.param(
            s3_error("AccessDenied", 403), RunErrorCode.ARCHIVE_ACCESS_DENIED, id="s3-access-denied"
        ),
        pytest.param(
            s3_error("InvalidAccessKeyId", 403),
            RunErrorCode.ARCHIVE_ACCESS_DENIED,
            id="s3-bad-key",
        ),
        pytest.param(
            s3_error("SlowDown", 503), RunErrorCode.ARCHIVE_UNAVAILABLE, id="s3-throttled"
        ),
        pytest.param(TransientSinkError("x"), RunErrorCode.ARCHIVE_UNAVAILABLE, id="transient"),
        pytest.param(
            s3_error("NoSuchBucket", 404), RunErrorCode.ARCHIVE_STORE_ERROR, id="s3-no-bucket"
        ),
        pytest.param(SinkError("x"), RunErrorCode.ARCHIVE_STORE_ERROR, id="sink"),
        pytest.param(KeyError("sizeBytes"), RunErrorCode.INTERNAL, id="bug"),
    ],
)
def test_every_failure_has_its_code(error: BaseException, code: RunErrorCode) -> None:
    assert failure_code(error) is code
