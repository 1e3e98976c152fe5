"""The GraphQL side of events: types, queries, mutations and loaders."""
