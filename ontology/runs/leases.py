"""A lease in MongoDB decides which scheduler process may run jobs.

APScheduler job stores must never be shared between processes, so every
scheduler keeps its own in-memory one and runs a job only while it holds the
lease. The holder renews it every third of the period; a process that dies
stops renewing, and another takes the lease over once it has lapsed: within
one lease period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from pymongo.errors import PyMongoError

from ontology.kit.clock import utcnow
from ontology.runs.repository import LeaseRepository
from ontology.runs.service import process_name

log = logging.getLogger("ontology.jobs")

SCHEDULER_LEASE = "scheduler"


class Lease:
    def __init__(
        self,
        repo: LeaseRepository,
        period_seconds: float,
        name: str = SCHEDULER_LEASE,
        owner: str | None = None,
        log_level: int = logging.INFO,
    ) -> None:
        self.repo = repo
        self.name = name
        self.owner = owner or process_name()
        self.period = period_seconds
        self.held = False
        self.log_level = log_level

    async def try_acquire(self) -> bool:
        """Acquire or renew; on a database error the lease counts as lost."""
        now = utcnow()
        try:
            held = await self.repo.acquire(
                self.name, self.owner, now, now + timedelta(seconds=self.period)
            )
        except PyMongoError as error:
            log.warning("lease renewal failed", extra={"lease": self.name, "error": str(error)})
            held = False
        if held != self.held:
            log.log(
                self.log_level,
                "lease acquired" if held else "lease lost",
                extra={"lease": self.name, "owner": self.owner},
            )
        self.held = held
        return held

    async def stop(self) -> None:
        """Release the lease if held (the caller has stopped renewing it)."""
        if self.held:
            with contextlib.suppress(PyMongoError):
                await self.repo.release(self.name, self.owner, utcnow())
            self.held = False


def job_lease_name(job: str) -> str:
    return f"job:{job}"


@contextlib.asynccontextmanager
async def holding_job_lease(
    repo: LeaseRepository, job: str, period_seconds: float
) -> AsyncIterator[bool]:
    """Hold the job's own lease (``job:<id>``) for the block, renewed every third of the
    period; yields False, holding nothing, when another process holds it.

    Every run of a scheduled job takes it, whether the in-process scheduler or
    ``ontology jobs run`` (cron, a systemd timer, a Kubernetes CronJob) starts it, so
    one job never runs twice at once across processes and hosts. A process that dies
    stops renewing; the lease lapses within one period.
    """
    # taken and released at every run (the queued-runs poller: every few seconds), so
    # its acquisitions are logged at debug level
    lease = Lease(repo, period_seconds, name=job_lease_name(job), log_level=logging.DEBUG)
    if not await lease.try_acquire():
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(period_seconds / 3)
            await lease.try_acquire()

    renewing = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        await lease.stop()
