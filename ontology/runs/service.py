"""Every job run recorded in ``job_runs``: queued, running, succeeded, partial or failed.

``{_id, job, groupId, parentRunId, status, params, queuedAt, startedAt,
finishedAt, heartbeatAt, counts, error, errorCode, owner}``; an archival run over
every group also has ``failedGroups`` (``partial``: it went on past them). A run that stops
beating (its process was killed) is marked failed when a scheduler next takes
the lease.

A failed run keeps two accounts: ``error``, the details for operators (paths,
buckets, exception text; also logged with the run id), and ``errorCode``, a
``RunErrorCode`` that is all a client is shown (with its fixed message).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId

from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.kit.errors import RunErrorCode
from ontology.runs.repository import JobRunRepository

log = logging.getLogger("ontology.jobs")


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    # a run over every group that went through, but some groups failed (``failedGroups``)
    PARTIAL = "partial"
    FAILED = "failed"


def process_name() -> str:
    """``host:pid``: who holds a lease or runs a job."""
    return f"{socket.gethostname()}:{os.getpid()}"


def new_run(
    job: str,
    group_id: ObjectId | None,
    params: dict[str, Any],
    status: RunStatus,
    now: datetime,
    parent_id: ObjectId | None = None,
    fields: dict[str, Any] | None = None,
) -> Document:
    running = status is RunStatus.RUNNING
    return {
        **(fields or {}),
        "_id": ObjectId(),
        "job": job,
        "groupId": group_id,
        "parentRunId": parent_id,
        "status": status.value,
        "params": params,
        "queuedAt": now,
        "startedAt": now if running else None,
        "finishedAt": None,
        "heartbeatAt": now if running else None,
        "counts": {},
        "error": None,
        "errorCode": None,
        "owner": process_name() if running else None,
    }


class JobRuns:
    def __init__(self, repo: JobRunRepository) -> None:
        self.repo = repo

    async def queue(
        self,
        job: str,
        group_id: ObjectId | None,
        params: dict[str, Any],
        fields: dict[str, Any] | None = None,
    ) -> Document:
        """A run for the scheduler to pick up (within ``scheduler_poll_seconds``)."""
        run = new_run(job, group_id, params, RunStatus.QUEUED, utcnow(), fields=fields)
        await self.repo.insert(run)
        return run

    async def start(
        self,
        job: str,
        group_id: ObjectId | None,
        params: dict[str, Any],
        parent_id: ObjectId | None = None,
    ) -> Document:
        run = new_run(job, group_id, params, RunStatus.RUNNING, utcnow(), parent_id)
        await self.repo.insert(run)
        return run

    async def claim_queued(self) -> Document | None:
        return await self.repo.claim_next_queued(utcnow(), process_name())

    async def progress(self, run_id: ObjectId, counts: dict[str, Any]) -> None:
        await self.repo.update(run_id, {"counts": counts, "heartbeatAt": utcnow()})

    async def beat(self, run_id: ObjectId) -> None:
        """The run is alive (a run over every group, while one of its children works)."""
        await self.repo.update(run_id, {"heartbeatAt": utcnow()})

    async def mark(self, run_id: ObjectId, fields: dict[str, Any]) -> None:
        await self.repo.update(run_id, fields)

    async def finish(
        self,
        run_id: ObjectId,
        counts: dict[str, Any],
        error: str | None = None,
        code: RunErrorCode = RunErrorCode.INTERNAL,
        *,
        status: RunStatus | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        """Record the run's end; with ``error`` (details) it failed with ``code``.

        ``status`` overrides the outcome (``partial``); ``fields`` are stored with it.
        """
        if status is None:
            status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
        now = utcnow()
        if error:
            log.error(
                "job run failed",
                extra={"runId": str(run_id), "errorCode": code.value, "error": error},
            )
        await self.repo.update(
            run_id,
            {
                "status": status.value,
                "finishedAt": now,
                "heartbeatAt": now,
                "counts": counts,
                "error": error,
                "errorCode": code.value if error else None,
                **(fields or {}),
            },
        )

    async def fail_abandoned(self, stale_before: datetime) -> int:
        return await self.repo.fail_abandoned(stale_before, utcnow())

    async def latest(self, group_id: ObjectId | None, job: str) -> Document | None:
        return await self.repo.latest(group_id, job)

    async def by_id(self, group_id: ObjectId | None, run_id: ObjectId) -> Document | None:
        return await self.repo.by_id(group_id, run_id)
