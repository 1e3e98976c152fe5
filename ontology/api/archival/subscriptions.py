"""``archivalRunChanged``: the group's archival runs as they are queued, run and end."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from ontology.api.archival.types import ArchivalRunType
from ontology.api.live import Info, connection_of
from ontology.live.changes import Change, runs_topic

ARCHIVAL_JOB = "archival"


def archival_run(change: Change) -> bool:
    return (change.document or {}).get("job") == ARCHIVAL_JOB


@strawberry.type
class ArchivalSubscriptions:
    @strawberry.subscription(
        description="The group's archival runs after each change: queued, running (with its "
        "counts as it goes), finished."
    )
    async def archival_run_changed(self, info: Info) -> AsyncGenerator[ArchivalRunType, None]:
        connection = connection_of(info)
        subscriber = connection.subscribe(runs_topic(info.context.group_id), "runs", archival_run)
        try:
            while True:
                change = await subscriber.next()
                if change.document is not None:
                    yield ArchivalRunType.from_doc(change.document)
        finally:
            connection.unsubscribe(subscriber)
