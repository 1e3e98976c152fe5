"""Root queries for archival: its status and archived events read from the archive."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from ontology.api.archival.types import ArchivalRunType, ArchivalStatus
from ontology.api.base import Connection
from ontology.api.context import Context
from ontology.api.events.types import EventType
from ontology.archival.archived import ArchivedPosition
from ontology.events.documents import EventDocument
from ontology.kit.clock import utcnow
from ontology.kit.errors import ClientError, RequestErrorCode
from ontology.kit.pagination import Page

Info = strawberry.Info[Context, None]


@strawberry.type
class ArchivalQueries:
    @strawberry.field(description="The group's archival: eligible and archived events, runs.")
    async def archival_status(self, info: Info) -> ArchivalStatus:
        context = info.context
        services = context.runtime.services
        status = await services.archival.status(context.caller.group)
        last = await services.runs.latest(context.group_id, "archival")
        return ArchivalStatus(
            cutoff=status.cutoff,
            eligible_events=status.eligible_events,
            archived_events=status.archived_events,
            archived_bytes=float(status.object_bytes),
            archived_objects=status.objects,
            last_run=ArchivalRunType.from_doc(last) if last else None,
            next_run_at=services.archival.next_run_at(utcnow()),
        )

    @strawberry.field(
        description="The events the next archival run would move: hot events older than the "
        "group's cutoff (`archivalStatus.cutoff`, now), oldest first as the run moves them. "
        "Empty when the plan keeps every event."
    )
    async def archivable_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[EventType]:
        context = info.context
        page = context.page(first, after)
        docs = await context.runtime.services.archival.archivable(
            context.caller.group, context.known(page, "events")
        )
        result: Page[EventDocument] = page.slice(docs, lambda d: d["sortKey"])
        return Connection.of(result, EventType.from_doc, None)

    @strawberry.field(
        description="Archived events of the days from..to (UTC, inclusive), read from the "
        "archive, oldest first. Ids are those the events had; `node` does not find them."
    )
    async def archived_events(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        type: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EventType]:
        context = info.context
        # required and bounded while validating (api/validation.py); this guards other callers
        size = first or 0
        if not 1 <= size <= context.runtime.settings.max_page_size:
            raise ClientError(
                f"first must be between 1 and {context.runtime.settings.max_page_size}.",
                RequestErrorCode.INVALID_PAGINATION,
            )
        if to < from_:
            raise ClientError("to must not be before from.")
        position = ArchivedPosition.parse(after) if after else None
        found, more = await context.services.archived.page(
            context.group_id, from_, to, size, event_type=type, after=position
        )
        page = Page(
            items=[event for _, event in found],
            cursors=[where.cursor() for where, _ in found],
            has_next_page=more,
            has_previous_page=position is not None,
        )
        return Connection.of(page, EventType.from_doc, None)
