"""Ontology: a multi-tenant graph ontology backend (GraphQL over MongoDB)."""

__version__ = "0.1.0"
