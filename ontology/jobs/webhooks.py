"""The webhook delivery job: drains the due deliveries of the outbox (``ontology.webhooks``).

The scheduler runs it every ``ONTOLOGY_SCHEDULER_POLL_SECONDS``; each run delivers
up to 200 due deliveries, one after the other. Outcomes are counted in
``/metrics`` (``ontology_webhook_deliveries{outcome}``) and logged per delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.interval import IntervalTrigger

from ontology.jobs.registry import JobReport, job
from ontology.webhooks.worker import DeliveryRun, DeliveryWorker

if TYPE_CHECKING:
    from ontology.runtime import Runtime

WEBHOOKS_JOB = "webhooks"


def worker(runtime: Runtime, owner: str | None = None) -> DeliveryWorker:
    settings = runtime.settings
    return DeliveryWorker(
        runtime.repos.deliveries,
        runtime.repos.webhooks,
        max_attempts=settings.webhook_max_attempts,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhooks_allow_private,
        owner=owner,
    )


async def deliver_webhooks(runtime: Runtime, owner: str | None = None) -> DeliveryRun:
    run = await worker(runtime, owner).run_due()
    for outcome, count in run.as_json().items():
        if count:
            runtime.metrics.webhook_deliveries.labels(outcome).inc(count)
    return run


@job(
    WEBHOOKS_JOB,
    trigger=lambda settings: IntervalTrigger(seconds=settings.scheduler_poll_seconds, timezone=UTC),
    describe=lambda r: (
        f"webhooks: {r['delivered']} delivered, {r['retried']} to retry, "
        f"{r['failed']} failed in {r['seconds']} s"
    ),
    misfire_grace_seconds=None,
)
async def webhooks_job(runtime: Runtime, options: Mapping[str, Any]) -> JobReport:
    """Deliver the due webhook deliveries (retries included)."""
    return dict((await deliver_webhooks(runtime)).as_json())
