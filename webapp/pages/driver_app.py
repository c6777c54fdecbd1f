"""The driver web app: /d, the page a driver keeps open on the phone to work."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("driver_app", __name__)
