"""Groups: the tenants, their plans and their denormalized counts."""
