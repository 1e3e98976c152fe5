"""Adding people to a group."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ontology.db.client import Document
from ontology.keys.models import Role
from ontology.kit.clock import utcnow
from ontology.kit.errors import ErrorCode, ItemError, RejectedError
from ontology.kit.limits import check_name
from ontology.kit.pagination import PageRequest
from ontology.ledger.counters import CountDelta
from ontology.ledger.ledger import Ledger, TenantWrite
from ontology.people.repository import PersonRepository

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}$")
PERSON_ROLES = (Role.ORG_OWNER, Role.ORG_USER, Role.CUSTOMER)


@dataclass(frozen=True)
class NewPerson:
    email: str
    name: str
    role: Role = Role.ORG_USER


class PersonService:
    def __init__(self, people: PersonRepository, ledger: Ledger) -> None:
        self.people = people
        self.ledger = ledger

    # -- reads (the GraphQL lists and loaders) ----------------------------------------

    async def page(self, group_id: ObjectId, role: str | None, page: PageRequest) -> list[Document]:
        """A page of the group's people (of a role), newest first."""
        return await self.people.page(group_id, role, page)

    async def by_ids(self, group_id: ObjectId, ids: Sequence[ObjectId]) -> list[Document]:
        return await self.people.by_ids(group_id, ids)

    # -- writes ------------------------------------------------------------------------

    async def create(self, group_id: ObjectId, person: NewPerson) -> Document:
        email = person.email.strip().lower()
        errors: list[ItemError] = []
        if not EMAIL_PATTERN.match(email):
            errors.append(ItemError(ErrorCode.INVALID_INPUT, "Not a valid email address.", "email"))
        name, name_errors = check_name(person.name, "name")
        errors += name_errors
        if person.role not in PERSON_ROLES:
            errors.append(
                ItemError(
                    ErrorCode.INVALID_INPUT,
                    "platform_owner is a staff role and cannot be given to a person here.",
                    "role",
                )
            )
        if errors:
            raise RejectedError(errors)
        doc: Document = {
            "_id": ObjectId(),
            "groupId": group_id,
            "email": email,
            "name": name,
            "role": person.role.value,
            "createdAt": utcnow(),
        }

        async def write(w: TenantWrite) -> None:
            delta = CountDelta().add("people", 1).saw("people", doc["_id"])
            await w.count(delta)
            await self.people.insert(group_id, doc, w.session)

        try:
            await self.ledger.write(group_id, write, together=True)
        except DuplicateKeyError:
            raise RejectedError(
                [ItemError(ErrorCode.DUPLICATE, f"{email} is already in this group.", "email")]
            ) from None
        return doc
