"""The demo tenant that ``ontology serve --demo`` seeds."""
