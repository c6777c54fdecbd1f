"""Riders' pages: sign up, book a ride, their rides."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("riders", __name__)
