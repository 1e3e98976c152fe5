"""Throttling (S3 503 SlowDown) is retried with growing waits; a permanent error stops cleanly."""

from __future__ import annotations

import pytest

from ontology.archival.sinks import SinkError
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.kit.retry import Backoff
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    archival,
    assert_exactly_once,
    days_ago,
    manifests,
    raw_events,
    s3_sink,
    seed_events,
    with_archival,
)
from tests.archival.throttling_proxy import ACCESS_DENIED, throttling_proxy
from tests.factories import clock_at, make_tenant


class RecordedSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_slow_down_responses_are_retried_with_growing_waits(
    runtime: Runtime, s3_endpoint: str, bucket: str
) -> None:
    with clock_at(NOW), throttling_proxy(s3_endpoint) as (proxy, faults):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100.3, 100.2, 100.1))
        original = await raw_events(runtime, acme.id)
        sleep = RecordedSleep()
        backoff = Backoff(base_seconds=0.5, cap_seconds=60, retries=10, sleep=sleep)
        sink = s3_sink(proxy, bucket)
        rt = with_archival(runtime, archival(runtime, sink, backoff=backoff))
        # given S3 answers the next five uploads with 503 SlowDown
        faults.arm("PUT", 5)

        # when archiving
        _, summary = await run_archival(rt, group=acme.group)

        # then each was retried after a longer wait, capped, and the run completed
        assert faults.injected == 5
        assert len(sleep.waits) == 5
        assert sleep.waits == sorted(sleep.waits)
        for attempt, wait in enumerate(sleep.waits):
            ceiling = min(60, 0.5 * 2**attempt)
            assert ceiling / 2 <= wait <= ceiling
        assert (summary.events, summary.objects) == (3, 1)
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 3)


async def test_retries_stop_at_the_limit_and_leave_events_hot(
    runtime: Runtime, s3_endpoint: str, bucket: str
) -> None:
    with clock_at(NOW), throttling_proxy(s3_endpoint) as (proxy, faults):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100))
        original = await raw_events(runtime, acme.id)
        sleep = RecordedSleep()
        backoff = Backoff(base_seconds=0.5, cap_seconds=60, retries=10, sleep=sleep)
        sink = s3_sink(proxy, bucket)
        rt = with_archival(runtime, archival(runtime, sink, backoff=backoff))
        faults.arm("PUT", 100)

        with pytest.raises(SinkError, match="SlowDown"):
            await run_archival(rt, group=acme.group)

        assert faults.injected == 11
        assert len(sleep.waits) == 10
        assert max(sleep.waits) <= 60 and sleep.waits[-1] >= 30
        assert await raw_events(runtime, acme.id) == original
        assert [m["status"] for m in await manifests(runtime, acme.id)] == ["pending"]
        run = await runtime.services.runs.latest(acme.id, "archival")
        assert run is not None and run["status"] == "failed"
        assert "SlowDown" in run["error"]


async def test_a_permanent_error_stops_the_run_at_once(
    runtime: Runtime, s3_endpoint: str, bucket: str
) -> None:
    with clock_at(NOW), throttling_proxy(s3_endpoint) as (proxy, faults):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100))
        original = await raw_events(runtime, acme.id)
        sleep = RecordedSleep()
        sink = s3_sink(proxy, bucket)
        rt = with_archival(runtime, archival(runtime, sink, backoff=Backoff(sleep=sleep)))
        faults.arm("PUT", 1, status=403, body=ACCESS_DENIED)

        with pytest.raises(SinkError) as raised:
            await run_archival(rt, group=acme.group)

        assert str(raised.value).startswith("S3 PUT events/group=")
        assert "AccessDenied" in str(raised.value)
        assert (faults.injected, sleep.waits) == (1, [])
        assert await raw_events(runtime, acme.id) == original
        run = await runtime.services.runs.latest(acme.id, "archival")
        assert run is not None and (run["status"], run["error"]) == ("failed", str(raised.value))
        # a later run finishes the job
        _, summary = await run_archival(rt, group=acme.group)
        assert summary.events == 1
        assert await assert_exactly_once(runtime, sink, acme.id, original) == (0, 1)
