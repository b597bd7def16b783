"""The clinic web app: server-rendered pages over the services, with role-based permissions."""
