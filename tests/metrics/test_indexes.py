"""Every metrics read is an index scan on its registered index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ontology.metrics.buckets import Period
from tests.db.test_indexes import assert_index_scan
from tests.factories import Api
from tests.metrics.support import NOW, Dataset


async def test_counter_and_snapshot_reads_are_index_scans(api: Api, dataset: Dataset) -> None:
    runtime = api.runtime
    await runtime.services.metrics.roll_up(NOW, datetime(2031, 11, 9, tzinfo=UTC))
    group_id = dataset.tenant.id
    specs = {
        "counters_key": (
            "counters",
            runtime.repos.counters.buckets_spec(
                group_id, Period.MINUTE, NOW - timedelta(hours=1), NOW
            ),
        ),
        "metric_snapshots_key": (
            "metric_snapshots",
            runtime.repos.snapshots.range_spec(group_id, "hour", NOW - timedelta(days=7), NOW),
        ),
    }
    for index_name, (collection, spec) in specs.items():
        explain = await spec.explain(runtime.database.collection(collection))
        assert_index_scan(explain, index_name)


async def test_engagement_is_an_index_scan(api: Api, dataset: Dataset) -> None:
    runtime = api.runtime
    group_id = dataset.tenant.id
    pipelines = {
        # the content types are an $in on things_type, after groupId and deletedAt
        "things": runtime.repos.things.engagement_pipeline(group_id, ["blog_post", "course"], 10),
    }
    for collection, pipeline in pipelines.items():
        explain = await runtime.database.db.command(
            "explain", {"aggregate": collection, "pipeline": pipeline, "cursor": {}}
        )
        assert_index_scan(explain, {"things": "things_type"}[collection])
