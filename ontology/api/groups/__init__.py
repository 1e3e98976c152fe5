"""The GraphQL side of groups: types, queries, mutations and loaders."""
