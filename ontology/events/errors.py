"""Payload error codes only events raise."""

from ontology.kit.errors import PayloadErrorCode


class EventErrorCode(PayloadErrorCode):
    # a client tried to record an event type the service writes itself
    RESERVED_EVENT_TYPE = "RESERVED_EVENT_TYPE"
