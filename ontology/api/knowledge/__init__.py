"""The GraphQL side of knowledge: types, queries, mutations and loaders."""
