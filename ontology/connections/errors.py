"""Payload error codes of the connection rules."""

from ontology.kit.errors import PayloadErrorCode


class ConnectionErrorCode(PayloadErrorCode):
    # the vocabulary does not allow this connection type between these thing types
    CONNECTION_NOT_ALLOWED = "CONNECTION_NOT_ALLOWED"
    # a connection from a thing to itself where its type forbids it
    SELF_LOOP = "SELF_LOOP"
