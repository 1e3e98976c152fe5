"""Issuing, revoking and checking API keys."""

from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from ontology.db.client import Database, Document
from ontology.groups.repository import GroupRepository
from ontology.keys.cache import KeyCache, KnownKey
from ontology.keys.models import SECRET_PREFIX, Caller, Role, hash_secret, new_secret
from ontology.keys.repository import ApiKeyRepository
from ontology.kit.clock import utcnow
from ontology.kit.errors import AuthenticationError, ForbiddenError
from ontology.ledger.documents import GroupDocument

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
    def __init__(self, database: Database, keys: ApiKeyRepository, groups: GroupRepository) -> None:
        self.database = database
        self.keys = keys
        self.groups = groups
        self.cache = KeyCache()

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
        """Revoke a key of the group; whether it was active. The group's ``keysRevision``
        rises in the same transaction, so no process accepts the key once this returns
        (``ontology.keys.cache``)."""

        async def work(session: AsyncClientSession) -> bool:
            if not await self.keys.revoke(group_id, key_id, utcnow(), session):
                return False
            await self.groups.bump_keys_revision(group_id, session)
            return True

        return await self.database.in_transaction(work)

    async def authenticate(self, authorization: str | None, group_slug: str | None) -> Caller:
        """The caller for an ``Authorization: Bearer <key>`` header, or an error.

        ``platform_owner`` keys act on the group named by ``X-Ontology-Group``
        (their own when it is absent); for every other role that header must be
        absent or name the key's own group.
        """
        key_hash = hash_secret(bearer_secret(authorization))
        known = self.cache.get(key_hash)
        own_group = await self.groups.by_id(known.group_id) if known is not None else None
        if known is None or own_group is None or _revision(own_group) != known.revision:
            self.cache.pop(key_hash)
            known, own_group = await self._check(key_hash)
            self.cache.put(key_hash, known)
        role = known.role
        group = own_group
        if group_slug and group_slug != own_group["slug"]:
            if role is not Role.PLATFORM_OWNER:
                raise ForbiddenError(f"This key cannot act on group {group_slug!r}.")
            other = await self.groups.by_slug(group_slug)
            if other is None:
                raise ForbiddenError(f"No group {group_slug!r}.")
            group = other
        return Caller(key_id=known.key_id, role=role, group=group)

    async def _check(self, key_hash: str) -> tuple[KnownKey, GroupDocument]:
        """The active key of ``key_hash`` and its group, read key, group, key: a revocation
        committed before the group was read is seen (``ontology.keys.cache``)."""
        key = await self.keys.active_by_hash(key_hash)
        own_group = await self.groups.by_id(key["groupId"]) if key is not None else None
        if key is None or own_group is None or await self.keys.active_by_hash(key_hash) is None:
            raise AuthenticationError("Invalid or revoked API key.")
        known = KnownKey(key["_id"], key["groupId"], Role(key["role"]), _revision(own_group))
        return known, own_group


def _revision(group: GroupDocument) -> int:
    return group.get("keysRevision", 0)
