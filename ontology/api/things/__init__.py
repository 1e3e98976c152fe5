"""The GraphQL side of things: types, queries, mutations and loaders."""
