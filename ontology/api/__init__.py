"""The GraphQL API: schema assembly, request context, extensions, HTTP endpoint."""
