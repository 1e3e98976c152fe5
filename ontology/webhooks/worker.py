"""Delivering the outbox: claim a due delivery, POST it signed, record the outcome.

Run by the ``webhooks`` job (the scheduler polls every
``ONTOLOGY_SCHEDULER_POLL_SECONDS``; ``ontology jobs run webhooks`` drains once).
A claim holds a delivery for ``lease_seconds`` (more than the POST's timeout): a
worker that dies mid-way leaves it to the next worker when the lease lapses, so
no alert is lost, and a delivery may be POSTed twice (receivers deduplicate on
``X-Ontology-Delivery``), never by two workers at once. A failed attempt (no
answer, a timeout, any status but 2xx) is retried with exponential backoff
(``next_attempt``) until ``max_attempts``, then the delivery is ``failed``.

The POST uses the standard library (``urllib``, in a thread; httpx is only a
test dependency), follows no redirect, and, unless private targets are allowed,
refuses a host that resolves to a non-public address at delivery time (a name
that was public when the webhook was created may not be any more).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from ontology.db.client import Document
from ontology.kit.clock import utcnow
from ontology.webhooks.models import DeliveryStatus, next_attempt, signature
from ontology.webhooks.repository import DeliveryRepository, WebhookRepository

log = logging.getLogger("ontology.webhooks")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class DeliveryRun:
    delivered: int = 0
    retried: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retried": self.retried, "failed": self.failed}


class DeliveryWorker:
    def __init__(
        self,
        deliveries: DeliveryRepository,
        webhooks: WebhookRepository,
        *,
        max_attempts: int,
        timeout_seconds: float,
        allow_private: bool,
        owner: str | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.webhooks = webhooks
        self.max_attempts = max_attempts
        self.timeout = timeout_seconds
        self.allow_private = allow_private
        self.lease = timedelta(seconds=timeout_seconds * 2 + 30)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"

    async def run_due(self, limit: int = 200) -> DeliveryRun:
        """Deliver due deliveries one after the other, at most ``limit`` of them."""
        run = DeliveryRun()
        for _ in range(limit):
            now = utcnow()
            delivery = await self.deliveries.claim_due(self.owner, now, now + self.lease)
            if delivery is None:
                break
            await self.deliver(delivery, run)
        return run

    async def deliver(self, delivery: Document, run: DeliveryRun) -> None:
        found = await self.webhooks.by_ids(delivery["groupId"], [delivery["webhookId"]])
        error: str | None
        code: int | None = None
        if not found:
            error = "The webhook was deleted."
        else:
            code, error = await asyncio.to_thread(self._post, found[0], delivery)
        now = utcnow()
        attempts = int(delivery.get("attempts", 0)) + 1
        fields: dict[str, Any] = {"lastStatusCode": code, "lastError": error}
        if error is None:
            fields |= {"status": DeliveryStatus.DELIVERED.value, "deliveredAt": now}
            run.delivered += 1
        elif attempts >= self.max_attempts or not found:
            fields["status"] = DeliveryStatus.FAILED.value
            run.failed += 1
        else:
            fields["nextAttemptAt"] = next_attempt(now, attempts)
            run.retried += 1
        if not await self.deliveries.finish(delivery["_id"], self.owner, fields):
            log.warning("webhook delivery lease lost", extra={"delivery": str(delivery["_id"])})
        log.info(
            "webhook delivery",
            extra={
                "delivery": str(delivery["_id"]),
                "groupId": str(delivery["groupId"]),
                "attempt": attempts,
                "statusCode": code,
                "error": error,
            },
        )

    def _post(self, webhook: Document, delivery: Document) -> tuple[int | None, str | None]:
        """(HTTP status, error or None when delivered): runs in a thread."""
        url = webhook["url"]
        if not self.allow_private:
            refused = _non_public_address(url)
            if refused:
                return None, refused
        body: str = delivery["body"]
        timestamp = int(utcnow().timestamp())
        request = urllib.request.Request(
            url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "ontology-webhooks/1",
                "X-Ontology-Delivery": str(delivery["_id"]),
                "X-Ontology-Event": delivery["eventType"],
                "X-Ontology-Signature": signature(webhook["secret"], timestamp, body),
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as answer:
            return answer.code, f"HTTP {answer.code}"
        except (OSError, ValueError) as failure:
            return None, f"{type(failure).__name__}: {failure}"[:300]
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}"


def _non_public_address(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as failure:
        return f"{host} did not resolve: {failure}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{host} resolves to {address}, not a public address."
    return None
