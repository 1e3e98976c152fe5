"""The scheduler: APScheduler 3.11 (``AsyncIOScheduler``) behind a MongoDB lease.

Every process keeps its own in-memory job store (job stores must never be
shared between processes) and runs jobs only while it holds the lease. When a
process takes the lease over, a cron job whose latest fire time passed without
a recorded run (within its misfire grace) runs at once, so a restart or a
failover does not skip a day.

The jobs are the table of ``ontology.jobs.registry`` (each declared beside its
function with ``@job``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from ontology.config import Settings
from ontology.jobs.registry import HOURS, Job, registered
from ontology.kit.clock import utcnow
from ontology.runs.leases import Lease, holding_job_lease
from ontology.runtime import Runtime

log = logging.getLogger("ontology.jobs")

# A run that has not beaten for this long belongs to a process that is gone.
ABANDONED_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class JobSpec:
    id: str
    trigger: BaseTrigger
    work: Callable[[Runtime], Awaitable[object]]
    misfire_grace_seconds: int | None = 6 * HOURS
    # Cron jobs recorded in job_runs under ``id`` are caught up after a takeover.
    catch_up: bool = False


def job_specs(settings: Settings) -> list[JobSpec]:
    """The scheduler's job table: every job the package declares (``ontology jobs run
    <id>`` runs one once; the units in the repository's ``jobs/`` folder schedule them)."""
    return [
        JobSpec(
            spec.id,
            spec.trigger(settings),
            _with_defaults(spec),
            misfire_grace_seconds=spec.misfire_grace_seconds,
            catch_up=spec.catch_up,
        )
        for spec in registered()
    ]


def _with_defaults(spec: Job) -> Callable[[Runtime], Awaitable[object]]:
    async def work(runtime: Runtime) -> object:
        return await spec.run(runtime, {})

    return work


def last_fire_time(trigger: BaseTrigger, now: datetime, grace_seconds: int) -> datetime | None:
    """The trigger's latest fire time in ``(now - grace, now]``."""
    latest = None
    start = now - timedelta(seconds=grace_seconds)
    moment: datetime | None = trigger.get_next_fire_time(None, start)
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest


class Scheduler:
    """Runs the job table while this process holds the lease."""

    def __init__(self, runtime: Runtime, specs: list[JobSpec] | None = None) -> None:
        self.runtime = runtime
        self.specs = specs if specs is not None else job_specs(runtime.settings)
        self.lease = Lease(runtime.repos.leases, runtime.settings.lease_seconds)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: set[asyncio.Task[None]] = set()
        self._keeper: asyncio.Task[None] | None = None
        self._was_held = False

    def _guarded(self, spec: JobSpec) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            if not self.lease.held:
                return
            try:
                async with holding_job_lease(
                    self.runtime.repos.leases, spec.id, self.runtime.settings.lease_seconds
                ) as held:
                    if not held:
                        log.info("job is running elsewhere; skipped", extra={"job": spec.id})
                        return
                    await spec.work(self.runtime)
            except Exception:
                log.exception("job failed", extra={"job": spec.id})

        return run

    async def start(self) -> None:
        for spec in self.specs:
            self.scheduler.add_job(
                self._guarded(spec),
                spec.trigger,
                id=spec.id,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=spec.misfire_grace_seconds,
                replace_existing=True,
            )
        self.scheduler.start()
        self._keeper = asyncio.create_task(self._keep_lease())

    async def _keep_lease(self) -> None:
        while True:
            await self.lease.try_acquire()
            self.runtime.metrics.set_lease_holder(self.lease.owner if self.lease.held else None)
            if self.lease.held and not self._was_held:
                await self._took_over()
            self._was_held = self.lease.held
            await asyncio.sleep(self.lease.period / 3)

    async def _took_over(self) -> None:
        runs = self.runtime.services.runs
        with contextlib.suppress(Exception):
            await runs.fail_abandoned(utcnow() - ABANDONED_AFTER)
        now = utcnow()
        caught_up = []
        for spec in self.specs:
            if not spec.catch_up or spec.misfire_grace_seconds is None:
                continue
            due = last_fire_time(spec.trigger, now, spec.misfire_grace_seconds)
            if due is None:
                continue
            latest = await runs.latest(None, spec.id)
            if latest is None or latest["queuedAt"] < due:
                log.info("catching up a missed run", extra={"job": spec.id, "due": due.isoformat()})
                caught_up.append(spec.id)
                task = asyncio.create_task(self._guarded(spec)())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        log.info(
            "took the scheduler lease", extra={"owner": self.lease.owner, "caughtUp": caught_up}
        )

    def next_run_at(self, job_id: str) -> datetime | None:
        job = self.scheduler.get_job(job_id)
        return None if job is None else job.next_run_time

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        self.scheduler.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        await self.lease.stop()


async def run_scheduler(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the scheduler until ``stop`` is set (SIGTERM / Ctrl-C in the CLI)."""
    scheduler = Scheduler(runtime)
    await scheduler.start()
    log.info("scheduler started", extra={"owner": scheduler.lease.owner})
    try:
        await stop.wait()
    finally:
        await scheduler.stop()
        log.info("scheduler stopped", extra={"owner": scheduler.lease.owner})
