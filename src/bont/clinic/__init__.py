"""The clinic's records on a real database: the Django app, its models, migrations and repositories."""
