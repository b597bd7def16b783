"""The clinic's pages, one module per resource: thin views that read the request, call the services and
the records, and render a template."""
