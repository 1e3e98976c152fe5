"""Mutations for people."""

from __future__ import annotations

import strawberry

from ontology.api.base import payload
from ontology.api.context import Context
from ontology.api.people.types import CreatePersonInput, PersonPayload, PersonType
from ontology.keys.models import Role
from ontology.people.service import NewPerson

Info = strawberry.Info[Context, None]


@strawberry.type
class PersonMutations:
    @strawberry.mutation(description="Add a person to the group (org_owner and above).")
    async def create_person(self, info: Info, input: CreatePersonInput) -> PersonPayload:
        context = info.context
        new = NewPerson(email=input.email, name=input.name, role=Role(input.role))
        return await payload(
            context.services.people.create(context.group_id, new),
            lambda doc: PersonPayload(person=PersonType.from_doc(doc), errors=[]),
            lambda errors: PersonPayload(person=None, errors=errors),
        )
