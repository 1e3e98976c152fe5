"""Payload error codes only batches raise."""

from ontology.connections.errors import ConnectionErrorCode
from ontology.events.errors import EventErrorCode
from ontology.kit.errors import ErrorCode, PayloadErrorCode
from ontology.kit.properties import PropertyErrorCode
from ontology.ledger.errors import QuotaErrorCode
from ontology.things.errors import ThingErrorCode
from ontology.vocabulary.errors import VocabularyErrorCode


class BatchErrorCode(PayloadErrorCode):
    # more items than ``ONTOLOGY_BATCH_MAX_ITEMS``
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    # an idempotency key sent again with a different request
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


def item_code(value: str) -> PayloadErrorCode:
    """The code of a stored batch item error, in the domain enum that declares it."""
    return _ITEM_CODES[value]


# every code a batch item can carry (reading a stored result back builds its ItemErrors)
_ITEM_CODES: dict[str, PayloadErrorCode] = {
    code.value: code
    for codes in (
        ErrorCode,
        PropertyErrorCode,
        VocabularyErrorCode,
        ThingErrorCode,
        ConnectionErrorCode,
        EventErrorCode,
        QuotaErrorCode,
        BatchErrorCode,
    )
    for code in codes
}
