"""Payload error codes only webhooks raise."""

from ontology.kit.errors import PayloadErrorCode


class WebhookErrorCode(PayloadErrorCode):
    # a target URL the service refuses to call (scheme, host or address not allowed)
    WEBHOOK_TARGET_REFUSED = "WEBHOOK_TARGET_REFUSED"
