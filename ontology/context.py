"""The per-request GraphQL context: the caller, the runtime and fresh loaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from ontology.api.executor import CoercedVariables
from ontology.connections.loaders import ConnectionsByIdLoader, ConnectionsByThingLoader
from ontology.events.loaders import ActivityByThingLoader, EventsByIdLoader
from ontology.keys.models import Caller, Role
from ontology.kit.errors import ForbiddenError
from ontology.kit.pagination import PageRequest
from ontology.knowledge.loaders import KnowledgeByIdLoader, KnowledgeByThingLoader
from ontology.live.connection import LiveConnection
from ontology.metrics.loaders import GroupSourcesLoader, ThingTotalsByIdLoader
from ontology.people.loaders import PeopleByIdLoader
from ontology.runtime import Runtime
from ontology.things.loaders import ThingsByIdLoader


@dataclass
class Loaders:
    things_by_id: ThingsByIdLoader
    connections_by_id: ConnectionsByIdLoader
    connections_by_thing: ConnectionsByThingLoader
    events_by_id: EventsByIdLoader
    activity_by_thing: ActivityByThingLoader
    people_by_id: PeopleByIdLoader
    knowledge_by_id: KnowledgeByIdLoader
    knowledge_by_thing: KnowledgeByThingLoader
    thing_totals_by_id: ThingTotalsByIdLoader
    group_sources: GroupSourcesLoader

    @classmethod
    def for_group(cls, runtime: Runtime, group_id: ObjectId) -> Loaders:
        repos = runtime.repos
        loaders = cls(
            things_by_id=ThingsByIdLoader(repos.things, group_id),
            connections_by_id=ConnectionsByIdLoader(repos.connections, group_id),
            connections_by_thing=ConnectionsByThingLoader(repos.connections, group_id),
            events_by_id=EventsByIdLoader(repos.events, group_id),
            activity_by_thing=ActivityByThingLoader(repos.events, group_id),
            people_by_id=PeopleByIdLoader(repos.people, group_id),
            knowledge_by_id=KnowledgeByIdLoader(repos.knowledge, group_id),
            knowledge_by_thing=KnowledgeByThingLoader(repos.knowledge, group_id),
            thing_totals_by_id=ThingTotalsByIdLoader(repos.counters, group_id),
            group_sources=GroupSourcesLoader(runtime.services.metrics, group_id),
        )
        if not runtime.settings.dataloader_batching:
            for loader in vars(loaders).values():
                loader.max_batch_size = 1
        return loaders


@dataclass
class Context:
    runtime: Runtime
    caller: Caller
    loaders: Loaders
    request: Any = None
    response: Any = None
    request_id: str = ""
    # set by validation, reused by execution (``ontology.api.executor``)
    coerced_variables: CoercedVariables | None = None
    # the WebSocket an operation runs on (subscriptions), None over HTTP
    live: LiveConnection | None = None

    @property
    def group_id(self) -> ObjectId:
        return self.caller.group_id

    def require(self, role: Role) -> None:
        """Refuse the operation (a top-level FORBIDDEN error) below ``role``."""
        if not self.caller.role.at_least(role):
            raise ForbiddenError(
                f"This operation needs the {role.value} role; the key has {self.caller.role.value}."
            )

    def known(self, page: PageRequest, name: str, of_type: str | None = None) -> PageRequest:
        """``page`` with what the group's counters tell of its list ``name`` (of a type):
        the most documents it holds and the newest key written to it."""
        counts = self.caller.group.get("counts") or {}
        newest = self.caller.group.get("newest") or {}
        oldest = self.caller.group.get("oldest") or {}
        if of_type is None:
            return page.known(counts.get(name), newest.get(name), oldest.get(name))
        by_type = f"{name}ByType"
        at_most = (counts[by_type] or {}).get(of_type, 0) if by_type in counts else counts.get(name)
        # the whole list's newest and oldest bound a type's too
        return page.known(
            at_most,
            (newest.get(by_type) or {}).get(of_type, newest.get(name)),
            (oldest.get(by_type) or {}).get(of_type, oldest.get(name)),
        )

    def page(
        self,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PageRequest:
        return PageRequest.parse(
            first=first,
            after=after,
            last=last,
            before=before,
            max_size=self.runtime.settings.max_page_size,
        )
