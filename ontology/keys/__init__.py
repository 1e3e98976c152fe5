"""API keys: who is calling, for which group, with which role."""
