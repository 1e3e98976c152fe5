"""Every metrics read is an index scan on its registered index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ontology.db.queries import FindSpec
from ontology.ledger.buckets import Period
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
    things = runtime.repos.things
    pipelines = {
        # a board rebuild: the content types are an $in on things_type, after groupId and
        # deletedAt; the recount of inbound connections by type is the live range
        "things_type": ("things", things.most_inbound_pipeline(group_id, ["blog_post"], 50)),
        "things_live": ("things", things.inbound_by_type_pipeline(group_id)),
    }
    for index_name, (collection, pipeline) in pipelines.items():
        explain = await runtime.database.db.command(
            "explain", {"aggregate": collection, "pipeline": pipeline, "cursor": {}}
        )
        assert_index_scan(explain, index_name)


async def test_the_top_content_is_read_by_id_on_the_live_index(api: Api, dataset: Dataset) -> None:
    # the hot path reads the board's 10 things by id: each lookup of find_by_keys is the
    # equality (groupId, deletedAt, _id), a point on things_live
    runtime = api.runtime
    spec = FindSpec(
        {"groupId": dataset.tenant.id, "deletedAt": None, "_id": dataset.things["c1"]},
        (("_id", 1),),
        1,
        "things_live",
    )
    explain = await spec.explain(runtime.database.collection("things"))
    assert_index_scan(explain, "things_live")
