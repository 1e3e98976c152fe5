"""Settings: the one place that reads the environment (prefix ``ONTOLOGY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every configurable value of the service.

    ``mongodb_uri`` unset means: start the embedded SecantusDB server and keep its
    data under ``data_dir``. ``archive_url`` unset means ``file://<data_dir>/archive``.
    """

    model_config = SettingsConfigDict(env_prefix="ONTOLOGY_", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None, description="MongoDB connection string; unset starts the embedded server"
    )
    db_name: str = Field(default="ontology", description="Database name")
    data_dir: Path = Field(
        default=Path(".ontology"), description="Embedded database files and local archives"
    )
    archive_url: str | None = Field(
        default=None, description="s3://bucket/prefix or file:///path; default under data_dir"
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="production turns off cost extensions, GraphiQL, introspection and suggestions",
    )
    host: str = Field(default="127.0.0.1", description="HTTP bind address")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port")

    vocabulary_file: Path | None = Field(
        default=None, description="JSON file replacing the default ontology (types and rules)"
    )
    plans_file: Path | None = Field(
        default=None, description="JSON file replacing the default plans and their limits"
    )
    max_page_size: int = Field(
        default=100, ge=1, description="Largest first/last on a list (one of them is required)"
    )
    properties_max_bytes: int = Field(
        default=64 * 1024, ge=1, description="Largest encoded properties object per item"
    )
    properties_max_depth: int = Field(default=10, ge=1, description="Deepest properties nesting")
    batch_max_items: int = Field(default=10_000, ge=1, description="Largest batch mutation")
    max_query_depth: int = Field(default=12, ge=1, description="Deepest selection nesting")
    max_aliases: int = Field(default=30, ge=0, description="Most aliases in one operation")
    max_tokens: int = Field(
        default=5000, ge=1, description="Most tokens in a document (variables do not count)"
    )
    max_json_depth: int = Field(
        default=32, ge=1, description="Deepest nesting of request variables (deeper: HTTP 400)"
    )
    max_nodes: int = Field(
        default=50_000,
        ge=1,
        description="Node budget: sum over lists of the product of first/last along each path",
    )
    max_argument_chars: int = Field(
        default=1024,
        ge=1,
        description="Longest String/ID argument of a field (filters, cursors, ids)",
    )
    write_chunk_size: int = Field(
        default=50,
        ge=1,
        description="Documents per bulk write command (batches, deletes, restores, roll-ups)",
    )
    group_commit_max: int = Field(
        default=64,
        ge=1,
        description="Most single writes of one group committed in one transaction while "
        "the group's previous transaction runs (group commit; 1: each write alone)",
    )
    counter_fold_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long writes committed together may stay on their process's "
        "counter shard before it is folded into the group's counters and time buckets",
    )
    reservation_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a batch may write after reserving its counts; then a process "
        "that died mid-batch has its reservation released (checked every minute)",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1, description="Largest request body (larger: HTTP 413)"
    )
    batching: bool = Field(
        default=False, description="Accept a JSON array of operations in one request"
    )
    batch_max_operations: int = Field(
        default=10, ge=1, description="Most operations in one batched request"
    )
    introspection: bool | None = Field(
        default=None, description="Allow introspection; unset: on except in production"
    )
    field_suggestions: bool | None = Field(
        default=None, description='"Did you mean" in errors; unset: on except in production'
    )
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL on GET /graphql; unset: on except in production"
    )
    trusted_documents: Literal["off", "allowed", "required"] | None = Field(
        default=None,
        description="Document ids and raw documents: off (raw only), allowed (both), "
        "required (only the manifest's documents); unset: required in production, else off",
    )
    trusted_documents_max_age: int = Field(
        default=0,
        ge=0,
        description="Cache-Control max-age (private) of a successful GET with a documentId",
    )
    rate_limit_per_key: float = Field(
        default=50.0,
        ge=0,
        description="Requests per second per API key, per process (0: no limit; over: HTTP 429)",
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, description="Requests an idle API key may send at once"
    )
    rate_limit_per_group: float = Field(
        default=100.0,
        ge=0,
        description="Requests per second per group, all its keys together, per process (0: none)",
    )
    rate_limit_group_burst: int = Field(
        default=200, ge=1, description="Requests an idle group may send at once"
    )
    batch_concurrency_per_group: int = Field(
        default=2,
        ge=0,
        description="Batch mutations a group may run at once, per process (0: no limit)",
    )
    # 60 s: the embedded server's slowest pinned read (a page of 100 things with their
    # activity in a group of 100,000 events, tests/metrics/test_volume.py) takes ~22 s
    # there, more under load; on mongod a lower value (e.g. 10 s) fits.
    db_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="Database deadline of a GraphQL operation (0: none; over: TIMEOUT)",
    )
    batch_db_timeout_ms: int = Field(
        default=300_000,
        ge=0,
        description="Database deadline of an operation with a batch mutation (0: none)",
    )
    dataloader_batching: bool = Field(
        default=True,
        description="false: every loader call is its own query (to measure what batching saves)",
    )
    log_level: str = Field(default="INFO", description="Python logging level")
    metrics_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        description="Bearer token GET /metrics requires; unset: /metrics is open",
    )

    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint of an S3-compatible store honouring If-None-Match (unset: AWS)",
    )
    s3_region: str = Field(default="us-east-1", description="S3 region")
    s3_max_attempts: int = Field(
        default=3,
        ge=1,
        description="botocore attempts per S3 call, first included (mode standard)",
    )
    s3_timeout_seconds: float = Field(default=30.0, gt=0, description="S3 connect/read timeout")
    archive_cron: str = Field(
        default="0 2 * * *", description="When the daily archival runs (crontab, UTC)"
    )
    archive_batch_size: int = Field(
        default=1000, ge=1, description="Events per archive object (at most; one day each)"
    )
    archive_pause_ms: int = Field(default=50, ge=0, description="Pause between archive batches")
    archive_retries: int = Field(
        default=10, ge=0, description="Retries of a throttled or transient archival step"
    )
    archive_retry_base_ms: int = Field(
        default=500, ge=0, description="First backoff delay (doubles per retry, with jitter)"
    )
    archive_retry_cap_seconds: float = Field(
        default=60.0, ge=0, description="Longest backoff delay between two retries"
    )
    archive_run_budget_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="Time budget of a scheduled or queued archival run; what it did not "
        "reach goes on in a queued follow-up run (0: no budget)",
    )
    lease_seconds: float = Field(
        default=60.0, gt=0, description="Scheduler lease period (renewed every third of it)"
    )
    scheduler_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often the scheduler picks up queued runs"
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Accept webhook targets that are not public https URLs (tests, intranets)",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=20, description="Deliveries of a webhook event tried at most"
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="Time allowed for a webhook POST"
    )

    # live updates: GraphQL subscriptions over graphql-transport-ws (``ontology.live``)
    subscriptions_per_connection: int = Field(
        default=50, ge=1, description="Subscriptions one WebSocket may run at once"
    )
    subscriptions_per_key: int = Field(
        default=200, ge=1, description="Subscriptions one API key may run at once, per process"
    )
    subscriptions_per_group: int = Field(
        default=1000, ge=1, description="Subscriptions one group may run at once, per process"
    )
    subscription_queue_size: int = Field(
        default=100,
        ge=1,
        description="Changes a subscription may hold undelivered; past it the socket is "
        "closed with 4008 (slow consumer)",
    )
    subscription_replay_max: int = Field(
        default=1000, ge=0, description="Most missed events eventAdded(after:) replays"
    )
    subscription_ping_seconds: float = Field(
        default=20.0, ge=0, description="Server ping interval on WebSockets (0: none)"
    )
    live_resume_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long the change stream tries to resume after an error before "
        "closing every socket with 4503 (reconnect)",
    )
    live_feed_linger_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long the change stream stays open after the last WebSocket "
        "closed (it opens with the first one)",
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def field_suggestions_enabled(self) -> bool:
        if self.field_suggestions is not None:
            return self.field_suggestions
        return not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def trusted_documents_mode(self) -> str:
        if self.trusted_documents is not None:
            return self.trusted_documents
        return "required" if self.is_production else "off"

    @property
    def resolved_archive_url(self) -> str:
        if self.archive_url:
            return self.archive_url
        return (self.data_dir.resolve() / "archive").as_uri()
