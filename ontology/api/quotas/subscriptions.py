"""``quotaStatusChanged``: the group's quota status when a metric's level changes."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import cast

import strawberry

from ontology.api.live import Info, coalesced, connection_of
from ontology.api.quotas.queries import status_report
from ontology.api.quotas.types import QuotaStatusReport
from ontology.ledger.documents import GroupDocument
from ontology.live.changes import Change, usage_topic

EVERY_SECONDS = 1.0


def usage_changed(change: Change) -> bool:
    """The group's counts (its document) or its metered usage changed."""
    return change.collection in ("groups", "usage")


@strawberry.type
class QuotaSubscriptions:
    @strawberry.subscription(
        description="The group's quota status now, then each time a metric's level "
        "(OK, WARNING, CRITICAL, EXCEEDED) changes; checked at most once a second."
    )
    async def quota_status_changed(self, info: Info) -> AsyncGenerator[QuotaStatusReport, None]:
        connection = connection_of(info)
        context = info.context
        group_id = context.group_id
        quotas = context.services.quotas
        subscriber = connection.subscribe(usage_topic(group_id), "quotas", usage_changed)
        try:
            group = context.caller.group
            reports = await quotas.report(group)
            levels = [r.status for r in reports]
            yield status_report(quotas, group, reports)
            sent_at = time.monotonic()
            while True:
                changes = await coalesced(subscriber, sent_at, EVERY_SECONDS)
                looked_up = [c.document for c in changes if c.collection == "groups"]
                if looked_up and looked_up[-1] is not None:
                    # a change of the groups collection: its document as stored
                    group = cast(GroupDocument, looked_up[-1])
                else:
                    group = await context.services.groups.by_id(group_id) or group
                reports = await quotas.report(group)
                now = [r.status for r in reports]
                if now != levels:
                    levels, sent_at = now, time.monotonic()
                    yield status_report(quotas, group, reports)
        finally:
            connection.unsubscribe(subscriber)
