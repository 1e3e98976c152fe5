"""Connections: typed relationships between two things of a group."""
