"""Payload error codes of the vocabulary's rules (types and their property schemas)."""

from ontology.kit.errors import PayloadErrorCode


class VocabularyErrorCode(PayloadErrorCode):
    # a thing, connection or event type the vocabulary does not declare
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    # properties that do not match their type's JSON schema
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
