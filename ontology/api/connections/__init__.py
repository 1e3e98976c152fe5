"""The GraphQL side of connections: types, queries, mutations and loaders."""
