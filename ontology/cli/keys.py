"""ontology keys: issue and revoke API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from bson import ObjectId
from bson.errors import InvalidId

from ontology.cli.common import emit, fail, run_with_runtime
from ontology.keys.models import Role
from ontology.runtime import Runtime

app = typer.Typer(
    help="Issue and revoke API keys.\n\n"
    "Examples:\n\n"
    "  ontology keys create --group acme --role org_owner",
    no_args_is_help=True,
)


@app.command("create")
def keys_create(
    group: Annotated[str, typer.Option(help="The group's slug.")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Issue a key; the secret is printed once and only its SHA-256 is stored.

    Examples:

      ontology keys create --group acme --role org_owner --name "ops laptop"

      ontology keys create --group acme --role customer --json
    """

    async def work(runtime: Runtime) -> tuple[dict[str, Any], str]:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        return await runtime.services.keys.create(found["_id"], role, name=name)

    key, secret = run_with_runtime(work)
    emit(
        as_json,
        {"id": str(key["_id"]), "group": group, "role": key["role"], "secret": secret},
        f"Key {key['_id']} ({key['role']} of {group}):\n{secret}\n"
        "Store it now: it is not shown again.",
    )


@app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys create`).")],
    group: Annotated[str, typer.Option(help="The group's slug.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Revoke a key; requests with it fail from now on.

    Examples:

      ontology keys revoke 6650c0ffee0000000000abcd --group acme
    """
    try:
        object_id = ObjectId(key_id)
    except InvalidId:
        raise fail(f"{key_id!r} is not a key id.") from None

    async def work(runtime: Runtime) -> bool:
        found = await runtime.services.groups.by_slug(group)
        if found is None:
            raise fail(f"No group with slug {group!r}.")
        return await runtime.services.keys.revoke(found["_id"], object_id)

    if not run_with_runtime(work):
        raise fail(f"No active key {key_id} in group {group!r}.")
    emit(as_json, {"id": key_id, "revoked": True}, f"Revoked key {key_id}.")
