"""Issuing, revoking and checking API keys."""

from __future__ import annotations

from bson import ObjectId

from ontology.db.client import Document
from ontology.groups.repository import GroupRepository
from ontology.keys.models import SECRET_PREFIX, Caller, Role, hash_secret, new_secret
from ontology.keys.repository import ApiKeyRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import AuthenticationError, ForbiddenError

GROUP_HEADER = "X-Ontology-Group"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` for another scheme."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def bearer_secret(authorization: str | None) -> str:
    """The API key secret of an ``Authorization: Bearer <key>`` header, or an error."""
    if not authorization:
        raise AuthenticationError("Missing `Authorization: Bearer <api key>` header.")
    secret = bearer_token(authorization)
    if secret is None or not secret.startswith(SECRET_PREFIX):
        raise AuthenticationError("Expected `Authorization: Bearer <api key>`.")
    return secret


def presented_key_hash(authorization: str | None) -> str | None:
    """The hash of a well-formed presented key (unchecked), ``None`` when malformed."""
    try:
        return hash_secret(bearer_secret(authorization))
    except AuthenticationError:
        return None


class ApiKeyService:
    def __init__(self, keys: ApiKeyRepository, groups: GroupRepository) -> None:
        self.keys = keys
        self.groups = groups

    async def create(
        self, group_id: ObjectId, role: Role, *, name: str = "", person_id: ObjectId | None = None
    ) -> tuple[Document, str]:
        """A new key and its secret; the secret is returned once and never stored."""
        secret = new_secret()
        key: Document = {
            "_id": ObjectId(),
            "groupId": group_id,
            "personId": person_id,
            "role": role.value,
            "name": name,
            "keyHash": hash_secret(secret),
            "createdAt": utcnow(),
            "lastUsedAt": None,
            "revokedAt": None,
        }
        await self.keys.insert(key)
        return key, secret

    async def revoke(self, group_id: ObjectId, key_id: ObjectId) -> bool:
        return await self.keys.revoke(group_id, key_id, utcnow())

    async def authenticate(self, authorization: str | None, group_slug: str | None) -> Caller:
        """The caller for an ``Authorization: Bearer <key>`` header, or an error.

        ``platform_owner`` keys act on the group named by ``X-Ontology-Group``
        (their own when it is absent); for every other role that header must be
        absent or name the key's own group.
        """
        key = await self.keys.active_by_hash(hash_secret(bearer_secret(authorization)))
        if key is None:
            raise AuthenticationError("Invalid or revoked API key.")
        role = Role(key["role"])
        own_group = await self.groups.by_id(key["groupId"])
        if own_group is None:
            raise AuthenticationError("Invalid or revoked API key.")
        group = own_group
        if group_slug and group_slug != own_group["slug"]:
            if role is not Role.PLATFORM_OWNER:
                raise ForbiddenError(f"This key cannot act on group {group_slug!r}.")
            other = await self.groups.by_slug(group_slug)
            if other is None:
                raise ForbiddenError(f"No group {group_slug!r}.")
            group = other
        return Caller(key_id=key["_id"], role=role, group=group)
