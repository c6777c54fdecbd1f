"""Server-rendered pages (Jinja + htmx), one module per area."""

from __future__ import annotations

from webapp.pages import (
    account,
    admin,
    admin_accounts,
    admin_fares,
    admin_places,
    admin_zones,
    analytics,
    connect,
    control_room,
    dispatch,
    driver_app,
    history,
    login,
    riders,
    template_filters,
    tracking,
)

BLUEPRINTS = (
    login.bp,
    account.bp,
    admin.bp,
    admin_accounts.bp,
    admin_fares.bp,
    admin_places.bp,
    admin_zones.bp,
    control_room.bp,
    connect.bp,
    dispatch.bp,
    riders.bp,
    tracking.bp,
    driver_app.bp,
    history.bp,  # and the history API and exports (webapp/api/history.py)
    analytics.bp,  # and the analytics API (webapp/api/analytics.py)
    template_filters.bp,
)
