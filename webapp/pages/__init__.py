"""Server-rendered pages (Jinja + htmx), one module per area."""

from __future__ import annotations

from webapp.pages import connect, control_room, login, template_filters

BLUEPRINTS = (login.bp, control_room.bp, connect.bp, template_filters.bp)
