"""Per-request loaders for people."""

from __future__ import annotations

from typing import Self

from bson import ObjectId

from ontology.api.loaders import ByIdLoader
from ontology.db.client import Document
from ontology.people.service import PersonService
from ontology.runtime import Runtime


class PeopleByIdLoader(ByIdLoader[Document]):
    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self:
        return cls(runtime.services.people, group_id)

    def __init__(self, people: PersonService, group_id: ObjectId) -> None:
        super().__init__(people.by_ids, group_id)
