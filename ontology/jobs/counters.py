"""The weekly counter check: recounts every group's counters and reports drift.

It repairs nothing: a drift means a bug or a hand edit, which an operator
should look at before ``ontology counters check --repair`` corrects it. What it
found goes to the log (one warning per group with drift, from the service), to
``/metrics`` (``ontology_counter_drifts``, ``ontology_counter_drift_groups``) and
to the run's ``job_runs`` record.
"""

from __future__ import annotations

import logging
import time

from ontology.counters.service import GroupCheck
from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")

COUNTERS_JOB = "counters"


async def check_counters(runtime: Runtime) -> list[GroupCheck]:
    runs = runtime.services.runs
    run = await runs.start(COUNTERS_JOB, None, {})
    started = time.perf_counter()
    try:
        checked = await runtime.services.counter_check.check()
    except Exception as error:
        seconds = time.perf_counter() - started
        await runs.finish(run["_id"], {}, f"{type(error).__name__}: {error}")
        runtime.metrics.record_job_run(COUNTERS_JOB, "error", seconds)
        log.exception("job run", extra={"job": COUNTERS_JOB, "outcome": "error"})
        raise
    seconds = time.perf_counter() - started
    drifted = [c for c in checked if c.drifts]
    counts = {
        "groups": len(checked),
        "groupsWithDrift": len(drifted),
        "drifts": sum(len(c.drifts) for c in checked),
    }
    runtime.metrics.set_counter_drift(counts["groupsWithDrift"], counts["drifts"])
    await runs.finish(run["_id"], {**counts, "drifted": [c.slug for c in drifted[:100]]})
    runtime.metrics.record_job_run(COUNTERS_JOB, "ok", seconds)
    log.log(
        logging.WARNING if drifted else logging.INFO,
        "job run",
        extra={"job": COUNTERS_JOB, "outcome": "ok", "seconds": round(seconds, 3), **counts},
    )
    return checked


async def counters_on_schedule(runtime: Runtime) -> None:
    await check_counters(runtime)
