"""Events: the append-only log of what happened in a group."""
