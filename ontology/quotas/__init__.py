"""Quotas: plans as data, usage counters, atomic reservations, API-call metering."""
