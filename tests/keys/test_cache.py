"""Remembered keys: one read per request, and a revocation seen at once by every process."""

from __future__ import annotations

import pytest
from bson import ObjectId

from ontology.db.cost import track_cost
from ontology.groups.repository import GroupRepository
from ontology.keys.cache import KnownKey
from ontology.keys.models import Role, hash_secret
from ontology.keys.service import ApiKeyService
from ontology.kit.errors import AuthenticationError
from ontology.ledger.documents import GroupDocument
from ontology.runtime import Runtime
from tests.factories import make_tenant

REFUSED = r"^Invalid or revoked API key\.$"


def bearer(secret: str) -> str:
    return f"Bearer {secret}"


def other_process(runtime: Runtime, groups: GroupRepository | None = None) -> ApiKeyService:
    """The key service of another API process on the same database (its own cache)."""
    return ApiKeyService(runtime.database, runtime.repos.keys, groups or runtime.repos.groups)


async def commands_of(service: ApiKeyService, secret: str) -> list[str]:
    with track_cost() as cost:
        await service.authenticate(bearer(secret), None)
    return cost.command_names


async def test_a_known_key_costs_one_read(runtime: Runtime) -> None:
    # given a tenant's key
    tenant = await make_tenant(runtime, "acme")
    keys = other_process(runtime)

    # when it authenticates twice
    with track_cost() as first:
        caller = await keys.authenticate(bearer(tenant.user), None)
    with track_cost() as second:
        again = await keys.authenticate(bearer(tenant.user), None)

    # then the first time reads the key, its group and the key again; later only the group
    assert first.command_names == ["find", "find", "find"]
    assert second.command_names == ["find"]
    assert (again.key_id, again.role, again.group_id) == (
        caller.key_id,
        Role.ORG_USER,
        tenant.id,
    )
    assert keys.cache.get(hash_secret(tenant.user)) == KnownKey(
        tenant.key_ids[Role.ORG_USER], tenant.id, Role.ORG_USER, 0
    )


async def test_a_key_revoked_in_another_process_is_refused_at_once(runtime: Runtime) -> None:
    # given two processes that both know two keys of a group
    tenant = await make_tenant(runtime, "acme")
    here, there = other_process(runtime), other_process(runtime)
    for service in (here, there):
        for secret in (tenant.user, tenant.owner):
            await service.authenticate(bearer(secret), None)

    # when one process revokes one key
    assert await there.revoke(tenant.id, tenant.key_ids[Role.ORG_USER]) is True

    # then the other refuses it on its next request, and checks the group's other key once
    # (the group read that shows the new revision, then key, group, key)
    with pytest.raises(AuthenticationError, match=REFUSED):
        await here.authenticate(bearer(tenant.user), None)
    assert await commands_of(here, tenant.owner) == ["find"] * 4
    assert await commands_of(here, tenant.owner) == ["find"]
    assert here.cache.get(hash_secret(tenant.user)) is None
    group = await runtime.repos.groups.by_id(tenant.id)
    assert group is not None and group["keysRevision"] == 1
    # a key revoked already changes nothing
    assert await there.revoke(tenant.id, tenant.key_ids[Role.ORG_USER]) is False
    group = await runtime.repos.groups.by_id(tenant.id)
    assert group is not None and group["keysRevision"] == 1


class RevokingMidway(GroupRepository):
    """Reads the group only after another process revoked ``key_id``: the revocation
    lands between authentication's first read of the key and its read of the group."""

    def __init__(self, runtime: Runtime, group_id: ObjectId, key_id: ObjectId) -> None:
        super().__init__(runtime.database)
        self.revoker = other_process(runtime)
        self.target = (group_id, key_id)

    async def by_id(self, group_id: ObjectId, session: object = None) -> GroupDocument | None:
        assert await self.revoker.revoke(*self.target) is True
        return await super().by_id(group_id)


async def test_a_revocation_between_the_key_and_group_reads_is_seen(runtime: Runtime) -> None:
    # given a key revoked after authentication read it, before it read the group
    tenant = await make_tenant(runtime, "acme")
    keys = other_process(runtime, RevokingMidway(runtime, tenant.id, tenant.key_ids[Role.ORG_USER]))

    # when the key authenticates, then it is refused and not remembered
    with pytest.raises(AuthenticationError, match=REFUSED):
        await keys.authenticate(bearer(tenant.user), None)
    assert len(keys.cache) == 0


async def test_a_key_of_a_removed_group_is_refused(runtime: Runtime) -> None:
    # given a remembered key whose group is then removed
    tenant = await make_tenant(runtime, "acme")
    keys = other_process(runtime)
    await keys.authenticate(bearer(tenant.user), None)
    await runtime.database.collection("groups").delete_one({"_id": tenant.id})

    # when it authenticates again, then it is refused and forgotten
    with pytest.raises(AuthenticationError, match=REFUSED):
        await keys.authenticate(bearer(tenant.user), None)
    assert len(keys.cache) == 0
