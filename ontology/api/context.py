"""The per-request GraphQL context: the caller, the runtime and fresh loaders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from bson import ObjectId

from ontology.api.executor import CoercedVariables
from ontology.keys.models import Caller, Role
from ontology.kit.errors import ForbiddenError
from ontology.kit.pagination import PageRequest
from ontology.live.connection import LiveConnection
from ontology.runtime import Runtime, Services


class PerRequest(Protocol):
    """A DataLoader class that knows how to build itself for one request."""

    max_batch_size: int | None

    @classmethod
    def for_request(cls, runtime: Runtime, group_id: ObjectId) -> Self: ...


L = TypeVar("L", bound=PerRequest)


class Loaders:
    """The request's DataLoaders, one per class, each built on first use
    (``context.loaders.get(ThingsByIdLoader)``): a loader is registered by the code that
    asks for it, so no module imports them all."""

    def __init__(self, runtime: Runtime, group_id: ObjectId) -> None:
        self.runtime = runtime
        self.group_id = group_id
        self._built: dict[type[Any], Any] = {}

    def get(self, kind: type[L]) -> L:
        loader = self._built.get(kind)
        if loader is None:
            loader = self._built[kind] = kind.for_request(self.runtime, self.group_id)
            if not self.runtime.settings.dataloader_batching:
                loader.max_batch_size = 1
        built: L = loader
        return built


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

    @property
    def services(self) -> Services:
        """The domain services a resolver calls (typed; writes go through them)."""
        return self.runtime.services

    def require(self, role: Role) -> None:
        """Refuse the operation (a top-level FORBIDDEN error) below ``role``."""
        if not self.caller.role.at_least(role):
            raise ForbiddenError(
                f"This operation needs the {role.value} role; the key has {self.caller.role.value}."
            )

    def known(self, page: PageRequest, name: str, of_type: str | None = None) -> PageRequest:
        """``page`` with what the group's counters tell of its list ``name`` (of a type):
        the most documents it holds and the newest key written to it."""
        counts: Mapping[str, Any] = self.caller.group.get("counts") or {}  # by list name
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
