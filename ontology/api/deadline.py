"""The database deadline of a GraphQL operation (``ONTOLOGY_DB_TIMEOUT_MS``).

Each operation's execution runs under ``ontology.db.deadline.deadline``: every
MongoDB command it causes, DataLoader batches and transaction retries included,
must finish within ``db_timeout_ms``, or ``batch_db_timeout_ms`` when the
operation runs a batch mutation (10,000 items legitimately take tens of
seconds). A deadline that passes surfaces as a ``TIMEOUT`` error
(``ErrorExtension``) and frees the request. Jobs and the CLI run outside any
GraphQL operation and keep no deadline: archival streams through one long
cursor, which a deadline would cut.
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from ontology.api.operations import runs_batch
from ontology.db.deadline import deadline


class DatabaseDeadlineExtension(SchemaExtension):
    def __init__(self, *, request_ms: int, batch_ms: int) -> None:
        self.request_ms = request_ms
        self.batch_ms = batch_ms

    def on_execute(self) -> Iterator[None]:
        milliseconds = self.batch_ms if runs_batch(self.execution_context) else self.request_ms
        with deadline(milliseconds / 1000 if milliseconds else None):
            yield
