"""People: the members of a group (counted by the ``users`` quota)."""
