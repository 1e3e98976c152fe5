"""GraphQL types for archival."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from ontology.api.base import UserError
from ontology.api.context import Context
from ontology.kit.errors import RUN_ERROR_MESSAGES, RunErrorCode
from ontology.kit.ids import to_global_id

Info = strawberry.Info[Context, None]

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
    PARTIAL = strawberry.enum_value(
        "partial",
        description="A run over every group went through, but some groups failed "
        "(`failedGroups`); each failed group's own run says why.",
    )
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


@strawberry.type(
    description="A group whose archival failed in a run over every group; the run went on."
)
class ArchivalFailedGroup:
    group_id: strawberry.ID = strawberry.field(description="The group's global id.")
    slug: str
    run_id: strawberry.ID = strawberry.field(description="The group's own run (its details).")
    error: ArchivalRunError

    @classmethod
    def from_doc(cls, failure: dict[str, Any]) -> ArchivalFailedGroup:
        try:
            code = RunErrorCode(str(failure.get("code")))
        except ValueError:
            code = RunErrorCode.INTERNAL
        return cls(
            group_id=strawberry.ID(to_global_id("Group", failure["groupId"])),
            slug=str(failure.get("slug", "")),
            run_id=strawberry.ID(str(failure["runId"])),
            error=ArchivalRunError(code=code, message=RUN_ERROR_MESSAGES[code]),
        )


@strawberry.type(
    description="The latest scheduled archival run over every group (staff only). When its "
    "time budget ended before its work was done, `continuedBy` names the queued run that "
    "goes on; `failedGroups` lists the groups that failed in it and in the runs it continues."
)
class ArchivalScheduledRun:
    id: strawberry.ID
    status: JobRunStatus
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    groups: int = strawberry.field(description="Groups it started.")
    events_moved: int
    objects: int
    bytes: float = strawberry.field(description="Archive object bytes written (Float).")
    complete: bool = strawberry.field(
        description="False: its budget ended first; `continuedBy` goes on."
    )
    continues: strawberry.ID | None = strawberry.field(
        description="The run whose budget ended, that this one goes on from."
    )
    continued_by: strawberry.ID | None
    failed_groups: list[ArchivalFailedGroup]
    error: ArchivalRunError | None = strawberry.field(
        description="Why the run itself stopped (an unusable or unavailable archive store)."
    )

    @classmethod
    def from_doc(cls, run: dict[str, Any]) -> ArchivalScheduledRun:
        counts = run.get("counts") or {}
        continues = (run.get("params") or {}).get("continues")
        continued_by = run.get("continuedBy")
        return cls(
            id=strawberry.ID(str(run["_id"])),
            status=JobRunStatus(run["status"]),
            queued_at=run.get("queuedAt"),
            started_at=run.get("startedAt"),
            finished_at=run.get("finishedAt"),
            groups=int(counts.get("groups", 0)),
            events_moved=int(counts.get("eventsMoved", 0)),
            objects=int(counts.get("objects", 0)),
            bytes=float(counts.get("bytes", 0)),
            complete=bool(counts.get("complete", run["status"] != "queued")),
            continues=strawberry.ID(str(continues)) if continues else None,
            continued_by=strawberry.ID(str(continued_by)) if continued_by else None,
            failed_groups=[ArchivalFailedGroup.from_doc(f) for f in run.get("failedGroups") or []],
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

    @strawberry.field(
        description="The latest scheduled run over every group, with the groups that failed "
        "(platform_owner only)."
    )
    async def last_scheduled_run(self, info: Info) -> ArchivalScheduledRun | None:
        run = await info.context.services.runs.latest(None, "archival")
        return ArchivalScheduledRun.from_doc(run) if run else None


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
