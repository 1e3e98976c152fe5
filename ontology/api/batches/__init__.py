"""The GraphQL side of batches: types, queries, mutations and loaders."""
