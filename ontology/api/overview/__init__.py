"""The GraphQL side of the staff overview: platformGroups."""
