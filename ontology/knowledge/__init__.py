"""Knowledge: labels, documents, chunks and vectors, optionally linked to things."""
