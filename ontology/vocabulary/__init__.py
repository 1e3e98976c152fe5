"""The ontology's vocabulary: thing, connection and event types and their rules."""

from ontology.vocabulary.registry import Vocabulary, load_vocabulary

__all__ = ["Vocabulary", "load_vocabulary"]
