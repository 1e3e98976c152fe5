"""Archival: moving old events to cold storage, crash-safe, and bringing them back."""
