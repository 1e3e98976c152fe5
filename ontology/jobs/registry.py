"""The one table of jobs, declared beside their functions, and the recording of a run.

A job is a function decorated with ``@job(...)`` in its module under
``ontology/jobs/``: its id, its trigger, whether a missed cron fire is caught
up after a scheduler takeover, and how a run's result reads on one line. The
scheduler (``ontology.jobs.scheduler``), ``ontology jobs run <id>`` and the
queued-runs poller all read ``registered()``; adding a job is writing its
function and decorating it (and, for operators who schedule jobs outside the
API process, a unit in the repository's ``jobs/`` folder; a test checks both).

``recorded_run`` records one run: the ``job_runs`` document, its timing, the
Prometheus series and the log line.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.base import BaseTrigger
from bson import ObjectId

from ontology.config import Settings
from ontology.db.client import Document
from ontology.runs.service import RunStatus

if TYPE_CHECKING:
    from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")

HOURS = 3600

# The modules whose ``@job`` declarations make up the table (imported on first use).
JOB_MODULES = (
    "ontology.jobs.archival",
    "ontology.jobs.snapshots",
    "ontology.jobs.queued",
    "ontology.jobs.counters",
    "ontology.jobs.webhooks",
)

JobReport = dict[str, Any]
"""What one run did, as JSON (``ontology jobs run <id> --json``); ``status`` ``partial``
makes the command exit 1."""


@dataclass(frozen=True)
class Job:
    id: str
    # the schedule, from the settings (e.g. the archival cron is a setting)
    trigger: Callable[[Settings], BaseTrigger]
    # one run, now: what the scheduler calls and ``ontology jobs run`` prints
    run: Callable[[Runtime, Mapping[str, Any]], Awaitable[JobReport]]
    # the one line ``ontology jobs run`` prints for a report
    describe: Callable[[JobReport], str]
    help: str
    # Cron jobs recorded in job_runs under ``id`` are caught up after a takeover.
    catch_up: bool = False
    misfire_grace_seconds: int | None = 6 * HOURS
    # runs a queued run of this job (``job_runs`` status ``queued``), if it can be queued
    resume: Callable[[Runtime, Document], Awaitable[object]] | None = None


JOBS: dict[str, Job] = {}


def job(
    id: str,
    *,
    trigger: Callable[[Settings], BaseTrigger],
    describe: Callable[[JobReport], str],
    catch_up: bool = False,
    misfire_grace_seconds: int | None = 6 * HOURS,
    resume: Callable[[Runtime, Document], Awaitable[object]] | None = None,
) -> Callable[
    [Callable[[Runtime, Mapping[str, Any]], Awaitable[JobReport]]],
    Callable[[Runtime, Mapping[str, Any]], Awaitable[JobReport]],
]:
    """Declare the decorated function as the job ``id`` (its docstring is its help)."""

    def register(
        run: Callable[[Runtime, Mapping[str, Any]], Awaitable[JobReport]],
    ) -> Callable[[Runtime, Mapping[str, Any]], Awaitable[JobReport]]:
        if id in JOBS:
            raise ValueError(f"Job {id!r} is declared twice.")
        JOBS[id] = Job(
            id,
            trigger,
            run,
            describe,
            help=(run.__doc__ or "").strip().split("\n\n")[0],
            catch_up=catch_up,
            misfire_grace_seconds=misfire_grace_seconds,
            resume=resume,
        )
        return run

    return register


def registered() -> list[Job]:
    """Every job, in declaration order."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return list(JOBS.values())


@dataclass
class RecordedRun:
    """A run in progress: set ``counts`` (and ``status``/``fields`` when it is not a plain
    success) before the block ends."""

    document: Document
    counts: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = RunStatus.SUCCEEDED
    fields: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"

    @property
    def id(self) -> ObjectId:
        run_id: ObjectId = self.document["_id"]
        return run_id


@asynccontextmanager
async def recorded_run(
    runtime: Runtime,
    job_id: str,
    group_id: ObjectId | None = None,
    params: dict[str, Any] | None = None,
    *,
    run: Document | None = None,
    on_error: Callable[[RecordedRun, BaseException], Awaitable[None]] | None = None,
) -> AsyncIterator[RecordedRun]:
    """Record one run of ``job_id`` in ``job_runs`` (started now, or ``run`` when a
    queued run is being resumed), time it, and on leaving: finish the record, count it
    in /metrics (``ontology_job_runs_total``, ``ontology_job_duration_seconds``) and log
    one ``job run`` line. An exception finishes the run as failed and propagates."""
    runs = runtime.services.runs
    document = run or await runs.start(job_id, group_id, params or {})
    record = RecordedRun(document)
    started = time.perf_counter()
    try:
        yield record
    except Exception as error:
        seconds = time.perf_counter() - started
        if on_error is not None:
            await on_error(record, error)
        else:
            await runs.finish(record.id, record.counts, f"{type(error).__name__}: {error}")
        runtime.metrics.record_job_run(job_id, "error", seconds)
        log.exception(
            "job run",
            extra={"job": job_id, "runId": str(record.id), "outcome": "error", **record.counts},
        )
        raise
    seconds = time.perf_counter() - started
    await runs.finish(record.id, record.counts, status=record.status, fields=record.fields)
    runtime.metrics.record_job_run(job_id, record.outcome, seconds)
    log.info(
        "job run",
        extra={
            "job": job_id,
            "runId": str(record.id),
            "outcome": record.outcome,
            "seconds": round(seconds, 3),
            **record.counts,
        },
    )
