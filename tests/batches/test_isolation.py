"""Tenant isolation: another tenant's ids behave exactly like ids that never existed."""

from __future__ import annotations

from dataclasses import dataclass

from ontology.kit.ids import to_global_id
from tests.batches.support import (
    CONNECT,
    DELETE_THING,
    INSERT,
    NODE,
    REJECT_FAILED_ROWS,
    UPDATE,
    batch,
    error,
    ids_of,
    item,
    missing_id,
    nodes,
    oid,
    payload,
    settled_documents,
    stored,
    thing,
)
from tests.factories import Api, Tenant, connect, make_tenant

NO_SUCH = "No such thing."


@dataclass
class Tenants:
    acme: Tenant
    globex: Tenant
    ada: str  # acme's creator
    guild: str  # acme's community
    eve: str  # globex's creator
    hall: str  # globex's community
    globex_link: str  # globex's connection eve -> hall


async def tenants(api: Api) -> Tenants:
    acme = await make_tenant(api.runtime, "acme")
    globex = await make_tenant(api.runtime, "globex")
    ada, guild = ids_of(
        await batch(api, acme.user, INSERT, [thing(name="Ada"), thing("community", name="Guild")])
    )
    eve, hall = ids_of(
        await batch(api, globex.user, INSERT, [thing(name="Eve"), thing("community", name="Hall")])
    )
    assert ada and guild and eve and hall
    globex_link = await connect(api, globex.user, eve, hall, "member_of")
    return Tenants(acme, globex, ada, guild, eve, hall, globex_link)


async def test_foreign_connection_ends_are_not_found_like_missing_ones(api: Api) -> None:
    # given two tenants, and the same batch with the other tenant's ids and with ids that
    # never existed in every end position
    t = await tenants(api)
    globex_before = await settled_documents(api.runtime, t.globex.id)

    def links(a: str, b: str, c: str) -> list[dict[str, str]]:
        return [
            {"fromId": a, "toId": t.guild, "type": "member_of"},
            {"fromId": t.ada, "toId": b, "type": "member_of"},
            {"fromId": a, "toId": c, "type": "references"},
        ]

    # when both are sent
    foreign = await batch(api, t.acme.user, CONNECT, links(t.eve, t.hall, t.eve))
    missing = await batch(
        api, t.acme.user, CONNECT, links(missing_id(), missing_id(), missing_id())
    )

    # then both answers are identical: NOT_FOUND at each foreign end
    expected = payload(
        [
            item(0, "FAILED", errors=[error(0, "connections.0.fromId", "NOT_FOUND", NO_SUCH)]),
            item(1, "FAILED", errors=[error(1, "connections.1.toId", "NOT_FOUND", NO_SUCH)]),
            item(
                2,
                "FAILED",
                errors=[
                    error(2, "connections.2.fromId", "NOT_FOUND", NO_SUCH),
                    error(2, "connections.2.toId", "NOT_FOUND", NO_SUCH),
                ],
            ),
        ]
    )
    assert foreign == missing == expected
    # and the other tenant's things, connections, counts and events are untouched
    assert await settled_documents(api.runtime, t.globex.id) == globex_before


async def test_foreign_ids_fail_while_the_valid_items_are_written(api: Api) -> None:
    # given two tenants
    t = await tenants(api)
    globex_before = await settled_documents(api.runtime, t.globex.id)

    # when a REJECT_FAILED_ROWS batch mixes a valid connection with one to a foreign thing
    result = await batch(
        api,
        t.acme.user,
        CONNECT,
        [
            {"fromId": t.ada, "toId": t.guild, "type": "member_of"},
            {"fromId": t.ada, "toId": t.hall, "type": "member_of"},
        ],
        REJECT_FAILED_ROWS,
    )

    # then only the valid one is written, in the caller's group
    [created, _] = ids_of(result)
    assert [r["status"] for r in result["results"]] == ["CREATED", "FAILED"]
    connections = await stored(api.runtime, "connections", {"groupId": t.acme.id})
    assert [to_global_id("Connection", c["_id"]) for c in connections] == [created]
    # and the foreign thing's connection counts and its tenant's data did not move
    assert await settled_documents(api.runtime, t.globex.id) == globex_before
    # and the other tenant cannot see what was written, nor the batch's event
    assert await nodes(api, t.globex.user, [created, t.ada]) == [None, None]
    assert (await api.data(t.globex.user, NODE, {"id": result["batchEventId"]}))["node"] is None


async def test_foreign_update_ids_are_not_found_like_missing_ones(api: Api) -> None:
    # given two tenants
    t = await tenants(api)
    globex_before = await settled_documents(api.runtime, t.globex.id)

    # when the other tenant's thing, the other tenant's connection, and an id that never
    # existed are updated, alongside a valid update
    def updates(a: str, b: str) -> list[dict[str, object]]:
        return [
            {"id": a, "name": "Mallory", "expectedVersion": 1},
            {"id": t.ada, "name": "Ada Lovelace"},
            {"id": b, "status": "archived"},
        ]

    foreign = await batch(api, t.acme.user, UPDATE, updates(t.eve, t.globex_link))
    missing = await batch(api, t.acme.user, UPDATE, updates(missing_id(), missing_id()))

    # then both answers are identical: NOT_FOUND at the id, no id echoed, nothing written
    expected = payload(
        [
            item(0, "FAILED", errors=[error(0, "updates.0.id", "NOT_FOUND", NO_SUCH)]),
            item(1, "NOT_WRITTEN"),
            item(2, "FAILED", errors=[error(2, "updates.2.id", "NOT_FOUND", NO_SUCH)]),
        ]
    )
    assert foreign == missing == expected
    assert await settled_documents(api.runtime, t.globex.id) == globex_before

    # when the same is sent with REJECT_FAILED_ROWS
    written = await batch(api, t.acme.user, UPDATE, updates(t.eve, t.hall), REJECT_FAILED_ROWS)

    # then only the caller's thing changes; the other tenant's things keep name and version
    assert [r["status"] for r in written["results"]] == ["FAILED", "UPDATED", "FAILED"]
    assert await settled_documents(api.runtime, t.globex.id) == globex_before
    [eve] = await nodes(api, t.globex.user, [t.eve])
    assert (eve["name"], eve["status"], eve["version"]) == ("Eve", "active", 1)


async def test_a_deleted_thing_is_not_found_by_any_batch(api: Api) -> None:
    # given a tenant whose thing was deleted
    t = await tenants(api)
    deleted = (await api.data(t.acme.user, DELETE_THING, {"id": t.guild}))["deleteThing"]
    assert deleted == {"deletedId": t.guild, "errors": []}
    before = await settled_documents(api.runtime, t.acme.id)

    # when batches connect to it and update it
    connected = await batch(
        api, t.acme.user, CONNECT, [{"fromId": t.ada, "toId": t.guild, "type": "member_of"}]
    )
    updated = await batch(api, t.acme.user, UPDATE, [{"id": t.guild, "name": "Back"}])

    # then it is NOT_FOUND, and nothing is written
    assert connected == payload(
        [item(0, "FAILED", errors=[error(0, "connections.0.toId", "NOT_FOUND", NO_SUCH)])]
    )
    assert updated == payload(
        [item(0, "FAILED", errors=[error(0, "updates.0.id", "NOT_FOUND", NO_SUCH)])]
    )
    assert await settled_documents(api.runtime, t.acme.id) == before
    assert oid(t.guild) not in {
        d["_id"] for d in await stored(api.runtime, "things", {"deletedAt": None})
    }
