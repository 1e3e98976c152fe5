"""The GraphQL ``ErrorCode`` enum, assembled from the codes each domain declares.

A domain declares the payload error codes it raises next to its rules (a
``PayloadErrorCode`` subclass: ``kit.errors.ErrorCode`` for the shared ones,
``connections.errors.ConnectionErrorCode``, ``ledger.errors.QuotaErrorCode``,
…); clients see them all as one enum. ``ORDER`` fixes the order of its values
in the SDL, which clients may rely on; a new code goes at its end.
``tests/api/test_error_codes.py`` fails when a code some domain declares is
missing here or one listed here is declared by no domain.
"""

from __future__ import annotations

from enum import StrEnum

import strawberry

from ontology.batches.errors import BatchErrorCode
from ontology.connections.errors import ConnectionErrorCode
from ontology.events.errors import EventErrorCode
from ontology.kit.errors import ErrorCode, PayloadErrorCode
from ontology.kit.properties import PropertyErrorCode
from ontology.ledger.errors import QuotaErrorCode
from ontology.things.errors import ThingErrorCode
from ontology.vocabulary.errors import VocabularyErrorCode
from ontology.webhooks.errors import WebhookErrorCode

ORDER: tuple[PayloadErrorCode, ...] = (
    ErrorCode.INVALID_INPUT,
    VocabularyErrorCode.UNKNOWN_TYPE,
    EventErrorCode.RESERVED_EVENT_TYPE,
    ErrorCode.INVALID_NAME,
    ThingErrorCode.INVALID_STATUS,
    PropertyErrorCode.INVALID_PROPERTY_KEY,
    PropertyErrorCode.PROPERTIES_TOO_DEEP,
    PropertyErrorCode.PROPERTIES_TOO_LARGE,
    PropertyErrorCode.INVALID_PROPERTIES,
    VocabularyErrorCode.SCHEMA_MISMATCH,
    ErrorCode.NOT_FOUND,
    ConnectionErrorCode.CONNECTION_NOT_ALLOWED,
    ConnectionErrorCode.SELF_LOOP,
    ErrorCode.INVALID_RANGE,
    ErrorCode.DUPLICATE,
    ErrorCode.CONFLICT,
    QuotaErrorCode.QUOTA_EXCEEDED,
    BatchErrorCode.BATCH_TOO_LARGE,
    BatchErrorCode.IDEMPOTENCY_KEY_REUSED,
    WebhookErrorCode.WEBHOOK_TARGET_REFUSED,
)

# the Python enum behind the GraphQL one; ``UserError.code`` holds its members
UserErrorCode = StrEnum("UserErrorCode", [(code.name, code.value) for code in ORDER])  # type: ignore[misc]

strawberry.enum(UserErrorCode, name="ErrorCode", description="Stable codes of expected failures.")


def user_error_code(code: PayloadErrorCode) -> UserErrorCode:
    """The GraphQL enum's member of a domain's code."""
    return UserErrorCode(code.value)
