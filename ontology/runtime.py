"""Wiring: the database, the vocabulary, every repository and service, built once.

The API (``create_app``) and the CLI both open a ``Runtime``; nothing else
constructs repositories or services.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bson import ObjectId

from ontology.archival.archived import ArchivedEventsService
from ontology.archival.repository import ArchivalProgressRepository, ManifestRepository
from ontology.archival.service import ArchivalService
from ontology.archival.sinks import Sink, open_sink
from ontology.batches.idempotency import IdempotencyRepository
from ontology.batches.service import BatchService
from ontology.config import Settings
from ontology.connections.repository import ConnectionRepository
from ontology.connections.service import ConnectionService
from ontology.counters.repository import CounterCheckRepository
from ontology.counters.service import CounterCheckService
from ontology.db.client import Database
from ontology.db.embedded import EmbeddedServer, running_server_uri
from ontology.db.indexes import ensure_indexes
from ontology.events.repository import EventRepository
from ontology.events.service import EventService
from ontology.groups.repository import GroupRepository
from ontology.groups.service import GroupService
from ontology.keys.repository import ApiKeyRepository
from ontology.keys.service import ApiKeyService
from ontology.kit.concurrency import ConcurrencySlots
from ontology.kit.limits import WriteLimits
from ontology.kit.metrics import Metrics
from ontology.kit.retry import Backoff
from ontology.knowledge.repository import KnowledgeRepository
from ontology.knowledge.service import KnowledgeService
from ontology.ledger.accounts import GroupAccounts
from ontology.ledger.ledger import Ledger
from ontology.ledger.log import EventLog
from ontology.ledger.meter import ApiCallMeter
from ontology.ledger.plans import PlanBook, load_plans
from ontology.ledger.reservations import ReservationRepository
from ontology.ledger.usage import UsageRepository
from ontology.metrics.repository import CounterRepository, SnapshotRepository
from ontology.metrics.service import MetricsService
from ontology.overview.service import GroupOverviewService
from ontology.people.repository import PersonRepository
from ontology.people.service import PersonService
from ontology.quotas.service import QuotaService
from ontology.runs.repository import JobRunRepository, LeaseRepository
from ontology.runs.service import JobRuns
from ontology.things.engagement import EngagementLedger
from ontology.things.repository import ThingRepository
from ontology.things.service import ThingService
from ontology.vocabulary import Vocabulary, load_vocabulary
from ontology.webhooks.outbox import WebhookOutbox
from ontology.webhooks.repository import DeliveryRepository, WebhookRepository
from ontology.webhooks.service import WebhookService


@dataclass(frozen=True)
class Repositories:
    groups: GroupRepository
    accounts: GroupAccounts
    keys: ApiKeyRepository
    people: PersonRepository
    things: ThingRepository
    connections: ConnectionRepository
    events: EventRepository
    log: EventLog
    knowledge: KnowledgeRepository
    usage: UsageRepository
    idempotency: IdempotencyRepository
    counters: CounterRepository
    snapshots: SnapshotRepository
    manifests: ManifestRepository
    archival_progress: ArchivalProgressRepository
    job_runs: JobRunRepository
    leases: LeaseRepository
    webhooks: WebhookRepository
    deliveries: DeliveryRepository

    @classmethod
    def build(cls, database: Database) -> Repositories:
        return cls(
            groups=GroupRepository(database),
            accounts=GroupAccounts(database),
            keys=ApiKeyRepository(database),
            people=PersonRepository(database),
            things=ThingRepository(database),
            connections=ConnectionRepository(database),
            events=EventRepository(database),
            log=EventLog(database),
            knowledge=KnowledgeRepository(database),
            usage=UsageRepository(database),
            idempotency=IdempotencyRepository(database),
            counters=CounterRepository(database),
            snapshots=SnapshotRepository(database),
            manifests=ManifestRepository(database),
            archival_progress=ArchivalProgressRepository(database),
            job_runs=JobRunRepository(database),
            leases=LeaseRepository(database),
            webhooks=WebhookRepository(database),
            deliveries=DeliveryRepository(database),
        )


@dataclass(frozen=True)
class Services:
    ledger: Ledger
    groups: GroupService
    keys: ApiKeyService
    people: PersonService
    things: ThingService
    connections: ConnectionService
    events: EventService
    knowledge: KnowledgeService
    quotas: QuotaService
    batches: BatchService
    metrics: MetricsService
    archival: ArchivalService
    archived: ArchivedEventsService
    runs: JobRuns
    counter_check: CounterCheckService
    webhooks: WebhookService
    overview: GroupOverviewService

    @classmethod
    def build(
        cls,
        database: Database,
        repos: Repositories,
        vocabulary: Vocabulary,
        limits: WriteLimits,
        plans: PlanBook,
        metrics: Metrics,
        settings: Settings,
    ) -> Services:
        ledger = Ledger(
            database,
            plans,
            repos.accounts,
            repos.log,
            repos.usage,
            metrics,
            ReservationRepository(database),
            coalesce=settings.group_commit_max,
            reservation_seconds=settings.reservation_seconds,
            fold_seconds=settings.counter_fold_seconds,
        )
        quotas = QuotaService(ledger, plans, repos.groups, ApiCallMeter(repos.usage))
        sink = _sink_opener(settings)
        backoff = Backoff(
            base_seconds=settings.archive_retry_base_ms / 1000,
            cap_seconds=settings.archive_retry_cap_seconds,
            retries=settings.archive_retries,
        )
        engagement = EngagementLedger(database, repos.things, repos.accounts, vocabulary)
        connections = ConnectionService(
            repos.connections, repos.things, ledger, vocabulary, limits, engagement
        )
        ledger.alert_subscribers.append(WebhookOutbox(repos.webhooks, repos.deliveries).enqueue)
        return cls(
            ledger=ledger,
            groups=GroupService(repos.groups, plans),
            keys=ApiKeyService(database, repos.keys, repos.groups),
            people=PersonService(repos.people, ledger),
            things=ThingService(repos.things, ledger, vocabulary, limits, connections.detach),
            connections=connections,
            events=EventService(repos.events, ledger, repos.things, vocabulary, limits),
            knowledge=KnowledgeService(repos.knowledge, repos.things, ledger, limits),
            quotas=quotas,
            batches=BatchService(
                repos.things,
                repos.connections,
                ledger,
                repos.idempotency,
                vocabulary,
                limits,
                metrics,
                engagement,
            ),
            metrics=MetricsService(
                repos.counters,
                repos.snapshots,
                repos.groups,
                quotas.meter,
                engagement,
            ),
            archival=ArchivalService(
                database=database,
                book=plans,
                groups=repos.groups,
                events=repos.events,
                manifests=repos.manifests,
                progress=repos.archival_progress,
                ledger=ledger,
                sink_factory=sink,
                cron=settings.archive_cron,
                batch_size=settings.archive_batch_size,
                pause_seconds=settings.archive_pause_ms / 1000,
                backoff=backoff,
            ),
            archived=ArchivedEventsService(
                database=database,
                events=repos.events,
                manifests=repos.manifests,
                progress=repos.archival_progress,
                ledger=ledger,
                sink_factory=sink,
                backoff=backoff,
            ),
            runs=JobRuns(repos.job_runs),
            counter_check=CounterCheckService(database, CounterCheckRepository(database), plans),
            webhooks=WebhookService(
                repos.webhooks, repos.deliveries, allow_private=settings.webhooks_allow_private
            ),
            overview=GroupOverviewService(repos.groups, quotas, repos.job_runs),
        )


def _sink_opener(settings: Settings) -> Callable[[], Sink]:
    """Opens the archive sink on first use (a bad URL fails an archival run, not start-up)."""
    opened: list[Sink] = []

    def sink() -> Sink:
        if not opened:
            opened.append(open_sink(settings))
        return opened[0]

    return sink


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    vocabulary: Vocabulary
    limits: WriteLimits
    repos: Repositories
    services: Services
    metrics: Metrics
    # batch mutations running per group in this process (None: no limit)
    batch_slots: ConcurrencySlots[ObjectId] | None = None


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, reuse_running_server: bool = True
) -> AsyncIterator[Runtime]:
    """Connect (starting the embedded server when no URI is set) and build everything.

    With ``reuse_running_server`` a command such as ``ontology keys create``
    talks to the embedded server an ``ontology serve`` already runs on the same
    data directory instead of failing on its lock.
    """
    embedded: EmbeddedServer | None = None
    uri = settings.mongodb_uri
    if uri is None and reuse_running_server:
        uri = running_server_uri(settings.data_dir)
    if uri is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedServer(settings.data_dir)
        await asyncio.to_thread(embedded.start)
        uri = embedded.uri
    database = Database(uri, settings.db_name, write_chunk=settings.write_chunk_size)
    try:
        await database.check_transactions()
        await ensure_indexes(database)
        vocabulary = load_vocabulary(settings.vocabulary_file)
        limits = WriteLimits(
            properties_max_bytes=settings.properties_max_bytes,
            properties_max_depth=settings.properties_max_depth,
            batch_max_items=settings.batch_max_items,
        )
        repos = Repositories.build(database)
        metrics = Metrics()
        services = Services.build(
            database,
            repos,
            vocabulary,
            limits,
            load_plans(settings.plans_file),
            metrics,
            settings,
        )
        await services.quotas.sync_limits()
        try:
            yield Runtime(
                settings=settings,
                database=database,
                vocabulary=vocabulary,
                limits=limits,
                repos=repos,
                services=services,
                metrics=metrics,
                batch_slots=ConcurrencySlots[ObjectId](settings.batch_concurrency_per_group)
                if settings.batch_concurrency_per_group
                else None,
            )
        finally:
            await services.ledger.close()
    finally:
        await database.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
