"""New group documents (their shape, ``GroupDocument``, and their counters are the
ledger's: ``ontology.ledger.documents``, ``ontology.ledger.counters``)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from bson import ObjectId

from ontology.ledger.counters import empty_counts
from ontology.ledger.documents import GroupDocument


class GroupKind(StrEnum):
    FRIEND_CIRCLE = "friend_circle"
    BUSINESS = "business"
    COMMUNITY = "community"
    DAO = "dao"
    GOVERNMENT = "government"
    ORGANIZATION = "organization"


class Plan(StrEnum):
    STARTER = "starter"
    PRO = "pro"
    ENTERPRISE = "enterprise"


SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def new_group(
    *, slug: str, name: str, plan: Plan, group_type: GroupKind, now: datetime
) -> GroupDocument:
    return {
        "_id": ObjectId(),
        "slug": slug,
        "name": name,
        "type": group_type.value,
        "parentGroupId": None,
        "plan": plan.value,
        "limits": {},
        "status": "active",
        "visibility": "private",
        "counts": empty_counts(),
        "createdAt": now,
        "updatedAt": now,
    }
