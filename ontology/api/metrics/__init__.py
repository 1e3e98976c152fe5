"""The GraphQL side of metrics: types, queries, mutations and loaders."""
