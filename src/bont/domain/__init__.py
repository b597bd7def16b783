"""The pure core of bont: products, indications, protocols, doses and their sources.

Only the standard library is imported here; adapters (the knowledge loader, the CLI, later the database
and the web app) depend on this package, never the reverse.
"""
