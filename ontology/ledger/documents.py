"""The stored shape of a group (the ``groups`` collection), declared once: the tenant's
account, whose counters, quota and standing the ledger writes (``GroupAccounts``) and
whose other fields the groups concept reads and writes (``GroupRepository``).

Its ``counts`` are ``Counts`` (``ontology.ledger.counters``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict

from bson import ObjectId

from ontology.ledger.counters import Counts

# A group's limit overrides (``limits``) and the limits enforced on its counters
# (``quota``, in counter units, -1 = unlimited), both by ``Metric`` value: the metrics
# are declared once, in ``ontology.ledger.plans``.
Limits = dict[str, int]


class BoardMember(TypedDict):
    _id: ObjectId  # a content thing
    n: int  # its inbound connections


class EngagementBoard(TypedDict):
    """The content things with the most inbound connections (``ontology.things.engagement``)."""

    types: list[str]
    members: list[BoardMember]
    floor: BoardMember | None


class GroupPlan(TypedDict):
    """A group's slug, plan and overrides (``GroupRepository.all_for_archival``), which a
    whole ``GroupDocument`` also is."""

    _id: ObjectId
    slug: str
    plan: str  # a Plan value
    limits: Limits


class GroupDocument(GroupPlan):
    name: str
    type: str  # a GroupKind value
    parentGroupId: ObjectId | None
    status: str
    visibility: str
    counts: Counts
    createdAt: datetime
    updatedAt: datetime
    # set by the ledger once the group is written to (``GroupAccounts``, ``standing``):
    # the enforced limits, the newest and oldest keys of each list (``CountDelta.saw``:
    # "things", "thingsByType": {type: key}, …), the usage key and quota status
    quota: NotRequired[Limits]
    newest: NotRequired[dict[str, Any]]
    oldest: NotRequired[dict[str, Any]]
    usageKey: NotRequired[str]
    quotaStatus: NotRequired[str]
    engagement: NotRequired[EngagementBoard]
    # how many times a key of the group was revoked (``ontology.keys.cache``)
    keysRevision: NotRequired[int]
    # room of each enforced counter leased by API processes ("storageBytes": n, …;
    # ``ontology.ledger.shards``)
    leased: NotRequired[dict[str, int]]
