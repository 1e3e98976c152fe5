"""Counter check and repair: every denormalized counter recounted from the collections."""
