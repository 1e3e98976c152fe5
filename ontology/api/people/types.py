"""GraphQL types for people."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from ontology.api.base import Node, UserError
from ontology.keys.models import Role
from ontology.kit.ids import to_global_id

RoleEnum = strawberry.enum(Role, name="Role", description="What a key or a person may do.")


@strawberry.type(name="Person", description="A member of a group.")
class PersonType(Node):
    email: str
    name: str
    role: RoleEnum  # type: ignore[valid-type]
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PersonType:
        return cls(
            id=strawberry.ID(to_global_id("Person", doc["_id"])),
            email=doc["email"],
            name=doc["name"],
            role=Role(doc["role"]),
            created_at=doc["createdAt"],
        )


@strawberry.input
class CreatePersonInput:
    email: str
    name: str
    role: RoleEnum = Role.ORG_USER  # type: ignore[valid-type]


@strawberry.type
class PersonPayload:
    person: PersonType | None
    errors: list[UserError]
