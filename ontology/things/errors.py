"""Payload error codes only things raise."""

from ontology.kit.errors import PayloadErrorCode


class ThingErrorCode(PayloadErrorCode):
    # a status outside ``THING_STATUSES``
    INVALID_STATUS = "INVALID_STATUS"
