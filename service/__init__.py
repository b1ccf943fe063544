"""The service around the graph: use cases, GraphQL API, app, CLI."""
