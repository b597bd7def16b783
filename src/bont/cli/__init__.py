"""The ``bont`` command: a scriptable front end over the services."""
