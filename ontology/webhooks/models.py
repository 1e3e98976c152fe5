"""Webhook documents, target checks, signatures, deliveries and their backoff.

A delivery is a POST of a JSON body with these headers:

* ``X-Ontology-Delivery``: the delivery id (the same on every retry: receivers
  deduplicate on it; a delivery may arrive more than once, never zero times);
* ``X-Ontology-Event``: the event type (``quota_alert``);
* ``X-Ontology-Signature``: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` of
  ``"<t>.<body>"`` under the webhook's secret. A receiver recomputes it, compares in
  constant time, and refuses a ``t`` too far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId

from ontology.kit.errors import ErrorCode, ItemError
from ontology.ledger.events import EventDocument
from ontology.webhooks.errors import WebhookErrorCode

WEBHOOK_EVENTS = frozenset({"quota_alert"})
MAX_WEBHOOKS_PER_GROUP = 10
MAX_URL_CHARS = 2048
SECRET_PREFIX = "whsec_"
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 3600.0
# internal names that never resolve to a public address
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at nextAttemptAt (a claim moves it to its lease's end)
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed


def check_target(url: str, allow_private: bool) -> list[ItemError]:
    """Errors of a webhook target: a public https URL, unless ``allow_private``."""

    def refused(message: str) -> list[ItemError]:
        return [ItemError(WebhookErrorCode.WEBHOOK_TARGET_REFUSED, message, "url")]

    if len(url) > MAX_URL_CHARS:
        return refused(f"The URL is longer than {MAX_URL_CHARS} characters.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return refused("The URL is not valid.")
    if parts.scheme not in ("https", "http") or not host:
        return refused("The URL must be http(s)://host/...")
    if parts.username or parts.password:
        return refused("The URL must not carry credentials.")
    if allow_private:
        return []
    if parts.scheme != "https":
        return refused("The URL must use https.")
    if not is_public_host(host):
        return refused(f"{host} is not a public address.")
    return []


def is_public_host(host: str) -> bool:
    """Whether ``host`` (a name or an address literal) may be public."""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    name = host.lower().rstrip(".")
    return "." in name and name != "localhost" and not name.endswith(PRIVATE_SUFFIXES)


def check_events(events: list[str]) -> list[ItemError]:
    unknown = sorted(set(events) - WEBHOOK_EVENTS)
    if not events:
        return [ItemError(ErrorCode.INVALID_INPUT, "Name at least one event.", "events")]
    if unknown:
        return [
            ItemError(
                ErrorCode.INVALID_INPUT,
                f"Unknown webhook events {unknown}; expected some of {sorted(WEBHOOK_EVENTS)}.",
                "events",
            )
        ]
    return []


def new_webhook(
    group_id: ObjectId, url: str, events: list[str], description: str, now: datetime
) -> tuple[dict[str, Any], str]:
    """A webhook document and its secret (returned once to the caller; kept to sign)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    doc = {
        "_id": ObjectId(),
        "groupId": group_id,
        "url": url,
        "events": sorted(set(events)),
        "description": description,
        "secret": secret,
        "createdAt": now,
    }
    return doc, secret


def new_delivery(webhook: dict[str, Any], event: EventDocument, now: datetime) -> dict[str, Any]:
    """The outbox entry of one event for one webhook: due at once."""
    body = {
        "id": str(event["_id"]),
        "type": event["type"],
        "groupId": str(event["groupId"]),
        "timestamp": event["timestamp"].isoformat(),
        "data": event.get("metadata") or {},
    }
    return {
        "_id": ObjectId(),
        "groupId": webhook["groupId"],
        "webhookId": webhook["_id"],
        "eventId": event["_id"],
        "eventType": event["type"],
        "body": json.dumps(body, separators=(",", ":"), sort_keys=True),
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "nextAttemptAt": now,
        "leaseOwner": None,
        "lastError": None,
        "lastStatusCode": None,
        "createdAt": now,
        "deliveredAt": None,
    }


def signature(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def next_attempt(now: datetime, attempts: int) -> datetime:
    """When to try again after ``attempts`` failures: 10 s, 20 s, 40 s … capped at 1 h."""
    seconds = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return now + timedelta(seconds=seconds)
