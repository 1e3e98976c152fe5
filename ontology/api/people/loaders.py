"""Per-request loaders for people."""

from __future__ import annotations

from bson import ObjectId

from ontology.api.loaders import ByIdLoader
from ontology.people.repository import PersonRepository


class PeopleByIdLoader(ByIdLoader):
    def __init__(self, people: PersonRepository, group_id: ObjectId) -> None:
        super().__init__(people.by_ids, group_id)
