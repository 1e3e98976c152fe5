"""Computed metrics: time-bucketed counters, snapshots and the metric registry."""
