"""Response media types of GraphQL over HTTP, chosen from the ``Accept`` header.

``application/graphql-response+json`` lets status codes speak (400 for a
document that cannot run, no ``data`` entry); legacy ``application/json``
clients get 200 for every GraphQL response. Without an ``Accept`` header, or
with only wildcards, the legacy type is used, as the specification asks for
compatibility.
"""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
SUPPORTED = (GRAPHQL_RESPONSE_JSON, JSON)


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def negotiate(accept: str | None) -> str | None:
    """The response media type for ``accept``; ``None`` when neither is acceptable (406)."""
    if accept is None or not accept.strip():
        return JSON
    # per candidate: (quality, specificity) of the most specific range matching it
    matches: dict[str, tuple[float, int]] = {}
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        for candidate in SUPPORTED:
            if media == candidate:
                specificity = 2
            elif media == "application/*":
                specificity = 1
            elif media == "*/*":
                specificity = 0
            else:
                continue
            if specificity >= matches.get(candidate, (0.0, -1))[1]:
                matches[candidate] = (_quality(params), specificity)

    def rank(candidate: str) -> tuple[float, int, bool]:
        quality, specificity = matches[candidate]
        # both named: the newer type wins a tie; both by wildcard: the legacy one
        preferred = candidate == (GRAPHQL_RESPONSE_JSON if specificity == 2 else JSON)
        return quality, specificity, preferred

    acceptable = [c for c in matches if matches[c][0] > 0]
    return max(acceptable, key=rank) if acceptable else None
