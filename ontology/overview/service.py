"""Every group for staff: plan, counters, quota report, last archival run, last activity.

A page is a bounded walk of the groups' list indexes (``GroupRepository.list_spec``),
then one query for the API calls of the page's groups not yet read by this
process (``QuotaService.reports``) and one for their last archival runs: the
commands of a page do not depend on how many groups it holds, and none reads
more than the page's groups' own documents.

Ordered and filtered by the quota standing stored on each group (``usageKey``,
``quotaStatus``: ``ontology.ledger.standing``), exact after every write; it
covers the limits enforced on counters (users, storage, entities, connections).
Each item's ``quota_status`` is the worst level of its full report, API calls
included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ontology.db.client import Document
from ontology.groups.repository import GroupListFilter, GroupOrder, GroupRepository
from ontology.kit.clock import utcnow
from ontology.kit.pagination import Page, PageRequest
from ontology.ledger.documents import GroupDocument
from ontology.ledger.plans import QuotaLevel
from ontology.ledger.standing import PPM, USAGE_KEY
from ontology.quotas.service import MetricReport, QuotaService
from ontology.runs.repository import JobRunRepository

# A group's last archival run is looked for this far back: the daily job runs every
# group every day, so a group without one in this time is one to look at anyway, and
# the lookup stays a bounded range however long the platform has run.
LAST_RUN_WINDOW = timedelta(days=31)
ARCHIVAL_JOB = "archival"
_WORST_FIRST = (QuotaLevel.EXCEEDED, QuotaLevel.CRITICAL, QuotaLevel.WARNING)


def overall_level(reports: list[MetricReport]) -> str:
    """The worst level of a report: EXCEEDED, CRITICAL, WARNING or HEALTHY."""
    levels = {report.status for report in reports}
    return next((level.value for level in _WORST_FIRST if level in levels), "HEALTHY")


@dataclass(frozen=True)
class GroupOverview:
    group: GroupDocument
    reports: list[MetricReport]
    last_archival_run: Document | None

    @property
    def quota_status(self) -> str:
        return overall_level(self.reports)

    @property
    def usage_percent(self) -> float:
        """The stored standing: the highest percent of a limit enforced on a counter."""
        ppm = int(str(self.group.get(USAGE_KEY) or "0:").partition(":")[0])
        return 100.0 * ppm / PPM

    @property
    def last_activity_at(self) -> datetime | None:
        """The time of the group's newest event (the counters keep its ``sortKey``)."""
        newest = (self.group.get("newest") or {}).get("events")
        if not newest:
            return None
        return datetime.fromtimestamp(int(newest.partition(":")[0]) / 1000, UTC)


class GroupOverviewService:
    def __init__(
        self, groups: GroupRepository, quotas: QuotaService, runs: JobRunRepository
    ) -> None:
        self.groups = groups
        self.quotas = quotas
        self.runs = runs

    async def page(
        self, order: GroupOrder, where: GroupListFilter, page: PageRequest
    ) -> Page[GroupOverview]:
        docs = await self.groups.page(order, where, page)
        key = "slug" if order is GroupOrder.NAME else USAGE_KEY
        found: Page[GroupDocument] = page.slice(docs, lambda doc: doc[key])
        reports = await self.quotas.reports(found.items)
        runs = await self.runs.latest_of_groups(
            [doc["_id"] for doc in found.items], ARCHIVAL_JOB, utcnow() - LAST_RUN_WINDOW
        )
        return Page(
            items=[
                GroupOverview(doc, reports[doc["_id"]], runs.get(doc["_id"])) for doc in found.items
            ],
            cursors=found.cursors,
            has_next_page=found.has_next_page,
            has_previous_page=found.has_previous_page,
        )
