"""A batch's delete takes exactly the manifest's ids, whatever happened to its range meanwhile.

The commit deletes a batch's sortKey range in one statement only after reading,
in the same transaction, that the range holds exactly the batch's ids; a
back-dated event that landed in the range since (or an id already gone) makes
it delete id by id instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.archival.faults import FaultPoint
from ontology.archival.models import ManifestStatus
from ontology.db.client import Document
from ontology.db.cost import track_cost
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    Crash,
    CrashAt,
    archival,
    assert_exactly_once,
    days_ago,
    file_sink,
    manifests,
    raw_events,
    seed_events,
    with_archival,
)
from tests.factories import clock_at, make_tenant


async def delete_run(runtime: Runtime, group_id: ObjectId, ids: list[ObjectId]) -> int:
    """``delete_run`` of ``ids`` in a transaction, with the sortKeys of the first and last."""
    events = runtime.database.collection("events")
    first, last = [(await events.find_one({"_id": i}))["sortKey"] for i in (ids[0], ids[-1])]

    async def work(session: AsyncClientSession) -> int:
        return await runtime.repos.events.delete_run(group_id, ids, first, last, session)

    deleted: int = await runtime.database.in_transaction(work)
    return deleted


async def test_a_run_of_events_is_deleted_and_nothing_around_it(runtime: Runtime) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    other = await make_tenant(runtime, "other", Plan.STARTER)
    ids = await seed_events(runtime, acme.id, days_ago(100, 99, 98, 97, 96))
    theirs = await seed_events(runtime, other.id, days_ago(99, 98))

    # when deleting the middle three (a contiguous run in sortKey order)
    deleted = await delete_run(runtime, acme.id, ids[1:4])

    # then exactly those are gone; the events around them and the other group's stay
    assert deleted == 3
    assert set(await raw_events(runtime, acme.id)) == {ids[0], ids[4]}
    assert set(await raw_events(runtime, other.id)) == set(theirs)


async def test_an_event_back_dated_into_the_range_is_not_deleted(runtime: Runtime) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    ids = await seed_events(runtime, acme.id, days_ago(100, 99, 98))
    # given an event written after the batch was read, with a time inside its range
    late = await seed_events(runtime, acme.id, days_ago(99.5))

    # when deleting the batch's run
    deleted = await delete_run(runtime, acme.id, ids)

    # then the batch's ids are deleted and the back-dated event is still there
    assert deleted == 3
    assert set(await raw_events(runtime, acme.id)) == set(late)


async def test_ids_already_gone_are_reported_and_nothing_else_is_deleted(
    runtime: Runtime,
) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    ids = await seed_events(runtime, acme.id, days_ago(100, 99, 98, 97))
    # given one of the batch's events was deleted since (by a concurrent run)
    await runtime.database.collection("events").delete_one({"_id": ids[1]})

    # when deleting the batch's run, then only the two still there go (the caller sees
    # 2 of 3 and aborts the transaction), and the event after the range stays
    assert await delete_run(runtime, acme.id, ids[:3]) == 2
    assert set(await raw_events(runtime, acme.id)) == {ids[3]}


async def test_a_back_dated_event_written_during_an_upload_stays_hot_then_is_archived(
    runtime: Runtime, tmp_path: Path
) -> None:
    with clock_at(NOW):
        sink = file_sink(tmp_path)
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100.5, 100.4, 100.3))
        before = await raw_events(runtime, acme.id)
        late: list[ObjectId] = []

        async def back_date(point: FaultPoint, manifest: Document) -> None:
            # a client records an event with a time inside the batch being uploaded
            if point is FaultPoint.AFTER_UPLOAD and not late:
                late.extend(await seed_events(runtime, acme.id, days_ago(100.45)))

        rt = with_archival(runtime, archival(runtime, sink, batch_size=3, faults=back_date))

        # when archiving while that happens
        _, first = await run_archival(rt, group=acme.group)

        # then the batch's three events are archived and the late one is still hot
        original = {**before, **await raw_events(runtime, acme.id)}
        assert (first.events, first.objects) == (3, 1)
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (1, 3)
        assert list(await raw_events(runtime, acme.id)) == late

        # and the next run archives it too: nothing lost, nothing twice
        _, second = await run_archival(rt, group=acme.group)
        assert (second.events, second.objects) == (1, 1)
        stored = await manifests(runtime, acme.id)
        assert [m["status"] for m in stored] == [ManifestStatus.DONE.value] * 2
        assert stored[1]["ids"] == late
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 4)


async def test_a_pending_manifest_without_sort_keys_is_finished_id_by_id(
    runtime: Runtime, tmp_path: Path
) -> None:
    with clock_at(NOW):
        sink = file_sink(tmp_path)
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100.5, 100.4, 100.3, 100.2))
        original = await raw_events(runtime, acme.id)

        crashing = with_archival(
            runtime,
            archival(
                runtime, sink, batch_size=3, faults=CrashAt(FaultPoint.AFTER_UPLOAD, on_batch=1)
            ),
        )
        with pytest.raises(Crash):
            await run_archival(crashing, group=acme.group)
        # given the pending manifest a crashed run of an earlier version left (no sort keys)
        await runtime.database.collection("archive_manifests").update_many(
            {"groupId": acme.id}, {"$unset": {"firstSortKey": "", "lastSortKey": ""}}
        )

        # when running again
        rt = with_archival(runtime, archival(runtime, sink, batch_size=3))
        _, summary = await run_archival(rt, group=acme.group)

        # then that manifest is finished (its ids deleted one by one) and the rest archived
        assert (summary.groups[0].resumed, summary.events, summary.objects) == (1, 4, 2)
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 4)


async def test_a_run_longer_than_the_write_chunk_is_deleted_in_bounded_commands(
    runtime: Runtime,
) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    ids = await seed_events(runtime, acme.id, days_ago(100, 99, 98, 97, 96, 95, 94, 93))
    # given deletes of at most 3 events a command
    runtime.repos.events.chunk = 3

    # when deleting a run of 7 of the 8 events
    with track_cost() as cost:
        deleted = await delete_run(runtime, acme.id, ids[:7])

    # then (after the helper's two reads of the ends' sortKeys) one read of the range and
    # 3 range deletes (3 + 3 + 1 events) went in the one transaction, and exactly the run
    # is gone
    assert cost.command_names == [
        *("find", "find"),
        "find",
        *("delete", "delete", "delete"),
        "commitTransaction",
    ]
    assert deleted == 7
    assert set(await raw_events(runtime, acme.id)) == {ids[7]}
