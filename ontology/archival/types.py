"""GraphQL types for archival."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from ontology.kit.errors import RUN_ERROR_MESSAGES, RunErrorCode
from ontology.kit.graphql import UserError

RunErrorCodeEnum = strawberry.enum(
    RunErrorCode, name="RunErrorCode", description="Why a run failed."
)


@strawberry.type(
    description="Why a run failed: a stable code and a fixed message. The details (paths, "
    "exception text) are only in the logs and `ontology archive status`, under the run id."
)
class ArchivalRunError:
    code: RunErrorCodeEnum  # type: ignore[valid-type]
    message: str

    @classmethod
    def of(cls, run: dict[str, Any]) -> ArchivalRunError | None:
        if not run.get("error"):
            return None
        try:
            code = RunErrorCode(str(run.get("errorCode")))
        except ValueError:  # recorded before runs kept a code
            code = RunErrorCode.INTERNAL
        return cls(code=code, message=RUN_ERROR_MESSAGES[code])


@strawberry.enum(description="Where a job run is.")
class JobRunStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@strawberry.type(name="ArchivalRun", description="One archival run of the group.")
class ArchivalRunType:
    id: strawberry.ID
    status: JobRunStatus
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    events_moved: int
    objects: int
    bytes: float = strawberry.field(description="Archive object bytes written (Float).")
    error: ArchivalRunError | None

    @classmethod
    def from_doc(cls, run: dict[str, Any]) -> ArchivalRunType:
        counts = run.get("counts") or {}
        return cls(
            id=strawberry.ID(str(run["_id"])),
            status=JobRunStatus(run["status"]),
            queued_at=run.get("queuedAt"),
            started_at=run.get("startedAt"),
            finished_at=run.get("finishedAt"),
            events_moved=int(counts.get("eventsMoved", 0)),
            objects=int(counts.get("objects", 0)),
            bytes=float(counts.get("bytes", 0)),
            error=ArchivalRunError.of(run),
        )


@strawberry.type(description="The group's event archival.")
class ArchivalStatus:
    cutoff: datetime | None = strawberry.field(
        description="Events older than this are archived; null: the plan keeps every event."
    )
    eligible_events: int = strawberry.field(description="Hot events older than the cutoff.")
    archived_events: int
    archived_bytes: float = strawberry.field(description="Bytes of archive objects (Float).")
    archived_objects: int
    last_run: ArchivalRunType | None
    next_run_at: datetime | None = strawberry.field(
        description="When the daily archival next runs (UTC)."
    )


@strawberry.type
class ArchiveGroupEventsPayload:
    run: ArchivalRunType | None = strawberry.field(
        description="The queued run; the scheduler picks it up within seconds."
    )
    errors: list[UserError]


@strawberry.type
class RestoreArchivedEventsPayload:
    restored_events: int
    already_hot: int = strawberry.field(description="Events of the range that were hot already.")
    objects: int
    errors: list[UserError]
