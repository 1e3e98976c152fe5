"""Webhooks of a group and the durable outbox of their deliveries."""
