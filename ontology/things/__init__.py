"""Things: the typed entities of a group."""
