"""The GraphQL side of people: types, queries, mutations and loaders."""
