"""Roles, callers and key secrets.

A secret is ``ont_`` followed by 32 random bytes in base64url; only its SHA-256
is stored, so a leaked database does not leak usable keys.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from bson import ObjectId

from ontology.ledger.documents import GroupDocument

SECRET_PREFIX = "ont_"


class Role(StrEnum):
    PLATFORM_OWNER = "platform_owner"
    ORG_OWNER = "org_owner"
    ORG_USER = "org_user"
    CUSTOMER = "customer"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.CUSTOMER: 0, Role.ORG_USER: 1, Role.ORG_OWNER: 2, Role.PLATFORM_OWNER: 3}


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request, acting on one group."""

    key_id: ObjectId
    role: Role
    group: GroupDocument

    @property
    def group_id(self) -> ObjectId:
        group_id = self.group["_id"]
        assert isinstance(group_id, ObjectId)
        return group_id
