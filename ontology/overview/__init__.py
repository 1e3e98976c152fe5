"""The staff overview: every group with its plan, usage, quota status and archival."""
