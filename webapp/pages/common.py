"""What every page module shares."""

from __future__ import annotations

from quart import current_app

STAFF_ROLES = ("dispatcher", "admin")


def services():
    """(pool, redis, settings) of this web process."""
    app = current_app
    return app.extensions["db"], app.extensions["redis"], app.extensions["settings"]
