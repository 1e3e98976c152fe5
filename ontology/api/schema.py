"""Assemble the schema from each concept's queries and mutations."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from ontology.api.archival.mutations import ArchivalMutations
from ontology.api.archival.queries import ArchivalQueries
from ontology.api.archival.subscriptions import ArchivalSubscriptions
from ontology.api.batch_slots import BatchConcurrencyExtension
from ontology.api.batches.mutations import BatchMutations
from ontology.api.connections.mutations import ConnectionMutations
from ontology.api.connections.queries import ConnectionQueries
from ontology.api.connections.subscriptions import ConnectionSubscriptions
from ontology.api.deadline import DatabaseDeadlineExtension
from ontology.api.events.mutations import EventMutations
from ontology.api.events.queries import EventQueries
from ontology.api.events.subscriptions import EventSubscriptions
from ontology.api.executor import OntologyExecutor
from ontology.api.extensions import ApiCallQuotaExtension, CostExtension, ErrorExtension
from ontology.api.groups.queries import GroupQueries
from ontology.api.groups.types import GroupType
from ontology.api.knowledge.mutations import KnowledgeMutations
from ontology.api.knowledge.queries import KnowledgeQueries
from ontology.api.metrics.queries import MetricsQueries
from ontology.api.metrics.subscriptions import MetricsSubscriptions
from ontology.api.node import NodeQueries
from ontology.api.overview.queries import OverviewQueries
from ontology.api.people.mutations import PersonMutations
from ontology.api.people.queries import PersonQueries
from ontology.api.quotas.mutations import QuotaMutations
from ontology.api.quotas.queries import QuotaQueries
from ontology.api.quotas.subscriptions import QuotaSubscriptions
from ontology.api.scalars import SCALAR_OVERRIDES
from ontology.api.things.mutations import ThingMutations
from ontology.api.things.queries import ThingQueries
from ontology.api.things.subscriptions import ThingSubscriptions
from ontology.api.validation import RequestLimits, ValidationExtension, ValidDocuments
from ontology.api.webhooks.mutations import WebhookMutations
from ontology.api.webhooks.queries import WebhookQueries
from ontology.config import Settings
from ontology.kit import tracing

Query = merge_types(
    "Query",
    (
        GroupQueries,
        NodeQueries,
        ThingQueries,
        ConnectionQueries,
        EventQueries,
        PersonQueries,
        KnowledgeQueries,
        QuotaQueries,
        MetricsQueries,
        ArchivalQueries,
        WebhookQueries,
        OverviewQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ThingMutations,
        BatchMutations,
        ConnectionMutations,
        EventMutations,
        PersonMutations,
        KnowledgeMutations,
        QuotaMutations,
        ArchivalMutations,
        WebhookMutations,
    ),
)

Subscription = merge_types(
    "Subscription",
    (
        ThingSubscriptions,
        ConnectionSubscriptions,
        EventSubscriptions,
        MetricsSubscriptions,
        QuotaSubscriptions,
        ArchivalSubscriptions,
    ),
)


class OntologySchema(strawberry.Schema):
    # the documents that passed the document rules (``ontology.api.validation``)
    valid_documents: ValidDocuments

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Unexpected errors are logged once, with the request id, by ``ErrorExtension``."""


def _tracing_extensions() -> list[Any]:
    """The operation and resolver spans, only while tracing is on (``ontology.kit.tracing``)."""
    tracer = tracing.tracer()
    if tracer is None:
        return []
    from ontology.api.tracing import TracingExtension

    return [lambda: TracingExtension(tracer)]


def create_schema(settings: Settings | None = None) -> OntologySchema:
    """The schema, with the request limits of ``settings`` (checked before any database work).

    Validation (``ValidationExtension``) runs after the extensions that add
    validation rules have added them, and before execution.
    """
    settings = settings or Settings()
    hide_suggestions = not settings.field_suggestions_enabled
    limits = RequestLimits(
        max_page_size=settings.max_page_size,
        max_nodes=settings.max_nodes,
        max_argument_chars=settings.max_argument_chars,
        hide_suggestions=hide_suggestions,
    )
    valid = ValidDocuments()
    extensions: list[Any] = [
        *_tracing_extensions(),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    extensions += [
        lambda: ValidationExtension(limits, valid),
        CostExtension,
        lambda: ErrorExtension(hide_suggestions=hide_suggestions),
        # on_execute runs in this order: the deadline bounds the quota's meter read and
        # the execution; a batch refused for concurrency is not metered as an API call.
        lambda: DatabaseDeadlineExtension(
            request_ms=settings.db_timeout_ms, batch_ms=settings.batch_db_timeout_ms
        ),
        BatchConcurrencyExtension,
        ApiCallQuotaExtension,
    ]
    config = StrawberryConfig(
        batching_config={"max_operations": settings.batch_max_operations}
        if settings.batching
        else None
    )
    schema = OntologySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[GroupType],
        extensions=extensions,
        config=config,
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=OntologyExecutor,
    )
    schema.valid_documents = valid
    return schema


def export_sdl() -> str:
    """The schema as SDL, as committed in ``schema.graphql``."""
    return create_schema().as_str() + "\n"
