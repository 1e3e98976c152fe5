"""The GraphQL side of archival: types, queries, mutations and loaders."""
