"""Batch writes: up to 10,000 items, validated first, written in one transaction."""
