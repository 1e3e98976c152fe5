"""Mutations for people."""

from __future__ import annotations

import strawberry

from ontology.api.base import UserError
from ontology.api.context import Context
from ontology.api.people.types import CreatePersonInput, PersonPayload, PersonType
from ontology.keys.models import Role
from ontology.kit.errors import RejectedError
from ontology.people.service import NewPerson

Info = strawberry.Info[Context, None]


@strawberry.type
class PersonMutations:
    @strawberry.mutation(description="Add a person to the group (org_owner and above).")
    async def create_person(self, info: Info, input: CreatePersonInput) -> PersonPayload:
        context = info.context
        new = NewPerson(email=input.email, name=input.name, role=Role(input.role))
        try:
            doc = await context.runtime.services.people.create(context.group_id, new)
        except RejectedError as rejected:
            return PersonPayload(person=None, errors=UserError.from_items(rejected.errors))
        return PersonPayload(person=PersonType.from_doc(doc), errors=[])
