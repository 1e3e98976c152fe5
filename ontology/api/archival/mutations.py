"""Archival mutations: queue a run for the group, restore a range of days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from ontology.api.archival.types import (
    ArchivalRunType,
    ArchiveGroupEventsPayload,
    RestoreArchivedEventsPayload,
)
from ontology.api.base import UserError, payload
from ontology.api.context import Context
from ontology.keys.models import Role
from ontology.kit.errors import ErrorCode, ForbiddenError, ItemError

Info = strawberry.Info[Context, None]

# a century: any longer keeps every event anyway (none is older than 1970)
MAX_OLDER_THAN_DAYS = 36_500


@strawberry.type
class ArchivalMutations:
    @strawberry.mutation(
        description="Queue an archival run of the group (org_owner); `olderThanDays` replaces "
        "the plan's retention for this run. The scheduler starts it within seconds."
    )
    async def archive_group_events(
        self, info: Info, older_than_days: int | None = None
    ) -> ArchiveGroupEventsPayload:
        context = info.context
        if older_than_days is not None and not 0 <= older_than_days <= MAX_OLDER_THAN_DAYS:
            message = f"Must be from 0 to {MAX_OLDER_THAN_DAYS:,} days."
            error = ItemError(ErrorCode.INVALID_INPUT, message, "olderThanDays")
            return ArchiveGroupEventsPayload(run=None, errors=UserError.from_items([error]))
        run = await context.services.runs.queue(
            "archival", context.group_id, {"olderThanDays": older_than_days, "dryRun": False}
        )
        return ArchiveGroupEventsPayload(run=ArchivalRunType.from_doc(run), errors=[])

    @strawberry.mutation(
        description="Put the group's archived events of the days from..to (UTC, inclusive) "
        "back into the event log (org_owner). Idempotent: events already there are skipped. "
        "All or nothing: past the storage limit it is refused (QUOTA_EXCEEDED) and restores "
        "nothing, unless a platform_owner passes `force`."
    )
    async def restore_archived_events(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        force: Annotated[
            bool,
            strawberry.argument(
                description="Restore past the storage limit (platform_owner only)."
            ),
        ] = False,
    ) -> RestoreArchivedEventsPayload:
        context = info.context
        if force and context.caller.role is not Role.PLATFORM_OWNER:
            raise ForbiddenError(
                f"force needs the platform_owner role; the key has {context.caller.role.value}."
            )
        if to < from_:
            error = ItemError(ErrorCode.INVALID_RANGE, "to must not be before from.", "to")
            return _refused(UserError.from_items([error]))
        return await payload(
            context.services.archived.restore(context.group_id, from_, to, force=force),
            lambda result: RestoreArchivedEventsPayload(
                restored_events=result.restored,
                already_hot=result.already_hot,
                objects=result.manifests,
                errors=[],
            ),
            _refused,
        )


def _refused(errors: list[UserError]) -> RestoreArchivedEventsPayload:
    return RestoreArchivedEventsPayload(restored_events=0, already_hot=0, objects=0, errors=errors)
