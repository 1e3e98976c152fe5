"""A crash at every step of a batch, then a re-run: each event hot or archived, once.

Crashes are injected at the service's named fault points, by sinks that die
mid-upload or store other bytes than they were given (real sinks, subclassed),
and by MongoDB's ``failCommand`` on the delete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from ontology.archival.faults import FaultPoint
from ontology.archival.service import VerificationError
from ontology.archival.sinks import FileSink, S3Sink, Sink
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    CorruptingFileSink,
    CorruptingS3Sink,
    Crash,
    CrashAt,
    CrashingUploadFileSink,
    CrashingUploadS3Sink,
    archival,
    assert_exactly_once,
    days_ago,
    file_sink,
    manifests,
    raw_events,
    s3_sink,
    seed_events,
    sink_keys,
    with_archival,
)
from tests.factories import clock_at, make_tenant

OLD = days_ago(100.5, 100.4, 100.3, 100.2, 100.1, 100.05, 100.01)  # one day, 7 events
RECENT = days_ago(5, 1)


def make_sink(kind: str, tmp_path: Path, request: pytest.FixtureRequest, cls: Any = None) -> Sink:
    if kind == "file":
        return file_sink(tmp_path, cls or FileSink)
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_sink(endpoint, request.getfixturevalue("bucket"), cls=cls or S3Sink)


async def crash_then_rerun(
    runtime: Runtime, crashing: Runtime, clean: Sink, expected_error: type[Exception]
) -> None:
    acme = await make_tenant(runtime, "acme", Plan.STARTER)
    await seed_events(runtime, acme.id, OLD)
    await seed_events(runtime, acme.id, RECENT)
    original = await raw_events(runtime, acme.id)

    # when a run (3 events per object) crashes on its second batch
    with pytest.raises(expected_error):
        await run_archival(crashing, group=acme.group)
    # then every event is hot or archived, once, already
    hot_after_crash, _ = await assert_exactly_once(runtime, clean, acme.id, original)
    assert hot_after_crash >= len(RECENT) + 4
    before = await sink_keys(clean)

    # when running again without faults
    rerun = with_archival(runtime, archival(runtime, clean, batch_size=3))
    _, summary = await run_archival(rerun, group=acme.group)

    # then all old events are archived exactly once, recent ones stay hot, no object
    # was overwritten, and no manifest is left pending
    assert await assert_exactly_once(runtime, clean, acme.id, original) == (len(RECENT), len(OLD))
    after = await sink_keys(clean)
    assert {key: after[key] for key in before} == before
    assert [m["status"] for m in await manifests(runtime, acme.id)] == ["done"] * len(
        [m for m in await manifests(runtime, acme.id)]
    )
    assert summary.complete

    # and a further run does nothing
    _, again = await run_archival(rerun, group=acme.group)
    assert (again.events, again.objects) == (0, 0)
    assert await sink_keys(clean) == after


@pytest.mark.parametrize("kind", ["file", "s3"])
@pytest.mark.parametrize("point", list(FaultPoint))
async def test_a_crash_at_a_step_then_a_rerun(
    runtime: Runtime, tmp_path: Path, request: pytest.FixtureRequest, kind: str, point: str
) -> None:
    with clock_at(NOW):
        sink = make_sink(kind, tmp_path, request)
        crashing = with_archival(
            runtime, archival(runtime, sink, batch_size=3, faults=CrashAt(point))
        )
        await crash_then_rerun(runtime, crashing, sink, Crash)


@pytest.mark.parametrize("kind", ["file", "s3"])
@pytest.mark.parametrize(
    ("case", "error"), [("mid-upload", Crash), ("checksum mismatch", VerificationError)]
)
async def test_a_broken_upload_then_a_rerun(
    runtime: Runtime,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    kind: str,
    case: str,
    error: type[Exception],
) -> None:
    with clock_at(NOW):
        clean = make_sink(kind, tmp_path, request)
        broken_class: dict[tuple[str, str], type[Any]] = {
            ("file", "mid-upload"): CrashingUploadFileSink,
            ("file", "checksum mismatch"): CorruptingFileSink,
            ("s3", "mid-upload"): CrashingUploadS3Sink,
            ("s3", "checksum mismatch"): CorruptingS3Sink,
        }
        broken = broken_class[kind, case]
        if kind == "file":
            assert isinstance(clean, FileSink)
            faulty: Sink = broken(clean.root)
        else:
            assert isinstance(clean, S3Sink)
            faulty = broken(clean.client, clean.bucket, clean.prefix, clean.url)
        crashing = with_archival(runtime, archival(runtime, faulty, batch_size=3))
        await crash_then_rerun(runtime, crashing, clean, error)


async def fail_deletes(runtime: Runtime, times: int, **data: Any) -> None:
    await runtime.database.client.admin.command(
        {
            "configureFailPoint": "failCommand",
            "mode": {"times": times},
            "data": {"failCommands": ["delete"], **data},
        }
    )


async def test_a_failing_delete_command_then_a_rerun(runtime: Runtime, tmp_path: Path) -> None:
    with clock_at(NOW):
        sink = file_sink(tmp_path)
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, OLD)
        original = await raw_events(runtime, acme.id)
        rt = with_archival(runtime, archival(runtime, sink, batch_size=3))
        # given the server refuses the next delete with a permanent error
        await fail_deletes(runtime, 1, errorCode=2)
        try:
            # when running, then the run stops with that error; nothing is lost
            with pytest.raises(OperationFailure):
                await run_archival(rt, group=acme.group)
        finally:
            await runtime.database.client.admin.command(
                {"configureFailPoint": "failCommand", "mode": "off"}
            )
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (7, 0)
        assert [m["status"] for m in await manifests(runtime, acme.id)] == ["pending"]

        # when running again, then the pending manifest is finished and the rest archived
        _, summary = await run_archival(rt, group=acme.group)
        assert (summary.groups[0].resumed, summary.events) == (1, 7)
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 7)


async def test_transient_delete_failures_are_retried_in_the_same_run(
    runtime: Runtime, tmp_path: Path
) -> None:
    with clock_at(NOW):
        sink = file_sink(tmp_path)
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, OLD)
        original = await raw_events(runtime, acme.id)
        rt = with_archival(runtime, archival(runtime, sink, batch_size=3))
        # given the next three deletes fail with a transient (write conflict) error
        await fail_deletes(runtime, 3, errorCode=112, errorLabels=["TransientTransactionError"])
        try:
            _, summary = await run_archival(rt, group=acme.group)
        finally:
            await runtime.database.client.admin.command(
                {"configureFailPoint": "failCommand", "mode": "off"}
            )
        assert (summary.events, summary.objects) == (7, 3)
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 7)
