"""The tracking link's page: /t/<token>, one ride, no login."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("tracking_page", __name__)
