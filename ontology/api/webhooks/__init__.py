"""The GraphQL side of webhooks: types, queries and mutations."""
