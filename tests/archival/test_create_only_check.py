"""Before archiving, the S3 sink proves that the store refuses a second create-only write.

A store that ignores ``If-None-Match: *`` is played by moto behind a proxy that drops
that header (as a store that does not know it would): every write then succeeds and
would replace what is there, so the sink refuses to archive to it.
"""

from __future__ import annotations

import pytest

from ontology.archival.sinks import PROBE_BODY, PROBE_KEY, SinkError, s3_client
from ontology.groups.models import Plan
from ontology.jobs.archival import run_archival
from ontology.runtime import Runtime
from tests.archival.support import (
    NOW,
    archival,
    days_ago,
    manifests,
    raw_events,
    s3_settings,
    s3_sink,
    seed_events,
    with_archival,
)
from tests.archival.throttling_proxy import throttling_proxy
from tests.factories import clock_at, make_tenant

IGNORES_CONDITIONS = frozenset({"if-none-match"})


def stored_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    client = s3_client(s3_settings(endpoint))
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


async def test_a_store_that_honours_if_none_match_passes_and_the_probe_stays_out_of_listings(
    s3_endpoint: str, bucket: str
) -> None:
    sink = s3_sink(s3_endpoint, bucket)

    await sink.check()
    await sink.check()  # the probe exists already: both writes are refused

    assert stored_objects(s3_endpoint, bucket) == {f"cold/{PROBE_KEY}": PROBE_BODY}
    assert await sink.list_keys("") == []
    assert await sink.put_if_absent("g/2026/a.jsonl.gz", b"x", _sha("x")) is True
    assert await sink.list_keys("") == ["g/2026/a.jsonl.gz"]


async def test_a_store_that_ignores_if_none_match_is_refused(s3_endpoint: str, bucket: str) -> None:
    with throttling_proxy(s3_endpoint, drop_headers=IGNORES_CONDITIONS) as (proxy, _):
        sink = s3_sink(proxy, bucket)

        with pytest.raises(SinkError) as raised:
            await sink.check()

    assert type(raised.value) is SinkError  # permanent: not retried
    assert str(raised.value) == (
        f"Archive store s3://{bucket}/cold overwrote 'cold/.create-only-probe' although the "
        "write carried If-None-Match: * (expected 412 Precondition Failed); it would "
        "silently replace archived objects, so nothing is archived there. Use an S3 store "
        "that honours conditional writes."
    )


async def test_a_store_that_ignores_if_none_match_fails_the_run_before_anything_moves(
    runtime: Runtime, s3_endpoint: str, bucket: str
) -> None:
    with (
        clock_at(NOW),
        throttling_proxy(s3_endpoint, drop_headers=IGNORES_CONDITIONS) as (
            proxy,
            _,
        ),
    ):
        acme = await make_tenant(runtime, "acme", Plan.STARTER)
        await seed_events(runtime, acme.id, days_ago(100))
        original = await raw_events(runtime, acme.id)
        rt = with_archival(runtime, archival(runtime, s3_sink(proxy, bucket)))

        with pytest.raises(SinkError) as raised:
            await run_archival(rt, group=acme.group)

    assert str(raised.value).startswith(f"Archive store s3://{bucket}/cold overwrote ")
    assert await raw_events(runtime, acme.id) == original
    assert await manifests(runtime, acme.id) == []
    assert stored_objects(s3_endpoint, bucket) == {f"cold/{PROBE_KEY}": PROBE_BODY}
    run = await runtime.services.runs.latest(acme.id, "archival")
    assert run is not None and (run["status"], run["error"]) == ("failed", str(raised.value))


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
