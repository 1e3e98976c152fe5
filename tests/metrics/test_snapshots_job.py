"""The snapshot roll-up as a scheduled job: recorded in job_runs and /metrics, in the job table."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from ontology.jobs.scheduler import job_specs
from ontology.jobs.snapshots import SNAPSHOTS_JOB, roll_up_snapshots
from tests.api.test_metrics import picked, scrape
from tests.factories import Api, SettableClock
from tests.metrics.support import NOW, Dataset


async def test_a_roll_up_is_recorded_as_a_run_and_in_the_metrics(
    api: Api, dataset: Dataset, clock: SettableClock
) -> None:
    # when the job runs twice at 10:30 on Nov 18 (default: from the start of Nov 17)
    first, summary = await roll_up_snapshots(api.runtime)
    second, _ = await roll_up_snapshots(api.runtime)

    # then each run is recorded with what it did: acme's 09:00 hour, no closed day with events
    runs = api.runtime.database.collection("job_runs")
    stored = [doc async for doc in runs.find({"job": SNAPSHOTS_JOB}, sort=[("_id", 1)])]
    assert [doc["_id"] for doc in stored] == [first["_id"], second["_id"]]
    assert [(doc["status"], doc["counts"], doc["error"]) for doc in stored] == [
        ("succeeded", {"groups": 2, "hourlySnapshots": 1, "dailySnapshots": 0}, None)
    ] * 2
    assert (summary.groups, summary.hourly, summary.daily) == (2, 1, 0)
    assert [doc["finishedAt"] for doc in stored] == [NOW, NOW]
    # and /metrics counts two successful runs of the job
    samples = await scrape(api)
    assert picked(samples, "ontology_job_runs_total") == {
        "ontology_job_runs_total{job=snapshots,outcome=ok}": 2.0
    }


def test_the_roll_up_runs_hourly_and_is_caught_up_after_a_takeover(api: Api) -> None:
    (spec,) = [s for s in job_specs(api.runtime.settings) if s.id == SNAPSHOTS_JOB]
    assert spec.catch_up is True
    assert isinstance(spec.trigger, CronTrigger)
    assert str(spec.trigger) == "cron[minute='5']"  # every hour at :05
