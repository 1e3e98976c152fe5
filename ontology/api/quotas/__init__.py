"""The GraphQL side of quotas: types, queries, mutations and loaders."""
