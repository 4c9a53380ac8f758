"""Pages: the shared site (login, sessions, templates), charts, and node dashboards fed typed views."""
