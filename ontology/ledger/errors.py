"""Payload error codes of the ledger (the unit of work of tenant writes)."""

from ontology.kit.errors import PayloadErrorCode


class QuotaErrorCode(PayloadErrorCode):
    # a write would pass a plan limit; ``ItemError.details`` says which and by how much
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
