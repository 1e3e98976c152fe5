"""The only code that touches the ``groups`` collection.

Group documents are the tenants themselves, so they are addressed by ``_id``
(the group id) or by slug rather than filtered by ``groupId``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.cursor import AsyncCursor

from ontology.db.client import Database, Document
from ontology.db.queries import FindSpec
from ontology.db.windows import EVENT_KEYS, SLUG_KEYS, Scan, scope_key
from ontology.kit.pagination import PageRequest
from ontology.ledger.documents import GroupDocument, GroupPlan
from ontology.ledger.standing import (
    PPM_CAP,
    QUOTA_STATUS,
    USAGE_KEY,
    ppm_range,
    usage_key,
)


class GroupOrder(StrEnum):
    USAGE_DESC = "USAGE_DESC"
    NAME = "NAME"


@dataclass(frozen=True)
class GroupListFilter:
    plan: str | None = None
    quota_status: str | None = None  # a stored ``quotaStatus`` level


# The list's indexes by (order, filtered on plan, filtered on status). By usage, the
# status is a range of ``usageKey``; by name, an equality on ``quotaStatus``.
_LIST_INDEXES = {
    (GroupOrder.USAGE_DESC, False, False): "groups_usage",
    (GroupOrder.USAGE_DESC, False, True): "groups_usage",
    (GroupOrder.USAGE_DESC, True, False): "groups_plan_usage",
    (GroupOrder.USAGE_DESC, True, True): "groups_plan_usage",
    (GroupOrder.NAME, False, False): "groups_slug",
    (GroupOrder.NAME, False, True): "groups_status_slug",
    (GroupOrder.NAME, True, False): "groups_plan_slug",
    (GroupOrder.NAME, True, True): "groups_plan_status_slug",
}
# What a listed group carries: everything but the engagement board.
_LISTED = {"engagement": 0}
# An id no group has: the walk's floor does not depend on one.
_NO_GROUP = ObjectId("000000000000000000000000")


def _group(found: Document | None) -> GroupDocument | None:
    """PyMongo reads ``dict[str, Any]``; what ``groups`` stores is ``GroupDocument``: the
    one place its whole documents are cast (projections stay ``Document``)."""
    return cast("GroupDocument | None", found)


class GroupRepository:
    def __init__(self, database: Database) -> None:
        self.collection = database.collection("groups")
        self.hints = database.hints

    async def insert(self, group: GroupDocument) -> None:
        await self.collection.insert_one(cast(Document, group))

    async def by_id(
        self, group_id: ObjectId, session: AsyncClientSession | None = None
    ) -> GroupDocument | None:
        return _group(await self.collection.find_one({"_id": group_id}, session=session))

    async def bump_keys_revision(self, group_id: ObjectId, session: AsyncClientSession) -> None:
        """Tell every process that a key of the group changed (``keysRevision``): each
        checks its remembered keys of the group again (``ontology.keys.cache``)."""
        await self.collection.update_one(
            {"_id": group_id}, {"$inc": {"keysRevision": 1}}, session=session
        )

    async def by_slug(self, slug: str) -> GroupDocument | None:
        return _group(await self.collection.find_one({"slug": slug}))

    def all_quota_settings(self) -> AsyncIterator[Document]:
        """Every group's plan, overrides, enforced limits, counters and standing (start-up
        sync)."""
        projection = {"plan": 1, "limits": 1, "quota": 1, "counts": 1, "usageKey": 1}
        return aiter(self.collection.find({}, projection | {"quotaStatus": 1}))

    def all_counts(self) -> AsyncIterator[Document]:
        """Every group's id and counters (the snapshot roll-up walks them)."""
        return aiter(self.collection.find({}, {"counts": 1}).sort("_id", 1))

    def all_for_archival(self) -> AsyncIterator[GroupPlan]:
        """Every group's slug, plan and overrides (the archival job's retention cutoffs)."""
        cursor = self.collection.find({}, {"slug": 1, "plan": 1, "limits": 1}).sort("_id", 1)
        return aiter(cast("AsyncCursor[GroupPlan]", cursor))

    def list_spec(self, order: GroupOrder, where: GroupListFilter, page: PageRequest) -> FindSpec:
        """A page of every tenant's group (staff only), read in bounded windows.

        By usage: ``usageKey`` descending (highest usage first, then newest group),
        the key shaped like an event's ``sortKey`` and walked as one; a status is
        its range of usage. By name: ``slug`` ascending, walked in ``SLUG_KEYS``.
        """
        equalities: dict[str, Any] = {}
        if where.plan is not None:
            equalities["plan"] = where.plan
        index = _LIST_INDEXES[order, where.plan is not None, where.quota_status is not None]
        if order is GroupOrder.NAME:
            if where.quota_status is not None:
                equalities[QUOTA_STATUS] = where.quota_status
            lo = SLUG_KEYS.cursor_int(page.after) + 1 if page.after is not None else None
            scan = Scan(
                space=SLUG_KEYS,
                field="slug",
                lo=lo,
                hi=None,
                descending=False,
                floor=0,
                ceiling=SLUG_KEYS.largest + 1,
                hints=self.hints,
                from_cursor=page.after is not None,
            )
            return FindSpec(
                equalities, (("slug", 1),), page.limit, index, scan=scan, projection=_LISTED
            )
        lo = hi = None
        if where.quota_status is not None:
            low, high = ppm_range(where.quota_status)
            lo, hi = (
                EVENT_KEYS.to_int(usage_key(low, _NO_GROUP)),
                EVENT_KEYS.to_int(usage_key(high, _NO_GROUP)),
            )
        # Where a first page starts: this process's hint (a stale one costs what moved
        # above it), else the top of the key space, not the current time.
        hint = self.hints.get(scope_key(self.collection.name, equalities))
        if hint is None or hint.newest is None:
            page = page.known(None, usage_key(PPM_CAP + 1, _NO_GROUP))
        scan = Scan.of(page, EVENT_KEYS, USAGE_KEY, _NO_GROUP, self.hints, lo=lo, hi=hi)
        return FindSpec(
            equalities, ((USAGE_KEY, -1),), page.limit, index, scan=scan, projection=_LISTED
        )

    async def page(
        self, order: GroupOrder, where: GroupListFilter, page: PageRequest
    ) -> list[GroupDocument]:
        """Up to ``page.limit`` groups in ``order`` (``list_spec``)."""
        # without the engagement board: a GroupDocument still (it is not required)
        return cast(
            "list[GroupDocument]", await self.list_spec(order, where, page).run(self.collection)
        )

    async def counts(self, group_id: ObjectId) -> dict[str, Any]:
        doc = await self.collection.find_one({"_id": group_id}, {"counts": 1})
        return dict(doc["counts"]) if doc else {}
